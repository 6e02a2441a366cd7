"""The fixed-window counter on DynamoDB (moto): one conditional UpdateItem per hit, refused hits write nothing,
the item has a ttl and holds no address."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest

from dunning.store.rate_limit import TTL_GRACE_SECONDS, DynamoRateLimiter

TABLE = "interactions"


@pytest.fixture
def limiter(monkeypatch) -> Iterator[DynamoRateLimiter]:
    from moto import mock_aws

    from dunning import aws

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for k, v in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(k, v)
    with mock_aws():
        aws._client.cache_clear()
        boto3.client("dynamodb").create_table(
            TableName=TABLE, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}])
        yield DynamoRateLimiter(TABLE)
        aws._client.cache_clear()


def hit(limiter: DynamoRateLimiter, key: str = "abc", start: int = 1_000_020, now: float = 1_000_030.0):
    return limiter.hit("webform-minute", key, window_start=start, window_seconds=60, limit=3, now=now)


def test_given_a_window_then_hits_count_up_to_the_limit_and_the_next_is_refused_with_the_time_left(limiter):
    assert [hit(limiter).count for _ in range(3)] == [1, 2, 3]
    refused = hit(limiter)
    assert not refused.allowed and refused.retry_after == 50
    item = boto3.client("dynamodb").get_item(TableName=TABLE, Key={"pk": {"S": "RATE#webform-minute#abc"},
                                                                     "sk": {"S": "1000020"}})["Item"]
    assert item["count"] == {"N": "3"}  # the refused hit wrote nothing
    assert item["ttl"] == {"N": str(1_000_080 + TTL_GRACE_SECONDS)}
    assert set(item) == {"pk", "sk", "count", "ttl"}


def test_given_another_key_or_window_then_it_has_its_own_count(limiter):
    for _ in range(3):
        hit(limiter)
    assert hit(limiter, key="other").allowed
    assert hit(limiter, start=1_000_080, now=1_000_081.0).allowed


def test_given_concurrent_hits_then_exactly_the_limit_is_allowed(limiter):
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: hit(limiter).allowed, range(12)))
    assert results.count(True) == 3
