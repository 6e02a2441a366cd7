"""``make demo``: the whole collections path on the embedded local stack, results written to ``out/``.

1. start the local stack in-process (moto + template.yaml, handlers run in-process)
2. publish ``infra/config`` 3. send ``events/demo/events.jsonl`` through the events queue
4. run the collections run for a fixed as-of date through the state machine
5. write letters (PDF), emails (.eml), the print extract, contacts and the run summary to ``out/``.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from dunning.app.deps import StackRepositories, stack_repositories
from dunning.app.print_extract import extract_files
from dunning.config_loader import load_config_dir
from dunning.models.contacts import Contact
from dunning.settings import StackSettings
from dunning_ops.local.console_demo import write_run_report
from dunning_ops.local.demo_data import DEMO_AS_OF
from dunning_ops.local.stack import ACCOUNT, REGION, LocalStack, project_root
from dunning_ops.run_wait import wait_for_run
from dunning_ops.target import Target


def _say(msg: str) -> None:
    print(msg, flush=True)


def sent_emails() -> list[Any]:
    """Emails the local SES accepted (the local stand-in for an inbox)."""
    from moto.ses.models import RawMessage, ses_backends

    return [m for m in ses_backends[ACCOUNT][REGION].sent_messages if isinstance(m, RawMessage)]


@dataclass
class _Results:
    """What the demo wrote, for the closing lines."""

    contacts: list[Contact]
    letters: int
    emails: int
    print_files: list[str]
    report: Path


def _publish_config(repositories: StackRepositories, root: Path) -> None:
    _say("[2/5] publishing infra/config")
    config = load_config_dir(root / "infra" / "config")
    repositories.blobs.publish_config(config)
    _say(f"      {len(config.hierarchies)} strategies, {len(config.contact_types)} contact types, "
         f"{len(config.letter_templates)} letter templates, {len(config.email_templates)} email templates")


def _send_events(stack: LocalStack, repositories: StackRepositories, root: Path) -> list[dict[str, Any]]:
    _say("[3/5] sending the demo events through the events queue")
    lines = (root / "events" / "demo" / "events.jsonl").read_text(encoding="utf-8").splitlines()
    sqs = stack.client("sqs")
    url = stack.outputs["EventsQueueUrl"]
    for i in range(0, len(lines), 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(j), "MessageBody": b}
                                                      for j, b in enumerate(lines[i : i + 10])])
    stack.drain()
    rejected = repositories.blobs.rejected()
    _say(f"      {len(lines)} events sent, {len(rejected)} rejected; event-driven contacts created")
    return rejected


def _collections_run(stack: LocalStack, target: Target, as_of: date) -> dict[str, Any]:
    _say(f"[4/5] collections run for {as_of.isoformat()} (Step Functions on the local stack)")
    sfn = stack.client("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=stack.outputs["CollectionsRunStateMachineArn"],
                              name=f"demo-{as_of.isoformat()}", input=json.dumps({"as_of": as_of.isoformat()}))
    summary = wait_for_run(target, arn["executionArn"])
    stack.drain()
    return summary


def _write_results(out: Path, repositories: StackRepositories, settings: StackSettings, summary: dict[str, Any],
                   rejected: list[dict[str, Any]]) -> _Results:
    _say(f"[5/5] writing results to {out}/")
    letters = repositories.letters
    contacts = sorted(repositories.contacts.all(), key=lambda c: (c.account_id or "", c.contact_id))
    (out / "letters").mkdir()
    (out / "emails").mkdir()
    written = 0
    for contact in contacts:
        if contact.s3_key:
            name = f"{contact.account_id or 'none'}_{contact.language}_{contact.contact_id}.pdf"
            (out / "letters" / name).write_bytes(letters.get_bytes(contact.s3_key))
            written += 1
    emails = sent_emails()
    by_message = {c.ses_message_id: c for c in contacts if c.ses_message_id}
    for message in emails:
        sent = by_message.get(message.id)
        name = f"{sent.account_id}_{sent.language}_{sent.contact_id}" if sent else message.id
        (out / "emails" / f"{name}.eml").write_text(message.raw_data, encoding="utf-8")
    files = extract_files(summary.get("print") or {})
    if files:
        (out / "print").mkdir()
        for key in files:
            (out / "print" / Path(key).name).write_bytes(letters.get_bytes(key))
    (out / "contacts.json").write_text(json.dumps([c.model_dump(mode="json") for c in contacts], indent=2,
                                                  ensure_ascii=False), encoding="utf-8")
    (out / "run-summary.json").write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    report = write_run_report(settings, str(summary["run_id"]), out)  # the console's run report, as a file
    (out / "rejected-events.json").write_text(json.dumps(rejected, indent=2, ensure_ascii=False), encoding="utf-8")
    return _Results(contacts, written, len(emails), files, report)


def _dead_letters(stack: LocalStack) -> int:
    attributes = stack.client("sqs").get_queue_attributes(QueueUrl=stack.outputs["EventsDeadLetterQueueUrl"],
                                                          AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def _closing_lines(out: Path, summary: dict[str, Any], results: _Results, dlq: int, stack: LocalStack) -> None:
    by_status: dict[str, int] = {}
    for contact in results.contacts:
        key = f"{contact.action}:{contact.status}"
        by_status[key] = by_status.get(key, 0) + 1
    _say("")
    _say(f"run {summary.get('run_id')} {summary.get('status')}: {summary.get('with_open_balance', 0)} accounts "
         f"with an open balance, {summary.get('acting_accounts', 0)} acted on")
    _say(f"contacts: {len(results.contacts)} in total  "
         + ", ".join(f"{k} {v}" for k, v in sorted(by_status.items())))
    _say(f"letters:  {results.letters} PDF  -> {out}/letters/")
    _say(f"emails:   {results.emails} .eml -> {out}/emails/")
    if results.print_files:
        extract = summary.get("print") or {}
        _say(f"print:    {extract.get('letters', 0)} letters in {len(results.print_files)} files -> {out}/print/")
    _say(f"summary:  {out}/run-summary.json, {out}/contacts.json; function logs in {out}/logs/")
    _say(f"report:   {results.report} (the run report with its charts)")
    if dlq:
        _say(f"dead-letter queue: {dlq} event(s) failed repeatedly - see {out}/logs/functions.log")
    for contact in results.contacts:
        if contact.status == "failed":
            _say(f"  failed {contact.contact_id}: {contact.reason}")
    if stack.pollers.errors:
        _say(f"poller notes: {stack.pollers.errors[:5]}")


def run_demo(out: Path, as_of: date | None = None, port: int | None = None) -> int:
    """Start the stack, publish the configuration, send the demo events, run, write ``out/``. Exit code 0 when
    the run succeeded with no failed contact and nothing in the dead-letter queue."""
    as_of = as_of or DEMO_AS_OF
    root = project_root()
    started = time.perf_counter()
    if out.exists():
        shutil.rmtree(out)
    (out / "logs").mkdir(parents=True)
    log = (out / "logs" / "functions.log").open("w", encoding="utf-8")

    _say("[1/5] starting the local stack (moto + template.yaml)")
    stack = LocalStack.start(port=port, log_sink=log, capture_stdout=True, progress=sys.__stdout__)
    try:
        target = Target.from_args(stack.endpoint, None, REGION)
        repositories = stack_repositories(target.settings)
        _publish_config(repositories, root)
        rejected = _send_events(stack, repositories, root)
        summary = _collections_run(stack, target, as_of)
        results = _write_results(out, repositories, target.settings, summary, rejected)
        dlq = _dead_letters(stack)
        _closing_lines(out, summary, results, dlq, stack)
        _say(f"done in {time.perf_counter() - started:.1f}s")
        failed = any(c.status == "failed" for c in results.contacts)
        return 0 if summary.get("status") == "SUCCEEDED" and not failed and not dlq else 1
    finally:
        stack.stop()
        log.close()
