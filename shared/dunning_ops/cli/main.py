"""``dunning``: the operator CLI. Every command has ``--help``; ``--json`` gives machine-readable output.

Point it at a deployed stack with ``--stack NAME`` (reads the stack's outputs) or at the embedded local
stack with ``--endpoint-url http://127.0.0.1:4566``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import NoReturn

from botocore.exceptions import EndpointConnectionError

from dunning.errors import PermanentError
from dunning_ops.cli import (
    api_cmd,
    assignment_cmd,
    chat_cmd,
    config_cmd,
    contacts_cmd,
    events_cmd,
    history_cmd,
    letters_cmd,
    local_cmd,
    mail_cmd,
    run_cmd,
    runs_cmd,
    simulate_cmd,
    users_cmd,
    workflows_cmd,
)
from dunning_ops.cli.common import CliError, Subparsers
from dunning_ops.cli.output import fail, json_errors, json_errors_enabled
from dunning_ops.target import TargetError

# The command groups, in the order ``dunning --help`` lists them. A group is a module ``cli/<name>_cmd.py``
# with ``register(sub)``, which adds its commands (``common.add_group`` / ``common.add_command``); adding a
# group is one entry here.
GROUPS: tuple[Callable[[Subparsers], None], ...] = (
    local_cmd.register,
    config_cmd.register,
    events_cmd.register,
    run_cmd.register,
    runs_cmd.register,
    simulate_cmd.register,
    assignment_cmd.register,
    history_cmd.register,
    contacts_cmd.register,
    letters_cmd.register,
    users_cmd.register,
    api_cmd.register,
    mail_cmd.register,
    chat_cmd.register,
    workflows_cmd.register,
)


class _Parser(argparse.ArgumentParser):
    """argparse, with its usage errors as JSON under ``--json`` (every sub-parser is one of these too)."""

    def error(self, message: str) -> NoReturn:
        if json_errors_enabled():
            fail(f"{self.prog}: {message}")
            raise SystemExit(2)
        super().error(message)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="dunning", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--endpoint-url", help="AWS endpoint, e.g. the local stack's http://127.0.0.1:4566")
    p.add_argument("--stack", help="CloudFormation stack name (default: dunning, or dunning-local with --endpoint-url)")
    p.add_argument("--region", help="AWS region (default: AWS_REGION or us-east-1)")
    p.add_argument("--json", action="store_true", help="machine-readable JSON output")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in GROUPS:
        register(sub)
    return p


NOT_LISTENING = "nothing is listening there; start the local stack with 'dunning local up' (or check --endpoint-url)"


def _unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is a connection refused / endpoint not reachable."""
    while exc is not None:
        if isinstance(exc, EndpointConnectionError | ConnectionRefusedError):
            return True
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return False


def _closed_pipe() -> int:
    """stdout's reader went away (``dunning ... | head``): stop quietly. Python would report the broken pipe
    again when it flushes stdout at exit, so stdout is pointed at /dev/null first."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 141  # 128 + SIGPIPE, what a shell reports for a command killed by a closed pipe


def main(argv: list[str] | None = None) -> int:
    """Run one command. Whatever goes wrong that the user can fix ends with a message and exit code 2, never a
    traceback (a missing file, an unknown id, a busy port, nothing listening, a closed pipe); ``--json`` makes
    the message a JSON object on stderr (see :mod:`dunning_ops.cli.output`)."""
    json_errors("--json" in (sys.argv[1:] if argv is None else argv))  # before parsing: usage errors too
    try:
        args = build_parser().parse_args(argv)
    except SystemExit:
        json_errors(False)
        raise
    json_errors(bool(getattr(args, "json", False)))
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return code
    except BrokenPipeError:
        return _closed_pipe()
    except CliError as exc:
        return fail(str(exc), exc.code)
    except (TargetError, PermanentError) as exc:  # what to fix, without a traceback
        return fail(f"{exc}; {NOT_LISTENING}" if _unreachable(exc) else str(exc))
    except (EndpointConnectionError, ConnectionRefusedError) as exc:
        return fail(f"{exc}; {NOT_LISTENING}")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as exc:
        return fail(f"{exc.filename}: {exc.strerror}" if exc.filename else str(exc))
    except KeyboardInterrupt:
        return 130
    finally:
        json_errors(False)


if __name__ == "__main__":
    raise SystemExit(main())
