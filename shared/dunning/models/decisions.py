"""What the collections engine decides for one account on one as-of date, with its reasons."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from dunning.models.common import Frozen, RecipientKind

ActionOrigin = Literal["step", "pre_dunning", "prediction", "automation_log"]
Outcome = Literal["act", "none", "unassigned", "excluded", "no_balance"]


class Assignment(Frozen):
    account_id: str
    hierarchy_id: str | None
    manual: bool = False
    reason: str  # human-readable: which pool matched at which rank, manual, or why none


class PlannedAction(Frozen):
    """One thing the run will create a contact for."""

    origin: ActionOrigin
    hierarchy_id: str
    step_id: str  # for predictions: "prediction:late" / "prediction:very_late"
    action: Literal["letter", "email", "activity"]
    document: str | None = None
    invoice_id: str
    step_date: date | None = None
    recipient: RecipientKind = "customer"
    business_purpose: str | None = None
    automated: bool = True  # counts for quiet days
    reason: str = ""


class AccountDecision(Frozen):
    account_id: str
    as_of: date
    hierarchy_id: str | None = None
    assignment_reason: str = ""
    outcome: Outcome
    lead_invoice_id: str | None = None
    days_from_due: int | None = None  # as_of - lead due date (negative: before due)
    actions: list[PlannedAction] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)  # why nothing, or notes about what was skipped
    quiet_until: date | None = None
    next_step_on: date | None = None
