"""Test helpers that drive the embedded stack only through its edges (queue, state machine, S3, SES, tables)."""

from __future__ import annotations

import io
import json
import time
import uuid
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

from dunning.config_loader import load_config_dir
from dunning.models.config import Config
from dunning_ops.local.stack import LocalStack

ROOT = Path(__file__).resolve().parents[2]
DEMO_EVENTS = ROOT / "events" / "demo" / "events.jsonl"


def start_stack(config: Config | None = None) -> LocalStack:
    # what the functions print (logs, EMF metrics) goes to a sink, so CLI output read by tests stays clean
    stack = LocalStack.start(log_sink=io.StringIO(), capture_stdout=True)
    publish(stack, config or load_config_dir(ROOT / "infra" / "config"))
    return stack


def publish(stack: LocalStack, config: Config) -> None:
    stack.client("s3").put_object(Bucket=stack.outputs["RunsBucketName"], Key="config/current.json",
                                  Body=config.model_dump_json(by_alias=True).encode())
    from dunning.store import blobs

    blobs._config_cache.clear()


def send(stack: LocalStack, bodies: Iterable[str | dict[str, Any]], drain: bool = True) -> None:
    sqs = stack.client("sqs")
    items = [b if isinstance(b, str) else json.dumps(b, ensure_ascii=False) for b in bodies]
    for i in range(0, len(items), 10):
        resp = sqs.send_message_batch(QueueUrl=stack.outputs["EventsQueueUrl"],
                                      Entries=[{"Id": str(j), "MessageBody": b} for j, b in enumerate(items[i:i + 10])])
        assert not resp.get("Failed"), resp.get("Failed")
    if drain:
        stack.drain()


def demo_events() -> list[str]:
    return DEMO_EVENTS.read_text(encoding="utf-8").splitlines()


def run(stack: LocalStack, as_of: date, name: str | None = None, timeout: float = 120) -> dict[str, Any]:
    """Start the state machine for ``as_of``, wait, drain the streams; returns the execution description."""
    sfn = stack.client("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=stack.outputs["CollectionsRunStateMachineArn"],
                              name=name or f"test-{as_of.isoformat()}-{uuid.uuid4().hex[:8]}",
                              input=json.dumps({"as_of": as_of.isoformat()}))["executionArn"]
    deadline = time.monotonic() + timeout
    while True:
        desc = sfn.describe_execution(executionArn=arn)
        if desc["status"] != "RUNNING":
            break
        assert time.monotonic() < deadline, "run did not finish"
        time.sleep(0.2)
    stack.drain()
    return dict(desc)


def contacts(stack: LocalStack) -> list[dict[str, Any]]:
    from dunning.store.contacts import DynamoContactsRepository

    return [c.model_dump(mode="json") for c in DynamoContactsRepository(stack.outputs["ContactsTableName"]).all()]


def table_items(stack: LocalStack, logical_table: str) -> list[dict[str, Any]]:
    from dunning.store import dynamo

    return list(dynamo.scan(stack.outputs[f"{logical_table}Name"]))


def bucket_keys(stack: LocalStack, output: str, prefix: str = "") -> list[str]:
    from dunning.store.blobs import S3Blobs

    return S3Blobs(stack.outputs[output]).keys(prefix)
