"""The upstream event contract.

Every message on the events queue is one JSON envelope::

    {"event_id": "...", "event_type": "invoice.posted", "occurred_at": "2026-01-01T10:00:00Z",
     "source": "billing", "data": {...}}

``data`` is validated by the model registered for ``event_type`` in :data:`EVENT_MODELS`.
JSON Schemas under ``events/schemas/`` are generated from these models (``dunning events schemas``).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from dunning.models.common import (
    Address,
    Currency,
    Frozen,
    Id,
    Language,
    LongText,
    PositiveMoney,
    ShortText,
    check_business_date,
)

BusinessDate = Annotated[date, AfterValidator(check_business_date)]
Probability = Annotated[Decimal, Field(ge=0, le=1, max_digits=6)]
AttributeValue = str | int | float | bool
MAX_EVENT_BYTES = 64 * 1024


class PartyContact(Frozen):
    """A collections agent or sales group: who works the account."""

    id: Id
    name: ShortText = ""
    email: Annotated[str, StringConstraints(max_length=254)] = ""


class PersonUpserted(Frozen):
    person_id: Id
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    language: Language = "en"
    email: Annotated[str, StringConstraints(max_length=254, pattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$")] = ""
    phone: Annotated[str, StringConstraints(max_length=40)] = ""
    address: Address = Field(default_factory=Address)


class AccountPerson(Frozen):
    """A person's relation to an account (the seed's account-person flags)."""

    person_id: Id
    relationship: ShortText = "main"
    main: bool = False
    financially_responsible: bool = True
    receives_notifications: bool = True
    business_purposes: list[ShortText] = Field(default_factory=list, max_length=20)


class AccountUpserted(Frozen):
    account_id: Id
    currency: Currency
    main_person_id: Id
    persons: list[AccountPerson] = Field(default_factory=list, max_length=50)
    attributes: dict[Annotated[str, StringConstraints(max_length=64)], AttributeValue] = Field(
        default_factory=dict, max_length=100
    )
    collections_agent: PartyContact | None = None
    sales_group: PartyContact | None = None

    @model_validator(mode="after")
    def _main_person_listed(self) -> AccountUpserted:
        ids = [p.person_id for p in self.persons]
        if len(ids) != len(set(ids)):
            raise ValueError("a person is listed twice on the account")
        return self

    def all_persons(self) -> list[AccountPerson]:
        """Persons with the main person always present and flagged."""
        out = [p.model_copy(update={"main": p.person_id == self.main_person_id}) for p in self.persons]
        if self.main_person_id not in {p.person_id for p in out}:
            out.insert(0, AccountPerson(person_id=self.main_person_id, main=True))
        return out


class PremiseUpserted(Frozen):
    premise_id: Id
    address: Address
    service_point_ids: list[Id] = Field(default_factory=list, max_length=200)


class ServiceAgreementUpserted(Frozen):
    service_agreement_id: Id
    account_id: Id
    premise_id: Id | None = None
    service_point_ids: list[Id] = Field(default_factory=list, max_length=200)
    status: Literal["pending", "active", "pending_stop", "stopped", "closed"] = "active"


class InvoicePosted(Frozen):
    invoice_id: Id
    account_id: Id
    invoice_date: BusinessDate
    due_date: BusinessDate
    amount: PositiveMoney
    currency: Currency

    @model_validator(mode="after")
    def _due_after_invoice(self) -> InvoicePosted:
        if self.due_date < self.invoice_date:
            raise ValueError("due_date is before invoice_date")
        return self


class PaymentApplication(Frozen):
    invoice_id: Id
    amount: PositiveMoney


class PaymentReceived(Frozen):
    payment_id: Id
    account_id: Id
    amount: PositiveMoney
    currency: Currency
    received_on: BusinessDate
    applications: list[PaymentApplication] = Field(default_factory=list, max_length=500)

    @model_validator(mode="after")
    def _applications_fit(self) -> PaymentReceived:
        if sum((a.amount for a in self.applications), Decimal(0)) > self.amount:
            raise ValueError("applications add up to more than the payment amount")
        return self


CollectionStatus = Literal["disputed", "promised_to_pay", "resolved", "promise_broken"]


class InvoiceCollectionStatusChanged(Frozen):
    invoice_id: Id
    account_id: Id
    status: CollectionStatus
    note: LongText = ""


class PaymentPredictionUpdated(Frozen):
    """Per-invoice probabilities that it will be paid late / very late (S2.6)."""

    account_id: Id
    invoice_id: Id
    late_probability: Probability
    very_late_probability: Probability


class ContactRequested(Frozen):
    """A user asked for a contact, e.g. a customer asks for an autopay form (S1.3)."""

    request_id: Id
    person_id: Id | None = None
    contact_class: Id
    contact_type: Id
    account_id: Id | None = None
    premise_id: Id | None = None
    note: LongText = ""


class ProcessEvent(Frozen):
    """collection / severance / write-off / overdue events (S1.4)."""

    event_code: Id
    account_id: Id
    service_agreement_id: Id | None = None
    process_id: Id | None = None
    attributes: dict[Annotated[str, StringConstraints(max_length=64)], AttributeValue] = Field(
        default_factory=dict, max_length=50
    )


class FieldActivityRemark(Frozen):
    """A field worker's remark on a field activity (S1.6)."""

    field_activity_id: Id
    remark_code: Id
    premise_id: Id
    service_point_id: Id | None = None
    note: LongText = ""


EVENT_MODELS: dict[str, type[BaseModel]] = {
    "person.upserted": PersonUpserted,
    "account.upserted": AccountUpserted,
    "premise.upserted": PremiseUpserted,
    "service_agreement.upserted": ServiceAgreementUpserted,
    "invoice.posted": InvoicePosted,
    "payment.received": PaymentReceived,
    "invoice.collection_status_changed": InvoiceCollectionStatusChanged,
    "payment_prediction.updated": PaymentPredictionUpdated,
    "contact.requested": ContactRequested,
    "collection.event": ProcessEvent,
    "severance.event": ProcessEvent,
    "writeoff.event": ProcessEvent,
    "overdue.event": ProcessEvent,
    "field_activity.remark": FieldActivityRemark,
}


class Envelope(BaseModel):
    """The outer shape of every upstream event."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$")]
    event_type: Annotated[str, StringConstraints(max_length=64)]
    occurred_at: datetime
    source: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    data: dict[str, Any]

    @model_validator(mode="after")
    def _known_type(self) -> Envelope:
        if self.event_type not in EVENT_MODELS:
            raise ValueError(f"unknown event_type {self.event_type!r}; known: {', '.join(sorted(EVENT_MODELS))}")
        if self.occurred_at.tzinfo is None:
            raise ValueError("occurred_at must carry a timezone (e.g. 2026-01-01T10:00:00Z)")
        return self


class Event(BaseModel):
    """A validated envelope with its typed payload."""

    model_config = ConfigDict(frozen=True)

    envelope: Envelope
    payload: BaseModel

    @property
    def event_id(self) -> str:
        return self.envelope.event_id

    @property
    def event_type(self) -> str:
        return self.envelope.event_type


class EventValidationError(ValueError):
    """Raised for an event that can never be applied; the reason is human readable."""


def parse_event(raw: str | bytes | dict[str, Any]) -> Event:
    """Parse and validate one event. Raises :class:`EventValidationError` with a readable reason."""
    import json

    from pydantic import ValidationError

    if isinstance(raw, str | bytes):
        if len(raw) > MAX_EVENT_BYTES:
            raise EventValidationError(f"event is {len(raw)} bytes; the limit is {MAX_EVENT_BYTES}")
        try:
            raw = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise EventValidationError(f"not valid JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise EventValidationError(f"event must be a JSON object, got {type(raw).__name__}")
    try:
        envelope = Envelope.model_validate(raw)
        payload = EVENT_MODELS[envelope.event_type].model_validate(envelope.data)
    except ValidationError as exc:
        raise EventValidationError(_describe(exc)) from exc
    return Event(envelope=envelope, payload=payload)


def _describe(exc: Any) -> str:
    parts = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = ".".join(str(p) for p in err["loc"]) or "(root)"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts[:10])
