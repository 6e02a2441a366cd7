"""Contacts from events (S1.3-S1.6): user requests, system events, declarative rules and plug-ins.

- ``contact.requested`` (a user, or ``dunning contacts create``): one draft from the payload.
- Every other event: each :class:`~dunning.models.config.ContactRule` with that ``event_type`` whose
  ``conditions`` match is applied. A rule with ``algorithm: NAME`` delegates to the plug-in ``NAME``
  (:mod:`dunning.contacts.plugins`); any other rule is declarative and fills person/account/premise as it
  says. Conditions are evaluated with :func:`dunning.strategy.criteria.matches` on the payload dumped
  to a dict, plus ``account`` / ``service_agreement`` / ``premise`` keys holding the loaded records (so a
  condition may test ``account.attributes.segment``); a payload field of the same name wins.

Person filling (``ContactRule.person``):

- ``main``: the account's main person; ``event``: the payload's ``person_id``; ``none``: no person;
- ``responsible_notified``: one contact for EACH account person who is financially responsible and
  receives notifications (:meth:`AccountUpserted.all_persons`).
- When a rule does not set ``person`` at all, a ``collection.event`` rule whose contact type sends a letter
  uses ``responsible_notified`` (S1.4: the collection letter goes to everyone who owes and wants to be
  told); everything else uses ``main``. Writing ``person: main`` explicitly keeps it to the main person.

Premise filling (``ContactRule.premise``): ``service_agreement`` (the event's service agreement's premise,
when it has one), ``event`` (the payload's ``premise_id``) or ``none``. When a rule does not set it, a
``severance.event`` rule uses ``service_agreement`` (S1.4); everything else ``none``.

Nothing here raises for a rule that cannot apply: it is returned in :attr:`EventOutcome.skipped` with a
reason, so one bad rule never blocks the others and the caller can log or record why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dunning.contacts.context import (
    PROCESS_EVENT_TYPES,
    EventContext,
    EventNeeds,
    InMemoryLookup,
    Lookup,
    NoContact,
    build_context,
    event_draft,
    needs_for_event,
)
from dunning.contacts.plugins import PluginRegistry, default_registry
from dunning.models.config import Config, ContactRule, PersonFill
from dunning.models.contacts import ContactDraft
from dunning.models.events import AccountUpserted, ContactRequested, ProcessEvent
from dunning.strategy.criteria import matches

USER_EVENT_TYPE = "contact.requested"


@dataclass(frozen=True)
class Skipped:
    """A rule that matched the event but created no contact, and why."""

    rule_id: str
    reason: str


@dataclass(frozen=True)
class EventOutcome:
    drafts: list[ContactDraft] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def drafts_for_event(
    ctx: EventContext, config: Config, registry: PluginRegistry | None = None
) -> list[ContactDraft]:
    """The drafts an event asks for (see :func:`evaluate_event` for the skipped rules and their reasons)."""
    return evaluate_event(ctx, config, registry).drafts


def evaluate_event(ctx: EventContext, config: Config, registry: PluginRegistry | None = None) -> EventOutcome:
    """Apply the user request or every matching rule. ``registry`` defaults to the installed plug-ins."""
    if ctx.event_type == USER_EVENT_TYPE:
        return EventOutcome(drafts=[user_draft(ctx)])
    rules = [r for r in config.contact_rules if r.event_type == ctx.event_type]
    if not rules:
        return EventOutcome()
    subject = condition_subject(ctx)
    out = EventOutcome()
    for rule in rules:
        if not matches(rule.conditions, subject):
            continue
        try:
            if rule.algorithm:
                out.drafts.extend(_plugin_drafts(ctx, rule, config, registry or default_registry()))
            else:
                out.drafts.extend(_rule_drafts(ctx, rule, config))
        except NoContact as exc:
            out.skipped.append(Skipped(rule.id, exc.reason))
    return out


def user_draft(ctx: EventContext) -> ContactDraft:
    """``contact.requested``: exactly what the user asked for; :func:`prepare_contact` validates it."""
    req = ctx.payload
    if not isinstance(req, ContactRequested):
        raise TypeError(f"{USER_EVENT_TYPE} needs a ContactRequested payload, got {type(req).__name__}")
    return ContactDraft(
        contact_class=req.contact_class,
        contact_type=req.contact_type,
        source="user",
        source_ref=req.request_id,
        identity=("user", req.request_id),
        person_id=req.person_id,
        account_id=req.account_id,
        premise_id=req.premise_id,
        note=req.note,
        as_of=ctx.occurred_at.date(),
    )


def condition_subject(ctx: EventContext) -> dict[str, Any]:
    """What rule conditions see: the payload's fields, plus the loaded records under their own names."""
    subject: dict[str, Any] = {}
    for name, record in (
        ("account", ctx.account),
        ("service_agreement", ctx.service_agreement),
        ("premise", ctx.premise),
    ):
        if record is not None:
            subject[name] = record.model_dump(mode="json")
    subject.update(ctx.payload.model_dump(mode="json"))
    return subject


def person_fill(rule: ContactRule, event_type: str, config: Config) -> PersonFill:
    """The rule's ``person``, or the event's default when the rule leaves it out (see the module docs)."""
    if "person" in rule.model_fields_set:
        return rule.person
    contact_type = config.find_contact_type(rule.contact_type)
    if event_type == "collection.event" and contact_type is not None and contact_type.action == "letter":
        return "responsible_notified"
    return rule.person


def premise_fill(rule: ContactRule, event_type: str) -> str:
    if "premise" in rule.model_fields_set:
        return rule.premise
    return "service_agreement" if event_type == "severance.event" else rule.premise


def _plugin_drafts(
    ctx: EventContext, rule: ContactRule, config: Config, registry: PluginRegistry
) -> list[ContactDraft]:
    plugin = registry.get(rule.algorithm or "")
    if plugin is None:
        known = ", ".join(registry.names()) or "none"
        raise NoContact(
            f"rule {rule.id}: contact-rule plug-in {rule.algorithm!r} is not installed (installed: {known})"
        )
    if ctx.event_type not in plugin.event_types:
        raise NoContact(f"rule {rule.id}: plug-in {plugin.name} does not handle {ctx.event_type} events")
    return plugin.drafts(ctx, rule, config)


def _rule_drafts(ctx: EventContext, rule: ContactRule, config: Config) -> list[ContactDraft]:
    """A declarative rule's drafts: one per person it fills in, with the account and premise it fills in."""
    payload = ctx.payload
    account_id: str | None = getattr(payload, "account_id", None) or (
        ctx.account.account_id if ctx.account else None
    )
    account = ctx.account if ctx.account is not None and ctx.account.account_id == account_id else None
    if rule.account == "none":
        account_id = None
    why = {"person": f"account {account_id} is not known yet" if account_id else "the event names no account"}
    persons = _rule_persons(ctx, rule, config, account, why)
    premise_id = _rule_premise(ctx, rule, why)
    note = f"{ctx.event_type} {payload.event_code}" if isinstance(payload, ProcessEvent) else ctx.event_type
    return [
        event_draft(
            ctx,
            rule,
            config,
            person_id=person_id,
            account_id=account_id,
            premise_id=premise_id,
            note=note,
            why_missing=why,
        )
        for person_id in persons
    ]


def _rule_persons(
    ctx: EventContext, rule: ContactRule, config: Config, account: AccountUpserted | None, why: dict[str, str]
) -> list[str | None]:
    """The persons a rule's contacts go to (``None``: no person); says in ``why`` why one is missing."""
    mode = person_fill(rule, ctx.event_type, config)
    if mode == "none":
        return [None]
    if mode == "event":
        why["person"] = f"a {ctx.event_type} event names no person"
        return [getattr(ctx.payload, "person_id", None)]
    if account is None:
        return [None]
    if mode == "main":
        return [account.main_person_id]
    why["person"] = f"no person on account {account.account_id} is financially responsible and notified"
    persons: list[str | None] = [
        person.person_id
        for person in account.all_persons()
        if person.financially_responsible and person.receives_notifications
    ]
    return persons or [None]


def _rule_premise(ctx: EventContext, rule: ContactRule, why: dict[str, str]) -> str | None:
    """The premise a rule's contacts name, if any; says in ``why`` why it is missing."""
    where = premise_fill(rule, ctx.event_type)
    if where == "service_agreement":
        agreement_id = getattr(ctx.payload, "service_agreement_id", None)
        why["premise"] = (
            f"service agreement {agreement_id} has no premise"
            if agreement_id and ctx.service_agreement
            else f"service agreement {agreement_id} is not known"
            if agreement_id
            else "the event names no service agreement"
        )
        return ctx.service_agreement.premise_id if ctx.service_agreement else None
    if where == "event":
        why["premise"] = f"a {ctx.event_type} event names no premise"
        return getattr(ctx.payload, "premise_id", None)
    return None


__all__ = [
    "PROCESS_EVENT_TYPES",
    "EventContext",
    "EventNeeds",
    "EventOutcome",
    "InMemoryLookup",
    "Lookup",
    "NoContact",
    "Skipped",
    "build_context",
    "drafts_for_event",
    "evaluate_event",
    "needs_for_event",
    "user_draft",
]
