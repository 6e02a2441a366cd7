"""A ledger fed through the same facts ingest writes, with the promise sweep's day index (in memory)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from typing import Any

from dunning.models.accounts import InvoiceStatusRecord
from dunning.models.events import parse_event
from dunning.store.ledger import Fact, SweepMark, facts_for_event, promise_day_pk
from tests.unit.core.fakes import FakeLedger

ACCOUNT = "A1"


class FakePromiseLedger(FakeLedger):
    """:class:`dunning.store.ledger.PromiseLedger` in memory; counts the day-index queries and the writes."""

    def __init__(self) -> None:
        super().__init__()
        self.day_queries = 0
        self.writes = 0
        self.mark: SweepMark | None = None

    def apply_facts(self, facts: list[Fact]) -> tuple[list[Fact], list[Fact]]:
        written, skipped = super().apply_facts(facts)
        self.writes += len(written)
        return written, skipped

    def promises_due(self, days: Iterable[date]) -> list[InvoiceStatusRecord]:
        out = []
        for day in sorted(set(days)):
            self.day_queries += 1
            pk = promise_day_pk(day)
            out += [InvoiceStatusRecord.model_validate_json(i["data"]) for (p, _), i in sorted(self.table.items())
                    if p == pk]
        return out

    def last_promise_sweep(self) -> SweepMark | None:
        return self.mark

    def set_last_promise_sweep(self, mark: SweepMark) -> None:
        self.mark = mark


_seq = iter(range(1, 10**9))


def emit(ledger: FakeLedger, event_type: str, data: dict[str, Any], at: str = "2026-03-01T08:00:00Z") -> None:
    """Apply one upstream event to the ledger, as ingest does."""
    event = parse_event(json.dumps({"event_id": f"e-{next(_seq)}", "event_type": event_type, "occurred_at": at,
                                    "source": "test", "data": data}))
    ledger.apply_facts(facts_for_event(event))


def posted(ledger: FakeLedger, invoice_id: str, due: str, amount: str = "100.00", account: str = ACCOUNT) -> None:
    emit(ledger, "invoice.posted", {"invoice_id": invoice_id, "account_id": account, "invoice_date": "2026-01-01",
                                    "due_date": due, "amount": amount, "currency": "EUR"})


def paid(ledger: FakeLedger, payment_id: str, invoice_id: str, amount: str, on: str,
         account: str = ACCOUNT) -> None:
    emit(ledger, "payment.received", {"payment_id": payment_id, "account_id": account, "amount": amount,
                                      "currency": "EUR", "received_on": on,
                                      "applications": [{"invoice_id": invoice_id, "amount": amount}]},
         at=f"{on}T12:00:00Z")


def account(ledger: FakeLedger, account_id: str = ACCOUNT) -> None:
    emit(ledger, "account.upserted", {"account_id": account_id, "currency": "EUR", "main_person_id": "P1"})
