"""The hold rules, pure: a dispute holds until another status; a promise to pay holds up to and including its
date, then it is kept (the money came) or broken, and either way the process resumes where it was."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from dunning.account_view import build_account_view
from dunning.models.accounts import InvoiceStatusRecord, InvoiceView
from dunning.models.events import InvoiceCollectionStatusChanged
from dunning.strategy.evaluation import evaluate_account, next_state
from tests.unit.strategy.factories import after, config, day, hierarchy, invoice, payment, planned, state, view

UNTIL = day(20)


def promised(open_amount: str = "100.00", *, amount: str | None = "60.00", until: date | None = UNTIL,
             at_promise: str | None = "100.00", status: str = "promised_to_pay") -> InvoiceView:
    return InvoiceView(invoice_id="I1", invoice_date=day(-30), due_date=day(-10), amount=Decimal("100.00"),
                       currency="EUR", open_amount=Decimal(open_amount), collection_status=status,  # type: ignore[arg-type]
                       promised_amount=Decimal(amount) if amount else None, promised_until=until,
                       promised_open_amount=Decimal(at_promise) if at_promise else None)


@pytest.mark.parametrize(("as_of", "held"), [(day(0), True), (UNTIL, True), (day(21), False), (day(90), False)],
                         ids=["before-the-date", "on-the-date", "the-day-after", "long-after"])
def test_a_promise_holds_the_invoice_up_to_and_including_its_date(as_of, held):
    inv = promised()
    assert inv.held_on(as_of) is held
    assert inv.hold_reason(as_of) == (f"promised to pay until {UNTIL}" if held else None)


@pytest.mark.parametrize(("open_now", "state_after"), [
    ("100.00", "broken"),  # nothing came
    ("50.00", "broken"),  # part of the promise came (50 of 60)
    ("40.00", "kept"),  # exactly the promised 60 came
    ("10.00", "kept"),  # more than promised
    ("0.00", "kept"),  # paid in full
], ids=["nothing-paid", "partly-paid", "promised-amount-paid", "more-paid", "paid-in-full"])
def test_after_its_date_a_promise_is_kept_only_when_the_open_amount_fell_by_the_promised_amount(open_now,
                                                                                                state_after):
    inv = promised(open_now)
    assert inv.promise_state(UNTIL) == "pending"
    assert inv.promise_state(day(21)) == state_after
    assert not inv.held_on(day(21))  # kept or broken, the hold has ended


def test_a_promise_whose_open_amount_at_the_time_is_unknown_is_kept_only_by_paying_the_invoice():
    assert promised("1.00", at_promise=None).promise_state(day(21)) == "broken"
    assert promised("0.00", at_promise=None).promise_state(day(21)) == "kept"


def test_a_promise_without_a_date_holds_until_another_status_arrives_as_before():
    inv = promised(amount=None, until=None, at_promise=None)
    assert inv.hold_reason(date(2099, 1, 1)) == "promised to pay"
    assert inv.promise_state(date(2099, 1, 1)) is None and inv.on_hold


@pytest.mark.parametrize(("status", "held"), [("disputed", True), ("resolved", False), ("promise_broken", False)])
def test_a_dispute_holds_whatever_the_date_and_resolved_or_broken_invoices_are_workable(status, held):
    inv = promised(status=status, until=None)
    assert inv.held_on(day(500)) is held


def test_stored_status_records_carry_the_promise_into_the_view_and_old_records_still_read():
    record = InvoiceStatusRecord(invoice_id="I1", account_id="A1", status="promised_to_pay", reference="INT-1",
                                 promised_amount=Decimal("60.00"), promised_until=UNTIL,
                                 open_amount_at_promise=Decimal("100.00"))
    old = InvoiceCollectionStatusChanged.model_validate_json(
        '{"invoice_id": "I2", "account_id": "A1", "status": "promised_to_pay", "note": "before S3"}')
    v = build_account_view("A1", invoices=[invoice("I1", day(-10)), invoice("I2", day(-5))],
                           payments=[payment("p", "60.00", day(5), invoice_id="I1")],
                           statuses={"I1": record, "I2": old})
    i1, i2 = v.invoices
    assert (i1.promised_amount, i1.promised_until, i1.promised_open_amount) == (Decimal("60.00"), UNTIL,
                                                                                 Decimal("100.00"))
    assert i1.promise_state(day(21)) == "kept"
    assert (i2.collection_status, i2.promised_until, i2.hold_reason(day(999))) == ("promised_to_pay", None,
                                                                                   "promised to pay")


TRACKED = config(hierarchy("h", 1, [after("r1", 0, "email"), after("r2", 10), after("r3", 30)], track_step=True))


def test_the_engine_holds_a_promised_invoice_until_the_date_and_then_resumes_at_the_next_step():
    # Given I1 got r1 and the customer then promised to pay 60 of it by UNTIL (nothing came)
    promise = InvoiceStatusRecord(invoice_id="I1", account_id="A1", status="promised_to_pay", reference="INT-7",
                                  promised_amount=Decimal("60.00"), promised_until=UNTIL,
                                  open_amount_at_promise=Decimal("100.00"))
    st = state(last_contact=day(-20), done={"I1": ["r1"]})
    account = view(invoice("I1", day(-20)), statuses={"I1": promise}, collection_state=st)  # type: ignore[dict-item]
    # When runs evaluate it before and on the date
    for as_of in (day(0), UNTIL):
        held = evaluate_account(account, TRACKED, as_of)
        # Then nothing is done, and the reason says until when it is held
        assert held.actions == [] and held.lead_invoice_id is None
        assert f"invoice I1 skipped: promised to pay until {UNTIL}" in held.reasons
        assert next_state(st, held, as_of) == st  # steps done stay done
    # When the next run comes after the date
    resumed = evaluate_account(account, TRACKED, day(21))
    # Then the process resumes where it was: r2, not r1 again
    assert resumed.lead_invoice_id == "I1"
    assert planned(resumed) == [("step", "r2", "letter", "I1")]


def test_the_engine_holds_a_disputed_invoice_and_resumes_after_it_is_resolved():
    st = state(last_contact=day(-20), done={"I1": ["r1"]})
    disputed = evaluate_account(view(invoice("I1", day(-20)), statuses={"I1": "disputed"}, collection_state=st),
                                TRACKED, day(0))
    assert disputed.actions == [] and "invoice I1 skipped: disputed" in disputed.reasons
    resolved = evaluate_account(view(invoice("I1", day(-20)), statuses={"I1": "resolved"}, collection_state=st),
                                TRACKED, day(0))
    assert planned(resolved) == [("step", "r2", "letter", "I1")]
