"""The console's account page beyond the API's reads: the account's payments, and the manual strategy
assignment a supervisor sets or clears (what ``dunning assignment set/clear`` does)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from dunning.app.queries import NotFound, ReadDeps
from dunning.auth import Permission, Principal
from dunning.models.accounts import ManualAssignment
from dunning.store.ledger import items_to_view, payments_of

MAX_NOTE = 200


class UnknownHierarchy(ValueError):
    """The hierarchy named is not in the published configuration."""


class PaymentOut(BaseModel):
    payment_id: str
    received_on: date
    amount: Decimal
    currency: str
    applied_to: list[str] = Field(default_factory=list, description="invoices the payment names")


class AccountPayments(BaseModel):
    account_id: str
    payments: list[PaymentOut]
    manual: ManualAssignment | None = None


class AssignmentOut(BaseModel):
    account_id: str
    hierarchy_id: str | None = Field(description="the manual assignment; None: the pools decide again")


def account_payments(deps: ReadDeps, account_id: str) -> AccountPayments:
    items = deps.ledger.account_items(account_id)
    if not items:
        raise NotFound(f"no account {account_id}")
    view = items_to_view(account_id, items)
    payments = [PaymentOut(payment_id=p.payment_id, received_on=p.received_on, amount=p.amount, currency=p.currency,
                           applied_to=[a.invoice_id for a in p.applications]) for p in payments_of(items)]
    return AccountPayments(account_id=account_id, payments=payments, manual=view.manual_assignment)


def hierarchies(deps: ReadDeps) -> list[str]:
    return [h.id for h in deps.config().hierarchies]


def set_manual_assignment(deps: ReadDeps, principal: Principal, account_id: str, hierarchy_id: str | None,
                          note: str = "", now: datetime | None = None) -> AssignmentOut:
    """Assign the account to ``hierarchy_id`` by hand (it overrides the pools), or clear the manual assignment
    when ``hierarchy_id`` is empty. Supervisors and admins only."""
    principal.require(Permission.ASSIGNMENT_WRITE)
    if not deps.ledger.account_items(account_id):
        raise NotFound(f"no account {account_id}")
    if not hierarchy_id:
        deps.ledger.clear_manual(account_id)
        return AssignmentOut(account_id=account_id, hierarchy_id=None)
    if hierarchy_id not in hierarchies(deps):
        raise UnknownHierarchy(f"unknown hierarchy {hierarchy_id!r}")
    when = (now or datetime.now(UTC)).isoformat()
    deps.ledger.set_manual(account_id, ManualAssignment(hierarchy_id=hierarchy_id, set_at=when,
                                                        note=note.strip()[:MAX_NOTE]))
    return AssignmentOut(account_id=account_id, hierarchy_id=hierarchy_id)
