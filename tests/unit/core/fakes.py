"""In-memory stand-ins for the repositories, so the run's real step functions run without AWS."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import Any

from dunning.models.accounts import AccountView, CollectionState
from dunning.models.contacts import Contact
from dunning.models.events import PersonUpserted
from dunning.store.ledger import items_to_view
from dunning.store.runs import RunAlreadyActive


class FakeLedger:
    """Raw ledger items per account, as the table holds them."""

    def __init__(self, items: dict[str, list[dict[str, Any]]], persons: dict[str, PersonUpserted]) -> None:
        self.items = {a: [dict(i) for i in its] for a, its in items.items()}
        self._persons = persons

    def scan_account_items(self, segment: int = 0, total_segments: int = 1
                           ) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        for n, (account_id, items) in enumerate(sorted(self.items.items())):
            if n % total_segments == segment:
                yield account_id, list(items)

    def scan_accounts(self, segment: int = 0, total_segments: int = 1) -> Iterator[AccountView]:
        for account_id, items in self.scan_account_items(segment, total_segments):
            yield items_to_view(account_id, items)

    def persons(self, ids: Iterable[str]) -> dict[str, PersonUpserted]:
        return {i: self._persons[i] for i in set(ids) if i in self._persons}

    def put_states(self, states: dict[str, CollectionState]) -> int:
        for account_id, state in states.items():
            items = [i for i in self.items[account_id] if i["sk"] != "STATE"]
            self.items[account_id] = [*items, {"pk": f"ACCT#{account_id}", "sk": "STATE", "v": "x",
                                               "data": state.model_dump_json()}]
        return 1


class FakeContacts:
    def __init__(self) -> None:
        self.items: dict[str, Contact] = {}

    def create_new(self, contacts: Iterable[Contact]) -> list[Contact]:
        new = [c for c in contacts if c.contact_id not in self.items]
        self.items.update({c.contact_id: c for c in new})
        return new


class FakeRuns:
    def __init__(self) -> None:
        self.locks: dict[date, str] = {}
        self.runs: dict[str, dict[str, Any]] = {}
        self.batches: dict[str, dict[int, dict[str, Any]]] = {}
        self.history: list[dict[str, Any]] = []

    def acquire(self, as_of: date, run_id: str, now: datetime | None = None) -> None:
        if self.locks.get(as_of, run_id) != run_id:
            raise RunAlreadyActive(as_of.isoformat())
        self.locks[as_of] = run_id

    def release(self, as_of: date, run_id: str, status: str) -> None:
        if self.locks.get(as_of) == run_id:
            del self.locks[as_of]

    def put_run(self, run_id: str, record: dict[str, Any]) -> None:
        self.runs[run_id] = json.loads(json.dumps(record, default=str))

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        return self.runs.get(run_id)

    def put_batch_result(self, run_id: str, batch: int, result: dict[str, Any]) -> None:
        self.batches.setdefault(run_id, {})[batch] = result

    def batch_results(self, run_id: str) -> list[dict[str, Any]]:
        return list(self.batches.get(run_id, {}).values())

    def put_history(self, run_id: str, as_of: date, batch: int, by_hierarchy: dict[str, list[dict[str, Any]]],
                    retention_days: dict[str, int], now: datetime | None = None) -> int:
        for h, decisions in by_hierarchy.items():
            self.history.extend({"hierarchy": h, "as_of": as_of.isoformat(), **d} for d in decisions)
        return 1


class FakeBlobs:
    def __init__(self) -> None:
        self.objects: dict[str, Any] = {}

    def put_json(self, key: str, obj: Any) -> None:
        self.objects[key] = json.loads(json.dumps(obj, default=str))

    def get_json(self, key: str) -> Any:
        return self.objects[key]
