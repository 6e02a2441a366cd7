"""A full collections run on the embedded local stack (the real template, the real handlers), measured.

One round: a fresh stack with ``infra/config`` published; the ledger loaded by invoking the ingest function
with SQS-shaped batches of 100 records (the mapping's ``BatchSize``: exactly what the SQS poller does, without
the queue, whose moto implementation takes seconds per receive at this size); the prior runs' collection
state written with ``DynamoLedgerRepository.put_states`` (the path ``create_contacts`` writes it with); then the
state machine is started and waited for, and the streams drained (letters, emails, print extract).
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from tests.benchmarks.datagen import Dataset
from tests.benchmarks.harness import AwsCallCounter, Call, Invocation
from tests.benchmarks.inproc import sqs_records

INGEST_BATCH = 100
ROOT_ASL = Path(__file__).resolve().parents[2] / "infra" / "statemachines" / "collections_run.asl.json"


@dataclass
class LocalRound:
    accounts: int
    acting_expected: int
    stack_start_s: float = 0.0
    load_s: float = 0.0
    run_s: float = 0.0  # StartExecution -> execution finished
    drained_s: float = 0.0  # StartExecution -> execution finished and every stream drained
    events: int = 0
    load_calls: list[Call] = field(default_factory=list)
    load_invocations: list[Invocation] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    invocations: list[Invocation] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    status: str = ""
    contacts: list[dict[str, Any]] = field(default_factory=list)
    letter_sizes: list[int] = field(default_factory=list)
    memory_mb: dict[str, int] = field(default_factory=dict)
    timeout_s: dict[str, int] = field(default_factory=dict)
    stream_mappings: list[dict[str, Any]] = field(default_factory=list)
    settings_env: dict[str, dict[str, str]] = field(default_factory=dict)
    queue: dict[str, Any] = field(default_factory=dict)
    rejected: int = 0
    poller_errors: list[str] = field(default_factory=list)
    contacts_stored_bytes: int = 0  # the run's contacts in the table and its indexes, after delivery
    contacts_archive_bytes: int = 0  # the same contacts as the archive function writes them when TTL expires them
    contacts_archived: int = 0  # how many (the run's contacts)
    archive_cpu_ms: float = 0.0  # CPU of turning them into archive lines and gzip objects
    history_stored_bytes: int = 0  # the run's history items
    call_events: list[Any] = field(default_factory=list)  # the independent botocore before-call count (harness)
    process_cpu_s: float = 0.0  # the whole process's CPU over the run (handlers + moto + pollers + harness)


def _template_extra(stack: Any, out: LocalRound) -> None:
    resources = stack.template.cloudformation["Resources"]
    for k, v in resources.items():
        if v["Type"] == "AWS::Lambda::Function":
            out.timeout_s[k] = int(v["Properties"].get("Timeout", 3))
        if v["Type"] == "AWS::Lambda::EventSourceMapping":
            p = v["Properties"]
            out.stream_mappings.append({"function": p["FunctionName"]["Ref"], "batch_size": p.get("BatchSize"),
                                        "parallelization": p.get("ParallelizationFactor", 1),
                                        "source": json.dumps(p.get("EventSourceArn"))})


def _template_facts(stack: Any) -> tuple[dict[str, int], dict[str, dict[str, str]]]:
    """MemorySize and environment per function, from the deployed (translated) template. (Index writes are
    metered per call: tests/benchmarks/ddbmeter.py.)"""
    resources = stack.template.cloudformation["Resources"]
    memory = {}
    env = {}
    for k, v in resources.items():
        if v["Type"] == "AWS::Lambda::Function":
            memory[k] = int(v["Properties"].get("MemorySize", 128))
            env[k] = {name: str(value) for name, value in
                      v["Properties"].get("Environment", {}).get("Variables", {}).items()
                      if isinstance(value, str | int | float)}
    return memory, env


def history(stack: Any, arn: str) -> list[dict[str, Any]]:
    sfn = stack.client("stepfunctions")
    events: list[dict[str, Any]] = []
    token = None
    while True:
        kw: dict[str, Any] = {"executionArn": arn, "maxResults": 1000}
        if token:
            kw["nextToken"] = token
        page = sfn.get_execution_history(**kw)
        events += page["events"]
        token = page.get("nextToken")
        if not token:
            return events


def load_ledger(stack: Any, data: Dataset) -> int:
    """Invoke the ingest function with SQS-shaped batches; returns the number of events."""
    lam = stack.client("lambda")
    fn = stack.resources["IngestFunction"]
    events = data.events()
    for i in range(0, len(events), INGEST_BATCH):
        body = {"Records": sqs_records(events[i:i + INGEST_BATCH], i)}
        resp = lam.invoke(FunctionName=fn, Payload=json.dumps(body, ensure_ascii=False).encode())
        out = json.loads(resp["Payload"].read() or b"null")
        assert not resp.get("FunctionError"), out
        assert not out.get("batchItemFailures"), out
    from dunning.store.ledger import DynamoLedgerRepository

    DynamoLedgerRepository(stack.outputs["LedgerTableName"]).put_states(data.states())
    return len(events)


def run_and_wait(stack: Any, as_of: date, timeout: float = 600) -> tuple[str, dict[str, Any], float, float]:
    sfn = stack.client("stepfunctions")
    started = time.perf_counter()
    arn = sfn.start_execution(stateMachineArn=stack.outputs["CollectionsRunStateMachineArn"],
                              name=f"bench-{as_of.isoformat()}-{uuid.uuid4().hex[:8]}",
                              input=json.dumps({"as_of": as_of.isoformat()}))["executionArn"]
    deadline = started + timeout
    while True:
        desc = sfn.describe_execution(executionArn=arn)
        if desc["status"] != "RUNNING":
            break
        if time.perf_counter() > deadline:
            raise TimeoutError("the run did not finish")
        time.sleep(0.05)
    run_s = time.perf_counter() - started
    stack.drain()
    return arn, dict(desc), run_s, time.perf_counter() - started


def local_round(data: Dataset, queue_data: Dataset | None = None) -> LocalRound:
    from tests.support.local import bucket_keys, contacts, send, start_stack

    out = LocalRound(accounts=len(data.accounts), acting_expected=len(data.acting_ids()))
    t = time.perf_counter()
    stack = start_stack()
    out.stack_start_s = time.perf_counter() - t
    counter = AwsCallCounter(stack).install()
    try:
        out.memory_mb, out.settings_env = _template_facts(stack)
        _template_extra(stack, out)
        with counter.window() as load:
            t = time.perf_counter()
            out.events = load_ledger(stack, data)
            stack.drain()
            out.load_s = time.perf_counter() - t
        out.load_calls, out.load_invocations = load["calls"], load["invocations"]
        out.rejected = len(bucket_keys(stack, "RunsBucketName", "rejected/"))
        with counter.window() as run:
            arn, desc, out.run_s, out.drained_s = run_and_wait(stack, data.as_of)
        out.calls, out.invocations = run["calls"], run["invocations"]
        out.call_events, out.process_cpu_s = run["events"], run["process_cpu_s"]
        out.status = desc["status"]
        out.summary = json.loads(desc.get("output") or "{}")
        out.history = history(stack, arn)
        out.contacts = contacts(stack)
        (out.contacts_stored_bytes, out.history_stored_bytes, out.contacts_archive_bytes, out.contacts_archived,
         out.archive_cpu_ms) = stored(stack, out.summary.get("run_id", ""))
        s3 = stack.client("s3")
        bucket = stack.outputs["LettersBucketName"]
        for key in bucket_keys(stack, "LettersBucketName", "letters/")[:50]:
            out.letter_sizes.append(int(s3.head_object(Bucket=bucket, Key=key)["ContentLength"]))
        out.poller_errors = list(stack.pollers.errors)
        if queue_data is not None:  # ingest through the real queue and the SQS poller, on a small set
            events = queue_data.events()
            with counter.window() as q:
                t = time.perf_counter()
                send(stack, events, drain=True)
                wall = time.perf_counter() - t
            out.queue = {"events": len(events), "wall_s": wall, "calls": q["calls"], "invocations": q["invocations"],
                         "rejected": len(bucket_keys(stack, "RunsBucketName", "rejected/")) - out.rejected}
    finally:
        counter.uninstall()
        stack.stop()
    return out


def stored(stack: Any, run_id: str) -> tuple[int, int, int, int, float]:
    """Bytes the run left in DynamoDB (items + index entries + DynamoDB's per-item overhead): its contacts
    after delivery and its history items (read by the harness, not counted as the handlers' calls); and the
    bytes the archive function will write for those contacts when their retention ends (its own encoding,
    in batches of 1,000 as the stream mapping delivers them)."""
    from dunning.app.archive import TTL_IDENTITY, archived_contact, encode_lines
    from tests.benchmarks.ddbmeter import describe, stored_bytes

    ddb = stack.client("dynamodb")

    def scan(table: str) -> list[dict[str, Any]]:
        return [i for page in ddb.get_paginator("scan").paginate(TableName=table) for i in page["Items"]]

    contacts_table = stack.outputs["ContactsTableName"]
    shape = describe(ddb.describe_table(TableName=contacts_table)["Table"])
    mine = [i for i in scan(contacts_table) if i.get("source_ref", {}).get("S") == run_id]
    runs_table = stack.outputs["RunsTableName"]
    hist = [i for i in scan(runs_table) if i["pk"]["S"].startswith("HIST#") and run_id in i["sk"]["S"]]
    cpu0 = time.process_time()
    lines = [archived_contact({"eventName": "REMOVE", "userIdentity": dict(TTL_IDENTITY),
                               "dynamodb": {"OldImage": i}}) for i in mine]
    archive = sum(len(encode_lines(lines[n:n + 1000])) for n in range(0, len(lines), 1000))
    cpu_ms = (time.process_time() - cpu0) * 1000
    return (stored_bytes(shape, mine),
            stored_bytes(describe(ddb.describe_table(TableName=runs_table)["Table"]), hist), archive, len(mine),
            cpu_ms)


def transitions(events: list[dict[str, Any]]) -> dict[str, Any]:
    """State transitions (states entered) in an execution history, split into the parent's own states and the
    Map iterations' states (which run in Express child executions on AWS)."""
    entered = [e for e in events if e["type"].endswith("StateEntered")]
    names = [e.get("stateEnteredEventDetails", {}).get("name", "") for e in entered]
    iterations = sum(1 for e in events if e["type"] == "MapIterationStarted")
    inner = Counter(n for n in names if n in ("Evaluate", "CreateContacts"))
    loop = Counter(n for n in names if n in ("PrintExtract", "LettersRendered", "WaitForLetters"))
    return {
        "events": len(events),
        "entered": len(entered),
        "map_iterations": iterations,
        "inner": sum(inner.values()),
        "parent": len(entered) - sum(inner.values()),
        "print_loop": sum(loop.values()),
        "print_attempts": loop.get("PrintExtract", 0),
        "by_state": dict(Counter(names)),
        "by_type": dict(Counter(e["type"] for e in events)),
    }
