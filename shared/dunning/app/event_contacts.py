"""Event-driven contacts (user requests, system events, rules, plug-ins) against the stores.

The rules and the contact-creation path are pure (:mod:`dunning.contacts`); this module loads what they
need from the ledger and writes the resulting contacts.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, Field

from dunning.contacts import prepare_contacts
from dunning.contacts.context import build_context
from dunning.contacts.plugins import PluginRegistry
from dunning.contacts.rules import evaluate_event
from dunning.models.config import Config
from dunning.models.events import Event
from dunning.observability import logger
from dunning.store.contacts import ContactStore
from dunning.store.ledger import LedgerStore


class EventContactsOutcome(BaseModel):
    """The contacts one event created (or found already created), why none was, and the rules that matched
    without one."""

    created: int = 0
    existing: int = 0
    contact_ids: list[str] = Field(default_factory=list)  # the contacts of the event, new or existing
    rejected_reason: str | None = None
    skipped: list[str] = Field(default_factory=list)


def create_contacts_for_event(
    event: Event,
    config: Config,
    ledger: LedgerStore,
    contacts: ContactStore,
    *,
    now: datetime | None = None,
    registry: PluginRegistry | None = None,
) -> EventContactsOutcome:
    env = event.envelope
    ctx = build_context(event_id=env.event_id, event_type=env.event_type, occurred_at=env.occurred_at,
                        payload=event.payload, lookup=ledger)
    outcome = evaluate_event(ctx, config, registry)
    persons = ledger.persons({d.person_id for d in outcome.drafts if d.person_id})
    prepared = prepare_contacts(outcome.drafts, config, persons=persons, now=now or datetime.now(UTC))
    created = contacts.create_new(prepared.contacts)
    result = EventContactsOutcome(created=len(created), existing=len(prepared.contacts) - len(created),
                                  contact_ids=[c.contact_id for c in prepared.contacts],
                                  skipped=[f"{s.rule_id}: {s.reason}" for s in outcome.skipped])
    reasons = [reason for _, reason in prepared.rejected]
    if reasons and not prepared.contacts:
        result.rejected_reason = "no contact created: " + "; ".join(reasons)
    elif reasons:
        logger.warning("some contacts rejected", extra={"event_id": env.event_id, "reasons": reasons})
    if result.skipped:
        logger.info("rules matched without a contact", extra={"event_id": env.event_id, "skipped": result.skipped})
    return result
