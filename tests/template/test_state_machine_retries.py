"""The state machines retry transient errors only: a permanent error (no published configuration, an invalid
configuration, a missing table, access denied) fails its task at once, with its own message."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest

from dunning import errors
from dunning.errors import RETRYABLE_ERRORS, PermanentError, TransientError
from dunning_ops.local.translate import load_definition

ROOT = Path(__file__).resolve().parents[2]
MACHINES = sorted((ROOT / "infra" / "statemachines").glob("*.asl.json"))
LAMBDA_SERVICE_ERRORS = {"Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
                         "Lambda.TooManyRequestsException"}


def states(definition: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in definition["States"].items():
        yield name, state
        if "ItemProcessor" in state:
            yield from states(state["ItemProcessor"])
        if "Iterator" in state:
            yield from states(state["Iterator"])
        for branch in state.get("Branches", []):
            yield from states(branch)


def retriers() -> list[tuple[str, str, dict[str, Any]]]:
    return [(path.name, name, retrier) for path in MACHINES
            for name, state in states(load_definition(path))
            for retrier in state.get("Retry", [])]


def test_there_are_retry_blocks_to_check():
    assert MACHINES and len(retriers()) >= 5


@pytest.mark.parametrize(("machine", "state", "retrier"), retriers(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_retry_block_names_only_transient_errors(machine, state, retrier):
    names = set(retrier["ErrorEquals"])
    assert names <= set(RETRYABLE_ERRORS), f"{machine} {state} retries {sorted(names - set(RETRYABLE_ERRORS))}"
    assert not {n for n in names if n.startswith("States.")}, f"{machine} {state} retries a catch-all"


def test_every_retryable_name_is_a_transient_error():
    for name in RETRYABLE_ERRORS:
        if name in LAMBDA_SERVICE_ERRORS:
            continue
        if hasattr(errors, name):
            assert issubclass(getattr(errors, name), TransientError), name
        else:  # botocore's own: connection failures and timeouts, raised by clients outside store/
            cls = getattr(botocore.exceptions, name)
            assert issubclass(cls, botocore.exceptions.ConnectionError | botocore.exceptions.HTTPClientError), name


def test_no_permanent_error_is_retried():
    permanent = [n for n, c in vars(errors).items() if inspect.isclass(c) and issubclass(c, PermanentError)]
    assert {"NoPublishedConfiguration", "ConfigError", "MissingResource", "PermanentStoreError"} <= set(permanent)
    assert not set(permanent) & set(RETRYABLE_ERRORS)
    assert "StoreError" not in RETRYABLE_ERRORS  # the base class would also match nothing: Lambda reports the leaf
