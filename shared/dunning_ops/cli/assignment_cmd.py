"""``dunning assignment``: which strategy (hierarchy) an account gets, and manual assignments."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from dunning.models.accounts import ManualAssignment
from dunning.strategy.assignment import assign, preview_hierarchy
from dunning_ops.cli.common import (
    Subparsers,
    add_command,
    add_group,
    known_account,
    known_hierarchy,
    repos,
    target,
)
from dunning_ops.cli.output import emit, table


def cmd_assignment_preview(args: argparse.Namespace) -> int:
    r = repos(target(args))
    config = r.blobs.config()
    if args.account:
        a = assign(r.ledger.account_view(known_account(r, args.account)), config)
        emit(args, a.model_dump(), lambda d: f"{d['account_id']}: {d['hierarchy_id'] or 'unassigned'} - {d['reason']}")
        return 0
    known_hierarchy(config, args.hierarchy)
    got = [a.model_dump() for a in preview_hierarchy(r.ledger.scan_accounts(), config, args.hierarchy)]
    emit(args, got, lambda rs: table([{**row, "manual": "manual" if row["manual"] else ""} for row in rs],
                                     ["account_id", "manual", "reason"])
         if rs else f"no account would be assigned to {args.hierarchy}")
    return 0


def cmd_assignment_set(args: argparse.Namespace) -> int:
    r = repos(target(args))
    known_hierarchy(r.blobs.config(), args.hierarchy)
    known_account(r, args.account)
    r.ledger.set_manual(args.account, ManualAssignment(hierarchy_id=args.hierarchy,
                                                       set_at=datetime.now(UTC).isoformat(), note=args.note))
    print(f"{args.account} is now manually assigned to {args.hierarchy}")
    return 0


def cmd_assignment_clear(args: argparse.Namespace) -> int:
    r = repos(target(args))
    r.ledger.clear_manual(known_account(r, args.account))
    print(f"manual assignment of {args.account} cleared; pools decide again")
    return 0


def cmd_assignment_list(args: argparse.Namespace) -> int:
    r = repos(target(args))
    config = r.blobs.config()
    rows = []
    for view in r.ledger.scan_accounts():
        if args.manual_only and view.manual_assignment is None:
            continue
        a = assign(view, config)
        rows.append({"account_id": view.account_id, "hierarchy_id": a.hierarchy_id, "manual": a.manual,
                     "reason": a.reason})
    emit(args, rows, lambda rs: table([{**row, "hierarchy_id": row["hierarchy_id"] or "-",
                                        "manual": "manual" if row["manual"] else ""} for row in rs],
                                      ["account_id", "hierarchy_id", "manual", "reason"]))
    return 0


def register(sub: Subparsers) -> None:
    asg = add_group(sub, "assignment", "strategy assignment")
    pv = add_command(asg, "preview", cmd_assignment_preview,
                     "which hierarchy an account gets, or which accounts a hierarchy gets")
    g = pv.add_mutually_exclusive_group(required=True)
    g.add_argument("--account")
    g.add_argument("--hierarchy")
    st = add_command(asg, "set", cmd_assignment_set, "assign an account to a hierarchy by hand (overrides pools)")
    st.add_argument("--account", required=True)
    st.add_argument("--hierarchy", required=True)
    st.add_argument("--note", default="")
    cl = add_command(asg, "clear", cmd_assignment_clear, "remove a manual assignment")
    cl.add_argument("--account", required=True)
    ls = add_command(asg, "list", cmd_assignment_list, "current assignments, manual ones marked")
    ls.add_argument("--manual-only", action="store_true")
