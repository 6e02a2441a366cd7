"""``dunning run``: start a collections run on the stack, optionally wait for it and show its summary."""

from __future__ import annotations

import argparse
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from dunning.app.summarize import run_details
from dunning_ops.cli.common import Subparsers, add_command, iso_date, repos, target
from dunning_ops.cli.output import emit
from dunning_ops.cli.runs_cmd import describe_run
from dunning_ops.run_wait import wait_for_run


def cmd_run(args: argparse.Namespace) -> int:
    t = target(args)
    sfn = t.client("stepfunctions")
    as_of = args.as_of or datetime.now(UTC).date()
    name = f"run-{as_of.isoformat()}-{uuid.uuid4().hex[:8]}"
    arn = sfn.start_execution(stateMachineArn=t.output("CollectionsRunStateMachineArn"), name=name,
                              input=json.dumps({"as_of": as_of.isoformat()}))["executionArn"]
    if not args.wait:
        emit(args, {"execution_arn": arn, "as_of": as_of.isoformat()}, lambda d: f"started {d['execution_arn']}")
        return 0
    summary = wait_for_run(t, arn, quiet=args.json)
    details = run_details(repos(t).runs, summary["run_id"]) if summary.get("run_id") else None
    if details is not None:  # the same as `dunning runs show RUN_ID`
        emit(args, details.model_dump(mode="json"), lambda _: describe_run(details))
    else:
        emit(args, summary, describe_summary)
    return 0 if summary.get("status") in ("SUCCEEDED", "ALREADY_RUNNING") else 1


def describe_summary(s: dict[str, Any]) -> str:
    """A run that left no run record (it did not start, or another run held the date): its status and why."""
    error = f"{s['error']}: " if s.get("error") else ""
    return f"run {s.get('status')}: {error}{s.get('detail') or s.get('cause') or ''}"


def register(sub: Subparsers) -> None:
    run = add_command(sub, "run", cmd_run, "start a collections run")
    run.add_argument("--as-of", type=iso_date, default=None, help="as-of date (default today, UTC)")
    run.add_argument("--wait", action="store_true",
                     help="wait for the run, show progress, then its summary (as `dunning runs show`)")
