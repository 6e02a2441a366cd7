"""Disputes and promises recorded by interactions (dunning.app.holds) on a ledger fed like ingest feeds it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from dunning.app.holds import HoldNotFound, InvalidHold, dispute_invoice, holds_of, promise_to_pay, release_dispute
from dunning.models.events import parse_event
from dunning.store.ledger import facts_for_event, promise_day_pk
from tests.unit.holds.support import ACCOUNT, FakePromiseLedger, account, emit, paid, posted

AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
TODAY = AT.date()


@pytest.fixture
def ledger() -> FakePromiseLedger:
    ledger = FakePromiseLedger()
    account(ledger)
    posted(ledger, "I1", "2026-02-01")
    posted(ledger, "I2", "2026-02-15", "80.00")
    return ledger


def test_a_disputed_invoice_is_held_and_resolving_the_dispute_releases_it(ledger):
    hold = dispute_invoice(ledger, ACCOUNT, "I1", reference="INT-1", note="wrong meter reading", at=AT)
    assert (hold.status, hold.held, hold.reason, hold.reference, hold.note) == (
        "disputed", True, "disputed", "INT-1", "wrong meter reading")
    assert ledger.account_view(ACCOUNT).invoices[0].held_on(date(2030, 1, 1))
    released = release_dispute(ledger, ACCOUNT, "I1", reference="INT-1", at=AT.replace(hour=10))
    assert (released.status, released.held, released.reason) == ("resolved", False, "resolved")
    assert not ledger.account_view(ACCOUNT).invoices[0].held_on(TODAY)


def test_recording_the_same_reference_again_changes_nothing(ledger):
    first = dispute_invoice(ledger, ACCOUNT, "I1", reference="INT-1", note="n", at=AT)
    writes = ledger.writes
    again = dispute_invoice(ledger, ACCOUNT, "I1", reference="INT-1", note="n", at=AT.replace(hour=11))
    assert ledger.writes == writes and again == first
    release_dispute(ledger, ACCOUNT, "I1", reference="INT-1", at=AT.replace(hour=12))
    writes = ledger.writes
    release_dispute(ledger, ACCOUNT, "I1", reference="INT-1", at=AT.replace(hour=13))
    assert ledger.writes == writes


def test_a_dispute_and_its_release_in_the_same_instant_still_end_released(ledger):
    dispute_invoice(ledger, ACCOUNT, "I1", reference="INT-1", note="", at=AT)
    assert release_dispute(ledger, ACCOUNT, "I1", reference="INT-1", at=AT).status == "resolved"
    assert ledger.account_view(ACCOUNT).invoices[0].collection_status == "resolved"


def test_releasing_an_invoice_that_is_not_disputed_is_refused(ledger):
    with pytest.raises(InvalidHold, match="I1 is not disputed"):
        release_dispute(ledger, ACCOUNT, "I1", reference="INT-1", at=AT)


def test_an_unknown_account_or_invoice_is_not_found(ledger):
    with pytest.raises(HoldNotFound):
        dispute_invoice(ledger, "NOPE", "I1", reference="INT-1", note="", at=AT)
    with pytest.raises(HoldNotFound):
        promise_to_pay(ledger, ACCOUNT, "NOPE", amount=Decimal(1), until=TODAY, reference="INT-1", at=AT)


def test_a_promise_holds_until_its_date_and_is_indexed_under_that_day(ledger):
    until = date(2026, 3, 10)
    hold = promise_to_pay(ledger, ACCOUNT, "I1", amount=Decimal("40.00"), until=until, reference="INT-2", at=AT)
    assert (hold.status, hold.held, hold.promised_amount, hold.promised_until, hold.open_amount_at_promise) == (
        "promised_to_pay", True, Decimal("40.00"), until, Decimal("100.00"))
    assert hold.reason == "promised to pay until 2026-03-10"
    index = ledger.table[(promise_day_pk(until), f"{ACCOUNT}#I1")]
    assert index["ttl"] == int(datetime(2027, 4, 14, tzinfo=UTC).timestamp())  # 400 days after its day
    by_day = {d: [h.held for h in holds_of(ledger, ACCOUNT, as_of=d)] for d in (until, date(2026, 3, 11))}
    assert by_day == {until: [True], date(2026, 3, 11): [False]}
    assert holds_of(ledger, ACCOUNT, as_of=date(2026, 3, 11))[0].reason == "promise to pay by 2026-03-10 broken"


def test_the_same_promise_again_changes_nothing_and_a_new_date_replaces_it(ledger):
    promise_to_pay(ledger, ACCOUNT, "I1", amount=Decimal("40.00"), until=date(2026, 3, 10), reference="INT-2", at=AT)
    writes = ledger.writes
    promise_to_pay(ledger, ACCOUNT, "I1", amount=Decimal("40.00"), until=date(2026, 3, 10), reference="INT-2",
                   at=AT.replace(hour=15))
    assert ledger.writes == writes
    moved = promise_to_pay(ledger, ACCOUNT, "I1", amount=Decimal("40.00"), until=date(2026, 3, 20),
                           reference="INT-2", at=AT.replace(hour=16))
    assert moved.promised_until == date(2026, 3, 20) and moved.held
    assert ledger.account_view(ACCOUNT).invoices[0].promised_until == date(2026, 3, 20)


@pytest.mark.parametrize(("amount", "until", "message"), [
    ("0", "2026-03-10", "more than 0"),
    ("100.01", "2026-03-10", "at most the open amount 100.00 EUR"),
    ("10", "2026-02-28", "from 2026-03-01"),
    ("10", "2027-06-01", "to 2027-03-02"),
    ("10.001", "2026-03-10", "promised_amount"),
])
def test_a_promise_that_cannot_be_kept_as_asked_is_refused_with_a_reason(ledger, amount, until, message):
    with pytest.raises(InvalidHold, match=message):
        promise_to_pay(ledger, ACCOUNT, "I1", amount=Decimal(amount), until=date.fromisoformat(until),
                       reference="INT-2", at=AT)


@pytest.mark.parametrize("reference", ["", "INT|1", "x" * 129])
def test_a_hold_needs_the_interactions_reference(ledger, reference):
    with pytest.raises(InvalidHold, match="reference"):
        dispute_invoice(ledger, ACCOUNT, "I1", reference=reference, note="", at=AT)


def test_a_paid_invoice_takes_no_promise(ledger):
    paid(ledger, "p1", "I1", "100.00", "2026-02-20")
    with pytest.raises(InvalidHold, match="paid"):
        promise_to_pay(ledger, ACCOUNT, "I1", amount=Decimal(10), until=date(2026, 3, 10), reference="INT-2", at=AT)


def test_an_agents_dispute_supersedes_the_status_they_saw_and_a_later_upstream_status_supersedes_it(ledger):
    emit(ledger, "invoice.collection_status_changed", {"invoice_id": "I1", "account_id": ACCOUNT,
                                                       "status": "resolved"}, at="2026-03-01T10:00:00Z")
    hold = dispute_invoice(ledger, ACCOUNT, "I1", reference="INT-9", note="", at=AT)  # 09:00, after the read
    assert hold.status == "disputed"  # the agent acted on what they saw: versioned after it
    emit(ledger, "invoice.collection_status_changed", {"invoice_id": "I1", "account_id": ACCOUNT,
                                                       "status": "resolved"}, at="2026-03-01T11:00:00Z")
    assert ledger.account_view(ACCOUNT).invoices[0].collection_status == "resolved"


def test_holds_of_lists_every_invoice_with_a_status_oldest_first(ledger):
    promise_to_pay(ledger, ACCOUNT, "I2", amount=Decimal("80.00"), until=date(2026, 3, 5), reference="INT-3", at=AT)
    dispute_invoice(ledger, ACCOUNT, "I1", reference="INT-4", note="", at=AT)
    holds = holds_of(ledger, ACCOUNT, as_of=TODAY)
    assert [(h.invoice_id, h.status, h.held, h.reference) for h in holds] == [
        ("I1", "disputed", True, "INT-4"), ("I2", "promised_to_pay", True, "INT-3")]
    assert holds_of(ledger, "UNKNOWN") == []


def test_an_upstream_promise_with_a_date_is_indexed_and_one_without_keeps_the_old_single_fact():
    dated = parse_event({"event_id": "s1", "event_type": "invoice.collection_status_changed",
                         "occurred_at": "2026-03-01T08:00:00Z", "source": "crm",
                         "data": {"invoice_id": "I1", "account_id": "A1", "status": "promised_to_pay",
                                  "promised_amount": "50.00", "promised_until": "2026-03-09"}})
    undated = parse_event({"event_id": "s2", "event_type": "invoice.collection_status_changed",
                           "occurred_at": "2026-03-01T08:00:00Z", "source": "crm",
                           "data": {"invoice_id": "I1", "account_id": "A1", "status": "promised_to_pay"}})
    assert [(f.pk, f.sk) for f in facts_for_event(dated)] == [("ACCT#A1", "STATUS#I1"),
                                                              ("PROMISES#2026-03-09", "A1#I1")]
    assert [(f.pk, f.sk) for f in facts_for_event(undated)] == [("ACCT#A1", "STATUS#I1")]
