"""In-memory stores that satisfy the store protocols (:class:`~dunning.store.ledger.LedgerStore`,
:class:`~dunning.store.contacts.ContactStore`, :class:`~dunning.store.runs.RunStore`,
:class:`~dunning.store.blobs.BlobStore`), so use cases run without AWS and mypy checks every call into them.

They keep what the tables keep (raw ledger items, whole contacts, JSON bytes in a bucket) and follow the
DynamoDB implementations' rules: versioned facts, conditional status changes, the run lock.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from typing import Any

from dunning.errors import NoPublishedConfiguration, PermanentStoreError, RunAlreadyActive
from dunning.models.accounts import AccountView, CollectionState, ManualAssignment
from dunning.models.config import Config
from dunning.models.contacts import Contact, ContactStatus, StatusChange
from dunning.models.events import AccountUpserted, PersonUpserted, PremiseUpserted, ServiceAgreementUpserted
from dunning.store.blobs import CONFIG_KEY
from dunning.store.contacts import DEFAULT_RETENTION_DAYS, expires_at
from dunning.store.ledger import Fact, items_to_view

BATCH_WRITE = 25  # items per BatchWriteItem call, as the DynamoDB implementations count them


def _calls(n: int) -> int:
    return -(-n // BATCH_WRITE)


class FakeLedger:
    """The ledger table as a dict of items keyed by (pk, sk)."""

    def __init__(self, items: dict[str, list[dict[str, Any]]] | None = None,
                 persons: dict[str, PersonUpserted] | None = None) -> None:
        self.table: dict[tuple[str, str], dict[str, Any]] = {}
        for account_items in (items or {}).values():
            for item in account_items:
                self.table[(item["pk"], item["sk"])] = dict(item)
        for person_id, person in (persons or {}).items():
            self.table[(f"PERSON#{person_id}", "PROFILE")] = {"pk": f"PERSON#{person_id}", "sk": "PROFILE",
                                                              "data": person.model_dump_json()}

    def approximate_item_count(self) -> int:
        return len(self.table)

    def _data(self, pk: str, sk: str) -> str | None:
        item = self.table.get((pk, sk))
        return str(item["data"]) if item else None

    # ------------------------------------------------------------------ facts
    def apply_facts(self, facts: list[Fact]) -> tuple[list[Fact], list[Fact]]:
        newest: dict[tuple[str, str], Fact] = {}
        for f in facts:
            if f.key not in newest or f.version > newest[f.key].version:
                newest[f.key] = f
        written = [f for k, f in newest.items() if f.version > self.table.get(k, {}).get("v", "")]
        for f in written:
            self.table[f.key] = f.item()
        written_ids = {id(f) for f in written}
        return written, [f for f in facts if id(f) not in written_ids]

    # ------------------------------------------------------------------ accounts
    def account_items(self, account_id: str) -> list[dict[str, Any]]:
        pk = f"ACCT#{account_id}"
        return [dict(i) for (p, _), i in sorted(self.table.items()) if p == pk]

    def account_view(self, account_id: str) -> AccountView:
        return items_to_view(account_id, self.account_items(account_id))

    def scan_accounts(self, segment: int = 0, total_segments: int = 1) -> Iterator[AccountView]:
        for account_id, items in self.scan_account_items(segment, total_segments):
            yield items_to_view(account_id, items)

    def scan_account_items(self, segment: int = 0, total_segments: int = 1
                           ) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        accounts = sorted({pk[5:] for pk, _ in self.table if pk.startswith("ACCT#")})
        for n, account_id in enumerate(accounts):
            if n % total_segments == segment:
                yield account_id, self.account_items(account_id)

    def persons(self, person_ids: Iterable[str]) -> dict[str, PersonUpserted]:
        found = {p: self._data(f"PERSON#{p}", "PROFILE") for p in set(person_ids)}
        return {p: PersonUpserted.model_validate_json(d) for p, d in found.items() if d}

    def accounts(self, account_ids: Iterable[str]) -> dict[str, AccountUpserted]:
        found = {a: self._data(f"ACCT#{a}", "PROFILE") for a in set(account_ids)}
        return {a: AccountUpserted.model_validate_json(d) for a, d in found.items() if d}

    def person_and_premise(self, person_id: str | None, premise_id: str | None
                           ) -> tuple[PersonUpserted | None, PremiseUpserted | None]:
        person = self.persons([person_id]).get(person_id) if person_id else None
        return person, self.premise(premise_id) if premise_id else None

    def premise(self, premise_id: str) -> PremiseUpserted | None:
        data = self._data(f"PREMISE#{premise_id}", "PROFILE")
        return PremiseUpserted.model_validate_json(data) if data else None

    def service_agreement(self, sa_id: str) -> ServiceAgreementUpserted | None:
        data = self._data(f"SA#{sa_id}", "PROFILE")
        return ServiceAgreementUpserted.model_validate_json(data) if data else None

    def account(self, account_id: str) -> AccountUpserted | None:
        return self.accounts([account_id]).get(account_id)

    def service_agreement_for_service_point(self, sp_id: str) -> ServiceAgreementUpserted | None:
        data = self._data(f"SP#{sp_id}", "SA")
        return ServiceAgreementUpserted.model_validate_json(data) if data else None

    # ------------------------------------------------------------------ run state
    def put_states(self, states: dict[str, CollectionState]) -> int:
        now = datetime.now(UTC).isoformat()
        for account_id, state in states.items():
            pk = f"ACCT#{account_id}"
            self.table[(pk, "STATE")] = {"pk": pk, "sk": "STATE", "v": now, "data": state.model_dump_json()}
        return _calls(len(states))

    def set_manual(self, account_id: str, assignment: ManualAssignment) -> None:
        pk = f"ACCT#{account_id}"
        self.table[(pk, "MANUAL")] = {"pk": pk, "sk": "MANUAL", "data": assignment.model_dump_json()}

    def clear_manual(self, account_id: str) -> None:
        self.table.pop((f"ACCT#{account_id}", "MANUAL"), None)

    def manual_assignments(self) -> dict[str, ManualAssignment]:
        return {pk[5:]: ManualAssignment.model_validate_json(i["data"])
                for (pk, sk), i in sorted(self.table.items()) if sk == "MANUAL"}


class FakeContacts:
    """The contacts table: whole contacts by id, plus the attributes a contact model does not hold (the print
    queue marker)."""

    def __init__(self, retention_days: int = DEFAULT_RETENTION_DAYS) -> None:
        self.items: dict[str, Contact] = {}
        self.queued: set[str] = set()
        self.retention_days = retention_days

    def create_new(self, contacts: Iterable[Contact]) -> list[Contact]:
        wanted = {c.contact_id: c for c in contacts}
        new = [c if c.ttl is not None else c.model_copy(update={"ttl": expires_at(c.created_at, self.retention_days)})
               for cid, c in wanted.items() if cid not in self.items]
        self.items.update({c.contact_id: c for c in new})
        return new

    def get(self, contact_id: str) -> Contact | None:
        return self.items.get(contact_id)

    def by_account(self, account_id: str) -> list[Contact]:
        return [c for c in self.items.values() if c.account_id == account_id]

    def all(self) -> Iterator[Contact]:
        return iter(list(self.items.values()))

    def get_many(self, ids: list[str]) -> list[Contact]:
        return [self.items[i] for i in dict.fromkeys(ids) if i in self.items]

    def letter_states(self, ids: list[str]) -> list[dict[str, Any]]:
        return [c.model_dump(mode="json", include={"contact_id", "status", "language", "created_at"})
                for c in self.get_many(ids)]

    def print_queue_ids(self) -> list[str]:
        return sorted(self.queued & set(self.items))

    def queue_for_print(self, ids: Iterable[str]) -> int:
        eligible = [i for i in ids if i in self.items and self.items[i].status in ("pending", "rendered")]
        self.queued.update(eligible)
        return len(eligible)

    def mark_printed(self, printed: Iterable[Contact]) -> int:
        letters = list(printed)
        for c in letters:
            self.items[c.contact_id] = c
            self.queued.discard(c.contact_id)
        return _calls(len(letters))

    def set_status(self, contact_id: str, status: ContactStatus, *, reason: str = "",
                   fields: dict[str, Any] | None = None, remove: Iterable[str] = (),
                   only_from: Iterable[ContactStatus] | None = None, now: datetime | None = None) -> bool:
        current = self.items.get(contact_id)
        allowed = list(only_from or [])
        if current is None or (allowed and current.status not in allowed):
            return False
        change = StatusChange(status=status, at=now or datetime.now(UTC), reason=reason)
        update: dict[str, Any] = {"status": status, "history": [*current.history, change]}
        if reason:
            update["reason"] = reason
        for key, value in (fields or {}).items():
            if key == "print_queue":
                self.queued.add(contact_id)
            else:
                update[key] = value
        for key in remove:
            if key == "print_queue":
                self.queued.discard(contact_id)
            else:
                update[key] = None
        self.items[contact_id] = Contact.model_validate({**current.model_dump(), **update})
        return True


class FakeRuns:
    def __init__(self) -> None:
        self.locks: dict[date, str] = {}
        self.records: dict[str, dict[str, Any]] = {}
        self.batches: dict[str, dict[int, dict[str, Any]]] = {}
        self.decisions: list[dict[str, Any]] = []

    def acquire(self, as_of: date, run_id: str, now: datetime | None = None) -> None:
        if self.locks.get(as_of, run_id) != run_id:
            raise RunAlreadyActive(f"a run for {as_of.isoformat()} is already active")
        self.locks[as_of] = run_id

    def release(self, as_of: date, run_id: str, status: str) -> None:
        if self.locks.get(as_of) == run_id:
            del self.locks[as_of]

    def put_run(self, run_id: str, record: dict[str, Any]) -> None:
        self.records[run_id] = json.loads(json.dumps(record, default=str))

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        return self.records.get(run_id)

    def runs(self) -> list[dict[str, Any]]:
        return sorted(self.records.values(), key=lambda r: str(r.get("started_at", "")))

    def put_batch_result(self, run_id: str, batch: int, result: dict[str, Any]) -> None:
        self.batches.setdefault(run_id, {})[batch] = json.loads(json.dumps(result, default=str))

    def batch_results(self, run_id: str) -> list[dict[str, Any]]:
        return [r for _, r in sorted(self.batches.get(run_id, {}).items())]

    def put_history(self, run_id: str, as_of: date, batch: int, by_hierarchy: dict[str, list[dict[str, Any]]],
                    retention_days: dict[str, int], now: datetime | None = None) -> int:
        for hierarchy, decisions in by_hierarchy.items():
            self.decisions.extend({"hierarchy": hierarchy, "as_of": as_of.isoformat(), "run_id": run_id, **d}
                                  for d in decisions)
        return _calls(sum(1 for d in by_hierarchy.values() if d))

    def history(self, hierarchy: str, since: date | None = None) -> list[dict[str, Any]]:
        return [{k: v for k, v in d.items() if k != "hierarchy"} for d in self.decisions
                if d["hierarchy"] == hierarchy and (since is None or d["as_of"] >= since.isoformat())]


class FakeBlobs:
    """One bucket: object bytes and user metadata by key."""

    def __init__(self, bucket: str = "fake-bucket") -> None:
        self.bucket = bucket
        self.objects: dict[str, bytes] = {}
        self.metadata: dict[str, dict[str, str]] = {}

    def put_json(self, key: str, obj: Any) -> None:
        self.put_bytes(key, json.dumps(obj, default=str, separators=(",", ":")).encode(), "application/json")

    def get_json(self, key: str) -> Any:
        return json.loads(self.get_bytes(key))

    def put_bytes(self, key: str, body: bytes, content_type: str = "application/octet-stream",
                  metadata: dict[str, str] | None = None) -> None:
        self.objects[key] = body
        self.metadata[key] = dict(metadata or {})

    def get_bytes(self, key: str) -> bytes:
        return self.get_with_metadata(key)[0]

    def get_with_metadata(self, key: str) -> tuple[bytes, dict[str, str]]:
        if key not in self.objects:
            raise PermanentStoreError(f"GetObject s3://{self.bucket}/{key} failed (NoSuchKey)")
        return self.objects[key], dict(self.metadata.get(key, {}))

    def get_bytes_if_exists(self, key: str) -> bytes | None:
        return self.objects.get(key)

    def head(self, key: str) -> dict[str, Any] | None:
        if key not in self.objects:
            return None
        return {"ContentLength": len(self.objects[key]), "Metadata": dict(self.metadata.get(key, {})),
                "ETag": f'"{hash(self.objects[key]) & 0xFFFFFFFF:08x}"'}

    def restore(self, key: str, days: int = 7, tier: str = "Standard") -> bool:
        return key in self.objects

    def exists(self, key: str) -> bool:
        return key in self.objects

    def keys(self, prefix: str) -> list[str]:
        return sorted(k for k in self.objects if k.startswith(prefix))

    def presign(self, key: str, seconds: int = 900) -> str:
        return f"https://{self.bucket}.example.invalid/{key}?expires={seconds}"

    def publish_config(self, config: Config) -> str:
        self.put_bytes(CONFIG_KEY, config.model_dump_json(by_alias=True).encode(), "application/json")
        return CONFIG_KEY

    def config(self) -> Config:
        if CONFIG_KEY not in self.objects:
            raise NoPublishedConfiguration(self.bucket, CONFIG_KEY)
        return Config.model_validate_json(self.objects[CONFIG_KEY])

    def put_rejected(self, message_id: str, body: str, reason: str, now: datetime | None = None) -> str:
        now = now or datetime.now(UTC)
        key = f"rejected/{now.date().isoformat()}/{message_id}.json"
        self.put_json(key, {"message_id": message_id, "rejected_at": now.isoformat(), "reason": reason, "body": body})
        return key

    def rejected(self) -> list[dict[str, Any]]:
        return [self.get_json(k) for k in self.keys("rejected/")]
