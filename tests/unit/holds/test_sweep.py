"""The daily promise sweep (expire_promises): promises past their date become kept (resolved) or broken
(promise_broken), found through the day index in a bounded number of queries; a re-run changes nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from dunning.app.holds import (
    ExpirePromisesDeps,
    ExpirePromisesInput,
    dispute_invoice,
    expire_promises,
    promise_to_pay,
    sweep_promises,
)
from tests.unit.holds.support import ACCOUNT, FakePromiseLedger, account, emit, paid, posted

AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
UNTIL = date(2026, 3, 10)
AFTER = date(2026, 3, 11)


@pytest.fixture
def ledger() -> FakePromiseLedger:
    ledger = FakePromiseLedger()
    account(ledger)
    posted(ledger, "I1", "2026-02-01")
    posted(ledger, "I2", "2026-02-10")
    return ledger


def promise(ledger: FakePromiseLedger, invoice_id: str = "I1", amount: str = "60.00", until: date = UNTIL,
            reference: str = "INT-1") -> None:
    promise_to_pay(ledger, ACCOUNT, invoice_id, amount=Decimal(amount), until=until, reference=reference, at=AT)


def status(ledger: FakePromiseLedger, invoice_id: str = "I1") -> str | None:
    return next(i for i in ledger.account_view(ACCOUNT).invoices if i.invoice_id == invoice_id).collection_status


def test_a_promise_not_paid_by_its_date_is_broken_and_the_state_says_so(ledger):
    promise(ledger)
    paid(ledger, "p1", "I1", "20.00", "2026-03-05")  # 20 of the 60 promised
    assert expire_promises(ledger, UNTIL) == []  # on its last day it still holds
    [outcome] = expire_promises(ledger, AFTER)
    assert (outcome.outcome, outcome.recorded, outcome.open_amount, outcome.open_amount_at_promise) == (
        "broken", True, Decimal("80.00"), Decimal("100.00"))
    assert status(ledger) == "promise_broken"
    assert not ledger.account_view(ACCOUNT).invoices[0].held_on(AFTER)


@pytest.mark.parametrize("amount_paid", ["60.00", "100.00"], ids=["the-promised-amount", "in-full"])
def test_a_promise_paid_by_its_date_is_kept_and_resolved(ledger, amount_paid):
    promise(ledger)
    paid(ledger, "p1", "I1", amount_paid, "2026-03-09")
    [outcome] = expire_promises(ledger, AFTER)
    assert outcome.outcome == "kept" and status(ledger) == "resolved"


def test_a_re_run_reports_the_same_outcomes_and_writes_nothing(ledger):
    promise(ledger)
    first = expire_promises(ledger, AFTER)
    writes = ledger.writes
    again = expire_promises(ledger, AFTER)
    assert ledger.writes == writes
    assert [o.model_dump(exclude={"recorded"}) for o in again] == [o.model_dump(exclude={"recorded"}) for o in first]
    assert [o.recorded for o in again] == [False]


def test_the_sweep_queries_only_the_days_since_its_last_sweep_and_never_more_than_the_look_back(ledger):
    expire_promises(ledger, date(2026, 3, 1), lookback_days=31)
    assert ledger.day_queries == 31  # first sweep: the look-back
    ledger.day_queries = 0
    expire_promises(ledger, date(2026, 3, 2), lookback_days=31)
    assert ledger.day_queries == 1  # yesterday: the day after the last sweep's days
    ledger.day_queries = 0
    expire_promises(ledger, date(2026, 3, 2), lookback_days=31)
    assert ledger.day_queries == 1  # a re-run goes through the same days
    ledger.day_queries = 0
    expire_promises(ledger, date(2026, 9, 1), lookback_days=31)  # after a long pause: bounded
    assert ledger.day_queries == 31


def test_a_sweep_after_a_pause_still_closes_the_promises_of_the_days_it_missed(ledger):
    promise(ledger, "I1", until=date(2026, 3, 3))
    promise(ledger, "I2", until=date(2026, 3, 6), reference="INT-2")
    expire_promises(ledger, date(2026, 3, 2))
    outcomes = expire_promises(ledger, date(2026, 3, 9))
    assert [(o.invoice_id, o.promised_until, o.outcome) for o in outcomes] == [
        ("I1", date(2026, 3, 3), "broken"), ("I2", date(2026, 3, 6), "broken")]
    again = expire_promises(ledger, date(2026, 3, 9))  # a re-run of that day: every day it went through
    assert [(o.invoice_id, o.recorded) for o in again] == [("I1", False), ("I2", False)]


def test_a_promise_replaced_before_its_date_is_left_alone(ledger):
    promise(ledger, until=UNTIL)
    promise(ledger, until=date(2026, 3, 20))  # moved: the old day's index item no longer matches
    assert expire_promises(ledger, AFTER) == []
    assert status(ledger) == "promised_to_pay"
    promise(ledger, "I2", until=UNTIL, reference="INT-2")
    dispute_invoice(ledger, ACCOUNT, "I2", reference="INT-3", note="", at=AT.replace(hour=12))
    assert expire_promises(ledger, date(2026, 3, 12)) == []
    assert status(ledger, "I2") == "disputed"


def test_an_upstream_dated_promise_is_swept_too(ledger):
    emit(ledger, "invoice.collection_status_changed",
         {"invoice_id": "I2", "account_id": ACCOUNT, "status": "promised_to_pay", "promised_amount": "30.00",
          "promised_until": "2026-03-10"})
    [outcome] = expire_promises(ledger, AFTER)
    assert (outcome.invoice_id, outcome.outcome, outcome.open_amount_at_promise) == ("I2", "broken", Decimal(100))
    assert status(ledger, "I2") == "promise_broken"


@pytest.mark.parametrize(("after_promise", "outcome"), [("30.00", "kept"), ("29.99", "broken")])
def test_an_upstream_promise_is_judged_by_the_payments_received_since_the_day_it_was_made(ledger, after_promise,
                                                                                          outcome):
    paid(ledger, "p0", "I2", "10.00", "2026-02-20")  # before the promise: not part of it
    emit(ledger, "invoice.collection_status_changed",
         {"invoice_id": "I2", "account_id": ACCOUNT, "status": "promised_to_pay", "promised_amount": "30.00",
          "promised_until": "2026-03-10"}, at="2026-03-01T08:00:00Z")
    paid(ledger, "p1", "I2", after_promise, "2026-03-05")
    [found] = expire_promises(ledger, AFTER)
    assert (found.outcome, found.open_amount_at_promise) == (outcome, Decimal("90.00"))


def test_what_happened_after_the_promise_wins_over_the_sweeps_outcome(ledger):
    promise(ledger)
    expire_promises(ledger, AFTER)
    # an upstream status that occurred after the promise (and arrived late) still replaces the sweep's outcome
    emit(ledger, "invoice.collection_status_changed", {"invoice_id": "I1", "account_id": ACCOUNT,
                                                       "status": "disputed"}, at="2026-03-05T10:00:00Z")
    assert status(ledger) == "disputed"


def test_the_functions_use_case_counts_and_resolves_the_scheduled_day(ledger):
    promise(ledger)  # nothing comes: broken
    promise(ledger, "I2", "50.00", reference="INT-2")
    paid(ledger, "p1", "I2", "100.00", "2026-03-02")  # paid in full: kept
    sweep = sweep_promises(ExpirePromisesDeps(ledger=ledger),
                           ExpirePromisesInput(scheduled_time=datetime(2026, 3, 10, 23, 30, tzinfo=UTC),
                                               timezone="Europe/Berlin"))
    assert sweep.today == AFTER  # 00:30 in Berlin
    assert (sweep.kept, sweep.broken, sweep.already_recorded) == (1, 1, 0)
    again = sweep_promises(ExpirePromisesDeps(ledger=ledger), ExpirePromisesInput(today=AFTER))
    assert (again.kept, again.broken, again.already_recorded) == (0, 0, 2)
