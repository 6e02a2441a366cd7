"""The run report the console shows (and ``make demo`` writes to ``out/``): a run's funnel, its contacts by action
and by language, the steps it took per hierarchy and how long its batches took.

Built from what the run already records (its summary and its batch results, through
:func:`dunning.app.queries.get_run`): no account is read again. Fields an older run did not record come out as
empty (a report of such a run simply has no bars there).
"""

from __future__ import annotations

from collections import Counter
from statistics import median
from typing import Any

from pydantic import BaseModel, Field

from dunning.app.queries import ReadDeps, RunDetail, get_run

PER_BATCH_LIMIT = 40  # up to this many batches are drawn one bar each; more become a distribution
SET_ASIDE_LIMIT = 100  # set-aside accounts listed on the report (all of them are counted)


class Funnel(BaseModel):
    """Accounts through the run: scanned -> with an open balance -> what the run did with them."""

    scanned: int = 0
    open_balance: int = 0
    acted: int = 0
    excluded: int = 0
    nothing_due: int = 0
    unassigned: int = 0
    set_aside: int = 0


class BatchTiming(BaseModel):
    batch: int
    accounts: int = 0
    evaluate_ms: float | None = None
    contacts_ms: float | None = None

    @property
    def total_ms(self) -> float:
        return (self.evaluate_ms or 0) + (self.contacts_ms or 0)


class TimingSpread(BaseModel):
    """Batch durations of a big run: the spread, not one bar per batch."""

    batches: int
    min_ms: float
    median_ms: float
    p95_ms: float
    max_ms: float


class SetAside(BaseModel):
    account_id: str
    reason: str = ""


class RunReport(BaseModel):
    run_id: str
    as_of: str
    status: str
    started_at: str | None = None
    finished_at: str | None = None
    config_version: str | None = None
    contacts_created: int = 0
    funnel: Funnel
    contacts_by_action: dict[str, int] = Field(default_factory=dict)
    contacts_by_language: dict[str, int] = Field(default_factory=dict)
    steps_by_hierarchy: dict[str, dict[str, int]] = Field(default_factory=dict)
    batches: list[BatchTiming] = Field(default_factory=list)  # at most PER_BATCH_LIMIT
    timing_spread: TimingSpread | None = None  # when there are more batches than that
    set_aside: list[SetAside] = Field(default_factory=list)  # the first SET_ASIDE_LIMIT

    @property
    def duration_seconds(self) -> float | None:
        from datetime import datetime

        if not self.started_at or not self.finished_at:
            return None
        try:
            return (datetime.fromisoformat(self.finished_at) - datetime.fromisoformat(self.started_at)).total_seconds()
        except ValueError:
            return None


def run_report(deps: ReadDeps, run_id: str) -> RunReport:
    """The report of one run (:class:`~dunning.app.queries.NotFound` when there is no such run)."""
    return report_of(get_run(deps, run_id))


def report_of(detail: RunDetail) -> RunReport:
    run = detail.run
    extra: dict[str, Any] = run.model_extra or {}
    set_aside = [SetAside(account_id=str(a.get("account_id", "?")), reason=str(a.get("reason", "")))
                 for a in detail.set_aside if isinstance(a, dict)]
    outcomes = run.outcomes
    funnel = Funnel(scanned=run.accounts_scanned, open_balance=run.with_open_balance,
                    acted=outcomes.get("act", run.acting_accounts), excluded=outcomes.get("excluded", 0),
                    nothing_due=outcomes.get("none", 0), unassigned=outcomes.get("unassigned", 0),
                    set_aside=_count(extra.get("set_aside_count"), len(set_aside)))
    by_language: Counter[str] = Counter()
    by_step: dict[str, Counter[str]] = {}
    timings = []
    for b in detail.batches:
        more: dict[str, Any] = b.model_extra or {}
        by_language.update({str(k): int(v) for k, v in (more.get("by_language") or {}).items()})
        for hierarchy, steps in (more.get("by_step") or {}).items():
            by_step.setdefault(str(hierarchy), Counter()).update({str(k): int(v) for k, v in steps.items()})
        timings.append(BatchTiming(batch=b.batch, accounts=int(more.get("with_open_balance", 0) or 0),
                                   evaluate_ms=_ms(more.get("evaluate_ms")), contacts_ms=_ms(more.get("contacts_ms"))))
    timed = [t for t in timings if t.evaluate_ms is not None or t.contacts_ms is not None]
    spread = None
    if len(timed) > PER_BATCH_LIMIT:
        spread = _spread([t.total_ms for t in timed])
        timed = sorted(timed, key=lambda t: -t.total_ms)[:10]  # the slowest ten, for the table
    return RunReport(run_id=run.run_id, as_of=run.as_of, status=run.status, started_at=run.started_at,
                     finished_at=run.finished_at, config_version=_text(extra.get("config_version")),
                     contacts_created=run.contacts_created, funnel=funnel,
                     contacts_by_action=dict(sorted(run.contacts_by_action.items(), key=lambda kv: -kv[1])),
                     contacts_by_language=dict(by_language.most_common()),
                     steps_by_hierarchy={h: dict(c.most_common()) for h, c in sorted(by_step.items())},
                     batches=timed, timing_spread=spread, set_aside=set_aside[:SET_ASIDE_LIMIT])


def _spread(values: list[float]) -> TimingSpread:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return TimingSpread(batches=len(ordered), min_ms=ordered[0], median_ms=median(ordered), p95_ms=p95,
                        max_ms=ordered[-1])


def _count(value: Any, default: int) -> int:
    return int(value) if isinstance(value, int | float) else default


def _ms(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None
