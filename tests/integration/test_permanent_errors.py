"""A permanent error fails at once with a message a person can act on: a run on a stack with no published
configuration ends within seconds (no retries), and ``dunning run --wait`` prints what to do, not a trace."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator

import pytest

from dunning.store import blobs
from dunning_ops.cli.main import main as cli
from dunning_ops.local.demo_data import DEMO_AS_OF
from dunning_ops.local.stack import LocalStack
from tests.support.local import run

ACTIONABLE = "run `dunning config publish infra/config`"


@pytest.fixture(scope="module")
def unconfigured_stack() -> Iterator[LocalStack]:
    blobs._config_cache.clear()
    stack = LocalStack.start(log_sink=io.StringIO(), capture_stdout=True)  # nothing published
    yield stack
    stack.stop()


def test_a_run_without_configuration_fails_at_once_with_the_fix(unconfigured_stack):
    started = time.monotonic()
    desc = run(unconfigured_stack, DEMO_AS_OF, timeout=30)
    elapsed = time.monotonic() - started
    assert desc["status"] == "FAILED"
    assert desc["error"] == "NoPublishedConfiguration"
    assert ACTIONABLE in json.loads(desc["cause"])["errorMessage"]
    assert elapsed < 10, f"a permanent error was retried: the run took {elapsed:.1f}s"
    history = unconfigured_stack.client("stepfunctions").get_execution_history(executionArn=desc["executionArn"])
    assign_attempts = [e for e in history["events"] if e["type"] == "TaskScheduled"]
    assert len(assign_attempts) == 1


def test_run_wait_prints_the_message_without_a_stack_trace(unconfigured_stack, capsys):
    code = cli(["--endpoint-url", unconfigured_stack.endpoint, "run", "--as-of", DEMO_AS_OF.isoformat(), "--wait"])
    out, err = capsys.readouterr()
    assert code != 0
    assert "NoPublishedConfiguration" in out and ACTIONABLE in out
    assert "Traceback" not in out + err and "stackTrace" not in out + err and 'File "' not in out + err
