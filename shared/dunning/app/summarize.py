"""The collections run, last step (SummarizeRunFunction): add up the batch results, write the run summary and
release the run lock."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel, Field

from dunning.app.run_models import ActionNotSent, BatchFailure, SetAsideAccount, SummarizeInput, summary_key
from dunning.store.blobs import BlobStore
from dunning.store.runs import RunStore

TOTALS = ("acting_accounts", "contacts_planned", "contacts_created", "fallbacks", "with_open_balance", "set_aside",
          "not_sent")
LISTED = 20  # set-aside accounts and unsent actions listed in the summary itself; `dunning runs show` lists all


@dataclass
class SummarizeDeps:
    runs: RunStore
    blobs: BlobStore  # the runs bucket: the summary


class RunSummary(BaseModel):
    """The run's record in the runs table, its ``summary.json`` and the state machine's output."""

    run_id: str
    as_of: date
    status: str
    started_at: str | None
    finished_at: str
    accounts_scanned: int
    batch_count: int
    batches_done: int
    acting_accounts: int
    contacts_planned: int
    contacts_created: int
    fallbacks: int
    with_open_balance: int
    contacts_by_action: dict[str, int]
    outcomes: dict[str, int]
    explanations: str
    error: dict[str, Any] | None
    # accounts the run could not process (no contact, state untouched: the next run takes them again), the first
    # LISTED of them with their reasons; actions that made no contact (internal alerts with no address); batches
    # that failed after their retries and were tolerated by the Map
    set_aside: int = 0
    set_aside_accounts: list[SetAsideAccount] = Field(default_factory=list)
    not_sent: int = 0
    not_sent_actions: list[ActionNotSent] = Field(default_factory=list)
    failed_batches: int = 0
    failures: list[BatchFailure] = Field(default_factory=list)


def summarize_run(payload: SummarizeInput, deps: SummarizeDeps, now: datetime | None = None) -> RunSummary:
    now = now or datetime.now(UTC)
    results = deps.runs.batch_results(payload.run_id)
    run = deps.runs.get_run(payload.run_id) or {}
    totals: Counter[str] = Counter(dict.fromkeys(TOTALS, 0))
    by_action: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    aside: list[SetAsideAccount] = []
    not_sent: list[ActionNotSent] = []
    for r in results:
        outcomes.update(r.get("outcomes", {}))
        for k in TOTALS:
            totals[k] += int(r.get(k, 0))
        by_action.update(r.get("by_action", {}))
        aside.extend(SetAsideAccount.model_validate(a) for a in r.get("set_aside_accounts", ())[:LISTED - len(aside)])
        not_sent.extend(ActionNotSent.model_validate(a) for a in r.get("not_sent_actions", ())[:LISTED - len(not_sent)])
    failures = batch_failures(payload.batch_count, results)
    summary = RunSummary(
        run_id=payload.run_id,
        as_of=payload.as_of,
        status=payload.status,
        started_at=run.get("started_at"),
        finished_at=now.isoformat(),
        accounts_scanned=run.get("accounts_scanned", 0),
        batch_count=payload.batch_count,
        batches_done=len(results),
        **totals,
        contacts_by_action=dict(by_action),
        outcomes=dict(outcomes),
        explanations=f"dunning history --hierarchy ID --since {payload.as_of.isoformat()}",
        error=payload.error,
        set_aside_accounts=aside,
        not_sent_actions=not_sent,
        failed_batches=len(failures),
        failures=failures[:LISTED],
    )
    record = summary.model_dump(mode="json")
    # what assign recorded (config version, accounts in the manifest) stays on the run's record
    kept = {k: v for k, v in run.items() if k in ("config_version", "accounts", "no_invoices")}
    deps.runs.put_run(payload.run_id, {**kept, **record})
    deps.blobs.put_json(summary_key(payload.as_of, payload.run_id), record)
    deps.runs.release(payload.as_of, payload.run_id, payload.status)
    return summary


def batch_failures(batch_count: int, results: list[dict[str, Any]]) -> list[BatchFailure]:
    """The manifest's batches (numbered 0..batch_count-1) that left no result: they failed after their retries."""
    done = {int(r["batch"]) for r in results if "batch" in r}
    return [BatchFailure(batch=n, reason=f"batch {n} failed after its retries; no contacts were recorded for it "
                                         "(the execution's history has the error)")
            for n in range(batch_count) if n not in done]


class BatchLine(BaseModel):
    """One batch of a run, as ``dunning runs show`` lists it."""

    batch: int
    acting_accounts: int = 0
    contacts_created: int = 0
    set_aside: int = 0
    not_sent: int = 0
    evaluate_ms: float | None = None
    contacts_ms: float | None = None


class RunDetails(BaseModel):
    """A run as ``dunning runs show`` and ``dunning run --wait`` show it: its summary (while it runs: the record
    assign wrote), its batches, every account it set aside and every action it did not send, with their reasons,
    and its failed batches. Read from the runs table: the batch results hold the lists, not the state machine."""

    summary: dict[str, Any]
    batches: list[BatchLine]
    set_aside_accounts: list[SetAsideAccount]
    not_sent_actions: list[ActionNotSent]
    failures: list[BatchFailure]


def run_details(runs: RunStore, run_id: str) -> RunDetails | None:
    """None when there is no such run."""
    record = runs.get_run(run_id)
    if record is None:
        return None
    results = sorted(runs.batch_results(run_id), key=lambda r: int(r.get("batch", 0)))
    summary = {k: v for k, v in record.items() if k not in ("pk", "sk")}
    finished = summary.get("status") not in (None, "RUNNING")
    return RunDetails(
        summary=summary,
        batches=[BatchLine.model_validate(r) for r in results],
        set_aside_accounts=[SetAsideAccount.model_validate(a)
                            for r in results for a in r.get("set_aside_accounts", ())],
        not_sent_actions=[ActionNotSent.model_validate(a) for r in results for a in r.get("not_sent_actions", ())],
        failures=batch_failures(int(summary.get("batch_count", 0)), results) if finished else [],
    )
