"""``dunning events``: send upstream events (and wait for what ingest did with them), list rejected and held
ones, redrive the dead-letter queue, write the event contract's JSON Schemas."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from dunning.app.ingest import SendReport, SentEvent, event_statuses, held_events, sent_event
from dunning.schemas import write_schemas
from dunning_ops.cli.common import Subparsers, add_command, add_group, repos, target
from dunning_ops.cli.output import emit, fail, table
from dunning_ops.target import Target


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
    except (ValueError, RecursionError):  # a body nested too deep is sent as it is: ingest rejects it
        return False
    return True


def cmd_events_send(args: argparse.Namespace) -> int:
    t = target(args)
    bodies = read_events(args.files)
    sqs = t.client("sqs")
    url = t.output("EventsQueueUrl")
    first_day = datetime.now(UTC).date()
    sent: list[SentEvent] = []
    failed = 0
    for start in range(0, len(bodies), 10):
        chunk = bodies[start : start + 10]
        resp = sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "MessageBody": b} for i, b in enumerate(chunk)])
        sent += [sent_event(ok["MessageId"], chunk[int(ok["Id"])]) for ok in resp.get("Successful", [])]
        for f in resp.get("Failed", []):
            failed += 1
            print(f"not sent: {f.get('Message')}", file=sys.stderr)
        if not args.json and len(bodies) > 50 and (start // 10) % 20 == 0:
            print(f"  sent {len(sent)}/{len(bodies)}", file=sys.stderr)
    if not args.wait:
        emit(args, {"sent": len(sent), "failed": failed, "results": "later"},
             lambda d: f"sent {d['sent']} event(s) to the events queue" + (f", {d['failed']} failed" if d["failed"]
                                                                            else "")
             + ".\nIngest applies, holds or rejects each one within seconds; the results come later. See them with "
               "'dunning events send FILE --wait' (waits and counts), 'dunning events rejected' (reasons) and "
               "'dunning events held' (events waiting for their account or invoice).")
        return 1 if failed else 0
    report = wait_for_outcomes(t, sent, first_day, args.timeout, quiet=args.json)
    emit(args, {"failed_to_send": failed, **report.model_dump(mode="json")}, lambda _: render_report(report))
    return 0 if report.settled and not report.rejected and not failed else 1


def wait_for_outcomes(t: Target, sent: list[SentEvent], first_day: date, timeout: float,
                      quiet: bool = False) -> SendReport:
    """Poll what ingest did with ``sent`` until every event is applied, held or rejected, or ``timeout``."""
    r = repos(t)
    cache: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    while True:
        today = datetime.now(UTC).date()
        days = [first_day + timedelta(days=n) for n in range((today - first_day).days + 1)]
        report = event_statuses(r.events, r.blobs, sent, days, cache)
        if report.settled or time.monotonic() >= deadline:
            return report
        if not quiet:
            print(f"  {report.sent - report.pending}/{report.sent} accounted for", file=sys.stderr)
        time.sleep(1.0)


def render_report(report: SendReport) -> str:
    pending = f", {report.pending} still pending (timed out)" if report.pending else ""
    lines = [f"{report.sent} event(s) sent: {report.applied} applied, {report.held} held, "
             f"{report.rejected} rejected{pending}"]
    if report.reasons:
        lines.append("")
        lines.append(table([r.model_dump() for r in report.reasons[:20]], ["events", "outcome", "reason"],
                           width={"reason": 100}))
        if len(report.reasons) > 20:
            lines.append(f"... and {len(report.reasons) - 20} more reasons (--json lists every event)")
    return "\n".join(lines)


def cmd_events_held(args: argparse.Namespace) -> int:
    rows = [h.model_dump() for h in held_events(repos(target(args)).events)]
    emit(args, rows, lambda rs: table(rs, ["recorded_at", "event_id", "event_type", "reason"], width={"reason": 90})
         if rs else "no held events")
    return 0


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
    send.add_argument("--wait", action="store_true",
                      help="wait until every event sent is applied, held or rejected; print the counts and reasons "
                           "(exit 1 when one is rejected or still pending)")
    send.add_argument("--timeout", type=float, default=300.0, help="seconds --wait waits at most (default 300)")
    add_command(events, "rejected", cmd_events_rejected, "list rejected events with their reasons")
    add_command(events, "held", cmd_events_held,
                "list events held until their account or invoice arrives (invoices and payments)")
    rd = add_command(events, "redrive", cmd_events_redrive,
                     "move messages from the dead-letter queue back to the queue")
    rd.add_argument("--max", type=int, default=None, help="move at most this many")
    sch = add_command(events, "schemas", cmd_events_schemas, "write the JSON Schemas of the event contract")
    sch.add_argument("--dir", default="events/schemas")
    sch.add_argument("--check", action="store_true", help="fail when the committed schemas are out of date")
