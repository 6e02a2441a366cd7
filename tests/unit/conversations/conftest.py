from __future__ import annotations

from collections.abc import Iterator

import pytest

from dunning.app import conversations as uc
from dunning.models.workflows import WorkflowDefinition
from tests.unit.conversations.support import Env, create_tables, make_env


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from moto import mock_aws

    from dunning import aws as aws_module

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for k, v in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(k, v)
    with mock_aws():
        aws_module._client.cache_clear()
        create_tables()
        yield
        aws_module._client.cache_clear()


@pytest.fixture
def env(aws: None, monkeypatch: pytest.MonkeyPatch) -> Env:
    """The use cases on moto tables; the workflow loader and the live-workflow lookup answer from ``env``."""
    made = make_env()

    def definition(deps: uc.ConversationDeps, wf_id: str, version: str) -> WorkflowDefinition:
        return made.workflows[(wf_id, version)]

    def live(deps: uc.ConversationDeps, channel: str, returning: bool,
             category: str | None) -> tuple[WorkflowDefinition, str] | None:
        return made.live[0] if made.live else None

    monkeypatch.setattr(uc, "_definition", definition)
    monkeypatch.setattr(uc, "_live", live)
    return made
