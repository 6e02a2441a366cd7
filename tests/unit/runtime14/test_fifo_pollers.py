"""The local stack's SQS FIFO delivery (dunning_ops.local.pollers): one message group is delivered in order, a
group with a message in flight is not delivered again, and a failed message takes the rest of its group in the
batch back with it - whatever the function reported."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from moto import mock_aws

from dunning_ops.local.pollers import Mapping, Pollers, fifo_failures

REGION = "us-east-1"


def test_a_failure_takes_the_rest_of_its_group_back():
    batch = [{"MessageId": m, "Attributes": {"MessageGroupId": g}}
             for m, g in (("a1", "A"), ("b1", "B"), ("a2", "A"), ("b2", "B"), ("a3", "A"))]
    assert fifo_failures(batch, {"a2"}) == {"a2", "a3"}
    assert fifo_failures(batch, {"b1"}) == {"b1", "b2"}
    assert fifo_failures(batch, set()) == set()


@pytest.fixture
def fifo(monkeypatch) -> Any:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)  # moto here, whatever an earlier test left set
    for k, v in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(k, v)
    with mock_aws():
        sqs = boto3.client("sqs", region_name=REGION)
        url = sqs.create_queue(QueueName="conv.fifo", Attributes={
            "FifoQueue": "true", "ContentBasedDeduplication": "false", "VisibilityTimeout": "360"})["QueueUrl"]
        yield sqs, url


def send(sqs: Any, url: str, group: str, n: int) -> None:
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"g": group, "n": n}), MessageGroupId=group,
                     MessageDeduplicationId=f"{group}-{n}")


def test_moto_keeps_a_group_with_a_message_in_flight_back(fifo):
    sqs, url = fifo
    for n in (1, 2):
        send(sqs, url, "A", n)
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"]
    send(sqs, url, "B", 1)
    second = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(m["Body"]) for m in first] == [{"g": "A", "n": 1}]
    assert [json.loads(m["Body"]) for m in second] == [{"g": "B", "n": 1}]  # A2 waits for A1


def test_moto_drops_a_repeated_deduplication_id(fifo):
    sqs, url = fifo
    send(sqs, url, "A", 1)
    send(sqs, url, "A", 1)
    assert len(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]) == 1


def test_the_pollers_redeliver_a_failed_group_in_order(fifo):
    sqs, url = fifo
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    for group, n in (("A", 1), ("B", 1), ("A", 2), ("A", 3), ("B", 2)):
        send(sqs, url, group, n)
    pollers = Pollers("http://127.0.0.1:1", REGION, [Mapping("fn", arn, batch_size=10, partial=True)])
    pollers._sqs = sqs
    batches: list[list[tuple[str, int]]] = []
    fail_once = {("A", 2)}

    def invoke(m: Mapping, event: dict[str, Any]) -> tuple[bool, set[str] | None]:
        bodies = [json.loads(r["body"]) for r in event["Records"]]
        batches.append([(b["g"], b["n"]) for b in bodies])
        failed = {r["messageId"] for r, b in zip(event["Records"], bodies, strict=True)
                  if (b["g"], b["n"]) in fail_once}
        fail_once.clear()
        return False, failed  # reports only A2, as a processor that did not skip the group would

    pollers._invoke = invoke  # type: ignore[method-assign]
    while pollers.poll_once():
        pass
    assert batches[0] == [("A", 1), ("B", 1), ("A", 2), ("A", 3), ("B", 2)]
    assert batches[1:] == [[("A", 2), ("A", 3)]]  # A3 came back with A2, and B was not repeated
    assert sqs.receive_message(QueueUrl=url).get("Messages") is None  # all delivered, none lost
