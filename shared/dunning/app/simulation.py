"""Process simulation (S2.15): what a run would do on an as-of date, and why. Pure: writes nothing."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel

from dunning.app.create_contacts import build_run_contacts
from dunning.models.accounts import AccountView
from dunning.models.config import Config
from dunning.models.contacts import Contact
from dunning.strategy.assignment import assign
from dunning.strategy.evaluation import evaluate_account


class SimulatedAccount(BaseModel):
    """One account's decision, as ``dunning simulate`` shows it."""

    account_id: str
    hierarchy: str
    assignment: str
    outcome: str
    lead_invoice: str
    days_from_due: int | None
    would: list[str]
    why: list[str]
    quiet_until: date | None
    next_step_on: date | None
    decision: dict[str, Any]


def simulate_account(view: AccountView, config: Config, as_of: date) -> SimulatedAccount:
    assignment = assign(view, config)
    decision = evaluate_account(view, config, as_of, assignment)
    return SimulatedAccount(
        account_id=view.account_id,
        hierarchy=decision.hierarchy_id or "-",
        assignment=decision.assignment_reason,
        outcome=decision.outcome,
        lead_invoice=decision.lead_invoice_id or "",
        days_from_due=decision.days_from_due,
        would=[f"{a.action} {a.document or ''} ({a.origin}:{a.step_id}) for {a.invoice_id}".replace("  ", " ")
               for a in decision.actions],
        why=decision.reasons or ([decision.assignment_reason] if decision.outcome == "unassigned" else []),
        quiet_until=decision.quiet_until,
        next_step_on=decision.next_step_on,
        decision=decision.model_dump(mode="json"),
    )


def simulate(views: Iterable[AccountView], config: Config, as_of: date) -> list[SimulatedAccount]:
    return [simulate_account(v, config, as_of) for v in views if v.open_balance > 0 or v.account is not None]


def simulated_contacts(views: Iterable[AccountView], config: Config, as_of: date, persons: dict[str, Any],
                       run_id: str = "simulation") -> list[Contact]:
    """The contacts a real run would create (same drafting path as the run)."""
    acting = []
    for view in views:
        if view.open_balance <= 0:
            continue
        decision = evaluate_account(view, config, as_of, assign(view, config))
        if decision.actions:
            acting.append((view, decision))
    return build_run_contacts(acting, config, persons, run_id, datetime.now(UTC))
