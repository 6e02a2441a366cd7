"""Domain view of one account's ledger, as the collections engine sees it.

These are derived, read-only models: :func:`dunning.account_view.build_account_view` folds the stored facts
(account, invoices, payments, status changes, predictions, collection state) into an :class:`AccountView`.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from dunning.models.common import Frozen
from dunning.models.events import AccountUpserted, CollectionStatus, InvoiceCollectionStatusChanged

PromiseOutcomeKind = Literal["kept", "broken"]
PromiseState = Literal["pending", "kept", "broken"]


class InvoiceStatusRecord(InvoiceCollectionStatusChanged):
    """An invoice's stored collection status (the ledger's ``STATUS#{invoice}`` item): an upstream
    ``invoice.collection_status_changed`` event as it came, or one Dunning recorded itself (an interaction disputed
    the invoice or took a promise; the promise sweep closed a promise), with what only Dunning knows."""

    reference: Annotated[str, StringConstraints(max_length=128)] = ""  # the interaction that set it
    recorded_at: datetime | None = None
    open_amount_at_promise: Decimal | None = None  # what was open when the promise was made
    promise_outcome: PromiseOutcomeKind | None = None  # set by the sweep that closed the promise


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
    # the promise behind a promised_to_pay status (or the one a promise_broken / resolved status closed)
    promised_amount: Decimal | None = None
    promised_until: date | None = None  # held up to and including this day; None: until another status
    promised_open_amount: Decimal | None = None  # open amount when the promise was made; None: not known

    @property
    def is_paid(self) -> bool:
        return self.open_amount <= 0

    @property
    def on_hold(self) -> bool:
        """Disputed or promised to pay, by the status alone (a promise's date not considered): prefer
        :meth:`held_on`, which ends a promise's hold after its date."""
        return self.collection_status in ("disputed", "promised_to_pay")

    def hold_reason(self, as_of: date) -> str | None:
        """Why the invoice is not worked on ``as_of``, or ``None`` when it is workable (S2 lead-invoice rule, and
        S3 holds): ``disputed`` holds until another status arrives; ``promised_to_pay`` holds up to and including
        ``promised_until`` (a promise without a date holds until another status arrives). After the date the
        promise is kept or broken (:meth:`promise_state`) and either way the invoice is workable again: the
        process resumes where it was."""
        status = self.collection_status
        if status == "disputed":
            return "disputed"
        if status == "promised_to_pay":
            until = self.promised_until
            if until is None:
                return "promised to pay"
            if as_of <= until:
                return f"promised to pay until {until.isoformat()}"
        return None

    def held_on(self, as_of: date) -> bool:
        return self.hold_reason(as_of) is not None

    def promise_kept(self) -> bool:
        """Whether the money promised has come: the invoice is paid, or its open amount fell by at least the
        promised amount since the promise. A promise whose amount or open amount at the time is not known is kept
        only by paying the invoice."""
        if self.is_paid:
            return True
        if self.promised_amount is None or self.promised_open_amount is None:
            return False
        return self.promised_open_amount - self.open_amount >= self.promised_amount

    def promise_state(self, as_of: date) -> PromiseState | None:
        """A dated promise to pay on ``as_of``: ``pending`` up to and including its date, then ``kept`` or
        ``broken`` (:meth:`promise_kept`). ``None`` when the invoice has no dated promise pending."""
        if self.collection_status != "promised_to_pay" or self.promised_until is None:
            return None
        if as_of <= self.promised_until:
            return "pending"
        return "kept" if self.promise_kept() else "broken"

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


class InvoiceHold(BaseModel):
    """An invoice's collection status as an interaction shows it: disputed or promised (and whether that holds
    the invoice on ``as_of``), or resolved / promise broken (workable again)."""

    account_id: str
    invoice_id: str
    status: CollectionStatus
    held: bool  # the collections engine skips the invoice on as_of
    as_of: date
    reason: str  # "disputed", "promised to pay until 2026-12-10", "promise broken", "resolved"
    reference: str = ""  # the interaction that set the status ("" for an upstream event)
    note: str = ""
    recorded_at: datetime | None = None
    currency: str = ""
    amount: Decimal = Decimal(0)
    open_amount: Decimal = Decimal(0)
    promised_amount: Decimal | None = None
    promised_until: date | None = None
    open_amount_at_promise: Decimal | None = None
    promise_outcome: PromiseOutcomeKind | None = None


class PromiseOutcome(BaseModel):
    """What the promise sweep found for one promise whose date has passed."""

    account_id: str
    invoice_id: str
    outcome: PromiseOutcomeKind
    promised_until: date
    promised_amount: Decimal | None = None
    open_amount_at_promise: Decimal | None = None
    open_amount: Decimal
    reference: str = ""
    recorded: bool  # False: an earlier sweep already recorded it (a re-run changes nothing)
