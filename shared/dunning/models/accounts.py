"""Domain view of one account's ledger, as the collections engine sees it.

These are derived, read-only models: :func:`dunning.account_view.build_account_view` folds the stored facts
(account, invoices, payments, status changes, predictions, collection state) into an :class:`AccountView`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import Field

from dunning.models.common import Frozen
from dunning.models.events import AccountUpserted, CollectionStatus


class InvoiceView(Frozen):
    invoice_id: str
    invoice_date: date
    due_date: date
    amount: Decimal
    currency: str
    open_amount: Decimal
    collection_status: CollectionStatus | None = None
    late_probability: Decimal | None = None
    very_late_probability: Decimal | None = None

    @property
    def is_paid(self) -> bool:
        return self.open_amount <= 0

    @property
    def on_hold(self) -> bool:
        """Disputed or promised-to-pay invoices are not worked (S2 lead-invoice rule)."""
        return self.collection_status in ("disputed", "promised_to_pay")

    def age_key(self) -> tuple[date, date, str]:
        """Oldest first: earliest due date, then earliest invoice date, then id."""
        return (self.due_date, self.invoice_date, self.invoice_id)


class CollectionState(Frozen):
    """What earlier runs did to an account; written only by contact creation of the run."""

    last_automated_contact_on: date | None = None
    steps_done: dict[str, list[str]] = Field(default_factory=dict)  # invoice_id -> step ids done
    predunning_done: list[str] = Field(default_factory=list)  # invoice ids that got the pre-dunning step
    last_prediction_activity_on: date | None = None

    def done_for(self, invoice_id: str) -> set[str]:
        return set(self.steps_done.get(invoice_id, ()))


class ManualAssignment(Frozen):
    hierarchy_id: str
    set_at: str = ""
    note: str = ""


class AccountView(Frozen):
    account_id: str
    account: AccountUpserted | None = None  # None until account.upserted arrives
    invoices: list[InvoiceView] = Field(default_factory=list)  # every invoice, paid or not
    unapplied_credit: Decimal = Decimal(0)
    held_for_unknown_invoices: dict[str, Decimal] = Field(default_factory=dict)
    state: CollectionState = Field(default_factory=CollectionState)
    manual_assignment: ManualAssignment | None = None

    @property
    def currency(self) -> str:
        if self.account is not None:
            return self.account.currency
        return self.invoices[0].currency if self.invoices else ""

    @property
    def open_invoices(self) -> list[InvoiceView]:
        """Unpaid invoices, oldest first (hold status not considered)."""
        return sorted((i for i in self.invoices if not i.is_paid), key=InvoiceView.age_key)

    @property
    def open_balance(self) -> Decimal:
        return sum((i.open_amount for i in self.invoices if not i.is_paid), Decimal(0))

    def aged_balance(self, as_of: date) -> Decimal:
        """Open amount that is past due on ``as_of``."""
        return sum((i.open_amount for i in self.open_invoices if i.due_date < as_of), Decimal(0))
