"""The collections run, last step (SummarizeRunFunction): add up the batch results, write the run summary and
release the run lock."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel

from dunning.app.run_models import SummarizeInput, summary_key
from dunning.store.blobs import BlobStore
from dunning.store.runs import RunStore

TOTALS = ("acting_accounts", "contacts_planned", "contacts_created", "fallbacks", "with_open_balance")


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


def summarize_run(payload: SummarizeInput, deps: SummarizeDeps, now: datetime | None = None) -> RunSummary:
    now = now or datetime.now(UTC)
    results = deps.runs.batch_results(payload.run_id)
    run = deps.runs.get_run(payload.run_id) or {}
    totals: Counter[str] = Counter(dict.fromkeys(TOTALS, 0))
    by_action: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    for r in results:
        outcomes.update(r.get("outcomes", {}))
        for k in TOTALS:
            totals[k] += int(r.get(k, 0))
        by_action.update(r.get("by_action", {}))
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
    )
    record = summary.model_dump(mode="json")
    deps.runs.put_run(payload.run_id, record)
    deps.blobs.put_json(summary_key(payload.as_of, payload.run_id), record)
    deps.runs.release(payload.as_of, payload.run_id, payload.status)
    return summary
