"""boto3 clients with the retry policy every function uses (standard mode: backoff with jitter).

The endpoint comes from the environment (``AWS_ENDPOINT_URL`` locally), so code never knows where it runs.
Each client carries its ``mypy-boto3`` type, so mypy checks every call; the stubs are a development
dependency only (imported for type checking, never at run time).
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal, overload

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sesv2 import SESV2Client
    from mypy_boto3_stepfunctions import SFNClient

RETRY_CONFIG = Config(retries={"mode": "standard", "max_attempts": 8}, connect_timeout=5, read_timeout=30)


@lru_cache(maxsize=32)
def _client(service: str, endpoint: str | None, region: str | None) -> Any:
    session: Any = boto3.session.Session()
    return session.client(service, config=RETRY_CONFIG, endpoint_url=endpoint, region_name=region)


@overload
def client(service: Literal["dynamodb"]) -> DynamoDBClient: ...
@overload
def client(service: Literal["s3"]) -> S3Client: ...
@overload
def client(service: Literal["sesv2"]) -> SESV2Client: ...
@overload
def client(service: Literal["stepfunctions"]) -> SFNClient: ...
@overload
def client(service: Literal["cognito-idp"]) -> CognitoIdentityProviderClient: ...
def client(service: str) -> Any:
    """A cached client for ``service``; re-created when the endpoint or region changes (local stacks)."""
    return _client(service, os.environ.get("AWS_ENDPOINT_URL"), os.environ.get("AWS_REGION")
                   or os.environ.get("AWS_DEFAULT_REGION"))


def endpoint_client(service: str, endpoint: str | None, region: str | None) -> Any:
    """A new client for ``service`` at an explicit endpoint and region (operator tools address a named stack,
    not the process environment); botocore's default retries."""
    session: Any = boto3.session.Session()
    return session.client(service, endpoint_url=endpoint, region_name=region)
