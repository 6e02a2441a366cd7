"""What the scenario tests share (the reliability tier, and the template tier's IAM audit): a hooked local
stack, snapshots of its outputs, captured function logs, and scenario results computed once per test session.

A *scenario* drives a fresh local stack (deployed from ``template.yaml``) only through its edges - the
events queue, the state machine, the event-source pollers - and returns plain data read from its outputs
(ledger, contacts, letters, emails, rejected events, queues). Several tests assert on one scenario; with
``pytest -n 2`` it still runs once per session: the first worker that needs it computes it under a file
lock and the others read the stored result.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import fcntl
import hashlib
import io
import json
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from dunning.config_loader import load_config_dir
from dunning.models.config import Config
from dunning_ops.local.stack import LocalStack
from tests.support.hooks import Call, Hooks, Listener
from tests.support.local import ROOT, demo_events, publish

RUN_ID = re.compile(r"run-\d{4}-\d{2}-\d{2}-[0-9a-f]{8}")


# ---------------------------------------------------------------------------------------------- the stack
@dataclass
class Harness:
    """A started local stack with the botocore hooks installed and its function logs captured."""

    stack: LocalStack
    hooks: Hooks
    logs: LogCapture
    recorder: CallRecorder
    sink: io.StringIO

    @classmethod
    @contextlib.contextmanager
    def started(cls, config: Config | None = None, parameters: dict[str, str] | None = None) -> Iterator[Harness]:
        hooks = Hooks().install()
        logs = LogCapture()
        recorder = CallRecorder()
        sink = io.StringIO()  # what the functions print (their log lines and metrics), as CloudWatch gets it
        stack = LocalStack.start(parameters=parameters, log_sink=sink, capture_stdout=True)
        try:
            _import_observability_as_the_functions_do(stack)
            hooks.attach(stack)
            publish(stack, config or load_config_dir(ROOT / "infra" / "config"))
            with logs.capturing(), hooks.listening(recorder):
                yield cls(stack, hooks, logs, recorder, sink)
        finally:
            stack.stop()
            hooks.uninstall()

    # ------------------------------------------------------------------ edges in
    def send(self, bodies: Iterable[str], drain: bool = True) -> int:
        sqs = self.stack.client("sqs")
        items = list(bodies)
        for i in range(0, len(items), 10):
            resp = sqs.send_message_batch(QueueUrl=self.stack.outputs["EventsQueueUrl"],
                                          Entries=[{"Id": str(j), "MessageBody": b}
                                                   for j, b in enumerate(items[i:i + 10])])
            assert not resp.get("Failed"), resp.get("Failed")
        if drain:
            self.drain()
        return len(items)

    def drain(self, timeout: float = 300.0) -> None:
        self.stack.drain(timeout)

    def start_run(self, as_of: date) -> str:
        sfn = self.stack.client("stepfunctions")
        return str(sfn.start_execution(stateMachineArn=self.stack.outputs["CollectionsRunStateMachineArn"],
                                       name=f"rel-{as_of.isoformat()}-{uuid.uuid4().hex[:8]}",
                                       input=json.dumps({"as_of": as_of.isoformat()}))["executionArn"])

    def wait(self, arns: list[str], timeout: float = 600.0) -> list[dict[str, Any]]:
        """Wait for the executions, draining the streams meanwhile (the run's print step waits for letters)."""
        sfn = self.stack.client("stepfunctions")
        deadline = time.monotonic() + timeout
        out: dict[str, dict[str, Any]] = {}
        while len(out) < len(arns):
            for arn in arns:
                if arn not in out:
                    desc = sfn.describe_execution(executionArn=arn)
                    if desc["status"] != "RUNNING":
                        out[arn] = dict(desc)
            assert time.monotonic() < deadline, "run did not finish"
            if len(out) < len(arns):
                time.sleep(0.3)
        self.drain()
        return [out[a] for a in arns]

    def run(self, as_of: date) -> dict[str, Any]:
        return self.wait([self.start_run(as_of)])[0]

    # ------------------------------------------------------------------ edges out
    def queue_depth(self, output: str) -> int:
        attrs = self.stack.client("sqs").get_queue_attributes(
            QueueUrl=self.stack.outputs[output],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])

    def ingest_failures(self) -> list[str]:
        """Messages the ingest function reported as failed (to be retried) or whole batches it failed."""
        out: list[str] = []
        for inv in self.hooks.invocations:
            if inv["function"] != "IngestFunction":
                continue
            if inv["errored"]:
                out.append(f"function error: {inv['payload'][:200]}")
                continue
            payload = json.loads(inv["payload"] or "{}")
            out.extend(f["itemIdentifier"] for f in payload.get("batchItemFailures", []))
        return out

    def snapshot(self) -> dict[str, Any]:
        return snapshot(self.stack)


def demo_config() -> Config:
    return load_config_dir(ROOT / "infra" / "config")


# ---------------------------------------------------------------------------------------------- snapshots
def _norm(value: Any) -> Any:
    if isinstance(value, str):
        return RUN_ID.sub("RUN", value)
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_norm(v) for v in value]
    return value


def contact_view(c: dict[str, Any]) -> dict[str, Any]:
    """A contact without what differs between two equal runs (times, run ids, SES message ids, and where in its
    print file a letter landed: letters are merged oldest first, so the pages follow the creation times)."""
    out = {k: v for k, v in c.items() if k not in ("created_at", "printed_at", "ses_message_id", "history", "ttl",
                                                   "print_first_page")}
    out["history"] = [h["status"] for h in c.get("history", [])]
    out["has_ses_message_id"] = bool(c.get("ses_message_id"))
    return _norm(out)


def email_view(raw: str) -> dict[str, Any]:
    msg = email.message_from_string(raw, policy=email.policy.default)
    bodies = {}
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            bodies[part.get_content_type()] = part.get_content()
    return {"to": str(msg["To"]), "from": str(msg["From"]), "subject": str(msg["Subject"]),
            "message_id": str(msg["Message-ID"]), "bodies": bodies}


def _pdf_pages(data: bytes) -> list[str]:
    import io

    from pypdf import PdfReader

    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages]


def _pdf_text(data: bytes) -> str:
    return "\n".join(_pdf_pages(data))


def _manifest_rows(data: bytes) -> list[str]:
    """A print manifest's rows without their position columns (sequence, first_page)."""
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8", "replace"))))
    return [json.dumps({k: v for k, v in r.items() if k not in ("sequence", "first_page")}, sort_keys=True,
                       ensure_ascii=False) for r in rows]


def snapshot(stack: LocalStack) -> dict[str, Any]:
    """Everything the system produced, read from its outputs, normalised for comparison."""
    from dunning.store import dynamo
    from dunning.store.blobs import S3Blobs
    from dunning.store.contacts import DynamoContactsRepository
    from dunning_ops.local.demo import sent_emails

    ledger = sorted(
        ([i["pk"], i["sk"], "" if i["sk"] == "STATE" else i.get("v", ""), i.get("data", "")]
         for i in dynamo.scan(stack.outputs["LedgerTableName"])
         if i["pk"] != "HELD"), key=lambda r: (r[0], r[1]))  # held-ness depends on arrival order, not facts
    contacts = sorted((contact_view(c.model_dump(mode="json"))
                       for c in DynamoContactsRepository(stack.outputs["ContactsTableName"]).all()),
                      key=lambda c: c["contact_id"])
    letters_blobs = S3Blobs(stack.outputs["LettersBucketName"])
    letters = {}
    for key in sorted(letters_blobs.keys("")):
        body = letters_blobs.get_bytes(key)
        if key.startswith("print/"):  # a print batch is ordered by creation time: compare what is in it
            text = "\n".join(sorted(_pdf_pages(body) if key.endswith(".pdf") else _manifest_rows(body)))
        else:
            text = _pdf_text(body) if key.endswith(".pdf") else body.decode("utf-8", "replace")
        letters[_norm(key)] = hashlib.sha256(_norm(text).encode()).hexdigest()
    versions = stack.client("s3").list_object_versions(Bucket=stack.outputs["LettersBucketName"])
    letter_versions = len(versions.get("Versions", []))
    emails = sorted((email_view(m.raw_data) for m in sent_emails()), key=lambda e: (e["message_id"], e["to"]))
    rejected = S3Blobs(stack.outputs["RunsBucketName"]).rejected()
    return {"ledger": ledger, "contacts": contacts, "letters": letters, "letter_object_versions": letter_versions,
            "emails": emails,
            "rejected": sorted(({"reason": r["reason"], "body": r["body"]} for r in rejected),
                               key=lambda r: (r["body"], r["reason"]))}


def differences(a: dict[str, Any], b: dict[str, Any], parts: Iterable[str] = ("ledger", "contacts", "letters",
                                                                                 "emails")) -> dict[str, Any]:
    """What differs between two snapshots, part by part (empty when identical)."""
    out: dict[str, Any] = {}
    for part in parts:
        x, y = a[part], b[part]
        if x == y:
            continue
        if isinstance(x, dict):
            keys = sorted(set(x) ^ set(y)) + sorted(k for k in set(x) & set(y) if x[k] != y[k])
            out[part] = keys[:10]
        else:
            sx = {json.dumps(i, sort_keys=True, ensure_ascii=False) for i in x}
            sy = {json.dumps(i, sort_keys=True, ensure_ascii=False) for i in y}
            out[part] = {"only_first": sorted(sx - sy)[:5], "only_second": sorted(sy - sx)[:5],
                         "counts": [len(x), len(y)]}
    return out


# ---------------------------------------------------------------------------------------------- logs
def _import_observability_as_the_functions_do(stack: LocalStack) -> None:
    """Powertools reads its settings (service, metrics namespace, log level) when ``dunning.observability`` is
    first imported. The harness attaches to its logger, so it imports the module first - with the
    environment the template gives every function, as the first handler would."""
    import importlib
    import sys

    variables = stack.template.sam["Globals"]["Function"]["Environment"]["Variables"]
    env = {k: v for k, v in variables.items() if k.startswith("POWERTOOLS_") and isinstance(v, str)}
    env.setdefault("POWERTOOLS_LOG_LEVEL", "INFO")
    if "dunning.observability" in sys.modules:
        # imported earlier by a test module, outside any function's environment: give it what the template
        # gives every function (without a namespace Powertools fails every handler that records a metric)
        from dunning.observability import metrics

        if metrics.namespace is None:
            metrics.namespace = env.get("POWERTOOLS_METRICS_NAMESPACE")
        if metrics.service is None:
            metrics.service = env.get("POWERTOOLS_SERVICE_NAME")
        return
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        importlib.import_module("dunning.observability")
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class _Collect(logging.Handler):
    def __init__(self, capture: LogCapture) -> None:
        super().__init__(level=logging.INFO)
        self.capture = capture

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception as exc:  # a line that cannot be formatted is still a line that was logged
            line = f"{record.getMessage()} (unformattable: {exc})"
        with self.capture.lock:
            self.capture.lines.append(line)


@dataclass
class LogCapture:
    """Every log line the functions write at INFO and above, formatted as Powertools writes it to CloudWatch."""

    lines: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @contextlib.contextmanager
    def capturing(self) -> Iterator[None]:
        from dunning.observability import logger

        handler = _Collect(self)
        handler.setFormatter(logger.registered_formatter)
        plogger = logger._logger
        saved_level = plogger.level
        plogger.setLevel(logging.INFO)  # the template's LogLevel default
        plogger.addHandler(handler)
        root = logging.getLogger()
        root_handler = _Collect(self)
        root_handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        root.addHandler(root_handler)
        try:
            yield
        finally:
            plogger.removeHandler(handler)
            plogger.setLevel(saved_level)
            root.removeHandler(root_handler)


# ---------------------------------------------------------------------------------------------- calls
@dataclass
class CallRecorder(Listener):
    """The AWS calls each function made: (function, service, operation, parameters)."""

    calls: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on_call(self, call: Call) -> None:
        with self.lock:
            self.calls.append({"function": call.function, "service": call.service, "operation": call.operation,
                               "params": _params_for_iam(call.params)})

    def count(self, function: str, service: str | None = None) -> int:
        return sum(1 for c in self.calls if c["function"] == function and (service is None or c["service"] == service))


def _params_for_iam(params: dict[str, Any]) -> dict[str, Any]:
    """The parameters that name resources (tables, indexes, buckets, keys, identities, queues, functions)."""
    out: dict[str, Any] = {}
    for k in ("TableName", "IndexName", "Bucket", "Key", "Prefix", "FromEmailAddress", "QueueUrl", "FunctionName",
              "stateMachineArn", "SecretId"):
        if k in params:
            out[k] = params[k]
    if "RequestItems" in params:
        out["RequestItems"] = sorted(params["RequestItems"])
    if "TransactItems" in params:  # TransactWriteItems: the tables its items name
        out["TransactItems"] = sorted({op["TableName"] for item in params["TransactItems"] for op in item.values()})
    if "taskToken" in params:  # SendTask*: which machine it names is not in the call (the token is not kept)
        out["taskToken"] = "<token>"
    return out


# ---------------------------------------------------------------------------------------------- scenarios
def _session_dir(tmp_path_factory: Any) -> Path:
    base = Path(tmp_path_factory.getbasetemp())
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent / f"shared-{os.environ.get('PYTEST_XDIST_TESTRUNUID', 'run')}"
    base.mkdir(parents=True, exist_ok=True)
    return base


def shared_scenario(tmp_path_factory: Any, name: str, build: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """``build()`` once per test session, whichever xdist worker asks first; the others read the result."""
    folder = _session_dir(tmp_path_factory)
    result = folder / f"{name}.json"
    with (folder / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if result.exists():
                data: dict[str, Any] = json.loads(result.read_text(encoding="utf-8"))
                return data
            started = time.perf_counter()
            data = build()
            data["seconds"] = round(time.perf_counter() - started, 1)
            result.write_text(json.dumps(data, ensure_ascii=False, default=str), encoding="utf-8")
            return data
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


__all__ = ["Harness", "demo_config", "demo_events", "differences", "shared_scenario", "snapshot"]
