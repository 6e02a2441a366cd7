"""The workflow use cases on a moto conversations table (pk/sk, as SPEC_14 lays it out) with the repository's
configuration (its teams), and small workflow sources to publish."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

from dunning.app.workflows import WorkflowDeps
from dunning.auth import Group, Principal
from dunning.config_loader import load_config_dir
from dunning.store.workflows import DynamoWorkflowsRepository

ROOT = Path(__file__).resolve().parents[3]
TABLE = "conversations"
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ADMIN = Principal(user_id="u-admin", username="admin", groups=frozenset({Group.ADMIN}))
AGENT = Principal(user_id="u-agent", username="agent", groups=frozenset({Group.AGENT}))
CONFIG = load_config_dir(ROOT / "infra" / "config")


def create_table() -> None:
    ddb: Any = boto3.client("dynamodb")
    ddb.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                {"AttributeName": "sk", "KeyType": "RANGE"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                           {"AttributeName": "sk", "AttributeType": "S"}])


@contextmanager
def moto_table(monkeypatch: Any) -> Iterator[None]:
    from moto import mock_aws

    from dunning import aws

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for k, v in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(k, v)
    with mock_aws():
        aws._client.cache_clear()
        create_table()
        yield
        aws._client.cache_clear()


@contextmanager
def item_level_atomicity() -> Iterator[None]:
    """DynamoDB applies each write (a conditional put, a transaction) atomically; moto's backend, called from
    several threads, does not: serialise its write calls so the threads race as they would on DynamoDB."""
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()
    originals = {}
    for name in ("put_item", "update_item", "delete_item", "transact_write_items"):
        original = originals[name] = getattr(DynamoDBBackend, name)

        def locked(self: object, *args: object, _original: object = original, **kwargs: object) -> object:
            with lock:
                return _original(self, *args, **kwargs)  # type: ignore[operator]

        setattr(DynamoDBBackend, name, locked)
    try:
        yield
    finally:
        for name, original in originals.items():
            setattr(DynamoDBBackend, name, original)


def make_deps() -> WorkflowDeps:
    return WorkflowDeps(store=DynamoWorkflowsRepository(TABLE), config=lambda: CONFIG)


def source(wf_id: str = "greet", *, text: str = "Hello!", priority: int = 0, team: str = "normal",
           contacts: str = "any", channels: str = "[web_chat, email, test]", categories: str = "[]") -> str:
    """A small valid workflow: a message, then a route to ``team``."""
    return f"""\
id: {wf_id}
name: Greeting {wf_id}
trigger: {{event: conversation_opened, contacts: {contacts}, channels: {channels}, categories: {categories}}}
priority: {priority}
start: hello
steps:
  - {{id: hello, type: send, text: "{text}", next: hand_over}}
  - {{id: hand_over, type: route, team: {team}}}
"""


BROKEN = """\
id: greet
name: Broken on purpose
start: ask
steps:
  - {id: ask, type: ask, kind: email, text: "Email?", save_as: contact.email, next: nowhere, on_invalid: bye,
     on_timeout: bye}
  - {id: bye, type: close}
  - {id: orphan, type: send, text: "never reached", next: bye}
"""
