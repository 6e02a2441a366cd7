"""The console's account use cases: payments from the ledger, and the manual strategy assignment a supervisor
sets or clears (collectors may not)."""

from __future__ import annotations

from typing import Any

import pytest

from dunning.app.accounts import UnknownHierarchy, account_payments, set_manual_assignment
from dunning.app.queries import NotFound
from dunning.auth import Forbidden, Group, Principal
from dunning.models.events import parse_event
from dunning.store.ledger import facts_for_event
from tests.unit.core.fakes import FakeLedger


def event(event_type: str, data: dict[str, Any], n: int) -> Any:
    return parse_event({"event_id": f"e-{n}", "event_type": event_type, "occurred_at": f"2026-11-0{n}T09:00:00Z",
                        "source": "billing", "data": data})


class Config:
    hierarchies = [type("H", (), {"id": "standard"})(), type("H", (), {"id": "vip"})()]


class Deps:
    def __init__(self) -> None:
        self.ledger = FakeLedger()
        facts = []
        for n, (kind, data) in enumerate([
            ("invoice.posted", {"invoice_id": "INV-1", "account_id": "A-1", "invoice_date": "2026-10-01",
                                "due_date": "2026-10-15", "amount": "100.00", "currency": "EUR"}),
            ("payment.received", {"payment_id": "P-2", "account_id": "A-1", "amount": "30.00", "currency": "EUR",
                                  "received_on": "2026-10-20", "applications": [{"invoice_id": "INV-1",
                                                                                 "amount": "30.00"}]}),
            ("payment.received", {"payment_id": "P-1", "account_id": "A-1", "amount": "10.00", "currency": "EUR",
                                  "received_on": "2026-10-10"}),
        ], start=1):
            facts += facts_for_event(event(kind, data, n))
        self.ledger.apply_facts(facts)

    def config(self) -> Config:
        return Config()


SUPERVISOR = Principal(user_id="s", username="sup", groups=frozenset({Group.SUPERVISOR}))
COLLECTOR = Principal(user_id="c", username="agent-ar", groups=frozenset({Group.COLLECTOR}))


def test_payments_come_oldest_first_with_the_invoices_they_name():
    got = account_payments(Deps(), "A-1")  # type: ignore[arg-type]
    assert [(p.payment_id, str(p.amount), p.applied_to) for p in got.payments] == [
        ("P-1", "10.00", []), ("P-2", "30.00", ["INV-1"])]
    assert got.manual is None


def test_a_supervisor_assigns_an_account_by_hand_and_clears_it_again():
    deps = Deps()
    out = set_manual_assignment(deps, SUPERVISOR, "A-1", "vip", "  big customer  ")  # type: ignore[arg-type]
    assert out.hierarchy_id == "vip"
    manual = account_payments(deps, "A-1").manual  # type: ignore[arg-type]
    assert manual is not None and manual.hierarchy_id == "vip" and manual.note == "big customer"
    assert set_manual_assignment(deps, SUPERVISOR, "A-1", None).hierarchy_id is None  # type: ignore[arg-type]
    assert account_payments(deps, "A-1").manual is None  # type: ignore[arg-type]


def test_a_collector_may_not_assign_and_nothing_changes():
    deps = Deps()
    with pytest.raises(Forbidden):
        set_manual_assignment(deps, COLLECTOR, "A-1", "vip")  # type: ignore[arg-type]
    assert deps.ledger.manual_assignments() == {}


def test_an_unknown_hierarchy_or_account_is_refused():
    deps = Deps()
    with pytest.raises(UnknownHierarchy):
        set_manual_assignment(deps, SUPERVISOR, "A-1", "no-such")  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        set_manual_assignment(deps, SUPERVISOR, "A-404", "vip")  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        account_payments(deps, "A-404")  # type: ignore[arg-type]
