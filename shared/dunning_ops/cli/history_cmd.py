"""``dunning history``: the recent process history of a hierarchy (what each run decided, and why)."""

from __future__ import annotations

import argparse

from dunning_ops.cli.common import Subparsers, add_command, iso_date, repos, target
from dunning_ops.cli.output import emit, table


def cmd_history(args: argparse.Namespace) -> int:
    rows = repos(target(args)).runs.history(args.hierarchy, args.since)
    emit(args, rows, lambda rs: table(rs, ["as_of", "account_id", "outcome", "actions", "reasons"],
                                      width={"reasons": 60, "actions": 40}) if rs else "no history")
    return 0


def register(sub: Subparsers) -> None:
    hist = add_command(sub, "history", cmd_history, "recent process history of a hierarchy")
    hist.add_argument("--hierarchy", required=True)
    hist.add_argument("--since", type=iso_date, default=None)
