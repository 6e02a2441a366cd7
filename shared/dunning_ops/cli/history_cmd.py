"""``dunning history``: the recent process history of a hierarchy (what each run decided, and why)."""

from __future__ import annotations

import argparse
from typing import Any

from dunning.app.evaluate import UNASSIGNED
from dunning_ops.cli.common import Subparsers, add_command, iso_date, known_hierarchy, repos, target
from dunning_ops.cli.output import emit, table


def _human(rows: list[dict[str, Any]]) -> str:
    """One line per decision, in run order: the date, the run (short id) and its time, then what was done and
    why nothing (more) was."""
    shown = [{**row, "run": (row.get("run_id") or "")[-8:],
              "run_at": (row.get("run_at") or "")[:19].replace("T", " ")} for row in rows]
    return table(shown, ["as_of", "run", "run_at", "account_id", "outcome", "actions", "reasons"])


def cmd_history(args: argparse.Namespace) -> int:
    r = repos(target(args))
    known_hierarchy(r.blobs.config(), args.hierarchy, allow=(UNASSIGNED,))
    rows = r.runs.history(args.hierarchy, args.since)
    emit(args, [{"hierarchy_id": args.hierarchy, **row} for row in rows],
         lambda rs: _human(rs) if rs else f"no history for {args.hierarchy}")
    return 0


def register(sub: Subparsers) -> None:
    hist = add_command(sub, "history", cmd_history, "recent process history of a hierarchy")
    hist.add_argument("--hierarchy", required=True, help=f"hierarchy id ({UNASSIGNED!r}: accounts no strategy took)")
    hist.add_argument("--since", type=iso_date, default=None, help="only runs on or after this as-of date")
