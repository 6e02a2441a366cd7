"""``dunning simulate``: a dry run - what a run would do for each account, and why. Writes nothing."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from dunning.app.simulation import simulate
from dunning_ops.cli.common import Subparsers, add_command, iso_date, known_account, repos, target
from dunning_ops.cli.output import emit, table


def _row(row: dict[str, Any]) -> dict[str, Any]:
    """The field names every command uses: ``hierarchy_id`` (null when unassigned)."""
    hierarchy = row.pop("hierarchy", None)
    return {"account_id": row.pop("account_id"), "hierarchy_id": None if hierarchy in (None, "-") else hierarchy,
            **row}


def cmd_simulate(args: argparse.Namespace) -> int:
    r = repos(target(args))
    views = [r.ledger.account_view(known_account(r, args.account))] if args.account else list(r.ledger.scan_accounts())
    rows = [_row(row.model_dump(mode="json")) for row in simulate(views, r.blobs.config(),
                                                                   args.as_of or datetime.now(UTC).date())]
    emit(args, rows, lambda rs: table([{**row, "hierarchy_id": row["hierarchy_id"] or "-"} for row in rs],
                                      ["account_id", "hierarchy_id", "lead_invoice", "days_from_due", "would", "why"]))
    return 0


def register(sub: Subparsers) -> None:
    sim = add_command(sub, "simulate", cmd_simulate, "dry run: what a run would do, and why - writes nothing")
    sim.add_argument("--as-of", type=iso_date, default=None)
    sim.add_argument("--account", help="only this account")
