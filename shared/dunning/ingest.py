"""Apply a batch of upstream events: ledger facts in bulk, contact-creating events through the one
contact-creation path. Invalid events are stored, with the reason, in the rejected-events store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from dunning.models.config import Config
from dunning.models.events import (
    AccountUpserted,
    Event,
    EventValidationError,
    InvoiceCollectionStatusChanged,
    InvoicePosted,
    PaymentPredictionUpdated,
    PaymentReceived,
    PersonUpserted,
    PremiseUpserted,
    ServiceAgreementUpserted,
    parse_event,
)
from dunning.observability import logger
from dunning.store.blobs import Blobs
from dunning.store.contacts import ContactsRepository
from dunning.store.ledger import Fact, LedgerRepository, account_pk

CONTACT_EVENTS = frozenset({
    "contact.requested", "collection.event", "severance.event", "writeoff.event", "overdue.event",
    "field_activity.remark",
})


def facts_for_event(event: Event) -> list[Fact]:
    """The ledger items an event writes (pure). Contact-creating events write none."""
    env, p = event.envelope, event.payload
    version = f"{env.occurred_at.astimezone(UTC).isoformat()}|{env.event_id}"
    data = p.model_dump_json()

    def fact(pk: str, sk: str) -> Fact:
        return Fact(pk=pk, sk=sk, version=version, event_id=env.event_id, data=data)

    if isinstance(p, PersonUpserted):
        return [fact(f"PERSON#{p.person_id}", "PROFILE")]
    if isinstance(p, AccountUpserted):
        return [fact(account_pk(p.account_id), "PROFILE")]
    if isinstance(p, PremiseUpserted):
        return [fact(f"PREMISE#{p.premise_id}", "PROFILE")]
    if isinstance(p, ServiceAgreementUpserted):
        links = [Fact(f"SP#{sp}", "SA", version, env.event_id, data) for sp in p.service_point_ids]
        return [fact(f"SA#{p.service_agreement_id}", "PROFILE"), *links]
    if isinstance(p, InvoicePosted):
        return [fact(account_pk(p.account_id), f"INV#{p.invoice_id}")]
    if isinstance(p, PaymentReceived):
        return [fact(account_pk(p.account_id), f"PAY#{p.payment_id}")]
    if isinstance(p, InvoiceCollectionStatusChanged):
        return [fact(account_pk(p.account_id), f"STATUS#{p.invoice_id}")]
    if isinstance(p, PaymentPredictionUpdated):
        return [fact(account_pk(p.account_id), f"PRED#{p.invoice_id}")]
    return []


@dataclass
class IngestResult:
    applied: int = 0
    duplicates: int = 0
    rejected: int = 0
    contacts_created: int = 0
    failed_message_ids: set[str] = field(default_factory=set)


@dataclass
class Ingestor:
    ledger: LedgerRepository
    contacts: ContactsRepository
    blobs: Blobs
    config: Callable[[], Config]
    result: IngestResult = field(default_factory=IngestResult)
    _staged: list[tuple[str, Event]] = field(default_factory=list)

    def stage(self, message_id: str, body: str) -> None:
        """Validate one message. Invalid ones go to the rejected store now (never retried, never lost)."""
        try:
            event = parse_event(body)
        except EventValidationError as exc:
            self.reject(message_id, body, str(exc))
            return
        self._staged.append((message_id, event))

    def reject(self, message_id: str, body: str, reason: str) -> None:
        key = self.blobs.put_rejected(message_id, body, reason)
        self.result.rejected += 1
        logger.warning("event rejected", extra={"message_id": message_id, "reason": reason[:300], "key": key})

    def flush(self) -> IngestResult:
        """Apply every staged event; a failure marks only the messages it concerns as failed."""
        staged, self._staged = self._staged, []
        facts: list[Fact] = []
        owners: dict[int, str] = {}
        contact_events: list[tuple[str, Event]] = []
        for message_id, event in staged:
            if event.event_type in CONTACT_EVENTS:
                contact_events.append((message_id, event))
                continue
            for f in facts_for_event(event):
                facts.append(f)
                owners[id(f)] = message_id
        if facts:
            try:
                written, skipped = self.ledger.apply_facts(facts)
                self.result.applied += len({owners[id(f)] for f in written})
                self.result.duplicates += len(skipped)
            except Exception:
                logger.exception("ledger write failed; the batch's fact messages will be retried")
                self.result.failed_message_ids.update(owners.values())
        for message_id, event in contact_events:
            try:
                self.result.contacts_created += self._contacts_for(message_id, event)
            except Exception:
                logger.exception("contact creation failed; message will be retried",
                                 extra={"message_id": message_id, "event_type": event.event_type})
                self.result.failed_message_ids.add(message_id)
        return self.result

    def _contacts_for(self, message_id: str, event: Event) -> int:
        from dunning.contact_service import create_contacts_for_event

        outcome = create_contacts_for_event(event, self.config(), self.ledger, self.contacts)
        if outcome.rejected_reason:
            self.reject(message_id, event.envelope.model_dump_json(), outcome.rejected_reason)
        return outcome.created


def describe(result: IngestResult) -> dict[str, Any]:
    return {
        "applied": result.applied,
        "duplicates_or_stale": result.duplicates,
        "rejected": result.rejected,
        "contacts_created": result.contacts_created,
        "failed": len(result.failed_message_ids),
        "at": datetime.now(UTC).isoformat(),
    }
