"""``dunning``: the operator CLI. Every command has ``--help``; ``--json`` gives machine-readable output.

Point it at a deployed stack with ``--stack NAME`` (reads the stack's outputs) or at the embedded local
stack with ``--endpoint-url http://127.0.0.1:4566``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from dunning.errors import PermanentError
from dunning_ops.cli import (
    api_cmd,
    assignment_cmd,
    config_cmd,
    contacts_cmd,
    events_cmd,
    history_cmd,
    letters_cmd,
    local_cmd,
    run_cmd,
    simulate_cmd,
    users_cmd,
)
from dunning_ops.cli.common import Subparsers
from dunning_ops.cli.output import fail
from dunning_ops.target import TargetError

# The command groups, in the order ``dunning --help`` lists them. A group is a module ``cli/<name>_cmd.py``
# with ``register(sub)``, which adds its commands (``common.add_group`` / ``common.add_command``); adding a
# group is one entry here.
GROUPS: tuple[Callable[[Subparsers], None], ...] = (
    local_cmd.register,
    config_cmd.register,
    events_cmd.register,
    run_cmd.register,
    simulate_cmd.register,
    assignment_cmd.register,
    history_cmd.register,
    contacts_cmd.register,
    letters_cmd.register,
    users_cmd.register,
    api_cmd.register,
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dunning", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--endpoint-url", help="AWS endpoint, e.g. the local stack's http://127.0.0.1:4566")
    p.add_argument("--stack", help="CloudFormation stack name (default: dunning, or dunning-local with --endpoint-url)")
    p.add_argument("--region", help="AWS region (default: AWS_REGION or us-east-1)")
    p.add_argument("--json", action="store_true", help="machine-readable JSON output")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in GROUPS:
        register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (TargetError, PermanentError) as exc:  # what to fix, without a traceback
        return fail(str(exc))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
