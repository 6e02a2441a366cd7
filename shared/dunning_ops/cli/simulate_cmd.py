"""``dunning simulate``: a dry run - what a run would do for each account, and why. Writes nothing."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from dunning.app.simulation import simulate
from dunning_ops.cli.common import Subparsers, add_command, iso_date, repos, target
from dunning_ops.cli.output import emit, table


def cmd_simulate(args: argparse.Namespace) -> int:
    r = repos(target(args))
    views = [r.ledger.account_view(args.account)] if args.account else list(r.ledger.scan_accounts())
    rows = [row.model_dump(mode="json") for row in simulate(views, r.blobs.config(),
                                                             args.as_of or datetime.now(UTC).date())]
    emit(args, rows, lambda rs: table(rs, ["account_id", "hierarchy", "lead_invoice", "days_from_due", "would",
                                           "why"], width={"why": 70, "would": 40}))
    return 0


def register(sub: Subparsers) -> None:
    sim = add_command(sub, "simulate", cmd_simulate, "dry run: what a run would do, and why - writes nothing")
    sim.add_argument("--as-of", type=iso_date, default=None)
    sim.add_argument("--account", help="only this account")
