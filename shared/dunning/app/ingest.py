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
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any, Literal

from pydantic import BaseModel, Field

from dunning.models.common import MIN_DATE
from dunning.models.config import Config
from dunning.models.events import (
    MAX_ATTRIBUTE_CHARS,
    MAX_CLOCK_SKEW,
    MAX_EVENT_BYTES,
    MAX_NESTING_DEPTH,
    AccountUpserted,
    Event,
    EventOutcome,
    EventRecord,
    EventValidationError,
    InvoicePosted,
    PaymentReceived,
    Wait,
    event_digest,
    nesting_depth,
    parse_event,
)
from dunning.observability import logger
from dunning.store.blobs import BlobStore
from dunning.store.contacts import ContactStore
from dunning.store.ledger import EventLog, Fact, LedgerStore, facts_for_event

CONTACT_EVENTS = frozenset({
    "contact.requested", "collection.event", "severance.event", "writeoff.event", "overdue.event",
    "field_activity.remark",
})
MIN_OCCURRED_AT = datetime.combine(MIN_DATE, time(0), tzinfo=UTC)
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
    """What one SQS batch did: events applied (a stale version counts: it is superseded), held (waiting for
    their account or invoice), duplicates (redeliveries of an event already recorded), rejected, contacts
    created, and the messages that failed (reported as batch item failures, so SQS delivers them again)."""

    applied: int = 0
    held: int = 0
    duplicates: int = 0
    rejected: int = 0
    contacts_created: int = 0
    failed_message_ids: set[str] = Field(default_factory=set)


@dataclass
class _Staged:
    message_id: str
    body: str
    event: Event
    digest: str
    recorded: bool = False  # its event_id already has a record with this digest (a redelivery), or a copy in
    # the same batch records it
    outcome: Literal["applied", "held"] = "applied"
    reason: str = ""
    waits: list[Wait] = field(default_factory=list)


def waits_of(event: Event, known_accounts: set[str], known_invoices: set[tuple[str, str]]) -> list[Wait]:
    """What an invoice or a payment still waits for (pure): its account, and the invoices a payment names.
    Its facts are stored all the same; the account view takes them in once the account (or invoice) arrives."""
    p = event.payload
    if not isinstance(p, InvoicePosted | PaymentReceived):
        return []
    waits = [] if p.account_id in known_accounts else [Wait(kind="account", account_id=p.account_id)]
    if isinstance(p, PaymentReceived):
        waits += [Wait(kind="invoice", account_id=p.account_id, invoice_id=a.invoice_id) for a in p.applications
                  if (p.account_id, a.invoice_id) not in known_invoices]
    return waits


def conflict_reason(event_id: str, first: EventRecord | None = None) -> str:
    seen = (f" (first received {first.recorded_at}, {first.event_type}, {first.outcome})" if first else
            " in the same batch")
    return (f"event_id {event_id} was already received with a different body{seen}; an event_id names one "
            "event: send another event with its own event_id")


@dataclass
class Ingestor:
    ledger: LedgerStore
    contacts: ContactStore
    blobs: BlobStore
    config: Callable[[], Config]
    events: EventLog
    result: IngestResult = field(default_factory=IngestResult)
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    _staged: list[_Staged] = field(default_factory=list)
    _rejected_here: set[str] = field(default_factory=set)  # messages of the batch rejected while flushing
    _known_invoices: set[tuple[str, str]] = field(default_factory=set)  # (account, invoice) known to this batch
    _stored_accounts: dict[str, AccountUpserted] = field(default_factory=dict)  # the batch's accounts in the ledger

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
        raw = json.loads(body)
        if not isinstance(raw.get("occurred_at"), str):  # the schema's type; pydantic takes epochs
            self.reject(message_id, body, "occurred_at must be an ISO 8601 date-time string "
                                          "(e.g. 2026-01-01T10:00:00Z)")
            return
        if problem := edge_problem(event, self.now()):
            self.reject(message_id, body, problem)
            return
        self._staged.append(_Staged(message_id, body, event, event_digest(raw)))

    def reject(self, message_id: str, body: str, reason: str) -> None:
        key = self.blobs.put_rejected(message_id, body, reason, now=self.now())
        self.result.rejected += 1
        logger.warning("event rejected", extra={"message_id": message_id, "reason": reason[:300], "key": key})

    def flush(self) -> IngestResult:
        """Apply every staged event; a failure marks only the messages it concerns as failed. Each event ends
        applied, held (with what it waits for) or rejected (with the reason); the first two are recorded, with
        the body's digest, in the event log (batched, after the facts)."""
        staged, self._staged = self._staged, []
        self._rejected_here, self._known_invoices = set(), set()
        try:
            staged = self._reject_conflicts(staged)
            staged, known_accounts = self._reject_currency_mismatches(staged)
        except Exception:
            logger.exception("event records or account currencies could not be read; the batch will be retried")
            self.result.failed_message_ids.update(s.message_id for s in staged)
            return self.result
        facts: list[Fact] = []
        owners: dict[int, _Staged] = {}
        contact_events: list[_Staged] = []
        for s in staged:
            if s.event.event_type in CONTACT_EVENTS:
                contact_events.append(s)
                continue
            for f in facts_for_event(s.event):
                facts.append(f)
                owners[id(f)] = s
        if facts:
            try:
                written, _ = self.ledger.apply_facts(facts)
                fresh = {id(owners[id(f)]) for f in written}
                for s in {id(o): o for o in owners.values()}.values():
                    if id(s) not in fresh:
                        s.reason = "superseded: the ledger already holds this version or a newer one"
            except Exception:
                logger.exception("ledger write failed; the batch's fact messages will be retried")
                self.result.failed_message_ids.update(o.message_id for o in owners.values())
        for s in staged:
            if s.message_id not in self.result.failed_message_ids and (waits := waits_of(s.event, known_accounts,
                                                                                        self._known_invoices)):
                s.outcome, s.waits = "held", waits
                s.reason = "held: " + "; ".join(w.describe() for w in waits)
        for s in contact_events:
            try:
                self.result.contacts_created += self._contacts_for(s.message_id, s.body, s.event)
            except Exception:
                logger.exception("contact creation failed; message will be retried",
                                 extra={"message_id": s.message_id, "event_type": s.event.event_type})
                self.result.failed_message_ids.add(s.message_id)
        self._record([s for s in staged if s.message_id not in self.result.failed_message_ids
                      and s.message_id not in self._rejected_here])
        return self.result

    def _record(self, done: list[_Staged]) -> None:
        at = self.now().replace(microsecond=0).isoformat()
        new = [EventRecord(event_id=s.event.event_id, digest=s.digest, event_type=s.event.event_type,
                           outcome=s.outcome, reason=s.reason, waits=s.waits, message_id=s.message_id,
                           recorded_at=at) for s in done if not s.recorded]
        try:
            if new:
                self.events.put_records(new)
        except Exception:
            logger.exception("event records could not be written; the batch's new events will be retried")
            self.result.failed_message_ids.update(s.message_id for s in done if not s.recorded)
            return
        for s in done:
            if s.recorded:
                self.result.duplicates += 1
            elif s.outcome == "held":
                self.result.held += 1
            else:
                self.result.applied += 1

    def _reject_conflicts(self, staged: list[_Staged]) -> list[_Staged]:
        """An event_id seen before (stored, or earlier in this batch) with another digest is a conflict: rejected.
        With the same digest it is a redelivery: applied again (idempotent), not recorded again. One batched read
        gets the records, the invoices the batch's payments name and the profiles of the accounts its invoices and
        payments belong to (for :meth:`_reject_currency_mismatches`)."""
        payloads = [s.event.payload for s in staged]
        wanted = [Wait(kind="invoice", account_id=p.account_id, invoice_id=a.invoice_id)
                  for p in payloads if isinstance(p, PaymentReceived) for a in p.applications]
        in_batch = {p.account_id for p in payloads if isinstance(p, AccountUpserted)}
        accounts = {p.account_id for p in payloads if isinstance(p, InvoicePosted | PaymentReceived)} - in_batch
        found = self.events.lookup({s.event.event_id for s in staged}, wanted, accounts) if staged else None
        records = found.records if found else {}
        self._stored_accounts = found.accounts if found else {}
        self._known_invoices = {(w.account_id, w.invoice_id) for w in (found.present if found else ())} | {
            (p.account_id, p.invoice_id) for p in (s.event.payload for s in staged) if isinstance(p, InvoicePosted)}
        first: dict[str, _Staged] = {}
        kept: list[_Staged] = []
        for s in staged:
            event_id = s.event.event_id
            stored = records.get(event_id)
            earlier = first.get(event_id)
            if stored is not None and stored.digest != s.digest:
                self._reject_here(s, conflict_reason(event_id, stored))
            elif earlier is not None and earlier.digest != s.digest:
                self._reject_here(s, conflict_reason(event_id))
            else:
                s.recorded = stored is not None or earlier is not None
                first.setdefault(event_id, s)
                kept.append(s)
        return kept

    def _reject_here(self, s: _Staged, reason: str) -> None:
        self._rejected_here.add(s.message_id)
        self.reject(s.message_id, s.body, reason)

    def _reject_currency_mismatches(self, staged: list[_Staged]) -> tuple[list[_Staged], set[str]]:
        """Invoices and payments in another currency than their (known) account's: rejected, with the reason.
        Returns the rest, and which of the money events' accounts are known.

        The account's currency comes from the newest ``account.upserted`` in this batch, else from the ledger
        (read with the event records, in :meth:`_reject_conflicts`)."""
        money = [(s, s.event.payload) for s in staged if isinstance(s.event.payload, InvoicePosted | PaymentReceived)]
        if not money:
            return staged, set()
        in_batch: dict[str, tuple[datetime, str]] = {}
        for s in staged:
            e = s.event
            if isinstance(e.payload, AccountUpserted):
                seen = in_batch.get(e.payload.account_id)
                if seen is None or e.envelope.occurred_at >= seen[0]:
                    in_batch[e.payload.account_id] = (e.envelope.occurred_at, e.payload.currency)
        stored = self._stored_accounts
        currencies = {a: c for a, (_, c) in in_batch.items()}
        for account_id, account in stored.items():
            if account.currency is not None:
                currencies[account_id] = account.currency
        rejected: set[int] = set()
        for s, payload in money:
            expected = currencies.get(payload.account_id)
            if expected is not None and payload.currency != expected:
                kind = "invoice" if isinstance(payload, InvoicePosted) else "payment"
                self._reject_here(s, f"{kind} currency {payload.currency} does not match account "
                                     f"{payload.account_id}'s currency {expected}")
                rejected.add(id(s))
        return [s for s in staged if id(s) not in rejected], set(in_batch) | set(stored)

    def _contacts_for(self, message_id: str, body: str, event: Event) -> int:
        from dunning.app.event_contacts import create_contacts_for_event

        outcome = create_contacts_for_event(event, self.config(), self.ledger, self.contacts)
        if outcome.rejected_reason:
            self._rejected_here.add(message_id)
            self.reject(message_id, body, outcome.rejected_reason)
        elif outcome.skipped and not outcome.created and not outcome.existing:
            # a rule matched but could not make its contact (e.g. the account is not known yet): never drop the
            # event silently - the rejected store keeps it, with the reason, for a resend once the facts are in
            self._rejected_here.add(message_id)
            self.reject(message_id, body, "no contact created: " + "; ".join(outcome.skipped))
        elif not outcome.created and not outcome.existing:
            self._rejected_here.add(message_id)
            self.reject(message_id, body, no_rule_reason(event))
        return outcome.created


def no_rule_reason(event: Event) -> str:
    code = getattr(event.payload, "event_code", None) or getattr(event.payload, "remark_code", None)
    what = f"{event.event_type} with code {code}" if code else event.event_type
    return f"no rule matched: no contact rule or plug-in acts on {what}, so the event changes nothing"


def describe(result: IngestResult) -> dict[str, Any]:
    return {
        "applied": result.applied,
        "held": result.held,
        "duplicates_or_stale": result.duplicates,
        "rejected": result.rejected,
        "contacts_created": result.contacts_created,
        "failed": len(result.failed_message_ids),
        "at": datetime.now(UTC).isoformat(),
    }


# ---------------------------------------------------------------------------------------------- outcomes
class SentEvent(BaseModel):
    """One message put on the events queue: its SQS message id and, when the body names one, its event_id and
    digest (how its outcome is found again)."""

    message_id: str
    event_id: str | None = None
    digest: str | None = None


def sent_event(message_id: str, body: str) -> SentEvent:
    if nesting_depth(body) > MAX_NESTING_DEPTH:  # ingest rejects it; parsing it here would blow the recursion
        return SentEvent(message_id=message_id)
    try:
        raw = json.loads(body)
    except ValueError:
        return SentEvent(message_id=message_id)
    if not isinstance(raw, dict) or not isinstance(raw.get("event_id"), str):
        return SentEvent(message_id=message_id)
    return SentEvent(message_id=message_id, event_id=raw["event_id"], digest=event_digest(raw))


class EventStatus(BaseModel):
    message_id: str
    event_id: str | None = None
    outcome: EventOutcome
    reason: str = ""


class ReasonCount(BaseModel):
    outcome: EventOutcome
    reason: str
    events: int


class SendReport(BaseModel):
    """Where the events sent ended: applied, held (with what they wait for), rejected (with the reason), or
    still pending (ingest has not finished with them)."""

    sent: int
    applied: int = 0
    held: int = 0
    rejected: int = 0
    pending: int = 0
    reasons: list[ReasonCount] = Field(default_factory=list)
    events: list[EventStatus] = Field(default_factory=list)

    @property
    def settled(self) -> bool:
        return self.pending == 0


def settle(record: EventRecord, present: set[Wait]) -> tuple[EventOutcome, str]:
    """A held event whose account and invoices have all arrived since is applied: the account view folds its
    stored facts in (pure)."""
    if record.outcome != "held":
        return record.outcome, record.reason
    waiting = [w for w in record.waits if w not in present]
    if not waiting:
        return "applied", "applied: held until " + " and ".join(w.name() for w in record.waits) + " arrived"
    return "held", "held: " + "; ".join(w.describe() for w in waiting)


def _rejected_reasons(blobs: BlobStore, days: list[date], message_ids: set[str],
                      cache: dict[str, str]) -> dict[str, str]:
    for day in days:
        for key in blobs.keys(f"rejected/{day.isoformat()}/"):
            message_id = key.rsplit("/", 1)[-1].removesuffix(".json")
            if message_id in message_ids and message_id not in cache:
                cache[message_id] = str(blobs.get_json(key).get("reason", ""))
    return cache


def event_statuses(events: EventLog, blobs: BlobStore, sent: list[SentEvent], days: list[date],
                   cache: dict[str, str] | None = None) -> SendReport:
    """What ingest did with each event sent (``days``: the UTC dates its rejections may be filed under). One
    batched read of the event records, one of what the held ones wait for, one listing of the rejected events
    per day; ``cache`` keeps the rejection reasons already read between polls."""
    cache = {} if cache is None else cache
    rejected = _rejected_reasons(blobs, days, {s.message_id for s in sent}, cache)
    ids = {s.event_id for s in sent if s.event_id and s.message_id not in rejected}
    records = events.lookup(ids).records if ids else {}
    waits = {w for r in records.values() if r.outcome == "held" for w in r.waits}
    present = events.lookup([], waits).present if waits else set()
    statuses: list[EventStatus] = []
    for s in sent:
        record = records.get(s.event_id or "")
        if s.message_id in rejected:
            statuses.append(EventStatus(message_id=s.message_id, event_id=s.event_id, outcome="rejected",
                                        reason=rejected[s.message_id]))
        elif record is not None and record.digest == s.digest:
            outcome, reason = settle(record, present)
            statuses.append(EventStatus(message_id=s.message_id, event_id=s.event_id, outcome=outcome,
                                        reason=reason))
        else:  # not processed yet, or a reused event_id whose rejection is still to come
            statuses.append(EventStatus(message_id=s.message_id, event_id=s.event_id, outcome="pending"))
    return report_of(statuses)


def report_of(statuses: list[EventStatus]) -> SendReport:
    counts = Counter(s.outcome for s in statuses)
    reasons = Counter((s.outcome, s.reason) for s in statuses if s.reason and s.outcome != "pending")
    return SendReport(sent=len(statuses), applied=counts["applied"], held=counts["held"],
                      rejected=counts["rejected"], pending=counts["pending"], events=statuses,
                      reasons=[ReasonCount(outcome=o, reason=r, events=n) for (o, r), n in reasons.most_common()])


class HeldEvent(BaseModel):
    event_id: str
    event_type: str
    recorded_at: str
    reason: str


def held_events(events: EventLog) -> list[HeldEvent]:
    """The events still held: recorded as held, and what they wait for has not arrived yet."""
    records = events.held()
    present = events.lookup([], {w for r in records for w in r.waits}).present if records else set()
    out = []
    for record in records:
        outcome, reason = settle(record, present)
        if outcome == "held":
            out.append(HeldEvent(event_id=record.event_id, event_type=record.event_type,
                                 recorded_at=record.recorded_at, reason=reason))
    return out
