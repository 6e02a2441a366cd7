"""The collections run, step 1 (AssignFunction): take the run lock and write the pre-batched manifest.

The run never touches one account with its own execution or its own query: accounts travel in pre-batched
manifest files, read once by a parallel Scan. Parsing, assignment and evaluation happen per batch in
:mod:`dunning.app.evaluate`, so this step stays I/O-bound: no per-account models here.
"""

from __future__ import annotations

import contextvars
import hashlib
import itertools
import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel

from dunning.app.run_models import StartRunInput, batch_key, run_prefix
from dunning.models.config import Config
from dunning.store.blobs import BlobStore
from dunning.store.ledger import LedgerStore, has_invoices
from dunning.store.runs import RunStore

SCAN_SEGMENTS = 8  # parallel Scan segments (I/O bound: threads overlap the round trips)


@dataclass
class AssignDeps:
    config: Config
    ledger: LedgerStore
    runs: RunStore
    blobs: BlobStore  # the runs bucket: the manifest


class AssignResult(BaseModel):
    """The run's manifest: the state machine maps ``batches`` over evaluate and create_contacts."""

    run_id: str
    as_of: date
    manifest_prefix: str
    batches: list[int]
    batch_count: int
    accounts_scanned: int
    no_invoices: int
    accounts: int


def start_run(payload: StartRunInput, deps: AssignDeps, batch_size: int, now: datetime | None = None,
              segments: int = SCAN_SEGMENTS) -> AssignResult:
    """Take the run lock and write the manifest: each account's raw ledger items, in batches of ``batch_size``."""
    now = now or datetime.now(UTC)
    as_of = payload.resolve_as_of(now)
    run_id = f"run-{as_of.isoformat()}-{_run_suffix(payload.execution_id)}"
    deps.runs.acquire(as_of, run_id, now)
    prefix = run_prefix(as_of, run_id)
    batches, counts = _write_manifest(deps, prefix, batch_size, segments)
    result = AssignResult(run_id=run_id, as_of=as_of, manifest_prefix=prefix, batches=batches,
                          batch_count=len(batches), accounts_scanned=counts["accounts_scanned"],
                          no_invoices=counts["no_invoices"], accounts=counts["accounts"])
    deps.runs.put_run(run_id, {"run_id": run_id, "as_of": as_of.isoformat(), "status": "RUNNING",
                               "started_at": now.isoformat(), "batch_count": result.batch_count,
                               "config_version": deps.config.version,
                               **result.model_dump(include={"accounts_scanned", "no_invoices", "accounts"})})
    return result


def _run_suffix(execution_id: str | None) -> str:
    """One execution is one run: a retry of this step (after a timeout, say) finds its own lock and redoes the
    manifest, which overwrites the same keys."""
    return hashlib.sha256(execution_id.encode()).hexdigest()[:8] if execution_id else uuid.uuid4().hex[:8]


def _write_manifest(deps: AssignDeps, prefix: str, batch_size: int, segments: int
                    ) -> tuple[list[int], Counter[str]]:
    """Scan ``segments`` segments at once, each writing its batches as they fill; the batch numbers, sorted."""
    numbers = itertools.count()
    lock = threading.Lock()

    def next_batch() -> int:
        with lock:
            return next(numbers)

    def write_segment(segment: int) -> tuple[list[int], Counter[str]]:
        written: list[int] = []
        counts: Counter[str] = Counter()
        rows: list[dict[str, Any]] = []
        for account_id, items in deps.ledger.scan_account_items(segment, segments):
            counts["accounts_scanned"] += 1
            if not has_invoices(items):
                counts["no_invoices"] += 1
                continue
            rows.append({"account_id": account_id, "items": items})
            if len(rows) == batch_size:
                n = next_batch()
                deps.blobs.put_json(batch_key(prefix, n), rows)
                written.append(n)
                rows = []
        if rows:
            n = next_batch()
            deps.blobs.put_json(batch_key(prefix, n), rows)
            written.append(n)
        counts["accounts"] += counts["accounts_scanned"] - counts["no_invoices"]
        return written, counts

    batches: list[int] = []
    counts: Counter[str] = Counter()
    with ThreadPoolExecutor(max_workers=segments) as pool:
        # each segment runs in the caller's context (tracing and call attribution follow the handler)
        futures = [pool.submit(contextvars.copy_context().run, write_segment, s) for s in range(segments)]
        for written, segment_counts in (f.result() for f in futures):
            batches.extend(written)
            counts.update(segment_counts)
    batches.sort()
    return batches, counts
