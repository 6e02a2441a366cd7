"""The run's own functions (``start_run``, ``evaluate_batch``, ``create_contacts_batch``) and the ingest handler,
in-process over :mod:`tests.benchmarks.fakeaws`: CPU time per account / per batch / per event with the
I/O taken out, and the AWS calls each step makes (which must match the local stack's counts).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import sys
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from dunning.app.assign import AssignDeps, start_run
from dunning.app.create_contacts import CreateContactsDeps, create_contacts_batch
from dunning.app.deps import assign_deps, create_contacts_deps, evaluate_deps
from dunning.app.evaluate import EvaluateDeps, evaluate_batch
from dunning.app.ingest import facts_for_event
from dunning.app.run_models import BatchInput, StartRunInput
from dunning.models.events import parse_event
from dunning.settings import AssignSettings, CreateContactsSettings, EvaluateSettings, StackSettings
from dunning.store import dynamo
from dunning.store.blobs import CONFIG_KEY
from dunning.store.runs import unpack_decisions
from tests.benchmarks.datagen import Dataset, load_config
from tests.benchmarks.fakeaws import FakeAws

ROOT = Path(__file__).resolve().parents[2]
ENV = {"LEDGER_TABLE": "ledger", "CONTACTS_TABLE": "contacts", "RUNS_TABLE": "runs", "IDEMPOTENCY_TABLE": "idem",
       "LETTERS_BUCKET": "letters", "RUNS_BUCKET": "runs-bucket", "SENDER_IDENTITY": "collections@example.com",
       "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_SERVICE_NAME": "dunning",
       "POWERTOOLS_METRICS_NAMESPACE": "Dunning", "POWERTOOLS_LOG_LEVEL": "INFO", "AWS_DEFAULT_REGION": "us-east-1",
       "AWS_ACCESS_KEY_ID": "fake", "AWS_SECRET_ACCESS_KEY": "fake"}


def settings() -> StackSettings:
    return StackSettings.from_env(ENV)


@dataclass
class RunDeps:
    assign: AssignDeps
    evaluate: EvaluateDeps
    create_contacts: CreateContactsDeps


def deps(s: StackSettings) -> RunDeps:
    """What each step's function builds through the composition root (each reads the configuration once)."""
    return RunDeps(assign=assign_deps(AssignSettings.from_env(ENV)),
                   evaluate=evaluate_deps(EvaluateSettings.from_env(ENV)),
                   create_contacts=create_contacts_deps(CreateContactsSettings.from_env(ENV)))


def ledger_items(data: Dataset) -> list[dict[str, Any]]:
    """The ledger items ingest writes for the data set (newest version per key) plus the prior runs' state."""
    newest: dict[tuple[str, str], Any] = {}
    for env in data.events():
        for f in facts_for_event(parse_event(json.dumps(env))):
            cur = newest.get(f.key)
            if cur is None or f.version > cur.version:
                newest[f.key] = f
    items = [dynamo.to_av(f.item()) for f in newest.values()]
    now = datetime.now(UTC).isoformat()
    items += [dynamo.to_av({"pk": f"ACCT#{a}", "sk": "STATE", "v": now, "data": s.model_dump_json()})
              for a, s in data.states().items()]
    return items


@dataclass
class StepTimes:
    accounts: int = 0
    batches: int = 0
    acting: int = 0
    assign_cpu: float = 0.0
    evaluate_cpu: list[float] = field(default_factory=list)  # per batch
    create_cpu: list[float] = field(default_factory=list)  # per batch
    batch_sizes: list[int] = field(default_factory=list)
    acting_per_batch: list[int] = field(default_factory=list)
    calls: dict[str, Counter[str]] = field(default_factory=dict)
    manifest_bytes: int = 0
    decisions_bytes: int = 0
    history_item_bytes_max: int = 0
    history_entry_bytes: float = 0.0
    history_raw_entry_bytes: float = 0.0  # the same decisions as plain JSON (before compression)
    snapshot_stored_bytes: float = 0.0  # a contact's creation snapshot as stored (compressed), mean
    snapshot_raw_bytes: float = 0.0  # ... and as plain JSON
    manifest_zlib_ratio: float = 0.0  # a manifest's size compressed (zlib level 6) ÷ as written
    evaluate_peak_bytes: int = 0  # peak traced memory of one evaluate_batch (the first batch, after the timing)
    breakdown_us: dict[str, float] = field(default_factory=dict)  # evaluate_batch's phases, µs per account
    run_output_bytes: int = 0


def run_steps(data: Dataset, batch_size: int = 1000, items: list[dict[str, Any]] | None = None) -> StepTimes:
    """One run over ``data`` with fake I/O; CPU seconds of each step (process time, one core)."""
    fake = FakeAws()
    s = settings()
    out = StepTimes()
    with fake.installed():
        fake.s3.put_object(Bucket=s.runs_bucket, Key=CONFIG_KEY,
                           Body=load_config().model_dump_json(by_alias=True).encode())
        fake.dynamodb.load(s.ledger_table, items if items is not None else ledger_items(data))
        fake.calls.clear()
        d = deps(s)
        fake.calls.clear()
        t = time.process_time()
        assigned = start_run(StartRunInput(as_of=data.as_of), d.assign, batch_size)
        out.assign_cpu = time.process_time() - t
        run = assigned.model_dump(mode="json")
        out.run_output_bytes = len(json.dumps(run))
        out.calls["assign"] = Counter(fake.calls)
        out.accounts = run["accounts"]
        out.batches = run["batch_count"]
        out.calls["evaluate"], out.calls["create_contacts"] = Counter(), Counter()
        for b in run["batches"]:
            payload = BatchInput(run_id=run["run_id"], as_of=run["as_of"], manifest_prefix=run["manifest_prefix"],
                                 batch=b)
            fake.calls.clear()
            t = time.process_time()
            evaluated = evaluate_batch(payload, d.evaluate, EvaluateSettings.from_env(ENV).history_retention_days)
            out.evaluate_cpu.append(time.process_time() - t)
            result = evaluated.model_dump(mode="json")
            out.calls["evaluate"].update(fake.calls)
            out.batch_sizes.append(result["evaluated"])
            fake.calls.clear()
            t = time.process_time()
            batch_result = create_contacts_batch(BatchInput.model_validate(result), d.create_contacts)
            out.create_cpu.append(time.process_time() - t)
            created = batch_result.model_dump(mode="json")
            out.calls["create_contacts"].update(fake.calls)
            out.acting_per_batch.append(created["acting_accounts"])
            out.acting += created["acting_accounts"]
        out.breakdown_us = evaluate_breakdown(next(v for (_, k), v in objects_of(fake) if "/batch-" in k),
                                              d.evaluate.config, data.as_of)
        import tracemalloc

        first = BatchInput(run_id=run["run_id"], as_of=run["as_of"], manifest_prefix=run["manifest_prefix"],
                           batch=run["batches"][0])
        tracemalloc.start()
        evaluate_batch(first, d.evaluate, EvaluateSettings.from_env(ENV).history_retention_days)
        out.evaluate_peak_bytes = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        objects = fake.s3.objects
        out.manifest_bytes = max(len(v) for (_, k), v in objects.items() if "/batch-" in k)
        biggest = max((v for (_, k), v in objects.items() if "/batch-" in k), key=len)
        out.manifest_zlib_ratio = len(zlib.compress(biggest, 6)) / max(1, len(biggest))
        out.decisions_bytes = max((len(v) for (_, k), v in objects.items() if "/decisions-" in k), default=0)
        hist = [i for i in fake.dynamodb.table(s.runs_table).values() if i["pk"]["S"].startswith("HIST#")]
        if hist:
            stored = [bytes(i["decisions_z"]["B"]) for i in hist]
            out.history_item_bytes_max = max(len(b) for b in stored)
            unpacked = [unpack_decisions({"decisions_z": b}) for b in stored]
            entries = sum(len(u) for u in unpacked)
            out.history_entry_bytes = sum(len(b) for b in stored) / max(1, entries)
            out.history_raw_entry_bytes = sum(len(json.dumps(u, default=str, separators=(",", ":")).encode())
                                              for u in unpacked) / max(1, entries)
        snaps = [bytes(i["snapshot"]["B"]) for i in fake.dynamodb.table(s.contacts_table).values()
                 if "B" in i.get("snapshot", {})]
        if snaps:
            out.snapshot_stored_bytes = sum(len(b) for b in snaps) / len(snaps)
            out.snapshot_raw_bytes = sum(len(zlib.decompress(b)) for b in snaps) / len(snaps)
    return out


def objects_of(fake: FakeAws) -> list[tuple[tuple[str, str], bytes]]:
    return sorted(fake.s3.objects.items())


def evaluate_breakdown(manifest: bytes, config: Any, as_of: Any) -> dict[str, float]:
    """Where ``evaluate_batch``'s CPU goes, per account of one manifest batch: the same steps it runs, timed one
    by one (process time): JSON, the account views (pydantic validation of each stored item + the view fold),
    assignment, evaluation, history entries, the decisions' JSON."""
    from dunning.app.evaluate import history_entry
    from dunning.store.ledger import items_to_view
    from dunning.strategy.assignment import assign
    from dunning.strategy.evaluation import evaluate_account

    out: dict[str, float] = {}

    def timed(name: str, fn: Any) -> Any:
        t = time.process_time()
        result = fn()
        out[name] = time.process_time() - t
        return result

    rows = timed("manifest JSON", lambda: json.loads(manifest))
    views = timed("account views (validation + fold)", lambda: [items_to_view(r["account_id"], r["items"])
                                                                for r in rows])
    views = [v for v in views if v.open_balance > 0]
    assigned = timed("assignment", lambda: [assign(v, config) for v in views])
    decided = timed("evaluate_account", lambda: [evaluate_account(v, config, as_of, a)
                                                 for v, a in zip(views, assigned, strict=True)])
    timed("history entries", lambda: [history_entry(d) for d in decided])
    timed("decisions JSON", lambda: json.dumps([{"view": v.model_dump(mode="json"), "decision":
                                                 d.model_dump(mode="json")} for v, d in
                                                zip(views, decided, strict=True) if d.actions]))
    n = max(1, len(rows))
    return {k: v * 1e6 / n for k, v in out.items()}


# ---------------------------------------------------------------------------------------------- ingest


@dataclass
class LambdaContext:
    function_name: str = "ingest"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:ingest"
    aws_request_id: str = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def load_handler(function: str) -> ModuleType:
    """Import ``functions/<function>/app.py`` the way the runtime does (own module name)."""
    path = ROOT / "functions" / function / "app.py"
    name = f"bench_fn_{function}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def sqs_records(events: list[dict[str, Any]], start: int = 0) -> list[dict[str, Any]]:
    return [{"messageId": f"m-{start + i}", "receiptHandle": "r", "body": json.dumps(e, ensure_ascii=False),
             "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {}, "md5OfBody": "",
             "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:events",
             "awsRegion": "us-east-1"} for i, e in enumerate(events)]


@contextlib.contextmanager
def function_env() -> Any:
    import os

    saved = {k: os.environ.get(k) for k in ENV}
    os.environ.update(ENV)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def captured_logs() -> Any:
    """Send what the functions print (Powertools' JSON logs and EMF metrics) to a buffer; yields it."""
    from dunning.observability import logger

    buffer = io.StringIO()
    handler = logger.registered_handler
    old = handler.setStream(buffer)  # type: ignore[attr-defined]
    try:
        with contextlib.redirect_stdout(buffer):
            yield buffer
    finally:
        handler.setStream(old)  # type: ignore[attr-defined]


def ingest_round(events: list[dict[str, Any]], batch: int = 100) -> tuple[float, Counter[str], int, int]:
    """The real ingest handler over ``events`` in SQS batches of ``batch``, on an empty fake ledger.
    Returns (CPU seconds, calls, failed messages, log bytes)."""
    fake = FakeAws()
    failed = 0
    with function_env(), fake.installed(), captured_logs() as logs:
        handler = load_handler("ingest").handler
        fake.s3.put_object(Bucket=ENV["RUNS_BUCKET"], Key=CONFIG_KEY,
                           Body=load_config().model_dump_json(by_alias=True).encode())
        fake.calls.clear()
        bodies = [{"Records": sqs_records(events[i:i + batch], i)} for i in range(0, len(events), batch)]
        t = time.process_time()
        for body in bodies:
            failed += len(handler(body, LambdaContext())["batchItemFailures"])
        cpu = time.process_time() - t
    return cpu, Counter(fake.calls), failed, len(logs.getvalue().encode())
