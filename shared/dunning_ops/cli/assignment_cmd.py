"""``dunning assignment``: which strategy (hierarchy) an account gets, and manual assignments."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from dunning.models.accounts import ManualAssignment
from dunning.strategy.assignment import assign, preview_hierarchy
from dunning_ops.cli.common import Subparsers, add_command, add_group, repos, target
from dunning_ops.cli.output import emit, fail, table


def cmd_assignment_preview(args: argparse.Namespace) -> int:
    r = repos(target(args))
    config = r.blobs.config()
    if args.account:
        a = assign(r.ledger.account_view(args.account), config)
        emit(args, a.model_dump(), lambda d: f"{d['account_id']}: {d['hierarchy_id'] or 'unassigned'} - {d['reason']}")
        return 0
    known = [hierarchy.id for hierarchy in config.hierarchies]
    if args.hierarchy not in known:
        return fail(f"unknown hierarchy {args.hierarchy!r}; known: {', '.join(known)}")
    got = [a.model_dump() for a in preview_hierarchy(r.ledger.scan_accounts(), config, args.hierarchy)]
    emit(args, got, lambda rs: table(rs, ["account_id", "manual", "reason"], width={"reason": 90})
         if rs else f"no account would be assigned to {args.hierarchy}")
    return 0


def cmd_assignment_set(args: argparse.Namespace) -> int:
    r = repos(target(args))
    if args.hierarchy not in {hierarchy.id for hierarchy in r.blobs.config().hierarchies}:
        return fail(f"unknown hierarchy {args.hierarchy!r}")
    r.ledger.set_manual(args.account, ManualAssignment(hierarchy_id=args.hierarchy,
                                                       set_at=datetime.now(UTC).isoformat(), note=args.note))
    print(f"{args.account} is now manually assigned to {args.hierarchy}")
    return 0


def cmd_assignment_clear(args: argparse.Namespace) -> int:
    repos(target(args)).ledger.clear_manual(args.account)
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
        rows.append({"account_id": view.account_id, "hierarchy": a.hierarchy_id or "-",
                     "manual": "manual" if a.manual else "", "reason": a.reason})
    emit(args, rows, lambda rs: table(rs, ["account_id", "hierarchy", "manual", "reason"], width={"reason": 80}))
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
