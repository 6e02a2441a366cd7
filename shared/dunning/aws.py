"""boto3 clients with the retry policy every function uses (standard mode: backoff with jitter).

The endpoint comes from the environment (``AWS_ENDPOINT_URL`` locally), so code never knows where it runs.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config

RETRY_CONFIG = Config(retries={"mode": "standard", "max_attempts": 8}, connect_timeout=5, read_timeout=30)


@lru_cache(maxsize=32)
def _client(service: str, endpoint: str | None, region: str | None) -> Any:
    session: Any = boto3.session.Session()
    return session.client(service, config=RETRY_CONFIG, endpoint_url=endpoint, region_name=region)


def client(service: str) -> Any:
    """A cached client for ``service``; re-created when the endpoint or region changes (local stacks)."""
    return _client(service, os.environ.get("AWS_ENDPOINT_URL"), os.environ.get("AWS_REGION")
                   or os.environ.get("AWS_DEFAULT_REGION"))


def resource(service: str) -> Any:
    session: Any = boto3.session.Session()
    return session.resource(
        service, config=RETRY_CONFIG, endpoint_url=os.environ.get("AWS_ENDPOINT_URL"),
        region_name=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"),
    )


class StoreError(RuntimeError):
    """A storage call failed after retries; the operation can be retried as a whole."""


class TransientError(RuntimeError):
    """Raised to let Step Functions' Retry (ErrorEquals TransientError) try the task again."""
