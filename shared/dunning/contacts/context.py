"""What a contact rule or plug-in may look at when an event arrives (S1.3-S1.6). Pure; no AWS.

How the lead fills it: implement :class:`Lookup` over the stores, then call :func:`build_context`, which
uses :func:`needs_for_event` to load the account, service agreement and premise the event names (a
severance event's premise comes from its service agreement; a field-activity remark's service agreement
from its service point). Rules read those eagerly-loaded fields; plug-ins may also call ``ctx.lookup``
for anything else (it is the same object), so nothing has to be loaded "just in case".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from pydantic import BaseModel

from dunning.models.config import Config, ContactRule
from dunning.models.contacts import ContactDraft, ContactSource
from dunning.models.events import (
    AccountUpserted,
    ContactRequested,
    FieldActivityRemark,
    PremiseUpserted,
    ProcessEvent,
    ServiceAgreementUpserted,
)

PROCESS_EVENT_TYPES = ("collection.event", "severance.event", "writeoff.event", "overdue.event")


class Lookup(Protocol):
    """Read access to the facts a rule or plug-in may need. Each method returns ``None`` when unknown."""

    def service_agreement_for_service_point(
        self, service_point_id: str
    ) -> ServiceAgreementUpserted | None: ...

    def account(self, account_id: str) -> AccountUpserted | None: ...

    def service_agreement(self, service_agreement_id: str) -> ServiceAgreementUpserted | None: ...

    def premise(self, premise_id: str) -> PremiseUpserted | None: ...


@dataclass
class InMemoryLookup:
    """A :class:`Lookup` over plain dicts: for tests, the local stack and the CLI preview."""

    accounts: dict[str, AccountUpserted] = field(default_factory=dict)
    service_agreements: dict[str, ServiceAgreementUpserted] = field(default_factory=dict)
    premises: dict[str, PremiseUpserted] = field(default_factory=dict)

    @classmethod
    def of(cls, *records: BaseModel) -> InMemoryLookup:
        out = cls()
        for r in records:
            if isinstance(r, AccountUpserted):
                out.accounts[r.account_id] = r
            elif isinstance(r, ServiceAgreementUpserted):
                out.service_agreements[r.service_agreement_id] = r
            elif isinstance(r, PremiseUpserted):
                out.premises[r.premise_id] = r
            else:
                raise TypeError(f"InMemoryLookup cannot hold a {type(r).__name__}")
        return out

    def service_agreement_for_service_point(self, service_point_id: str) -> ServiceAgreementUpserted | None:
        """The linked agreement; an active one wins over a stopped/closed one, then the lowest id."""
        linked = [sa for sa in self.service_agreements.values() if service_point_id in sa.service_point_ids]
        return pick_service_agreement(linked)

    def account(self, account_id: str) -> AccountUpserted | None:
        return self.accounts.get(account_id)

    def service_agreement(self, service_agreement_id: str) -> ServiceAgreementUpserted | None:
        return self.service_agreements.get(service_agreement_id)

    def premise(self, premise_id: str) -> PremiseUpserted | None:
        return self.premises.get(premise_id)


_STATUS_ORDER = {"active": 0, "pending_stop": 1, "pending": 2, "stopped": 3, "closed": 4}


def pick_service_agreement(linked: Iterable[ServiceAgreementUpserted]) -> ServiceAgreementUpserted | None:
    """Of several agreements on one service point: active first, then the lowest id (deterministic)."""
    return min(linked, key=lambda sa: (_STATUS_ORDER[sa.status], sa.service_agreement_id), default=None)


@dataclass(frozen=True)
class EventContext:
    """One event plus the facts it refers to. ``payload`` is the typed model from ``EVENT_MODELS``."""

    event_id: str
    event_type: str
    occurred_at: datetime
    payload: BaseModel
    lookup: Lookup
    account: AccountUpserted | None = None
    service_agreement: ServiceAgreementUpserted | None = None
    premise: PremiseUpserted | None = None


@dataclass(frozen=True)
class EventNeeds:
    """The ids an event refers to, i.e. what :func:`build_context` loads through the :class:`Lookup`."""

    account_id: str | None = None
    service_agreement_id: str | None = None
    premise_id: str | None = None
    service_point_id: str | None = None


def needs_for_event(event_type: str, payload: BaseModel) -> EventNeeds:
    """What to load for an event. Events that create no contacts need nothing."""
    if isinstance(payload, ProcessEvent):
        return EventNeeds(account_id=payload.account_id, service_agreement_id=payload.service_agreement_id)
    if isinstance(payload, ContactRequested):
        return EventNeeds(account_id=payload.account_id, premise_id=payload.premise_id)
    if isinstance(payload, FieldActivityRemark):
        return EventNeeds(premise_id=payload.premise_id, service_point_id=payload.service_point_id)
    return EventNeeds()


def build_context(
    *, event_id: str, event_type: str, occurred_at: datetime, payload: BaseModel, lookup: Lookup
) -> EventContext:
    """Load what :func:`needs_for_event` names. The account follows the service agreement when the event
    names none (field-activity remark); the premise follows the service agreement when the event names none
    (severance)."""
    needs = needs_for_event(event_type, payload)
    sa = lookup.service_agreement(needs.service_agreement_id) if needs.service_agreement_id else None
    if sa is None and needs.service_point_id:
        sa = lookup.service_agreement_for_service_point(needs.service_point_id)
    account_id = needs.account_id or (sa.account_id if sa is not None else None)
    premise_id = needs.premise_id or (sa.premise_id if sa is not None else None)
    return EventContext(
        event_id=event_id,
        event_type=event_type,
        occurred_at=occurred_at,
        payload=payload,
        lookup=lookup,
        account=lookup.account(account_id) if account_id else None,
        service_agreement=sa,
        premise=lookup.premise(premise_id) if premise_id else None,
    )


class NoContact(Exception):
    """A rule or plug-in matched but cannot create a contact (e.g. the type needs a person, none is known).

    Raised by plug-ins; :func:`dunning.contacts.rules.evaluate_event` records it as a skipped rule with
    ``reason`` so the caller can log it or show it (nothing is retried: the facts will not change by
    retrying the same event).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def event_draft(
    ctx: EventContext,
    rule: ContactRule,
    config: Config,
    *,
    person_id: str | None,
    account_id: str | None,
    premise_id: str | None,
    source: ContactSource = "event",
    note: str = "",
    why_missing: Mapping[str, str] | None = None,
) -> ContactDraft:
    """A draft for ``rule``'s contact type, filled "from whatever is known" (S1.6).

    The contact type's usage is the authority: a value the type does not allow is left out; a value it
    requires and that is missing raises :class:`NoContact` (``why_missing[what]`` explains why it is
    missing). Identity ``("event", event_id, rule.id, person_id or "-")``: a redelivered event derives the
    same contact ids, so it creates nothing new.
    """
    contact_type = config.find_contact_type(rule.contact_type)
    if contact_type is None:
        raise NoContact(f"rule {rule.id}: unknown contact type {rule.contact_type}")
    values = {"person": person_id, "account": account_id, "premise": premise_id}
    usages = {
        "person": contact_type.person_usage,
        "account": contact_type.account_usage,
        "premise": contact_type.premise_usage,
    }
    for what, usage in usages.items():
        if usage == "not_allowed":
            values[what] = None
        elif usage == "required" and not values[what]:
            hint = (why_missing or {}).get(what, "")
            raise NoContact(
                f"rule {rule.id}: contact type {contact_type.key} requires a {what}, and none could be found"
                + (f" ({hint})" if hint else "")
            )
    return ContactDraft(
        contact_class=contact_type.contact_class,
        contact_type=contact_type.contact_type,
        source=source,
        source_ref=ctx.event_id,
        identity=("event", ctx.event_id, rule.id, values["person"] or "-"),
        person_id=values["person"],
        account_id=values["account"],
        premise_id=values["premise"],
        note=note,
        as_of=ctx.occurred_at.date(),
    )
