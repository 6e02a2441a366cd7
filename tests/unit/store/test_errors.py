"""How storage failures are classified: what the state machine may retry (transient) and what fails at once
with a message a person can act on (permanent)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import boto3
import pytest
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ParamValidationError,
    ReadTimeoutError,
)
from botocore.response import StreamingBody
from botocore.stub import Stubber

from dunning import aws
from dunning.config_loader import load_config_dir
from dunning.errors import (
    RETRYABLE_ERRORS,
    ConfigError,
    MissingResource,
    NoPublishedConfiguration,
    PermanentError,
    PermanentStoreError,
    RunAlreadyActive,
    StoreError,
    TransientStoreError,
)
from dunning.store import blobs as blobs_module
from dunning.store import dynamo
from dunning.store.blobs import CONFIG_KEY, S3Blobs
from dunning.store.contacts import DynamoContactsRepository
from dunning.store.failures import store_error
from dunning.store.runs import DynamoRunsRepository
from tests.support.local import ROOT


def client_error(code: str, status: int = 400, operation: str = "Query") -> ClientError:
    response: Any = {"Error": {"Code": code, "Message": "the service's own words"},
                     "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, operation)


# ---------------------------------------------------------------------------------------------- classification
@pytest.mark.parametrize(("code", "status"), [
    ("ThrottlingException", 400), ("ProvisionedThroughputExceededException", 400), ("RequestLimitExceeded", 400),
    ("SlowDown", 503), ("InternalServerError", 500), ("ServiceUnavailable", 503), ("SomethingNew", 502),
])
def test_throttling_and_5xx_answers_are_transient(code, status):
    err = store_error(client_error(code, status), "Query on ledger")
    assert isinstance(err, TransientStoreError)
    assert not isinstance(err, PermanentError)
    assert type(err).__name__ in RETRYABLE_ERRORS


@pytest.mark.parametrize("exc", [
    EndpointConnectionError(endpoint_url="http://127.0.0.1:1"),
    ConnectTimeoutError(endpoint_url="http://127.0.0.1:1"),
    ReadTimeoutError(endpoint_url="http://127.0.0.1:1"),
])
def test_timeouts_and_dropped_connections_are_transient(exc):
    assert isinstance(store_error(exc, "GetObject s3://runs/x"), TransientStoreError)


@pytest.mark.parametrize("code", ["AccessDeniedException", "AccessDenied", "UnrecognizedClientException"])
def test_access_denied_is_permanent_and_says_what_to_do(code):
    err = store_error(client_error(code), "Query on ledger")
    assert isinstance(err, PermanentStoreError) and not isinstance(err, TransientStoreError)
    assert type(err).__name__ not in RETRYABLE_ERRORS
    assert "Query on ledger" in str(err) and "permission" in str(err)


@pytest.mark.parametrize("code", ["ResourceNotFoundException", "NoSuchBucket"])
def test_a_missing_table_or_bucket_is_permanent(code):
    err = store_error(client_error(code), "Query on dunning-ledger")
    assert isinstance(err, MissingResource) and isinstance(err, PermanentError)
    assert type(err).__name__ not in RETRYABLE_ERRORS
    assert "dunning-ledger" in str(err) and "does not exist" in str(err)


def test_a_bad_request_is_permanent():
    assert isinstance(store_error(client_error("ValidationException"), "Query on t"), PermanentStoreError)
    assert isinstance(store_error(ParamValidationError(report="bad"), "Query on t"), PermanentStoreError)


def test_every_store_error_is_still_a_store_error():
    for code in ("ThrottlingException", "ResourceNotFoundException", "AccessDenied", "ValidationException"):
        assert isinstance(store_error(client_error(code), "x"), StoreError)


# ---------------------------------------------------------------------------------------------- through the store
@pytest.fixture
def stubbed(monkeypatch) -> Iterator[dict[str, Stubber]]:
    """Real botocore clients with their answers stubbed (no network); the store gets them from dunning.aws."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    clients: dict[str, Any] = {}
    stubbers: dict[str, Stubber] = {}

    def fake_client(service: str, endpoint: str | None, region: str | None) -> Any:
        if service not in clients:
            session: Any = boto3.session.Session()
            clients[service] = session.client(service, region_name="us-east-1")
            stubbers[service] = Stubber(clients[service])
            stubbers[service].activate()
        return clients[service]

    monkeypatch.setattr(aws, "_client", fake_client)
    fake_client("dynamodb", None, None)
    fake_client("s3", None, None)
    yield stubbers
    for s in stubbers.values():
        s.deactivate()


def test_a_throttled_query_raises_a_transient_error_from_the_client_error(stubbed):
    stubbed["dynamodb"].add_client_error("query", service_error_code="ProvisionedThroughputExceededException",
                                         http_status_code=400)
    with pytest.raises(TransientStoreError) as err:
        list(dynamo.query("ledger", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "x"}}))
    assert isinstance(err.value.__cause__, ClientError)
    assert "Query on ledger" in str(err.value)


def test_a_write_to_a_missing_table_fails_as_missing(stubbed):
    stubbed["dynamodb"].add_client_error("batch_write_item", service_error_code="ResourceNotFoundException",
                                         http_status_code=400)
    with pytest.raises(MissingResource, match="BatchWriteItem on no-such-table"):
        dynamo.batch_write("no-such-table", [{"pk": "a", "sk": "b"}])


def test_a_refused_condition_is_an_answer_not_an_error(stubbed):
    stubbed["dynamodb"].add_client_error("update_item", service_error_code="ConditionalCheckFailedException",
                                         http_status_code=400)
    assert DynamoContactsRepository("contacts").set_status("c-1", "rendered", only_from=["pending"]) is False


def test_a_throttled_lock_is_transient_and_a_held_lock_is_run_already_active(stubbed):
    stubbed["dynamodb"].add_client_error("put_item", service_error_code="ThrottlingException", http_status_code=400)
    stubbed["dynamodb"].add_client_error("put_item", service_error_code="ConditionalCheckFailedException",
                                         http_status_code=400)
    runs = DynamoRunsRepository("runs")
    with pytest.raises(TransientStoreError):
        runs.acquire(date(2027, 1, 1), "run-1")
    with pytest.raises(RunAlreadyActive):
        runs.acquire(date(2027, 1, 1), "run-1")


def test_access_denied_on_a_bucket_is_permanent(stubbed):
    stubbed["s3"].add_client_error("put_object", service_error_code="AccessDenied", http_status_code=403)
    with pytest.raises(PermanentStoreError, match="refused") as err:
        S3Blobs("letters").put_bytes("k", b"x")
    assert not isinstance(err.value, TransientStoreError)


# ---------------------------------------------------------------------------------------------- configuration
def test_no_published_configuration_says_how_to_publish_one(stubbed):
    blobs_module._config_cache.clear()
    stubbed["s3"].add_client_error("head_object", service_error_code="404", http_status_code=404)
    with pytest.raises(NoPublishedConfiguration) as err:
        S3Blobs("runs-bucket").config()
    assert "dunning config publish infra/config" in str(err.value)
    assert isinstance(err.value, PermanentError) and isinstance(err.value, ConfigError)
    assert type(err.value).__name__ not in RETRYABLE_ERRORS


def test_a_published_configuration_that_no_longer_validates_lists_its_problems(stubbed):
    blobs_module._config_cache.clear()
    good = load_config_dir(ROOT / "infra" / "config").model_dump(mode="json", by_alias=True)
    good.pop("company")
    body = json.dumps(good).encode()
    stubbed["s3"].add_response("head_object", {"ETag": '"e1"'}, {"Bucket": "runs-bucket", "Key": CONFIG_KEY})
    stubbed["s3"].add_response("get_object", {"Body": StreamingBody(io.BytesIO(body), len(body))},
                               {"Bucket": "runs-bucket", "Key": CONFIG_KEY})
    with pytest.raises(ConfigError) as err:
        S3Blobs("runs-bucket").config()
    message = str(err.value)
    assert "company" in message and "problem(s)" in message and "dunning config publish infra/config" in message
    assert not isinstance(err.value, StoreError)
