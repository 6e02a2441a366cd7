"""The collections run, step 1 (AssignFunction): take the run lock and write the pre-batched manifest.

The run never touches one account with its own execution or its own query: accounts travel in pre-batched
manifest files, read once by a parallel Scan. Parsing, assignment and evaluation happen per batch in
:mod:`dunning.app.evaluate`, so this step stays I/O-bound: no per-account models here.

On AWS the step is a fan-out over the ledger's parallel Scan (``infra/statemachines/collections_run.asl.json``),
so no single invocation scans more than about ``segment_items`` ledger items, whatever the book's size:

* :func:`begin_run` (``action: begin``) takes the run lock and sizes the fan-out: ``segments`` invocations, one
  per ``segment_items`` items of the ledger (DescribeTable's ItemCount, refreshed by DynamoDB about every six
  hours: an estimate, so the per-invocation budget keeps headroom for it);
* :func:`assign_segment` (``action: segment``), one per segment in an inline Map: scans its
  :data:`SCAN_SEGMENTS` Scan segments of ``segments * SCAN_SEGMENTS`` in threads and writes their batches;
* :func:`finish_manifest` (``action: manifest``) adds the segments' counts up, records the run and returns
  the manifest the batch Map runs over (:class:`AssignResult`, the same as a one-invocation run's).

Batch numbers are dense and each invocation's are its own: the ``j``-th batch invocation ``s`` (of ``N``) fills
is batch ``j * N + s``, so a retried segment invocation rewrites exactly its own set of manifest files (the
same accounts; which file holds which depends on its threads' timing) and a re-run (same execution) creates
nothing twice. One invocation (small books, a direct invoke) numbers ``0 .. k-1``; with several, the ones
that filled fewer batches than the fullest leave numbers at the tail, which :func:`finish_manifest` writes as
empty batches (``[]``, at most ``N - 1``), so the manifest is batches ``0 .. batch_count-1`` as the summary
counts them. :func:`start_run` does the three in one process (a direct
invoke, ``sam local invoke -e events/assign.json``, the in-process tests).
"""

from __future__ import annotations

import contextvars
import hashlib
import itertools
import math
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from dunning.app.run_models import StartRunInput, batch_key, run_prefix
from dunning.models.config import Config
from dunning.store.blobs import BlobStore
from dunning.store.ledger import LedgerStore, has_invoices
from dunning.store.runs import RunStore

SCAN_SEGMENTS = 8  # Scan segments one invocation reads at once, in threads (I/O bound: the round trips overlap)
SEGMENT_ITEMS = 2_000_000  # ledger items one invocation scans (AssignSettings.assign_segment_items)
MAX_SEGMENTS = 100  # invocations of one run's fan-out: at most MAX_SEGMENTS * SCAN_SEGMENTS Scan segments
SEGMENT_CONCURRENCY = 8  # segment invocations at once (the fan-out Map's MaxConcurrencyPath; ledger read rate)


@runtime_checkable
class LedgerSize(Protocol):
    """A ledger that can tell its approximate size (:class:`dunning.store.ledger.DynamoLedgerRepository`)."""

    def approximate_item_count(self) -> int: ...


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


class RunPlan(BaseModel):
    """``begin``: the run, its lock taken, and the fan-out the state machine maps over ``segments``."""

    run_id: str
    as_of: date
    manifest_prefix: str
    started_at: datetime
    segments: list[int]
    total_segments: int  # Scan segments: len(segments) * scan_segments
    scan_segments: int  # Scan segments per invocation (threads)
    ledger_items: int  # the estimate the fan-out was sized from
    max_concurrency: int
    batch_count: int = 0  # no manifest yet: what the failure path's summary reads if a segment fails


class SegmentInput(BaseModel):
    """One iteration of the fan-out: invocation ``segment`` of ``segments``."""

    model_config = ConfigDict(extra="ignore")

    action: Literal["segment"] = "segment"
    run_id: str
    as_of: date
    manifest_prefix: str
    segment: int = Field(ge=0)
    total_segments: int = Field(ge=1)
    scan_segments: int = Field(default=SCAN_SEGMENTS, ge=1)


class SegmentResult(BaseModel):
    segment: int
    batches: list[int]
    accounts_scanned: int
    no_invoices: int
    accounts: int


class ManifestInput(BaseModel):
    """``manifest``: the run plan's fields and the segments' results."""

    model_config = ConfigDict(extra="ignore")

    action: Literal["manifest"] = "manifest"
    run_id: str
    as_of: date
    manifest_prefix: str
    started_at: datetime
    segments: list[SegmentResult]


def segments_for(ledger_items: int, segment_items: int = SEGMENT_ITEMS) -> int:
    """How many invocations scan a ledger of ``ledger_items`` items: one per ``segment_items``, 1 to 100."""
    return max(1, min(MAX_SEGMENTS, math.ceil(max(ledger_items, 0) / max(segment_items, 1))))


def begin_run(payload: StartRunInput, deps: AssignDeps, now: datetime | None = None,
              segment_items: int = SEGMENT_ITEMS, scan_segments: int = SCAN_SEGMENTS,
              concurrency: int = SEGMENT_CONCURRENCY, segments: int | None = None) -> RunPlan:
    """Take the run lock and size the fan-out over the ledger's Scan: ``segments`` invocations if given, else one
    per ``segment_items`` items of the ledger (one if the ledger cannot tell its size)."""
    now = now or datetime.now(UTC)
    as_of = payload.resolve_as_of(now)
    run_id = f"run-{as_of.isoformat()}-{_run_suffix(payload.execution_id)}"
    deps.runs.acquire(as_of, run_id, now)
    items = deps.ledger.approximate_item_count() if segments is None and isinstance(deps.ledger, LedgerSize) else 0
    n = segments if segments is not None else segments_for(items, segment_items)
    deps.runs.put_run(run_id, {"run_id": run_id, "as_of": as_of.isoformat(), "status": "RUNNING",
                               "started_at": now.isoformat(), "config_version": deps.config.version,
                               "assign_segments": n})
    return RunPlan(run_id=run_id, as_of=as_of, manifest_prefix=run_prefix(as_of, run_id), started_at=now,
                   segments=list(range(n)), total_segments=n * scan_segments, scan_segments=scan_segments,
                   ledger_items=items, max_concurrency=max(1, min(concurrency, n)))


def assign_segment(payload: SegmentInput, deps: AssignDeps, batch_size: int) -> SegmentResult:
    """Scan this invocation's Scan segments (``segment * scan_segments`` ...) in threads; write their batches."""
    first = payload.segment * payload.scan_segments
    if first + payload.scan_segments > payload.total_segments or payload.total_segments % payload.scan_segments:
        raise ValueError(f"segment {payload.segment} is outside {payload.total_segments} Scan segments")
    mine = range(first, first + payload.scan_segments)
    invocations = payload.total_segments // payload.scan_segments
    numbers = itertools.count()
    lock = threading.Lock()

    def next_batch() -> int:
        with lock:
            return next(numbers) * invocations + payload.segment

    with ThreadPoolExecutor(max_workers=len(mine)) as pool:
        # each Scan segment runs in the caller's context (tracing and call attribution follow the handler)
        futures = [pool.submit(contextvars.copy_context().run, _write_scan_segment, deps, payload.manifest_prefix,
                               batch_size, g, payload.total_segments, next_batch) for g in mine]
        results = [f.result() for f in futures]
    counts: Counter[str] = Counter()
    for _, c in results:
        counts.update(c)
    return SegmentResult(segment=payload.segment, batches=sorted(b for written, _ in results for b in written),
                         accounts_scanned=counts["accounts_scanned"], no_invoices=counts["no_invoices"],
                         accounts=counts["accounts_scanned"] - counts["no_invoices"])


def finish_manifest(payload: ManifestInput, deps: AssignDeps) -> AssignResult:
    """Add the segments up, fill the tail's unused numbers with empty batches, record the run and return its
    manifest."""
    written = {b for s in payload.segments for b in s.batches}
    count = max(written) + 1 if written else 0
    for n in sorted(set(range(count)) - written):
        deps.blobs.put_json(batch_key(payload.manifest_prefix, n), [])
    batches = list(range(count))
    result = AssignResult(run_id=payload.run_id, as_of=payload.as_of, manifest_prefix=payload.manifest_prefix,
                          batches=batches, batch_count=len(batches),
                          accounts_scanned=sum(s.accounts_scanned for s in payload.segments),
                          no_invoices=sum(s.no_invoices for s in payload.segments),
                          accounts=sum(s.accounts for s in payload.segments))
    deps.runs.put_run(payload.run_id, {
        "run_id": payload.run_id, "as_of": payload.as_of.isoformat(), "status": "RUNNING",
        "started_at": payload.started_at.isoformat(), "batch_count": result.batch_count,
        "config_version": deps.config.version, "assign_segments": len(payload.segments),
        **result.model_dump(include={"accounts_scanned", "no_invoices", "accounts"})})
    return result


def start_run(payload: StartRunInput, deps: AssignDeps, batch_size: int, now: datetime | None = None,
              segments: int = SCAN_SEGMENTS) -> AssignResult:
    """The whole step in this process: the lock, one invocation's worth of ``segments`` Scan segments in threads,
    the manifest (a direct invoke and the in-process callers; the state machine fans out instead)."""
    plan = begin_run(payload, deps, now, scan_segments=segments, segments=1)
    results = run_segments(plan, deps, batch_size, plan.segments)
    return finish_manifest(ManifestInput(run_id=plan.run_id, as_of=plan.as_of, manifest_prefix=plan.manifest_prefix,
                                         started_at=plan.started_at, segments=results), deps)


def run_segments(plan: RunPlan, deps: AssignDeps, batch_size: int, which: Sequence[int]) -> list[SegmentResult]:
    return [assign_segment(SegmentInput(run_id=plan.run_id, as_of=plan.as_of, manifest_prefix=plan.manifest_prefix,
                                        segment=s, total_segments=plan.total_segments,
                                        scan_segments=plan.scan_segments), deps, batch_size) for s in which]


def _run_suffix(execution_id: str | None) -> str:
    """One execution is one run: a retry of this step (after a timeout, say) finds its own lock and redoes the
    manifest, which overwrites the same keys."""
    return hashlib.sha256(execution_id.encode()).hexdigest()[:8] if execution_id else uuid.uuid4().hex[:8]


def _write_scan_segment(deps: AssignDeps, prefix: str, batch_size: int, segment: int, total: int,
                        next_batch: Callable[[], int]) -> tuple[list[int], Counter[str]]:
    """One Scan segment's accounts with invoices, written in batches of ``batch_size`` as they fill, each
    numbered by ``next_batch``."""
    written: list[int] = []
    counts: Counter[str] = Counter()
    rows: list[dict[str, Any]] = []

    def flush() -> None:
        n = next_batch()
        deps.blobs.put_json(batch_key(prefix, n), rows)
        written.append(n)

    for account_id, items in deps.ledger.scan_account_items(segment, total):
        counts["accounts_scanned"] += 1
        if not has_invoices(items):
            counts["no_invoices"] += 1
            continue
        rows.append({"account_id": account_id, "items": items})
        if len(rows) == batch_size:
            flush()
            rows = []
    if rows:
        flush()
    return written, counts
