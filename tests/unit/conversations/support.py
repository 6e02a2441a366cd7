"""In-memory fakes of the conversation ports (queue, executions, sheets, rate counter) and moto tables for the
stores: the real DynamoDB repositories of interactions and conversations run on moto, the ports are fakes that
record what the use cases asked of them."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import boto3

from dunning.app import conversations as uc
from dunning.app.interactions import InteractionDeps
from dunning.config_loader import load_config_dir
from dunning.models.config import Config
from dunning.models.conversations import InboundEnvelope
from dunning.models.workflows import WorkflowDefinition
from dunning.store.attachments import S3Attachments
from dunning.store.conversations import DynamoConversationsRepository
from dunning.store.interactions import DynamoInteractionsRepository

ROOT = Path(__file__).resolve().parents[3]
CONVERSATIONS, INTERACTIONS = "conversations", "interactions"
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
KEY = b"k" * 32


def config() -> Config:
    return load_config_dir(ROOT / "infra" / "config")


def create_tables() -> None:
    ddb: Any = boto3.client("dynamodb")
    keys = [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
    ddb.create_table(
        TableName=INTERACTIONS, BillingMode="PAY_PER_REQUEST", KeySchema=keys,
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"}
                              for n in ("pk", "sk", *(f"gsi{g}{k}" for g in range(1, 5) for k in ("pk", "sk")))],
        GlobalSecondaryIndexes=[
            {"IndexName": name, "Projection": {"ProjectionType": "ALL"},
             "KeySchema": [{"AttributeName": f"gsi{g}pk", "KeyType": "HASH"},
                           {"AttributeName": f"gsi{g}sk", "KeyType": "RANGE"}]}
            for g, name in enumerate(("by_account", "by_stage", "by_similar", "by_month"), start=1)])
    attrs = [{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk",
                                                                   "gsi2sk")]
    ddb.create_table(
        TableName=CONVERSATIONS, BillingMode="PAY_PER_REQUEST", KeySchema=keys, AttributeDefinitions=attrs,
        GlobalSecondaryIndexes=[
            {"IndexName": name, "Projection": {"ProjectionType": "ALL"},
             "KeySchema": [{"AttributeName": f"{g}pk", "KeyType": "HASH"},
                           {"AttributeName": f"{g}sk", "KeyType": "RANGE"}]}
            for name, g in (("by_queue", "gsi1"), ("by_assignee", "gsi2"))])


@dataclass
class FakeQueue:
    sent: list[InboundEnvelope] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)

    def send(self, envelope: InboundEnvelope) -> None:
        if envelope.dedupe_id not in self.seen:  # FIFO dedupe
            self.seen.add(envelope.dedupe_id)
            self.sent.append(envelope)

    def take(self) -> list[InboundEnvelope]:
        out, self.sent = self.sent, []
        return out


@dataclass
class FakeExecutions:
    started: dict[str, dict[str, Any]] = field(default_factory=dict)
    start_calls: int = 0
    succeeded: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    valid: set[str] = field(default_factory=set)

    def start(self, name: str, payload: dict[str, Any]) -> str:
        self.start_calls += 1
        self.started.setdefault(name, payload)
        return f"arn:aws:states:us-east-1:0:execution:conv:{name}"

    def succeed(self, token: str, output: dict[str, Any]) -> bool:
        if token not in self.valid:
            return False
        self.valid.discard(token)
        self.succeeded.append((token, output))
        return True

    def fail(self, token: str, error: str, cause: str) -> None:
        self.valid.discard(token)
        self.failed.append((token, error))


@dataclass
class FakeSheets:
    objects: dict[str, bytes] = field(default_factory=dict)

    def put_csv(self, key: str, body: bytes) -> None:
        self.objects[key] = body

    def presigned_get(self, key: str, seconds: int, filename: str) -> str:
        return f"https://bucket.example/{key}?expires={seconds}&name={filename}"


@dataclass
class Hit:
    allowed: bool
    retry_after: int = 0


@dataclass
class FakeCounter:
    counts: dict[tuple[str, str, int], int] = field(default_factory=dict)

    def hit(self, scope: str, key_hash: str, *, window_start: int, window_seconds: int, limit: int,
            now: float) -> Hit:
        key = (scope, key_hash, window_start)
        if self.counts.get(key, 0) >= limit:
            return Hit(False, int(window_start + window_seconds - now))
        self.counts[key] = self.counts.get(key, 0) + 1
        return Hit(True)


@dataclass
class Env:
    deps: uc.ConversationDeps
    queue: FakeQueue
    executions: FakeExecutions
    sheets: FakeSheets
    counter: FakeCounter
    workflows: dict[tuple[str, str], WorkflowDefinition]
    live: list[tuple[WorkflowDefinition, str]]
    clock: Iterator[datetime]

    def now(self) -> datetime:
        return next(self.clock)

    def run_queue(self) -> list[Any]:
        """Process every queued envelope (in order), as the FIFO consumer does."""
        out = []
        while self.queue.sent:
            for envelope in self.queue.take():
                out.append(uc.process_inbound(self.deps, envelope, self.now()))
        return out


def clock() -> Iterator[datetime]:
    for n in itertools.count():
        yield T0 + timedelta(seconds=n)


def make_env(*, ask_timeout_cap: int = 0) -> Env:
    cfg = config()
    interactions = InteractionDeps(store=DynamoInteractionsRepository(INTERACTIONS),
                                   attachments=S3Attachments("attachments"), config=lambda: cfg, ledger=None,
                                   contacts=None, signing_key=lambda: KEY)
    queue, executions, sheets, counter = FakeQueue(), FakeExecutions(), FakeSheets(), FakeCounter()
    deps = uc.ConversationDeps(store=DynamoConversationsRepository(CONVERSATIONS), workflows=cast(Any, None),
                               interactions=interactions, config=lambda: cfg, queue=queue, executions=executions,
                               signing_key=lambda: KEY, sheets=sheets, ask_timeout_cap=ask_timeout_cap,
                               rate_limiter=counter)
    return Env(deps=deps, queue=queue, executions=executions, sheets=sheets, counter=counter, workflows={},
               live=[], clock=clock())


def definition(data: dict[str, Any]) -> WorkflowDefinition:
    return WorkflowDefinition.model_validate(data)


ASK_EMAIL = {
    "id": "ask_flow", "name": "Ask the email", "start": "ask_email",
    "steps": [
        {"id": "ask_email", "type": "ask", "kind": "email", "text": "What's your email address?",
         "save_as": "contact.email", "retries": 1, "retry_text": "Please try again.", "timeout_seconds": 3600,
         "next": "thanks", "on_invalid": "to_managers", "on_timeout": "bye"},
        {"id": "thanks", "type": "send", "text": "Thanks, {{ contact.email }} is saved.", "next": "rate"},
        {"id": "rate", "type": "ask", "kind": "choice", "text": "How did we do?",
         "choices": [{"value": "1", "label": "Bad"}, {"value": "5", "label": "Great"}], "save_as": "vars.rating",
         "next": "save", "on_invalid": "to_normal", "on_timeout": "bye"},
        {"id": "save", "type": "sheet", "sheet": "csat", "columns": {"rating": "{{ vars.rating }}"},
         "next": "to_normal"},
        {"id": "to_normal", "type": "route", "team": "normal", "message": "Connecting you to customer service."},
        {"id": "to_managers", "type": "route", "team": "managers"},
        {"id": "bye", "type": "close", "message": "We'll close this chat for now."},
    ],
    "variables": {"rating": None},
}

ROUTE_VIP = {"id": "vip_now", "name": "Route VIP", "start": "hello",
             "steps": [{"id": "hello", "type": "send", "text": "Hello!", "next": "vip"},
                       {"id": "vip", "type": "route", "team": "vip", "rule": "round_robin", "skill": "vip",
                        "message": "Connecting you to our VIP team."}]}

ROUTE_NORMAL = {"id": "normal_now", "name": "Route normal", "start": "normal",
                "steps": [{"id": "normal", "type": "route", "team": "normal", "rule": "least_open"}]}
