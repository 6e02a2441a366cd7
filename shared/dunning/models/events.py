"""The upstream event contract.

Every message on the events queue is one JSON envelope::

    {"event_id": "...", "event_type": "invoice.posted", "occurred_at": "2026-01-01T10:00:00Z",
     "source": "billing", "data": {...}}

``data`` is validated by the model registered for ``event_type`` in :data:`EVENT_MODELS`.
JSON Schemas under ``events/schemas/`` are generated from these models (``dunning events schemas``), with the
limits ingest enforces beyond what a JSON Schema keyword can say (:data:`LIMITS`, under ``x-dunning-limits`` in
``envelope.json``).

The limits of one message, checked before anything else:

* :data:`MAX_EVENT_BYTES`: the body's size in UTF-8 bytes;
* :data:`MAX_NESTING_DEPTH`: how deep objects and arrays nest. The deepest real event nests 5 levels
  (envelope, data, persons, one person, its business purposes); a 5,000-level body would blow the JSON
  parser's recursion, so the depth is measured on the raw text first (:func:`nesting_depth`).
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

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

MAX_EVENT_BYTES = 64 * 1024
MAX_NESTING_DEPTH = 16
MAX_ATTRIBUTE_CHARS = 256
MAX_CLOCK_SKEW = timedelta(days=1)  # occurred_at may lie at most this far after the time it is received

BusinessDate = Annotated[date, AfterValidator(check_business_date)]
Probability = Annotated[Decimal, Field(ge=0, le=1, max_digits=6)]
# Attribute values are bounded by ingest (a readable reason naming the attribute); the schema says so.
AttributeValue = Annotated[str | int | float | bool, WithJsonSchema({"anyOf": [
    {"type": "string", "maxLength": MAX_ATTRIBUTE_CHARS}, {"type": "integer"}, {"type": "number"},
    {"type": "boolean"}]})]

# An amount is a JSON number or a plain decimal numeral in a string: digits, at most one point, no exponent
# ("1e2" and "1E+2" are refused, as the schema's anchored pattern refuses them).
_NUMERAL = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")
AMOUNT_PATTERN = r"^\+?(?!0+(?:\.0+)?$)0*[0-9]{1,16}(?:\.[0-9]{1,2}0*)?$"


def _plain_numeral(value: Any) -> Any:
    if isinstance(value, str) and not _NUMERAL.fullmatch(value):
        raise ValueError("an amount is a number or a decimal numeral such as \"120.50\" (no exponent, no words)")
    return value


EventMoney = Annotated[PositiveMoney, BeforeValidator(_plain_numeral), WithJsonSchema({"anyOf": [
    {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 10**16},
    {"type": "string", "pattern": AMOUNT_PATTERN}], "description": "greater than 0, at most 2 decimal places, "
    "at most 16 digits before the point"})]


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
    amount: EventMoney
    currency: Currency

    @model_validator(mode="after")
    def _due_after_invoice(self) -> InvoicePosted:
        if self.due_date < self.invoice_date:
            raise ValueError("due_date is before invoice_date")
        return self


class PaymentApplication(Frozen):
    invoice_id: Id
    amount: EventMoney


class PaymentReceived(Frozen):
    payment_id: Id
    account_id: Id
    amount: EventMoney
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
    """An invoice's collection status; a promised_to_pay with promised_until holds the invoice up to that day."""

    # After promised_until the hold ends by itself: the promise is kept when the open amount fell by at least
    # promised_amount (or the invoice is paid), otherwise broken, and the next run resumes the process. A
    # promised_to_pay without a date holds the invoice until another status arrives (as before).

    invoice_id: Id
    account_id: Id
    status: CollectionStatus
    note: LongText = ""
    promised_amount: EventMoney | None = None  # only meaningful with promised_to_pay
    promised_until: BusinessDate | None = None  # the last day the promise holds the invoice


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


LIMITS: dict[str, Any] = {
    "max_event_bytes": MAX_EVENT_BYTES,
    "max_nesting_depth": MAX_NESTING_DEPTH,
    "max_attribute_value_chars": MAX_ATTRIBUTE_CHARS,
    "max_occurred_at_after_now_hours": int(MAX_CLOCK_SKEW.total_seconds() // 3600),
    "min_occurred_at": "1990-01-01T00:00:00Z",
    "control_characters": "no C0/C1 control characters in any string (tab allowed; line breaks only in note "
                          "fields), no unpaired surrogates",
}


class Envelope(BaseModel):
    """The outer shape of every upstream event. One message is at most ``max_event_bytes`` of UTF-8 and nests
    objects and arrays at most ``max_nesting_depth`` levels deep (``x-dunning-limits``); an ``event_id`` names
    one event: sending it again with another body is rejected as a conflict."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"x-dunning-limits": LIMITS})

    event_id: Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$")]
    event_type: Annotated[str, StringConstraints(max_length=64)]
    occurred_at: Annotated[datetime, Field(description=(
        "ISO 8601 date-time with a timezone; not before 1990-01-01 and at most "
        f"{int(MAX_CLOCK_SKEW.total_seconds() // 3600)} hours after the time ingest receives it"))]
    source: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    data: Annotated[dict[str, Any], Field(description="the payload: see the schema named like event_type")]

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


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")


def nesting_depth(text: str, limit: int = MAX_NESTING_DEPTH) -> int:
    """How deep objects and arrays nest in JSON ``text`` (strings skipped), without parsing it: the depth when it
    is more than ``limit`` (counting stops there), otherwise some value up to ``limit``. Cheap: a body with at
    most ``limit`` opening brackets cannot nest deeper, and is not scanned."""
    if text.count("{") + text.count("[") <= limit:
        return min(limit, text.count("{") + text.count("["))
    depth = deepest = 0
    for match in _BRACKETS.finditer(_JSON_STRING.sub('""', text)):
        depth += 1 if match.group() in "[{" else -1
        if depth > deepest:
            deepest = depth
            if deepest > limit:
                break
    return deepest


def event_digest(raw: dict[str, Any]) -> str:
    """SHA-256 of an event's content (keys sorted, no insignificant white space): two deliveries of one event
    have the same digest, an event_id reused for another body has another."""
    canonical = json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8", errors="surrogatepass")).hexdigest()


def parse_event(raw: str | bytes | dict[str, Any]) -> Event:
    """Parse and validate one event. Raises :class:`EventValidationError` with a readable reason."""
    from pydantic import ValidationError

    if isinstance(raw, str | bytes):
        if len(raw) > MAX_EVENT_BYTES:
            raise EventValidationError(f"event is {len(raw)} bytes; the limit is {MAX_EVENT_BYTES}")
        text = raw if isinstance(raw, str) else raw.decode("utf-8", errors="replace")
        if nesting_depth(text) > MAX_NESTING_DEPTH:
            raise EventValidationError(f"event nests objects and arrays more than {MAX_NESTING_DEPTH} levels deep; "
                                       f"the limit is {MAX_NESTING_DEPTH}")
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


# ---------------------------------------------------------------------------------------------- outcomes
class Wait(BaseModel):
    """What a held event waits for: its account (an invoice or payment for an account not yet sent) or an
    invoice (a payment applied to an invoice not yet posted)."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["account", "invoice"]
    account_id: str
    invoice_id: str = ""

    def name(self) -> str:
        if self.kind == "account":
            return f"account {self.account_id}"
        return f"invoice {self.invoice_id} of account {self.account_id}"

    def describe(self) -> str:
        return f"{self.name()} is not {'known' if self.kind == 'account' else 'posted'} yet"


EventOutcome = Literal["applied", "held", "rejected", "pending"]


class EventRecord(BaseModel):
    """What ingest did with one event_id: its body's digest (so a reused id is a conflict and a redelivery a
    harmless duplicate) and its outcome, ``applied`` or ``held`` with what it waits for. Rejected events are not
    recorded here: they are in the rejected-events store, with their reason."""

    event_id: str
    digest: str
    event_type: str
    outcome: Literal["applied", "held"]
    reason: str = ""
    waits: list[Wait] = Field(default_factory=list)
    message_id: str = ""
    recorded_at: str = ""
