"""Waiting for a collections run on a stack: ``dunning run --wait`` and the demo both follow an execution
through this, printing its progress (batches done of total) to stderr."""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from typing import Any

from dunning.app.deps import stack_repositories
from dunning.store.runs import RunStore
from dunning_ops.target import Target


def wait_for_run(t: Target, arn: str, quiet: bool = False, timeout: float = 3600) -> dict[str, Any]:
    """Wait for an execution, printing progress (batches done of total) to stderr."""
    runs = stack_repositories(t.settings).runs
    sfn = t.client("stepfunctions")
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        desc = sfn.describe_execution(executionArn=arn)
        status = desc["status"]
        line = f"  {status.lower()}"
        run = _current_run(runs, json.loads(desc.get("input") or "{}").get("as_of"), desc["startDate"])
        if run:
            done = len(runs.batch_results(run["run_id"]))
            line += f": {done}/{run.get('batch_count', 0)} batches, {run.get('accounts', 0)} accounts"
        if line != last and not quiet:
            print(line, file=sys.stderr, flush=True)
            last = line
        if status != "RUNNING":
            output = json.loads(desc.get("output") or "{}")
            if status == "SUCCEEDED" and "run_id" not in output:
                return {"status": "ALREADY_RUNNING", "detail": "another run for this date was active; nothing done"}
            if status != "SUCCEEDED":
                return {"status": status, "error": desc.get("error"), "cause": failure_cause(desc.get("cause"))}
            return dict(output)
        time.sleep(0.5)
    raise TimeoutError(f"execution {arn} still running after {timeout}s")


def failure_cause(cause: str | None) -> str:
    """A failed execution's cause as a person reads it: a Lambda error's ``errorMessage`` without its stack
    trace, or the state machine's own Fail cause as it is."""
    try:
        data = json.loads(cause or "")
    except ValueError:
        return cause or ""
    return str(data["errorMessage"]) if isinstance(data, dict) and "errorMessage" in data else (cause or "")


def _current_run(runs: RunStore, as_of: str | None, started: datetime) -> dict[str, Any] | None:
    """The run record this execution wrote (same as-of date, started after the execution)."""
    candidates = [r for r in runs.runs() if r.get("as_of") == as_of
                  and r.get("started_at", "") >= started.astimezone(UTC).isoformat()[:19]]
    return candidates[-1] if candidates else None
