"""``dunning local up`` and ``dunning demo``: the embedded local AWS stack."""

from __future__ import annotations

import argparse
import json
import socket
import sys
import time
from pathlib import Path

from dunning_ops.cli.common import CliError, Subparsers, add_command, add_group, iso_date
from dunning_ops.local.demo import run_demo
from dunning_ops.local.serve import serve_locally
from dunning_ops.local.stack import LocalStack
from dunning_ops.local.translate import INTERACTIVE_PARAMETERS


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something already listens on ``host:port`` (binding fails)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a port in TIME_WAIT is free
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def cmd_local_up(args: argparse.Namespace) -> int:
    for option, port in (("--port", args.port), ("--api-port", args.api_port)):
        if port and port_in_use(port):
            raise CliError(f"port {port} on 127.0.0.1 is already in use (is a local stack already running? "
                           f"stop it, or pass {option} with a free port)")
    stack = LocalStack.start(port=args.port, progress=sys.stderr, ttl_clock_offset_days=args.ttl_clock_offset_days,
                             parameters=dict(INTERACTIVE_PARAMETERS))

    api = serve_locally(stack, args.api_port, demo=args.demo)
    print(json.dumps({"endpoint": stack.endpoint, "stack": "dunning-local", **stack.outputs, **api}, indent=2))
    print(f"\nlocal stack ready. Try:\n  dunning --endpoint-url {stack.endpoint} config publish\n"
          f"  AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_DEFAULT_REGION=us-east-1 \\\n"
          f"  aws --endpoint-url {stack.endpoint} sqs send-message --queue-url {stack.outputs['EventsQueueUrl']} "
          "--message-body file://events/ingest_single_event.json\nCtrl-C stops it.", file=sys.stderr)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        stack.stop()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    return run_demo(out=Path(args.out), as_of=args.as_of, port=args.port)


def register(sub: Subparsers) -> None:
    local = add_group(sub, "local", "the embedded local AWS stack")
    up = add_command(local, "up", cmd_local_up, "start moto on 127.0.0.1 and deploy template.yaml into it")
    up.add_argument("--port", type=int, default=4566, help="port to listen on (default 4566)")
    up.add_argument("--ttl-clock-offset-days", type=float, default=None, metavar="DAYS",
                    help="emulate DynamoDB TTL every few seconds on a clock DAYS ahead (e.g. 91: today's contacts "
                         "expire and are archived); default: no TTL deletions, as moto has none")
    up.add_argument("--api-port", type=int, default=3000, help="port of the HttpApi (API and console; default 3000)")
    up.add_argument("--demo", action="store_true",
                    help="load the demo data, run the demo run and create one demo user per group")

    demo = add_command(sub, "demo", cmd_demo, "run the whole demo on an in-process local stack and write out/")
    demo.add_argument("--out", default="out", help="output folder (default out/)")
    demo.add_argument("--as-of", type=iso_date, default=None, help="run date (default: the demo data's date)")
    demo.add_argument("--port", type=int, default=None, help="port for the local stack (default: a free port)")
