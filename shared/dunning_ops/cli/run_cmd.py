"""``dunning run``: start a collections run on the stack, optionally wait for it and show its summary."""

from __future__ import annotations

import argparse
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from dunning_ops.cli.common import Subparsers, add_command, iso_date, target
from dunning_ops.cli.output import emit
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
    emit(args, summary, describe_summary)
    return 0 if summary.get("status") in ("SUCCEEDED", "ALREADY_RUNNING") else 1


def describe_summary(s: dict[str, Any]) -> str:
    if s.get("status") != "SUCCEEDED":
        error = f"{s['error']}: " if s.get("error") else ""
        return f"run {s.get('status')}: {error}{s.get('detail') or s.get('cause') or ''}"
    lines = [f"run {s['run_id']} for {s['as_of']}: {s['status']}",
             f"  accounts scanned {s.get('accounts_scanned', 0)}, with open balance {s.get('with_open_balance', 0)},"
             f" acting {s.get('acting_accounts', 0)}",
             f"  contacts created {s.get('contacts_created', 0)} {s.get('contacts_by_action', {})}"
             f" (email->letter fallbacks {s.get('fallbacks', 0)})"]
    if s.get("outcomes"):
        lines.append(f"  outcomes {s['outcomes']}")
    return "\n".join(lines)


def register(sub: Subparsers) -> None:
    run = add_command(sub, "run", cmd_run, "start a collections run")
    run.add_argument("--as-of", type=iso_date, default=None, help="as-of date (default today, UTC)")
    run.add_argument("--wait", action="store_true", help="wait for the run and show progress")
