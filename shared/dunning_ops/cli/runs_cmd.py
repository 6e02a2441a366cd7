"""``dunning runs``: the collections runs of the stack - ``list`` them, ``show`` one: its summary, its batches, the
accounts it set aside and the actions it did not send (with their reasons), and its failed batches."""

from __future__ import annotations

import argparse
import json
from typing import Any

from dunning.app.summarize import RunDetails, run_details
from dunning_ops.cli.common import Subparsers, add_command, add_group, repos, target
from dunning_ops.cli.output import emit, fail, table

LIST_COLUMNS = ["run_id", "as_of", "status", "started_at", "batches", "contacts_created", "set_aside", "not_sent",
                "failed_batches"]
SUMMARY_FIELDS = ["run_id", "as_of", "status", "started_at", "finished_at", "config_version", "accounts_scanned",
                  "with_open_balance", "acting_accounts", "contacts_planned", "contacts_created", "contacts_by_action",
                  "fallbacks", "outcomes", "set_aside", "not_sent", "batch_count", "batches_done", "failed_batches",
                  "error"]


def list_row(run: dict[str, Any]) -> dict[str, Any]:
    return {**{k: run.get(k) for k in LIST_COLUMNS},
            "batches": f"{run.get('batches_done', '-')}/{run.get('batch_count', 0)}"}


def cmd_runs_list(args: argparse.Namespace) -> int:
    runs = repos(target(args)).runs.runs()
    rows = [list_row(r) for r in runs]
    rows.reverse()  # newest first
    rows = rows[: args.limit] if args.limit else rows
    emit(args, rows, lambda rs: table(rs, LIST_COLUMNS) if rs else "no runs yet")
    return 0


def _value(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items()) or "-"
    return "-" if value in (None, "") else str(value)


def describe_run(details: RunDetails) -> str:
    """A run as a person reads it: the summary as label/value lines, then tables of its batches, set-aside
    accounts, unsent actions and failed batches (each only when there is one)."""
    s = details.summary
    shown = [f for f in SUMMARY_FIELDS if f in s and (f != "error" or s.get("error"))]
    width = max(len(f) for f in shown)
    lines = [f"{f.replace('_', ' ').ljust(width)}  {_value(s[f] if f != 'error' else json.dumps(s[f]))}"
             for f in shown]
    if details.batches:
        lines += ["", "batches:", table([b.model_dump() for b in details.batches],
                                        ["batch", "acting_accounts", "contacts_created", "set_aside", "not_sent",
                                         "evaluate_ms", "contacts_ms"])]
    if details.set_aside_accounts:
        lines += ["", f"accounts set aside ({len(details.set_aside_accounts)}; the next run takes them again once "
                      "their data is fixed):",
                  table([a.model_dump() for a in details.set_aside_accounts], ["account_id", "batch", "reason"])]
    if details.not_sent_actions:
        lines += ["", f"actions not sent ({len(details.not_sent_actions)}):",
                  table([a.model_dump() for a in details.not_sent_actions],
                        ["account_id", "hierarchy_id", "step_id", "reason"])]
    if details.failures:
        lines += ["", f"failed batches ({len(details.failures)}):",
                  table([f.model_dump() for f in details.failures], ["batch", "reason"])]
    return "\n".join(lines)


def cmd_runs_show(args: argparse.Namespace) -> int:
    details = run_details(repos(target(args)).runs, args.run_id)
    if details is None:
        return fail(f"no run {args.run_id!r} (see `dunning runs list`)")
    emit(args, details.model_dump(mode="json"), lambda _: describe_run(details))
    return 0


def register(sub: Subparsers) -> None:
    runs = add_group(sub, "runs", "collections runs: list them, show one with its set-aside accounts and failures")
    ls = add_command(runs, "list", cmd_runs_list, "list the runs, newest first")
    ls.add_argument("--limit", type=int, default=20, help="at most this many runs (0: all; default 20)")
    show = add_command(runs, "show", cmd_runs_show,
                       "a run's summary, batches, set-aside accounts (with reasons) and failures")
    show.add_argument("run_id", help="run id, e.g. run-2026-11-16-1a2b3c4d (see `dunning runs list`)")
