"""Shared fixtures: a local stack deployed from template.yaml with the demo events ingested, one per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dunning_ops.local.stack import LocalStack
from tests.support.local import demo_events, send, start_stack


@pytest.fixture(scope="module")
def demo_stack() -> Iterator[LocalStack]:
    s = start_stack()
    send(s, demo_events())
    yield s
    s.stop()
