"""``dunning``: the operator CLI. Every command has ``--help``; ``--json`` gives machine-readable output.

Point it at a deployed stack with ``--stack NAME`` (reads the stack's outputs) or at the embedded local
stack with ``--endpoint-url http://127.0.0.1:4566``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from dunning_ops.cli.output import emit, fail, table
from dunning_ops.cli.target import Target, TargetError

DEFAULT_CONFIG_DIR = Path("infra/config")


# ---------------------------------------------------------------------------------------------- helpers
def _target(args: argparse.Namespace) -> Target:
    return Target.from_args(args.endpoint_url, args.stack, args.region)


def _iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from exc


def _repos(t: Target) -> Any:
    from dunning.store.blobs import Blobs
    from dunning.store.contacts import ContactsRepository
    from dunning.store.ledger import LedgerRepository
    from dunning.store.runs import RunsRepository

    s = t.settings

    class Repos:
        ledger = LedgerRepository(s.ledger_table)
        contacts = ContactsRepository(s.contacts_table, retention_days=s.contact_retention_days)
        runs = RunsRepository(s.runs_table)
        blobs = Blobs(s.runs_bucket)
        letters = Blobs(s.letters_bucket)

    return Repos


# ---------------------------------------------------------------------------------------------- local / demo
def cmd_local_up(args: argparse.Namespace) -> int:
    from dunning_ops.local.stack import LocalStack

    stack = LocalStack.start(port=args.port, progress=sys.stderr, ttl_clock_offset_days=args.ttl_clock_offset_days)
    print(json.dumps({"endpoint": stack.endpoint, "stack": "dunning-local", **stack.outputs}, indent=2))
    print(f"\nlocal stack ready. Try:\n  dunning --endpoint-url {stack.endpoint} config publish\n"
          f"  aws --endpoint-url {stack.endpoint} sqs send-message --queue-url {stack.outputs['EventsQueueUrl']} "
          "--message-body file://events/ingest_single_event.json\nCtrl-C stops it.", file=sys.stderr)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        stack.stop()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from dunning_ops.local.demo import run_demo

    return run_demo(out=Path(args.out), as_of=args.as_of, port=args.port)


# ---------------------------------------------------------------------------------------------- config
def cmd_config_validate(args: argparse.Namespace) -> int:
    from dunning.config_loader import ConfigError, load_config_dir

    try:
        config = load_config_dir(Path(args.dir))
    except ConfigError as exc:
        return fail(str(exc))
    emit(args, {"valid": True, "version": config.version, "hierarchies": len(config.hierarchies),
                "pools": len(config.pools), "contact_types": len(config.contact_types),
                "letter_templates": len(config.letter_templates), "email_templates": len(config.email_templates),
                "contact_rules": len(config.contact_rules)},
         lambda d: f"configuration in {args.dir} is valid: " + ", ".join(f"{v} {k}" for k, v in d.items()
                                                                          if k not in ("valid", "version")))
    return 0


def cmd_config_publish(args: argparse.Namespace) -> int:
    from dunning.config_loader import ConfigError, load_config_dir

    try:
        config = load_config_dir(Path(args.dir))
    except ConfigError as exc:
        return fail(str(exc))
    key = _repos(_target(args)).blobs.publish_config(config)
    emit(args, {"published": key, "version": config.version}, lambda d: f"published {args.dir} as {d['published']}")
    return 0


def cmd_config_import_email(args: argparse.Namespace) -> int:
    from dunning.email.importer import import_html_body

    src = Path(args.file)
    if not src.exists():
        return fail(f"{src} not found")
    html = import_html_body(src.read_text(encoding="utf-8", errors="replace"))
    dest = Path(args.dir) / "templates" / "email" / f"{args.template}.{args.language}.html"
    if not (dest.parent / f"{args.template}.yaml").exists():
        return fail(f"no email template {args.template!r} in {dest.parent} (create {args.template}.yaml first)")
    dest.write_text(html + "\n", encoding="utf-8")
    print(f"imported {src} as the {args.language} body of {args.template} ({len(html)} characters) -> {dest}")
    print("remember to add its subject to the template's yaml, then 'dunning config validate' and 'publish'")
    return 0


# ---------------------------------------------------------------------------------------------- events
def _read_events(paths: list[str]) -> list[str]:
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
    t = _target(args)
    bodies = _read_events(args.files)
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
    rows = _repos(_target(args)).blobs.rejected()
    emit(args, rows, lambda rs: table(rs, ["rejected_at", "message_id", "reason"], width={"reason": 90})
         if rs else "no rejected events")
    return 0


def cmd_events_redrive(args: argparse.Namespace) -> int:
    t = _target(args)
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
    from dunning.schemas import write_schemas

    changed = write_schemas(Path(args.dir), check=args.check)
    if args.check and changed:
        return fail("schemas are out of date: " + ", ".join(changed) + " (run 'dunning events schemas')")
    print(f"{len(changed)} schema file(s) {'differ' if args.check else 'written'} in {args.dir}")
    return 0


# ---------------------------------------------------------------------------------------------- run
def cmd_run(args: argparse.Namespace) -> int:
    t = _target(args)
    sfn = t.client("stepfunctions")
    as_of = args.as_of or datetime.now(UTC).date()
    name = f"run-{as_of.isoformat()}-{uuid.uuid4().hex[:8]}"
    arn = sfn.start_execution(stateMachineArn=t.output("CollectionsRunStateMachineArn"), name=name,
                              input=json.dumps({"as_of": as_of.isoformat()}))["executionArn"]
    if not args.wait:
        emit(args, {"execution_arn": arn, "as_of": as_of.isoformat()}, lambda d: f"started {d['execution_arn']}")
        return 0
    summary = wait_for_run(t, arn, quiet=args.json)
    emit(args, summary, _describe_summary)
    return 0 if summary.get("status") in ("SUCCEEDED", "ALREADY_RUNNING") else 1


def wait_for_run(t: Target, arn: str, quiet: bool = False, timeout: float = 3600) -> dict[str, Any]:
    """Wait for an execution, printing progress (batches done of total) to stderr."""
    repos = _repos(t)
    sfn = t.client("stepfunctions")
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        desc = sfn.describe_execution(executionArn=arn)
        status = desc["status"]
        line = f"  {status.lower()}"
        run = _current_run(repos, json.loads(desc.get("input") or "{}").get("as_of"), desc["startDate"])
        if run:
            done = len(repos.runs.batch_results(run["run_id"]))
            line += f": {done}/{run.get('batch_count', 0)} batches, {run.get('accounts', 0)} accounts"
        if line != last and not quiet:
            print(line, file=sys.stderr, flush=True)
            last = line
        if status != "RUNNING":
            output = json.loads(desc.get("output") or "{}")
            if status == "SUCCEEDED" and "run_id" not in output:
                return {"status": "ALREADY_RUNNING", "detail": "another run for this date was active; nothing done"}
            if status != "SUCCEEDED":
                return {"status": status, "error": desc.get("error"), "cause": desc.get("cause")}
            return dict(output)
        time.sleep(0.5)
    raise TimeoutError(f"execution {arn} still running after {timeout}s")


def _current_run(repos: Any, as_of: str | None, started: datetime) -> dict[str, Any] | None:
    """The run record this execution wrote (same as-of date, started after the execution)."""
    candidates = [r for r in repos.runs.runs() if r.get("as_of") == as_of
                  and r.get("started_at", "") >= started.astimezone(UTC).isoformat()[:19]]
    return candidates[-1] if candidates else None


def _describe_summary(s: dict[str, Any]) -> str:
    if s.get("status") != "SUCCEEDED":
        return f"run {s.get('status')}: {s.get('detail') or s.get('cause') or ''}"
    lines = [f"run {s['run_id']} for {s['as_of']}: {s['status']}",
             f"  accounts scanned {s.get('accounts_scanned', 0)}, with open balance {s.get('with_open_balance', 0)},"
             f" acting {s.get('acting_accounts', 0)}",
             f"  contacts created {s.get('contacts_created', 0)} {s.get('contacts_by_action', {})}"
             f" (email->letter fallbacks {s.get('fallbacks', 0)})"]
    if s.get("outcomes"):
        lines.append(f"  outcomes {s['outcomes']}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------ simulate / assignment / history
def cmd_simulate(args: argparse.Namespace) -> int:
    from dunning.app.simulation import simulate

    repos = _repos(_target(args))
    views = [repos.ledger.account_view(args.account)] if args.account else list(repos.ledger.scan_accounts())
    rows = simulate(views, repos.blobs.config(), args.as_of or datetime.now(UTC).date())
    emit(args, rows, lambda rs: table(rs, ["account_id", "hierarchy", "lead_invoice", "days_from_due", "would",
                                           "why"], width={"why": 70, "would": 40}))
    return 0


def cmd_assignment_preview(args: argparse.Namespace) -> int:
    from dunning.strategy.assignment import assign, preview_hierarchy

    repos = _repos(_target(args))
    config = repos.blobs.config()
    if args.account:
        a = assign(repos.ledger.account_view(args.account), config)
        emit(args, a.model_dump(), lambda d: f"{d['account_id']}: {d['hierarchy_id'] or 'unassigned'} - {d['reason']}")
        return 0
    if args.hierarchy not in {h.id for h in config.hierarchies}:
        return fail(f"unknown hierarchy {args.hierarchy!r}; known: {', '.join(h.id for h in config.hierarchies)}")
    got = [a.model_dump() for a in preview_hierarchy(repos.ledger.scan_accounts(), config, args.hierarchy)]
    emit(args, got, lambda rs: table(rs, ["account_id", "manual", "reason"], width={"reason": 90})
         if rs else f"no account would be assigned to {args.hierarchy}")
    return 0


def cmd_assignment_set(args: argparse.Namespace) -> int:
    from dunning.models.accounts import ManualAssignment

    repos = _repos(_target(args))
    if args.hierarchy not in {h.id for h in repos.blobs.config().hierarchies}:
        return fail(f"unknown hierarchy {args.hierarchy!r}")
    repos.ledger.set_manual(args.account, ManualAssignment(hierarchy_id=args.hierarchy,
                                                           set_at=datetime.now(UTC).isoformat(), note=args.note))
    print(f"{args.account} is now manually assigned to {args.hierarchy}")
    return 0


def cmd_assignment_clear(args: argparse.Namespace) -> int:
    _repos(_target(args)).ledger.clear_manual(args.account)
    print(f"manual assignment of {args.account} cleared; pools decide again")
    return 0


def cmd_assignment_list(args: argparse.Namespace) -> int:
    from dunning.strategy.assignment import assign

    repos = _repos(_target(args))
    config = repos.blobs.config()
    rows = []
    for view in repos.ledger.scan_accounts():
        if args.manual_only and view.manual_assignment is None:
            continue
        a = assign(view, config)
        rows.append({"account_id": view.account_id, "hierarchy": a.hierarchy_id or "-",
                     "manual": "manual" if a.manual else "", "reason": a.reason})
    emit(args, rows, lambda rs: table(rs, ["account_id", "hierarchy", "manual", "reason"], width={"reason": 80}))
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    rows = _repos(_target(args)).runs.history(args.hierarchy, args.since)
    emit(args, rows, lambda rs: table(rs, ["as_of", "account_id", "outcome", "actions", "reasons"],
                                      width={"reasons": 60, "actions": 40}) if rs else "no history")
    return 0


# ---------------------------------------------------------------------------------------------- contacts / letters
def cmd_contacts_list(args: argparse.Namespace) -> int:
    repos = _repos(_target(args))
    contacts = repos.contacts.by_account(args.account) if args.account else list(repos.contacts.all())
    contacts.sort(key=lambda c: (c.created_at, c.contact_id))
    if args.json:
        print(json.dumps([c.model_dump(mode="json") for c in contacts], indent=2, ensure_ascii=False))
        return 0
    rows = [{"contact_id": c.contact_id, "type": c.type_key, "action": c.action, "status": c.status,
             "account": c.account_id or "", "person": c.person_id or "", "premise": c.premise_id or "",
             "template": c.template_code or "", "as_of": c.as_of or "", "reason": c.reason} for c in contacts]
    print(table(rows, list(rows[0]) if rows else [], width={"reason": 40}) if rows else "no contacts")
    return 0


def cmd_contacts_archived(args: argparse.Namespace) -> int:
    from dunning.app.archive import archived_contacts

    contacts = archived_contacts(_repos(_target(args)).blobs, args.account, args.since)
    if args.json:
        print(json.dumps([c.model_dump(mode="json", exclude_none=True) for c in contacts], indent=2,
                         ensure_ascii=False))
        return 0
    rows = [{"contact_id": c.contact_id, "type": c.type_key, "action": c.action, "status": c.status,
             "created_at": c.created_at.isoformat(timespec="seconds"), "person": c.person_id or "",
             "template": c.template_code or "", "as_of": c.as_of or "", "reason": c.reason} for c in contacts]
    print(table(rows, list(rows[0]), width={"reason": 40}) if rows else f"no archived contacts of {args.account}")
    return 0


def cmd_contacts_create(args: argparse.Namespace) -> int:
    from dunning.app.event_contacts import create_contacts_for_event
    from dunning.models.events import EventValidationError, parse_event

    if "/" not in args.type:
        return fail("--type must be CLASS/TYPE, e.g. CUSTSVC/AUTOPAY_FORM")
    cls, typ = args.type.split("/", 1)
    request_id = args.request_id or f"cli-{uuid.uuid4().hex[:12]}"
    data = {"request_id": request_id, "person_id": args.person, "contact_class": cls, "contact_type": typ,
            "account_id": args.account, "premise_id": args.premise, "note": args.note or ""}
    try:
        event = parse_event({"event_id": request_id, "event_type": "contact.requested",
                             "occurred_at": datetime.now(UTC).isoformat(), "source": "cli",
                             "data": {k: v for k, v in data.items() if v is not None}})
    except EventValidationError as exc:
        return fail(str(exc))
    repos = _repos(_target(args))
    outcome = create_contacts_for_event(event, repos.blobs.config(), repos.ledger, repos.contacts)
    if outcome.rejected_reason:
        return fail(outcome.rejected_reason)
    emit(args, {"created": outcome.created, "existing": outcome.existing, "request_id": request_id},
         lambda d: f"created {d['created']} contact(s) for request {d['request_id']}"
         + (f" ({d['existing']} already existed)" if d["existing"] else ""))
    return 0


def _letter_contact(args: argparse.Namespace, repos: Any) -> Any:
    from dunning.letters.retrieve import find_letter_contact

    return find_letter_contact(repos.contacts, repos.blobs, args.contact_id, args.account)


def _restore_print_file(args: argparse.Namespace, repos: Any, needed: Any) -> int:
    """A letter only in a print file in Deep Archive: ask for a restore with --restore, else say how."""
    from dunning.letters.retrieve import RESTORE_DAYS

    if not args.restore:
        return fail(f"{needed}" + ("" if needed.in_progress else
                                   f"; run again with --restore to restore it for {RESTORE_DAYS} days, then once "
                                   "more when it is ready"))
    started = repos.letters.restore(needed.key, RESTORE_DAYS, args.tier)
    emit(args, {"contact_id": args.contact_id, "restore": "requested" if started else "in progress",
                "print_file": f"s3://{repos.letters.bucket}/{needed.key}", "tier": args.tier, "days": RESTORE_DAYS},
         lambda d: f"the letter of {d['contact_id']} is in {d['print_file']} ({needed.storage_class}): restore "
         + ("requested" if started else "already in progress")
         + f" ({d['tier']}: {'within 12 hours' if d['tier'] == 'Standard' else 'within 48 hours'}, readable for "
         f"{d['days']} days); run this command again then - nothing is written yet")
    return 0


def cmd_letters_get(args: argparse.Namespace) -> int:
    from dunning.letters.retrieve import LetterError, RestoreNeeded, letter_pdf

    repos = _repos(_target(args))
    try:
        letter = letter_pdf(_letter_contact(args, repos), repos.letters)
    except RestoreNeeded as exc:
        return _restore_print_file(args, repos, exc)
    except LetterError as exc:
        return fail(str(exc))
    Path(args.output).write_bytes(letter.pdf)
    emit(args, {"contact_id": letter.contact_id, "output": args.output, "pages": letter.pages,
                "source": letter.source, "key": f"s3://{repos.letters.bucket}/{letter.key}"},
         lambda d: f"wrote {d['output']} ({d['pages']} page(s))" + (
             "" if d["source"] == "letter" else
             f", cut out of its print file {d['key']}" if d["source"] == "print" else
             f", from {d['key']} (cut out of its print file earlier): its own PDF has expired"))
    return 0


def cmd_letters_url(args: argparse.Namespace) -> int:
    from dunning.letters.retrieve import LetterError, RestoreNeeded, letter_link

    repos = _repos(_target(args))
    try:
        link = letter_link(_letter_contact(args, repos), repos.letters, args.expires)
    except RestoreNeeded as exc:
        return _restore_print_file(args, repos, exc)
    except LetterError as exc:
        return fail(str(exc))
    emit(args, {"url": link.url, "expires_in": args.expires, "key": link.key, "source": link.source},
         lambda d: d["url"] if d["source"] == "letter" else
         f"{d['url']}\n(its own PDF has expired: this links to a copy cut out of its print file, {d['key']})")
    return 0


def cmd_letters_reprint(args: argparse.Namespace) -> int:
    from dunning.app.delivery import DeliveryDeps, reprint_letter

    repos = _repos(_target(args))
    contact = repos.contacts.get(args.contact_id)
    if contact is None or contact.action != "letter":
        return fail(f"no letter contact {args.contact_id}")
    deps = DeliveryDeps(config=repos.blobs.config, ledger=repos.ledger, contacts=repos.contacts, letters=repos.letters)
    result = reprint_letter(contact, deps)
    emit(args, result,
         lambda d: f"reprinted {d['contact_id']} -> {d.get('s3_key')} (queued for the next print extract)")
    return 0 if result.get("status") == "rendered" else 1


def cmd_letters_extract(args: argparse.Namespace) -> int:
    from dunning.app.print_extract import ExtractDeps, run_print_extract

    repos = _repos(_target(args))
    deps = ExtractDeps(contacts=repos.contacts, letters=repos.letters)
    result = run_print_extract(deps, as_of=args.as_of or datetime.now(UTC).date(),
                               progress=lambda m: print(m, file=sys.stderr))
    emit(args, result, lambda d: f"print extract: {d['letters']} letter(s) in {len(d['files'])} file(s)"
         + "".join(f"\n  s3://{repos.letters.bucket}/{f}" for f in d["files"]))
    return 0


# ---------------------------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dunning", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--endpoint-url", help="AWS endpoint, e.g. the local stack's http://127.0.0.1:4566")
    p.add_argument("--stack", help="CloudFormation stack name (default: dunning, or dunning-local with --endpoint-url)")
    p.add_argument("--region", help="AWS region (default: AWS_REGION or us-east-1)")
    p.add_argument("--json", action="store_true", help="machine-readable JSON output")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--endpoint-url", default=argparse.SUPPRESS, help="AWS endpoint (local stack)")
    common.add_argument("--stack", default=argparse.SUPPRESS, help="CloudFormation stack name")
    common.add_argument("--region", default=argparse.SUPPRESS, help="AWS region")
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="JSON output")

    def add(parent: Any, name: str, func: Any, help_: str) -> argparse.ArgumentParser:
        sp: argparse.ArgumentParser = parent.add_parser(name, help=help_, description=help_, parents=[common])
        sp.set_defaults(func=func)
        return sp

    local = sub.add_parser("local", help="the embedded local AWS stack").add_subparsers(dest="sub", required=True)
    up = add(local, "up", cmd_local_up, "start moto on 127.0.0.1 and deploy template.yaml into it")
    up.add_argument("--port", type=int, default=4566, help="port to listen on (default 4566)")
    up.add_argument("--ttl-clock-offset-days", type=float, default=None, metavar="DAYS",
                    help="emulate DynamoDB TTL every few seconds on a clock DAYS ahead (e.g. 91: today's contacts "
                         "expire and are archived); default: no TTL deletions, as moto has none")

    demo = add(sub, "demo", cmd_demo, "run the whole demo on an in-process local stack and write out/")
    demo.add_argument("--out", default="out", help="output folder (default out/)")
    demo.add_argument("--as-of", type=_iso_date, default=None, help="run date (default: the demo data's date)")
    demo.add_argument("--port", type=int, default=None, help="port for the local stack (default: a free port)")

    config = sub.add_parser("config", help="validate and publish configuration").add_subparsers(
        dest="sub", required=True)
    for name, func, text in (("validate", cmd_config_validate, "validate the configuration folder"),
                             ("publish", cmd_config_publish, "validate and publish the configuration to the stack")):
        sp = add(config, name, func, text)
        sp.add_argument("dir", nargs="?", default=str(DEFAULT_CONFIG_DIR), help="configuration folder")
    imp = add(config, "import-email-html", cmd_config_import_email,
              "import an HTML file (e.g. a saved Outlook email) as an email template body")
    imp.add_argument("file")
    imp.add_argument("--template", required=True, help="email template code")
    imp.add_argument("--language", required=True, help="language of this body, e.g. pt-BR")
    imp.add_argument("--dir", default=str(DEFAULT_CONFIG_DIR), help="configuration folder")

    events = sub.add_parser("events", help="upstream events").add_subparsers(dest="sub", required=True)
    send = add(events, "send", cmd_events_send, "send events (JSON object, JSON array or JSON lines) to the queue")
    send.add_argument("files", nargs="+", help="files to send, '-' for standard input")
    add(events, "rejected", cmd_events_rejected, "list rejected events with their reasons")
    rd = add(events, "redrive", cmd_events_redrive, "move messages from the dead-letter queue back to the queue")
    rd.add_argument("--max", type=int, default=None, help="move at most this many")
    sch = add(events, "schemas", cmd_events_schemas, "write the JSON Schemas of the event contract")
    sch.add_argument("--dir", default="events/schemas")
    sch.add_argument("--check", action="store_true", help="fail when the committed schemas are out of date")

    run = add(sub, "run", cmd_run, "start a collections run")
    run.add_argument("--as-of", type=_iso_date, default=None, help="as-of date (default today, UTC)")
    run.add_argument("--wait", action="store_true", help="wait for the run and show progress")

    sim = add(sub, "simulate", cmd_simulate, "dry run: what a run would do, and why - writes nothing")
    sim.add_argument("--as-of", type=_iso_date, default=None)
    sim.add_argument("--account", help="only this account")

    asg = sub.add_parser("assignment", help="strategy assignment").add_subparsers(dest="sub", required=True)
    pv = add(asg, "preview", cmd_assignment_preview,
             "which hierarchy an account gets, or which accounts a hierarchy gets")
    g = pv.add_mutually_exclusive_group(required=True)
    g.add_argument("--account")
    g.add_argument("--hierarchy")
    st = add(asg, "set", cmd_assignment_set, "assign an account to a hierarchy by hand (overrides pools)")
    st.add_argument("--account", required=True)
    st.add_argument("--hierarchy", required=True)
    st.add_argument("--note", default="")
    cl = add(asg, "clear", cmd_assignment_clear, "remove a manual assignment")
    cl.add_argument("--account", required=True)
    ls = add(asg, "list", cmd_assignment_list, "current assignments, manual ones marked")
    ls.add_argument("--manual-only", action="store_true")

    hist = add(sub, "history", cmd_history, "recent process history of a hierarchy")
    hist.add_argument("--hierarchy", required=True)
    hist.add_argument("--since", type=_iso_date, default=None)

    contacts = sub.add_parser("contacts", help="customer contacts").add_subparsers(dest="sub", required=True)
    cl2 = add(contacts, "list", cmd_contacts_list, "list contacts")
    cl2.add_argument("--account")
    ca = add(contacts, "archived", cmd_contacts_archived,
             "list an account's archived contacts (deleted from the table after ContactRetentionDays, kept in S3)")
    ca.add_argument("--account", required=True)
    ca.add_argument("--since", type=_iso_date, default=None, help="only contacts created on or after this date")
    cc = add(contacts, "create", cmd_contacts_create, "create a contact for a person (a user request)")
    cc.add_argument("--person", required=False)
    cc.add_argument("--type", required=True, help="CLASS/TYPE, e.g. CUSTSVC/AUTOPAY_FORM")
    cc.add_argument("--account")
    cc.add_argument("--premise")
    cc.add_argument("--note")
    cc.add_argument("--request-id", help="idempotency key (default: random)")

    letters = sub.add_parser("letters", help="letters").add_subparsers(dest="sub", required=True)
    lg = add(letters, "get", cmd_letters_get,
             "download a contact's letter PDF (after LetterRetentionDays: cut out of its print file)")
    lg.add_argument("contact_id")
    lg.add_argument("-o", "--output", required=True)
    lu = add(letters, "url", cmd_letters_url, "a time-limited link to view a letter online (after "
             "LetterRetentionDays: to a copy cut out of its print file, under letters/retrieved/)")
    lu.add_argument("contact_id")
    lu.add_argument("--expires", type=int, default=900, help="seconds (default 900)")
    for sp in (lg, lu):
        sp.add_argument("--account", help="the contact's account: needed for a contact past ContactRetentionDays, "
                                          "read from the archive")
        sp.add_argument("--restore", action="store_true",
                        help="when the print file is in Glacier Deep Archive, ask S3 to restore it for 7 days")
        sp.add_argument("--tier", choices=["Standard", "Bulk"], default="Standard",
                        help="restore tier: Standard (within 12 hours) or Bulk (within 48 hours, cheaper)")
    lr = add(letters, "reprint", cmd_letters_reprint, "render a letter again and queue it for printing")
    lr.add_argument("contact_id")
    le = add(letters, "extract", cmd_letters_extract, "build the print extract of letters waiting to be printed")
    le.add_argument("--as-of", type=_iso_date, default=None)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # let subcommands accept --json after the subcommand too
    try:
        return int(args.func(args) or 0)
    except TargetError as exc:
        return fail(str(exc))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
