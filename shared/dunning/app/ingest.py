"""Apply a batch of upstream events: ledger facts in bulk, contact-creating events through the one
contact-creation path. Invalid events are stored, with the reason, in the rejected-events store.

The edge checks here complete the event models' own validation with what a single event cannot show by
itself (all readable reasons, never retried):

* size: the message body is measured in UTF-8 bytes (what SQS and the ledger store), not in characters;
* ``occurred_at``: facts are versioned by it, so a date from the far future would win over every later
  correction for ever; it must lie between :data:`~dunning.models.common.MIN_DATE` and now plus
  :data:`MAX_CLOCK_SKEW`;
* control characters: no string may carry C0/C1 control characters (tab excepted; line breaks only in
  free-text notes), which would corrupt letters, CSV manifests and email headers, nor unpaired surrogates
  (JSON allows ``"\\ud800"``; no store or PDF accepts it);
* attribute values (account and process-event attributes) are bounded like every other string;
* currency: an invoice or a payment must be in its account's currency when the account is known (in the
  ledger or in the same batch). The account profiles are read once per batch, never per event.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from pydantic import BaseModel, Field

from dunning.models.common import MIN_DATE
from dunning.models.config import Config
from dunning.models.events import (
    MAX_EVENT_BYTES,
    AccountUpserted,
    Event,
    EventValidationError,
    InvoicePosted,
    PaymentReceived,
    parse_event,
)
from dunning.observability import logger
from dunning.store.blobs import BlobStore
from dunning.store.contacts import ContactStore
from dunning.store.ledger import Fact, LedgerStore, facts_for_event

CONTACT_EVENTS = frozenset({
    "contact.requested", "collection.event", "severance.event", "writeoff.event", "overdue.event",
    "field_activity.remark",
})
MAX_CLOCK_SKEW = timedelta(days=1)
MIN_OCCURRED_AT = datetime.combine(MIN_DATE, time(0), tzinfo=UTC)
MAX_ATTRIBUTE_CHARS = 256
MULTILINE_FIELDS = frozenset({"note"})  # free text that may hold line breaks
_ALLOWED_CONTROLS = frozenset("\t")
_LINE_BREAKS = frozenset("\r\n")


# ---------------------------------------------------------------------------------------------- edge checks
def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            inner = f"{path}.{k}" if path else str(k)
            yield from _strings(str(k), f"{inner}(key)")
            yield from _strings(v, inner)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, f"{path}[{i}]")


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() else f"\\u{ord(ch):04x}" for ch in text)


def _control_character(path: str, text: str) -> str | None:
    field_name = path.rsplit(".", 1)[-1]
    for ch in text:
        if ch in _ALLOWED_CONTROLS or (ch in _LINE_BREAKS and field_name in MULTILINE_FIELDS):
            continue
        category = unicodedata.category(ch)
        if category == "Cc":
            return f"{_printable(path)} contains the control character U+{ord(ch):04X}"
        if category == "Cs":
            return f"{_printable(path)} contains an unpaired surrogate U+{ord(ch):04X} (not valid Unicode text)"
    return None


def edge_problem(event: Event, now: datetime) -> str | None:
    """Why a schema-valid event still cannot be applied (pure), or ``None``."""
    occurred = event.envelope.occurred_at
    if occurred < MIN_OCCURRED_AT:
        return f"occurred_at {occurred.isoformat()} is before {MIN_OCCURRED_AT.date().isoformat()}"
    if occurred > now + MAX_CLOCK_SKEW:
        return (f"occurred_at {occurred.isoformat()} is in the future (more than "
                f"{int(MAX_CLOCK_SKEW.total_seconds() // 3600)}h after {now.replace(microsecond=0).isoformat()})")
    for path, text in _strings({"source": event.envelope.source, "data": event.envelope.data}, ""):
        if problem := _control_character(path, text):
            return problem
    attributes = getattr(event.payload, "attributes", None)
    if isinstance(attributes, dict):
        for key, value in attributes.items():
            if isinstance(value, str) and len(value) > MAX_ATTRIBUTE_CHARS:
                return f"data.attributes.{key} is {len(value)} characters; the limit is {MAX_ATTRIBUTE_CHARS}"
    return None


class IngestResult(BaseModel):
    """What one SQS batch did: events applied, duplicates (or stale versions), rejected, contacts created, and
    the messages that failed (reported as batch item failures, so SQS delivers them again)."""

    applied: int = 0
    duplicates: int = 0
    rejected: int = 0
    contacts_created: int = 0
    failed_message_ids: set[str] = Field(default_factory=set)


@dataclass
class Ingestor:
    ledger: LedgerStore
    contacts: ContactStore
    blobs: BlobStore
    config: Callable[[], Config]
    result: IngestResult = field(default_factory=IngestResult)
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    _staged: list[tuple[str, str, Event]] = field(default_factory=list)

    def stage(self, message_id: str, body: str) -> None:
        """Validate one message. Invalid ones go to the rejected store now (never retried, never lost)."""
        size = len(body.encode("utf-8", errors="surrogatepass"))
        if size > MAX_EVENT_BYTES:
            self.reject(message_id, body[:2048], f"event is {size} bytes; the limit is {MAX_EVENT_BYTES}")
            return
        try:
            event = parse_event(body)
        except EventValidationError as exc:
            self.reject(message_id, body, str(exc))
            return
        if not isinstance(json.loads(body).get("occurred_at"), str):  # the schema's type; pydantic takes epochs
            self.reject(message_id, body, "occurred_at must be an ISO 8601 date-time string "
                                          "(e.g. 2026-01-01T10:00:00Z)")
            return
        if problem := edge_problem(event, self.now()):
            self.reject(message_id, body, problem)
            return
        self._staged.append((message_id, body, event))

    def reject(self, message_id: str, body: str, reason: str) -> None:
        key = self.blobs.put_rejected(message_id, body, reason)
        self.result.rejected += 1
        logger.warning("event rejected", extra={"message_id": message_id, "reason": reason[:300], "key": key})

    def flush(self) -> IngestResult:
        """Apply every staged event; a failure marks only the messages it concerns as failed."""
        staged, self._staged = self._staged, []
        try:
            staged = self._reject_currency_mismatches(staged)
        except Exception:
            logger.exception("account currencies could not be read; the batch's money events will be retried")
            money = {m for m, _, e in staged if isinstance(e.payload, InvoicePosted | PaymentReceived)}
            self.result.failed_message_ids.update(money)
            staged = [s for s in staged if s[0] not in money]
        facts: list[Fact] = []
        owners: dict[int, str] = {}
        contact_events: list[tuple[str, str, Event]] = []
        for message_id, body, event in staged:
            if event.event_type in CONTACT_EVENTS:
                contact_events.append((message_id, body, event))
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
        for message_id, body, event in contact_events:
            try:
                self.result.contacts_created += self._contacts_for(message_id, body, event)
            except Exception:
                logger.exception("contact creation failed; message will be retried",
                                 extra={"message_id": message_id, "event_type": event.event_type})
                self.result.failed_message_ids.add(message_id)
        return self.result

    def _reject_currency_mismatches(self, staged: list[tuple[str, str, Event]]) -> list[tuple[str, str, Event]]:
        """Invoices and payments in another currency than their (known) account's: rejected, with the reason.

        The account's currency comes from the newest ``account.upserted`` in this batch, else from the ledger
        (one batched read of the account profiles for the whole batch)."""
        money = [(m, b, e.payload) for m, b, e in staged if isinstance(e.payload, InvoicePosted | PaymentReceived)]
        if not money:
            return staged
        in_batch: dict[str, tuple[datetime, str]] = {}
        for _, _, e in staged:
            if isinstance(e.payload, AccountUpserted):
                seen = in_batch.get(e.payload.account_id)
                if seen is None or e.envelope.occurred_at >= seen[0]:
                    in_batch[e.payload.account_id] = (e.envelope.occurred_at, e.payload.currency)
        wanted = {p.account_id for _, _, p in money} - set(in_batch)
        stored = self.ledger.accounts(wanted) if wanted else {}
        currencies = {a: c for a, (_, c) in in_batch.items()}
        for account_id, account in stored.items():
            if account.currency is not None:
                currencies[account_id] = account.currency
        rejected: set[str] = set()
        for message_id, body, payload in money:
            expected = currencies.get(payload.account_id)
            if expected is not None and payload.currency != expected:
                kind = "invoice" if isinstance(payload, InvoicePosted) else "payment"
                self.reject(message_id, body, f"{kind} currency {payload.currency} does not match account "
                                              f"{payload.account_id}'s currency {expected}")
                rejected.add(message_id)
        return [s for s in staged if s[0] not in rejected]

    def _contacts_for(self, message_id: str, body: str, event: Event) -> int:
        from dunning.app.event_contacts import create_contacts_for_event

        outcome = create_contacts_for_event(event, self.config(), self.ledger, self.contacts)
        if outcome.rejected_reason:
            self.reject(message_id, body, outcome.rejected_reason)
        elif outcome.skipped and not outcome.created and not outcome.existing:
            # a rule matched but could not make its contact (e.g. the account is not known yet): never drop the
            # event silently - the rejected store keeps it, with the reason, for a resend once the facts are in
            self.reject(message_id, body, "no contact created: " + "; ".join(outcome.skipped))
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
