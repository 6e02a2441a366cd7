"""``dunning events``: send upstream events, list rejected ones, redrive the dead-letter queue, write the
event contract's JSON Schemas."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from dunning.schemas import write_schemas
from dunning_ops.cli.common import Subparsers, add_command, add_group, repos, target
from dunning_ops.cli.output import emit, fail, table


def read_events(paths: list[str]) -> list[str]:
    """Message bodies from files holding a JSON object, a JSON array or JSON lines (``-``: standard input)."""
    bodies: list[str] = []
    for p in paths:
        text = sys.stdin.read() if p == "-" else Path(p).read_text(encoding="utf-8")
        stripped = text.strip()
        if not stripped:
            continue
        if stripped.startswith("["):
            bodies.extend(json.dumps(e, ensure_ascii=False) for e in json.loads(stripped))
        elif "\n" in stripped and stripped.startswith("{") and not _is_single_json(stripped):
            bodies.extend(line for line in stripped.splitlines() if line.strip())
        else:
            bodies.append(stripped)
    return bodies


def _is_single_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def cmd_events_send(args: argparse.Namespace) -> int:
    t = target(args)
    bodies = read_events(args.files)
    sqs = t.client("sqs")
    url = t.output("EventsQueueUrl")
    sent = failed = 0
    for start in range(0, len(bodies), 10):
        chunk = bodies[start : start + 10]
        resp = sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "MessageBody": b} for i, b in enumerate(chunk)])
        sent += len(resp.get("Successful", []))
        for f in resp.get("Failed", []):
            failed += 1
            print(f"not sent: {f.get('Message')}", file=sys.stderr)
        if not args.json and len(bodies) > 50 and (start // 10) % 20 == 0:
            print(f"  sent {sent}/{len(bodies)}", file=sys.stderr)
    emit(args, {"sent": sent, "failed": failed}, lambda d: f"sent {d['sent']} event(s) to the events queue"
         + (f", {d['failed']} failed" if d["failed"] else ""))
    return 1 if failed else 0


def cmd_events_rejected(args: argparse.Namespace) -> int:
    rows = repos(target(args)).blobs.rejected()
    emit(args, rows, lambda rs: table(rs, ["rejected_at", "message_id", "reason"], width={"reason": 90})
         if rs else "no rejected events")
    return 0


def cmd_events_redrive(args: argparse.Namespace) -> int:
    t = target(args)
    sqs = t.client("sqs")
    dlq, queue = t.output("EventsDeadLetterQueueUrl"), t.output("EventsQueueUrl")
    moved = 0
    while args.max is None or moved < args.max:
        msgs = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not msgs:
            break
        for m in msgs:
            sqs.send_message(QueueUrl=queue, MessageBody=m["Body"])
            sqs.delete_message(QueueUrl=dlq, ReceiptHandle=m["ReceiptHandle"])
            moved += 1
    emit(args, {"moved": moved}, lambda d: f"moved {d['moved']} message(s) from the dead-letter queue back")
    return 0


def cmd_events_schemas(args: argparse.Namespace) -> int:
    changed = write_schemas(Path(args.dir), check=args.check)
    if args.check and changed:
        return fail("schemas are out of date: " + ", ".join(changed) + " (run 'dunning events schemas')")
    print(f"{len(changed)} schema file(s) {'differ' if args.check else 'written'} in {args.dir}")
    return 0


def register(sub: Subparsers) -> None:
    events = add_group(sub, "events", "upstream events")
    send = add_command(events, "send", cmd_events_send,
                       "send events (JSON object, JSON array or JSON lines) to the queue")
    send.add_argument("files", nargs="+", help="files to send, '-' for standard input")
    add_command(events, "rejected", cmd_events_rejected, "list rejected events with their reasons")
    rd = add_command(events, "redrive", cmd_events_redrive,
                     "move messages from the dead-letter queue back to the queue")
    rd.add_argument("--max", type=int, default=None, help="move at most this many")
    sch = add_command(events, "schemas", cmd_events_schemas, "write the JSON Schemas of the event contract")
    sch.add_argument("--dir", default="events/schemas")
    sch.add_argument("--check", action="store_true", help="fail when the committed schemas are out of date")
