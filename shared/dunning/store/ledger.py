"""The ledger table: every upstream fact, keyed so that one account's data is one Query (pk ``ACCT#id``).

Item layout (pk / sk):

=====================  ==================  =================================================
``ACCT#{account}``     ``PROFILE``         account.upserted
``ACCT#{account}``     ``INV#{invoice}``   invoice.posted
``ACCT#{account}``     ``PAY#{payment}``   payment.received
``ACCT#{account}``     ``STATUS#{inv}``    latest invoice.collection_status_changed, or a status Dunning recorded
                                           (an interaction's dispute or promise, the promise sweep's outcome)
``ACCT#{account}``     ``PRED#{inv}``      latest payment_prediction.updated
``ACCT#{account}``     ``STATE``           collection state, written by the run
``ACCT#{account}``     ``MANUAL``          manual strategy assignment
``PERSON#{id}``        ``PROFILE``         person.upserted
``PREMISE#{id}``       ``PROFILE``         premise.upserted
``SA#{id}``            ``PROFILE``         service_agreement.upserted
``SP#{id}``            ``SA``              service point -> service agreement link
``EVENT#{event_id}``   ``OUTCOME``         what ingest did with the event (digest, outcome)
``HELD``               ``{event_id}``      the same, for held events only (the held list)
``PROMISES#{day}``     ``{acct}#{inv}``    a promise to pay whose last day is ``day`` (the sweep's day index)
``PROMISES``           ``SWEEP``           the last promise sweep: its day and the days it went through
=====================  ==================  =================================================

Facts carry ``v`` (the event's ``occurred_at`` + event id): a write never replaces a newer version, so
duplicate and out-of-order delivery converge on the same ledger. Payloads are stored as JSON text.

:class:`LedgerStore` is what the use cases depend on; :class:`DynamoLedgerRepository` is its DynamoDB
implementation (tests use in-memory fakes of the same protocol). :class:`EventLog` is the record of what
ingest did with each event_id (:class:`DynamoEventLog`, in the same table; ``ttl`` after
:data:`EVENT_RECORD_DAYS`, so a reused event_id is detected for that long).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Protocol

from dunning.account_view import build_account_view
from dunning.models.accounts import AccountView, CollectionState, InvoiceStatusRecord, ManualAssignment
from dunning.models.events import (
    AccountUpserted,
    Event,
    EventRecord,
    InvoiceCollectionStatusChanged,
    InvoicePosted,
    PaymentPredictionUpdated,
    PaymentReceived,
    PersonUpserted,
    PremiseUpserted,
    ServiceAgreementUpserted,
    Wait,
)
from dunning.store import dynamo

# An event record is kept 30 days: longer than a message can live in the events queue and then its dead-letter
# queue (14 days each), so every redelivery and redrive is recognised, while the daily ledger Scan carries at
# most a month of records. A held event's marker stays until it is resolved (or HELD_RECORD_DAYS).
EVENT_RECORD_DAYS = 30
HELD_RECORD_DAYS = 400
# A promise's day-index item is kept this long after its day: longer than the sweep ever looks back.
PROMISE_INDEX_DAYS = 400


@dataclass(frozen=True)
class Fact:
    pk: str
    sk: str
    version: str
    event_id: str
    data: str  # JSON
    ttl: int | None = None  # epoch seconds DynamoDB may delete the item after (the promise index only)

    @property
    def key(self) -> tuple[str, str]:
        return (self.pk, self.sk)

    def item(self) -> dict[str, Any]:
        item = {"pk": self.pk, "sk": self.sk, "v": self.version, "eid": self.event_id, "data": self.data}
        return item if self.ttl is None else {**item, "ttl": self.ttl}


def account_pk(account_id: str) -> str:
    return f"ACCT#{account_id}"


def facts_for_event(event: Event) -> list[Fact]:
    """The ledger items an event writes (pure), versioned by its ``occurred_at`` and id. Contact-creating
    events write none."""
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
        links = [fact(f"SP#{sp}", "SA") for sp in p.service_point_ids]
        return [fact(f"SA#{p.service_agreement_id}", "PROFILE"), *links]
    if isinstance(p, InvoicePosted):
        return [fact(account_pk(p.account_id), f"INV#{p.invoice_id}")]
    if isinstance(p, PaymentReceived):
        return [fact(account_pk(p.account_id), f"PAY#{p.payment_id}")]
    if isinstance(p, InvoiceCollectionStatusChanged):
        status = fact(account_pk(p.account_id), f"STATUS#{p.invoice_id}")
        index = _promise_index_fact(p, version, env.event_id, data)
        return [status, index] if index is not None else [status]
    if isinstance(p, PaymentPredictionUpdated):
        return [fact(account_pk(p.account_id), f"PRED#{p.invoice_id}")]
    return []


PROMISES_SWEEP_KEY = {"pk": "PROMISES", "sk": "SWEEP"}


def promise_day_pk(day: date) -> str:
    return f"PROMISES#{day.isoformat()}"


def _promise_index_fact(status: InvoiceCollectionStatusChanged, version: str, event_id: str, data: str
                        ) -> Fact | None:
    """The day-index item of a dated promise to pay (the sweep queries the days that are due, never scans)."""
    if status.status != "promised_to_pay" or status.promised_until is None:
        return None
    expires = datetime.combine(status.promised_until + timedelta(days=PROMISE_INDEX_DAYS), time.min, UTC)
    return Fact(pk=promise_day_pk(status.promised_until), sk=f"{status.account_id}#{status.invoice_id}",
                version=version, event_id=event_id, data=data, ttl=int(expires.timestamp()))


def status_version(at: datetime, reference: str) -> str:
    """The version of a status Dunning records at ``at`` (as an event's: ``occurred_at|id``, in UTC)."""
    moment = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    return f"{moment.astimezone(UTC).isoformat()}|{reference}"


def is_status_fact(fact: Fact) -> bool:
    """Whether ``fact`` is an invoice's collection status (not the day index that goes with a promise)."""
    return fact.sk.startswith("STATUS#")


def status_facts(record: InvoiceStatusRecord, version: str) -> list[Fact]:
    """The ledger items a status Dunning records writes (pure): the status, and a dated promise's day-index item.
    Written with :meth:`LedgerStore.apply_facts`, so a newer status (an upstream event, another interaction) is
    never replaced by an older one."""
    data = record.model_dump_json(exclude_none=True)
    status = Fact(pk=account_pk(record.account_id), sk=f"STATUS#{record.invoice_id}", version=version,
                  event_id=record.reference, data=data)
    index = _promise_index_fact(record, version, record.reference, data)
    return [status, index] if index is not None else [status]


def status_records(items: Iterable[dict[str, Any]]) -> dict[str, tuple[InvoiceStatusRecord, str]]:
    """The stored status of each invoice among one account's items: ``invoice id -> (record, version)``."""
    out: dict[str, tuple[InvoiceStatusRecord, str]] = {}
    for item in items:
        sk = str(item.get("sk", ""))
        if sk.startswith("STATUS#"):
            out[sk[7:]] = (InvoiceStatusRecord.model_validate_json(item.get("data", "{}")), str(item.get("v", "")))
    return out


def version_time(version: str) -> datetime | None:
    """When a stored fact happened: the ``occurred_at`` its version starts with (``None`` if unreadable)."""
    try:
        return datetime.fromisoformat(version.partition("|")[0])
    except ValueError:
        return None


def open_amounts_before(account_id: str, items: Iterable[dict[str, Any]], day: date) -> dict[str, Decimal]:
    """What was open on each invoice before ``day``: the account's fold with only the payments received before it
    (an upstream promise to pay does not say what was open when it was made)."""
    kept = [i for i in items if not (str(i.get("sk", "")).startswith("PAY#") and
                                     PaymentReceived.model_validate_json(i.get("data", "{}")).received_on >= day)]
    return {inv.invoice_id: inv.open_amount for inv in items_to_view(account_id, kept).invoices}


def has_invoices(items: Iterable[dict[str, Any]]) -> bool:
    """Whether one account's stored items (as :meth:`LedgerStore.scan_account_items` yields them) hold an
    invoice."""
    return any(str(i.get("sk", "")).startswith("INV#") for i in items)


def payments_of(items: Iterable[dict[str, Any]]) -> list[PaymentReceived]:
    """The payments among one account's stored items, oldest first (the console's account page)."""
    payments = [PaymentReceived.model_validate_json(i.get("data", "{}")) for i in items
                if str(i.get("sk", "")).startswith("PAY#")]
    return sorted(payments, key=lambda p: (p.received_on, p.payment_id))


def items_to_view(account_id: str, items: Iterable[dict[str, Any]]) -> AccountView:
    """Map one account's stored items to its domain view."""
    account = None
    invoices, payments = [], []
    statuses: dict[str, InvoiceStatusRecord] = {}
    predictions: dict[str, PaymentPredictionUpdated] = {}
    state = None
    manual = None
    for item in items:
        sk: str = item["sk"]
        data = item.get("data", "{}")
        if sk == "PROFILE":
            account = AccountUpserted.model_validate_json(data)
        elif sk.startswith("INV#"):
            invoices.append(InvoicePosted.model_validate_json(data))
        elif sk.startswith("PAY#"):
            payments.append(PaymentReceived.model_validate_json(data))
        elif sk.startswith("STATUS#"):
            statuses[sk[7:]] = InvoiceStatusRecord.model_validate_json(data)
        elif sk.startswith("PRED#"):
            predictions[sk[5:]] = PaymentPredictionUpdated.model_validate_json(data)
        elif sk == "STATE":
            state = CollectionState.model_validate_json(data)
        elif sk == "MANUAL":
            manual = ManualAssignment.model_validate_json(data)
    return build_account_view(
        account_id,
        account=account,
        invoices=invoices,
        payments=payments,
        statuses=statuses,
        predictions=predictions,
        state=state,
        manual_assignment=manual,
    )


class LedgerStore(Protocol):
    """The ledger as the use cases see it: facts in, account views and profiles out."""

    def apply_facts(self, facts: list[Fact]) -> tuple[list[Fact], list[Fact]]: ...
    def account_items(self, account_id: str) -> list[dict[str, Any]]: ...
    def account_view(self, account_id: str) -> AccountView: ...
    def scan_accounts(self, segment: int = 0, total_segments: int = 1) -> Iterator[AccountView]: ...
    def scan_account_items(self, segment: int = 0, total_segments: int = 1
                           ) -> Iterator[tuple[str, list[dict[str, Any]]]]: ...
    def persons(self, person_ids: Iterable[str]) -> dict[str, PersonUpserted]: ...
    def accounts(self, account_ids: Iterable[str]) -> dict[str, AccountUpserted]: ...
    def person_and_premise(self, person_id: str | None, premise_id: str | None
                           ) -> tuple[PersonUpserted | None, PremiseUpserted | None]: ...
    def premise(self, premise_id: str) -> PremiseUpserted | None: ...
    def service_agreement(self, sa_id: str) -> ServiceAgreementUpserted | None: ...
    def account(self, account_id: str) -> AccountUpserted | None: ...
    def service_agreement_for_service_point(self, sp_id: str) -> ServiceAgreementUpserted | None: ...
    def put_states(self, states: dict[str, CollectionState]) -> int: ...
    def set_manual(self, account_id: str, assignment: ManualAssignment) -> None: ...
    def clear_manual(self, account_id: str) -> None: ...
    def manual_assignments(self) -> dict[str, ManualAssignment]: ...
    def approximate_item_count(self) -> int: ...


class DynamoLedgerRepository:
    """:class:`LedgerStore` over the ledger table."""

    def __init__(self, table: str) -> None:
        self.table = table

    # ------------------------------------------------------------------ facts (ingest)
    def apply_facts(self, facts: list[Fact]) -> tuple[list[Fact], list[Fact]]:
        """Write facts newer than what is stored. Returns (written, skipped as stale or duplicate).

        One BatchGetItem per 100 keys and one BatchWriteItem per 25 items: no per-fact round trip.
        """
        newest: dict[tuple[str, str], Fact] = {}
        for f in facts:
            cur = newest.get(f.key)
            if cur is None or f.version > cur.version:
                newest[f.key] = f
        stored = {
            (i["pk"], i["sk"]): i.get("v", "")
            for i in dynamo.batch_get(self.table, [{"pk": pk, "sk": sk} for pk, sk in newest],
                                      projection="pk, sk, v")
        }
        written = [f for k, f in newest.items() if f.version > stored.get(k, "")]
        dynamo.batch_write(self.table, (f.item() for f in written))
        written_ids = {id(f) for f in written}
        return written, [f for f in facts if id(f) not in written_ids]

    # ------------------------------------------------------------------ accounts
    def account_items(self, account_id: str) -> list[dict[str, Any]]:
        return list(dynamo.query(self.table, KeyConditionExpression="pk = :pk",
                                 ExpressionAttributeValues={":pk": {"S": account_pk(account_id)}}))

    def account_view(self, account_id: str) -> AccountView:
        return items_to_view(account_id, self.account_items(account_id))

    def scan_accounts(self, segment: int = 0, total_segments: int = 1) -> Iterator[AccountView]:
        """Every account's view, from a (parallel-segment) Scan."""
        for account_id, items in self.scan_account_items(segment, total_segments):
            yield items_to_view(account_id, items)

    def scan_account_items(self, segment: int = 0, total_segments: int = 1
                           ) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        """Every account's raw items, from one segment of a parallel Scan. Items of one pk arrive together."""
        # only what the views need (sk and data; pk groups them): v and eid are a third of the bytes botocore
        # parses and the manifest carries (DATA is a reserved word)
        kwargs: dict[str, Any] = {"FilterExpression": "begins_with(pk, :a)",
                                  "ExpressionAttributeValues": {":a": {"S": "ACCT#"}},
                                  "ProjectionExpression": "pk, sk, #d", "ExpressionAttributeNames": {"#d": "data"}}
        if total_segments > 1:
            kwargs.update(Segment=segment, TotalSegments=total_segments)
        current: str | None = None
        group: list[dict[str, Any]] = []
        for item in dynamo.scan(self.table, raw_items=True, **kwargs):
            if item["pk"] != current and group:
                yield group[0]["pk"][5:], group
                group = []
            current = item["pk"]
            group.append(item)
        if group:
            yield group[0]["pk"][5:], group

    def approximate_item_count(self) -> int:
        """The table's item count as DescribeTable reports it (DynamoDB refreshes it about every six hours):
        what the run sizes its Scan fan-out from (:func:`dunning.app.assign.begin_run`)."""
        from dunning.aws import client
        from dunning.store.failures import translated

        with translated(f"DescribeTable on {self.table}"):
            return int(client("dynamodb").describe_table(TableName=self.table)["Table"].get("ItemCount", 0))

    def persons(self, person_ids: Iterable[str]) -> dict[str, PersonUpserted]:
        items = dynamo.batch_get(self.table, [{"pk": f"PERSON#{p}", "sk": "PROFILE"} for p in set(person_ids)])
        return {i["pk"][7:]: PersonUpserted.model_validate_json(i["data"]) for i in items}

    def accounts(self, account_ids: Iterable[str]) -> dict[str, AccountUpserted]:
        """The known accounts' profiles, in one batched read (ids not in the ledger are left out)."""
        found = self._profiles(("ACCT", a) for a in account_ids)
        return {ident: AccountUpserted.model_validate_json(data) for (_, ident), data in found.items()}

    def person_and_premise(self, person_id: str | None, premise_id: str | None
                           ) -> tuple[PersonUpserted | None, PremiseUpserted | None]:
        """A person's and a premise's profiles (either may be None or unknown), in one batched read."""
        keys = [("PERSON", person_id)] if person_id else []
        keys += [("PREMISE", premise_id)] if premise_id else []
        found = self._profiles(keys) if keys else {}
        person = found.get(("PERSON", person_id or ""))
        premise = found.get(("PREMISE", premise_id or ""))
        return (PersonUpserted.model_validate_json(person) if person else None,
                PremiseUpserted.model_validate_json(premise) if premise else None)

    def _profiles(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """Raw JSON of PROFILE items for (kind, id) pairs, e.g. ("PREMISE", "PR-1"), in one batch."""
        items = dynamo.batch_get(self.table, [{"pk": f"{kind}#{i}", "sk": "PROFILE"} for kind, i in set(keys)])
        out: dict[tuple[str, str], str] = {}
        for i in items:
            kind, _, ident = i["pk"].partition("#")
            out[(kind, ident)] = i["data"]
        return out

    def premise(self, premise_id: str) -> PremiseUpserted | None:
        data = self._profiles([("PREMISE", premise_id)]).get(("PREMISE", premise_id))
        return PremiseUpserted.model_validate_json(data) if data else None

    def service_agreement(self, sa_id: str) -> ServiceAgreementUpserted | None:
        data = self._profiles([("SA", sa_id)]).get(("SA", sa_id))
        return ServiceAgreementUpserted.model_validate_json(data) if data else None

    def account(self, account_id: str) -> AccountUpserted | None:
        data = self._profiles([("ACCT", account_id)]).get(("ACCT", account_id))
        return AccountUpserted.model_validate_json(data) if data else None

    def service_agreement_for_service_point(self, sp_id: str) -> ServiceAgreementUpserted | None:
        """The agreement linked to a service point (the link item holds the agreement as last upserted)."""
        links = dynamo.batch_get(self.table, [{"pk": f"SP#{sp_id}", "sk": "SA"}])
        return ServiceAgreementUpserted.model_validate_json(links[0]["data"]) if links else None

    # ------------------------------------------------------------------ run state
    def put_states(self, states: dict[str, CollectionState]) -> int:
        now = datetime.now(UTC).isoformat()
        return dynamo.batch_write(
            self.table,
            ({"pk": account_pk(a), "sk": "STATE", "v": now, "data": s.model_dump_json()} for a, s in states.items()),
        )

    def set_manual(self, account_id: str, assignment: ManualAssignment) -> None:
        dynamo.batch_write(self.table, [{"pk": account_pk(account_id), "sk": "MANUAL",
                                         "data": assignment.model_dump_json()}])

    def clear_manual(self, account_id: str) -> None:
        dynamo.batch_write(self.table, deletes=[{"pk": account_pk(account_id), "sk": "MANUAL"}])

    def manual_assignments(self) -> dict[str, ManualAssignment]:
        items = dynamo.scan(self.table, FilterExpression="sk = :m", ExpressionAttributeValues={":m": {"S": "MANUAL"}})
        return {i["pk"][5:]: ManualAssignment.model_validate_json(i["data"]) for i in items}


@dataclass(frozen=True)
class SweepMark:
    """The last promise sweep: the day it ran for and the first day of the index it went through (the last is the
    day before ``today``)."""

    today: date
    first_day: date


class PromiseLedger(LedgerStore, Protocol):
    """The ledger with the promise sweep's day index (:func:`dunning.app.holds.expire_promises`)."""

    def promises_due(self, days: Iterable[date]) -> list[InvoiceStatusRecord]: ...
    def last_promise_sweep(self) -> SweepMark | None: ...
    def set_last_promise_sweep(self, mark: SweepMark) -> None: ...


class DynamoPromiseLedger(DynamoLedgerRepository):
    """:class:`PromiseLedger` over the ledger table: one Query per day of the index, never a Scan."""

    def promises_due(self, days: Iterable[date]) -> list[InvoiceStatusRecord]:
        """The promises indexed under each of ``days`` (one Query per day), as they were recorded."""
        out: list[InvoiceStatusRecord] = []
        for day in sorted(set(days)):
            items = dynamo.query(self.table, KeyConditionExpression="pk = :pk",
                                 ExpressionAttributeValues={":pk": {"S": promise_day_pk(day)}})
            out.extend(InvoiceStatusRecord.model_validate_json(i["data"]) for i in items)
        return out

    def last_promise_sweep(self) -> SweepMark | None:
        found = dynamo.batch_get(self.table, [dict(PROMISES_SWEEP_KEY)])
        if not found or not found[0].get("today"):
            return None
        return SweepMark(today=date.fromisoformat(found[0]["today"]),
                         first_day=date.fromisoformat(found[0]["first_day"]))

    def set_last_promise_sweep(self, mark: SweepMark) -> None:
        dynamo.batch_write(self.table, [{**PROMISES_SWEEP_KEY, "today": mark.today.isoformat(),
                                         "first_day": mark.first_day.isoformat(),
                                         "at": datetime.now(UTC).isoformat()}])


@dataclass
class EventLookup:
    """One batched read for an ingest batch: the event records, which awaited accounts and invoices exist, and
    the account profiles asked for (their currency)."""

    records: dict[str, EventRecord]
    present: set[Wait]
    accounts: dict[str, AccountUpserted]


class EventLog(Protocol):
    """What ingest did with each event_id, as the ingest use case and the CLI see it."""

    def lookup(self, event_ids: Iterable[str], waits: Iterable[Wait] = (), accounts: Iterable[str] = ()
               ) -> EventLookup: ...
    def put_records(self, records: list[EventRecord]) -> int: ...
    def held(self) -> list[EventRecord]: ...


def _wait_key(wait: Wait) -> tuple[str, str]:
    return (account_pk(wait.account_id), "PROFILE" if wait.kind == "account" else f"INV#{wait.invoice_id}")


def _record_item(record: EventRecord, pk: str, sk: str, ttl: int) -> dict[str, Any]:
    item: dict[str, Any] = {"pk": pk, "sk": sk, "digest": record.digest, "type": record.event_type,
                            "outcome": record.outcome, "at": record.recorded_at, "mid": record.message_id,
                            "eid": record.event_id, "ttl": ttl}
    if record.reason:
        item["reason"] = record.reason
    if record.waits:
        item["waits"] = json.dumps([w.model_dump() for w in record.waits], separators=(",", ":"))
    return item


def _record_of(item: dict[str, Any]) -> EventRecord:
    return EventRecord(event_id=item["eid"], digest=item["digest"], event_type=item.get("type", ""),
                       outcome=item["outcome"], reason=item.get("reason", ""), message_id=item.get("mid", ""),
                       recorded_at=item.get("at", ""),
                       waits=[Wait.model_validate(w) for w in json.loads(item.get("waits", "[]"))])


class DynamoEventLog:
    """:class:`EventLog` in the ledger table: one ``EVENT#`` item per event_id, plus a ``HELD`` item per held
    event. Reads are one BatchGetItem per 100 keys, writes one BatchWriteItem per 25 items.

    The digest check is a read before the write, not a conditional put (which cannot be batched): two different
    bodies with one event_id that reach two ingest invocations at the same moment can both pass. A reused id
    arriving later, or in the same batch, is caught."""

    def __init__(self, table: str) -> None:
        self.table = table

    def lookup(self, event_ids: Iterable[str], waits: Iterable[Wait] = (), accounts: Iterable[str] = ()
               ) -> EventLookup:
        """The stored records of ``event_ids``, which of ``waits`` now exist and the profiles of ``accounts``, in
        one batched read (one BatchGetItem per 100 keys)."""
        by_key = {_wait_key(w): w for w in waits}
        wanted_accounts = {account_pk(a) for a in accounts}
        keys = [{"pk": f"EVENT#{e}", "sk": "OUTCOME"} for e in set(event_ids)]
        keys += [{"pk": pk, "sk": sk} for pk, sk in set(by_key) | {(pk, "PROFILE") for pk in wanted_accounts}]
        out = EventLookup(records={}, present=set(), accounts={})
        for item in dynamo.batch_get(self.table, keys):  # whole items: a projection reads (and bills) the same
            if item["sk"] == "OUTCOME":
                out.records[item["eid"]] = _record_of(item)
                continue
            if (wait := by_key.get((item["pk"], item["sk"]))) is not None:
                out.present.add(wait)
            if item["sk"] == "PROFILE" and item["pk"] in wanted_accounts:
                out.accounts[item["pk"][5:]] = AccountUpserted.model_validate_json(item["data"])
        return out

    def put_records(self, records: list[EventRecord]) -> int:
        now = datetime.now(UTC)
        ttl = int((now + timedelta(days=EVENT_RECORD_DAYS)).timestamp())
        held_ttl = int((now + timedelta(days=HELD_RECORD_DAYS)).timestamp())
        items = [_record_item(r, f"EVENT#{r.event_id}", "OUTCOME", held_ttl if r.outcome == "held" else ttl)
                 for r in records]
        items += [_record_item(r, "HELD", r.event_id, held_ttl) for r in records
                  if r.outcome == "held"]
        return dynamo.batch_write(self.table, items)

    def held(self) -> list[EventRecord]:
        """Every event recorded as held, oldest first (whether what it waits for has arrived since is for the
        caller to ask, with :meth:`lookup`)."""
        held = [_record_of(i) for i in dynamo.query(self.table, KeyConditionExpression="pk = :h",
                                                    ExpressionAttributeValues={":h": {"S": "HELD"}})]
        return sorted(held, key=lambda r: (r.recorded_at, r.event_id))

