"""What the collections run's steps pass each other through the state machine, and where a run's files live.

``assign`` -> ``evaluate`` -> ``create_contacts`` (per manifest item) -> ``summarize``
(``infra/statemachines/collections_run.asl.json``). Each step returns a pydantic model; its handler returns the
model's JSON, whose field names are the ones the ASL reads.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, model_validator


class StartRunInput(BaseModel):
    """What the schedule or the CLI passes: an as-of date, or the scheduled time."""

    model_config = ConfigDict(extra="ignore")

    as_of: date | None = None
    scheduled_time: datetime | None = None
    timezone: str = "UTC"
    execution_id: str | None = None  # the state machine execution: a retried Assign resumes its own run

    @model_validator(mode="before")
    @classmethod
    def _unwrap(cls, data: Any) -> Any:
        """The state machine passes ``{"input": <execution input>, "execution_id": ...}``; a direct invoke or
        ``sam local invoke -e events/assign.json`` passes the input itself."""
        if isinstance(data, dict) and isinstance(data.get("input"), dict):
            return {**data["input"], "execution_id": data.get("execution_id")}
        return data

    def resolve_as_of(self, now: datetime | None = None) -> date:
        if self.as_of:
            return self.as_of
        moment = self.scheduled_time or now or datetime.now(UTC)
        return moment.astimezone(ZoneInfo(self.timezone)).date()


class BatchInput(BaseModel):
    """One manifest batch: the Map's item for ``evaluate``, and ``evaluate``'s result for ``create_contacts``."""

    model_config = ConfigDict(extra="ignore")

    run_id: str
    as_of: date
    manifest_prefix: str
    batch: int = Field(ge=0)
    decisions_key: str | None = None
    outcomes: dict[str, int] = Field(default_factory=dict)  # from evaluate, carried into the batch result
    with_open_balance: int = 0
    evaluate_ms: float | None = None  # how long evaluate took (the console's run report: batch timings)


class SetAsideAccount(BaseModel):
    """An account the run could not process, and why: none of its contacts were created and its collection state
    was left as it was, so the next run (of the same or a later date) takes it again once its data is fixed."""

    account_id: str
    reason: str  # "account A-S-1: no person on the account, so a letter can't be sent"
    batch: int | None = None


class ActionNotSent(BaseModel):
    """A planned action that created no contact (an internal alert with no address), and why."""

    account_id: str
    hierarchy_id: str
    step_id: str
    reason: str
    batch: int | None = None


class BatchFailure(BaseModel):
    """A manifest batch with no result: it failed after its retries (the Map tolerates a few, see the template's
    MapToleratedFailurePercentage); its accounts are untouched and the next run takes them."""

    batch: int
    reason: str


class SummarizeInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    run_id: str
    as_of: date
    batch_count: int = 0
    status: str = "SUCCEEDED"
    error: dict[str, Any] | None = None


def run_prefix(as_of: date, run_id: str) -> str:
    """Where a run's manifest, decisions and summary live in the runs bucket."""
    return f"runs/{as_of.isoformat()}/{run_id}"


def batch_key(prefix: str, batch: int) -> str:
    return f"{prefix}/batch-{batch:06d}.json"


def decisions_key(prefix: str, batch: int) -> str:
    return f"{prefix}/decisions-{batch:06d}.json"


def summary_key(as_of: date, run_id: str) -> str:
    return f"{run_prefix(as_of, run_id)}/summary.json"
