"""Holds through the real collections run on the local stack (issue 13, item 11): a disputed invoice gets no
contact until the dispute is resolved; a promise to pay holds its invoice up to its date, the daily sweep
(``ExpirePromisesFunction``, invoked with ``events/expire_promises.json``) records it broken or kept, and the
next Step Functions run resumes the process where it was."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from dunning.app.holds import dispute_invoice, holds_of, promise_to_pay, release_dispute
from dunning.store.ledger import DynamoLedgerRepository
from dunning_ops.local.stack import LocalStack
from tests.support.local import ROOT, contacts, run, send, start_stack

DUE = "2026-11-01"  # the standard strategy's first notice is 7 days after due: 2026-11-08
PROMISED_UNTIL = date(2026, 11, 15)
SWEEP_DAY = date(2026, 11, 17)  # events/expire_promises.json: 2026-11-17T04:30Z in Lisbon


def _event(event_id: str, event_type: str, data: dict[str, Any], at: str = "2026-10-20T08:00:00Z") -> dict[str, Any]:
    return {"event_id": event_id, "event_type": event_type, "occurred_at": at, "source": "test", "data": data}


def _customer(n: int, amount: str) -> list[dict[str, Any]]:
    person, account, invoice = f"P-H-{n}", f"A-H-{n}", f"INV-H-{n}"
    return [
        _event(f"h-person-{n}", "person.upserted", {
            "person_id": person, "name": f"Holder {n}", "language": "en",
            "address": {"lines": [f"{n} Hold Street"], "city": "Lisboa", "country": "PT"}}),
        _event(f"h-account-{n}", "account.upserted", {
            "account_id": account, "currency": "EUR", "main_person_id": person,
            "attributes": {"segment": "residential"}}),
        _event(f"h-invoice-{n}", "invoice.posted", {
            "invoice_id": invoice, "account_id": account, "invoice_date": "2026-10-15", "due_date": DUE,
            "amount": amount, "currency": "EUR"}),
    ]


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    s = start_stack()
    send(s, [*_customer(1, "120.00"), *_customer(2, "90.00"), *_customer(3, "90.00")])
    yield s
    s.stop()


def letters_of(stack: LocalStack, account_id: str) -> list[tuple[str, str, str]]:
    return sorted((c["as_of"], c["invoice_id"], c["step_id"]) for c in contacts(stack)
                  if c["account_id"] == account_id and c["action"] == "letter")


def succeeded(stack: LocalStack, as_of: date) -> None:
    desc = run(stack, as_of)
    assert desc["status"] == "SUCCEEDED", desc


def invoke_sweep(stack: LocalStack) -> dict[str, Any]:
    payload = (ROOT / "events" / "expire_promises.json").read_bytes()
    resp = stack.client("lambda").invoke(FunctionName=stack.function_name("ExpirePromisesFunction"), Payload=payload)
    body = json.loads(resp["Payload"].read())
    assert "FunctionError" not in resp, body
    return dict(body)


def test_a_dispute_holds_the_run_and_a_broken_promise_resumes_it_after_its_date(stack):
    ledger = DynamoLedgerRepository(stack.outputs["LedgerTableName"])
    # Given an interaction disputes A-H-1's invoice and another takes A-H-2's promise to pay 50 by 2026-11-15
    at = datetime(2026, 11, 9, 10, 0, tzinfo=UTC)
    disputed = dispute_invoice(ledger, "A-H-1", "INV-H-1", reference="INT-H-1", note="meter misread", at=at)
    promised = promise_to_pay(ledger, "A-H-2", "INV-H-2", amount=Decimal("50.00"), until=PROMISED_UNTIL,
                              reference="INT-H-2", at=at)
    assert disputed.held and promised.held
    # and an upstream system reports A-H-3's promise to pay 30 by 2026-11-16, which the customer keeps
    send(stack, [
        _event("h-promise-3", "invoice.collection_status_changed", {
            "invoice_id": "INV-H-3", "account_id": "A-H-3", "status": "promised_to_pay",
            "promised_amount": "30.00", "promised_until": "2026-11-16"}, at="2026-11-09T11:00:00Z"),
        _event("h-pay-3", "payment.received", {
            "payment_id": "PAY-H-3", "account_id": "A-H-3", "amount": "30.00", "currency": "EUR",
            "received_on": "2026-11-14", "applications": [{"invoice_id": "INV-H-3", "amount": "30.00"}]},
            at="2026-11-14T12:00:00Z"),
    ])

    # When the run of 2026-11-10 goes (the first notice is due for all three)
    succeeded(stack, date(2026, 11, 10))
    # Then no invoice on hold gets a contact
    assert letters_of(stack, "A-H-1") == letters_of(stack, "A-H-2") == letters_of(stack, "A-H-3") == []

    # When the dispute is resolved and the run of 2026-11-12 goes
    released = release_dispute(ledger, "A-H-1", "INV-H-1", reference="INT-H-1", at=at.replace(day=11))
    assert (released.status, released.held) == ("resolved", False)
    succeeded(stack, date(2026, 11, 12))
    # Then A-H-1 gets its first notice; the promises still hold (before their dates)
    assert letters_of(stack, "A-H-1") == [("2026-11-12", "INV-H-1", "std_first")]
    assert letters_of(stack, "A-H-2") == letters_of(stack, "A-H-3") == []

    # When the daily sweep runs on 2026-11-17 (the scheduled sample event)
    sweep = invoke_sweep(stack)
    # Then A-H-2's promise is broken (nothing came) and A-H-3's kept (30 of 90 paid), explicitly in the ledger
    assert (sweep["today"], sweep["kept"], sweep["broken"]) == (SWEEP_DAY.isoformat(), 1, 1)
    assert {(o["account_id"], o["outcome"]) for o in sweep["outcomes"]} == {("A-H-2", "broken"), ("A-H-3", "kept")}
    assert [(h.status, h.held, h.reason) for h in holds_of(ledger, "A-H-2", as_of=SWEEP_DAY)] == [
        ("promise_broken", False, "promise to pay by 2026-11-15 broken")]
    assert [(h.status, h.promise_outcome) for h in holds_of(ledger, "A-H-3", as_of=SWEEP_DAY)] == [
        ("resolved", "kept")]
    # and a second sweep of the same day changes nothing
    again = invoke_sweep(stack)
    assert (again["kept"], again["broken"], again["already_recorded"]) == (0, 0, 2)

    # When the next run goes, after the dates
    succeeded(stack, SWEEP_DAY)
    # Then the process resumes where it was: the first notice, which the holds kept back
    assert letters_of(stack, "A-H-2") == [("2026-11-17", "INV-H-2", "std_first")]
    assert letters_of(stack, "A-H-3") == [("2026-11-17", "INV-H-3", "std_first")]
    assert letters_of(stack, "A-H-1") == [("2026-11-12", "INV-H-1", "std_first")]  # done stays done
