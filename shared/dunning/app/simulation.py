"""Process simulation (S2.15): what a run would do on an as-of date, and why. Pure: writes nothing.

The simulation asks the run's own questions, so it never predicts a letter the run cannot send: an account the
run would set aside shows the run's reason (:func:`dunning.app.create_contacts.set_aside_reason`), a letter or
email whose template's conditions fail shows the reason delivery would suppress it with
(:func:`dunning.letters.conditions.document_suppression`), and an internal alert with no address shows why it
would not be sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel, Field

from dunning.app.create_contacts import build_run_contacts, set_aside_reason
from dunning.contacts import resolve_email_recipient
from dunning.letters.conditions import document_suppression
from dunning.models.accounts import AccountView
from dunning.models.config import Config
from dunning.models.contacts import Contact
from dunning.models.decisions import AccountDecision, PlannedAction
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
    set_aside: str | None = None  # the run would set the account aside: this reason (the run summary's)
    would_not: list[str] = Field(default_factory=list)  # actions the run would not deliver, with the reason


def simulate_account(view: AccountView, config: Config, as_of: date,
                     persons: Mapping[str, Any] | None = None) -> SimulatedAccount:
    """``persons``: the account's person records, when known (without them the person checks are skipped)."""
    assignment = assign(view, config)
    decision = evaluate_account(view, config, as_of, assignment)
    aside = set_aside_reason(view, decision, persons)
    would: list[str] = []
    would_not: list[str] = []
    for a in decision.actions:
        text = f"{a.action} {a.document or ''} ({a.origin}:{a.step_id}) for {a.invoice_id}".replace("  ", " ")
        blocked = aside or _undeliverable(a, view, decision, config, persons)
        if blocked:
            would_not.append(f"{text}: {blocked}")
        else:
            would.append(text)
    why = decision.reasons or ([decision.assignment_reason] if decision.outcome == "unassigned" else [])
    why = [aside, *why] if aside else [*why, *(f"would not send {w}" for w in would_not)]
    return SimulatedAccount(
        account_id=view.account_id,
        hierarchy=decision.hierarchy_id or "-",
        assignment=decision.assignment_reason,
        outcome=decision.outcome,
        lead_invoice=decision.lead_invoice_id or "",
        days_from_due=decision.days_from_due,
        would=would,
        why=why,
        quiet_until=decision.quiet_until,
        next_step_on=decision.next_step_on,
        decision=decision.model_dump(mode="json"),
        set_aside=aside,
        would_not=would_not,
    )


def _undeliverable(action: PlannedAction, view: AccountView, decision: AccountDecision, config: Config,
                   persons: Mapping[str, Any] | None) -> str | None:
    """Why the run (or delivery) would not send this action's letter or email; None when it would."""
    if action.origin == "automation_log" or action.action not in ("letter", "email"):
        return None
    if action.action == "email" and action.recipient != "customer":
        resolved = resolve_email_recipient(view.account, action, {})
        if resolved.recipient is None:
            return f"{resolved.missing}; the internal alert would not be sent"
    person = (persons or {}).get(view.account.main_person_id) if view.account is not None else None
    locale = getattr(person, "language", None) or "en"
    return document_suppression(config, action=action.action, document=action.document, view=view,
                                invoice_id=action.invoice_id, as_of=decision.as_of, locale=locale)


def simulate(views: Iterable[AccountView], config: Config, as_of: date,
             persons: Mapping[str, Any] | None = None) -> list[SimulatedAccount]:
    return [simulate_account(v, config, as_of, persons) for v in views if v.open_balance > 0 or v.account is not None]


def simulated_contacts(views: Iterable[AccountView], config: Config, as_of: date, persons: dict[str, Any],
                       run_id: str = "simulation") -> list[Contact]:
    """The contacts a real run would create (same drafting path as the run; set-aside accounts create none)."""
    acting = []
    for view in views:
        if view.open_balance <= 0:
            continue
        decision = evaluate_account(view, config, as_of, assign(view, config))
        if decision.actions:
            acting.append((view, decision))
    return build_run_contacts(acting, config, persons, run_id, datetime.now(UTC)).contacts
