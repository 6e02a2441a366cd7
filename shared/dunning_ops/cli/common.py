"""What every command group shares: the options each command accepts after its name, how a command is added
to the tree, the argument types, and the stack a command talks to with its repositories."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from dunning.app.deps import StackRepositories, stack_repositories
from dunning_ops.target import Target

DEFAULT_CONFIG_DIR = Path("infra/config")

Command = Callable[[argparse.Namespace], int]
# what ``ArgumentParser.add_subparsers`` returns (argparse does not export the type)
Subparsers = Any


def _options() -> argparse.ArgumentParser:
    """The global options, accepted after the command too (``dunning events rejected --json``)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--endpoint-url", default=argparse.SUPPRESS, help="AWS endpoint (local stack)")
    common.add_argument("--stack", default=argparse.SUPPRESS, help="CloudFormation stack name")
    common.add_argument("--region", default=argparse.SUPPRESS, help="AWS region")
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="JSON output")
    return common


COMMON_OPTIONS = _options()


def add_command(parent: Subparsers, name: str, func: Command, help_: str) -> argparse.ArgumentParser:
    """A command ``name`` under ``parent`` that runs ``func``; ``help_`` is its help line and description."""
    parser: argparse.ArgumentParser = parent.add_parser(name, help=help_, description=help_,
                                                        parents=[COMMON_OPTIONS])
    parser.set_defaults(func=func)
    return parser


def add_group(parent: Subparsers, name: str, help_: str) -> Subparsers:
    """A command group ``name`` (``dunning NAME SUB ...``); add its commands with :func:`add_command`."""
    return parent.add_parser(name, help=help_).add_subparsers(dest="sub", required=True)


class CliError(Exception):
    """What the user must fix (an unknown id, a busy port, ...): ``dunning`` prints it and exits with ``code``
    (2 by default), without a traceback. Raised by commands, turned into output once, in ``main``."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def known_hierarchy(config: Any, hierarchy_id: str, *, allow: tuple[str, ...] = ()) -> str:
    """``hierarchy_id`` if the configuration (or ``allow``) has it, else a :class:`CliError` naming the known ones."""
    known = [h.id for h in config.hierarchies]
    if hierarchy_id not in known and hierarchy_id not in allow:
        raise CliError(f"unknown hierarchy {hierarchy_id!r}; known: {', '.join([*known, *allow]) or 'none'}")
    return hierarchy_id


def known_account(r: StackRepositories, account_id: str) -> str:
    """``account_id`` if the ledger knows that account, else a :class:`CliError`. Known: its
    ``account.upserted`` was applied, or it has invoices, payments or collections state already (an invoice
    can arrive before its account; such an account is in the run, set aside, and can be simulated)."""
    if r.ledger.account(account_id) is None and not r.ledger.account_items(account_id):
        raise CliError(f"unknown account {account_id!r}: the ledger has no account, invoice or payment for it")
    return account_id


def iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from exc


def target(args: argparse.Namespace) -> Target:
    return Target.from_args(args.endpoint_url, args.stack, args.region)


Repositories = StackRepositories  # the tables and buckets of the stack a command talks to


def repos(t: Target) -> Repositories:
    return stack_repositories(t.settings)
