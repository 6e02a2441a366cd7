"""Event-source-mapping pollers for the embedded stack.

moto invokes mapped functions synchronously inside ``SendMessage``/``PutItem`` and ignores partial batch
responses, filters and failure destinations. The embedded stack switches that off and polls instead,
the way the Lambda service does, using the mappings the template declares:

* SQS: receive up to ``BatchSize`` messages, invoke, delete what succeeded; with
  ``ReportBatchItemFailures`` only the listed ``itemIdentifier`` messages stay. Failed messages become
  visible again at once (on AWS after the visibility timeout) so the queue's redrive policy moves a
  poison message to the DLQ after ``maxReceiveCount`` receives.
* SQS FIFO (a ``.fifo`` queue): moto's ReceiveMessage already keeps message groups apart as SQS does - a group
  with a message in flight is skipped by later receives, and one receive returns a group's messages in order.
  The pollers run one batch at a time, so two batches of one group are never in flight together; and when a
  message of a group fails, every later message of that group in the batch goes back too (as Lambda's FIFO
  mapping does, whatever the function reported), so the group is retried in order from the failed message.
* DynamoDB streams: read each shard from its iterator, apply ``FilterCriteria``, invoke in batches,
  retry from the first failed ``SequenceNumber`` up to ``MaximumRetryAttempts`` times, then send a
  failure record to the ``OnFailure`` destination queue and move on.

moto has no DynamoDB TTL either. :meth:`Pollers.expire_ttl` stands in for DynamoDB's TTL process (the pollers
stand in for the services): it deletes the items whose TTL attribute has passed and puts on their ``REMOVE``
stream records the ``userIdentity`` DynamoDB gives TTL deletions (``Type: Service``, ``PrincipalId:
dynamodb.amazonaws.com``; in the Lambda event ``{"type": ..., "principalId": ...}``), which filters such as the
archive function's select on. Deletes made any other
way carry no ``userIdentity``, as on AWS. It runs when called (tests, ``LocalStack.expire_ttl``) or, with a
``ttl_clock``, every ``ttl_every`` seconds while polling (``dunning local up --ttl-clock-offset-days``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3


@dataclass
class Mapping:
    function_name: str
    source_arn: str
    batch_size: int
    partial: bool
    filters: list[dict[str, Any]] = field(default_factory=list)
    max_retries: int = -1
    on_failure_arn: str | None = None
    starting_position: str = "TRIM_HORIZON"
    # stream state
    iterators: dict[str, str] = field(default_factory=dict)


def matches_pattern(pattern: Any, value: Any) -> bool:
    """EventBridge-style content filter, the subset Lambda filter criteria use most."""
    if isinstance(pattern, dict):
        if not isinstance(value, dict):
            return False
        return all(matches_pattern(sub, value.get(key, _ABSENT)) for key, sub in pattern.items())
    if isinstance(pattern, list):
        for option in pattern:
            if isinstance(option, dict):
                if "exists" in option and (value is not _ABSENT) == option["exists"]:
                    return True
                if "prefix" in option and isinstance(value, str) and value.startswith(option["prefix"]):
                    return True
                if "anything-but" in option and value is not _ABSENT:
                    excluded = option["anything-but"]
                    if value not in (excluded if isinstance(excluded, list) else [excluded]):
                        return True
            elif value is not _ABSENT and option == value:
                return True
        return False
    return bool(pattern == value)


_ABSENT = object()
TTL_IDENTITY = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}  # as Lambda's event carries it
_TTL_IDENTITY_API = {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}  # as GetRecords returns it


@dataclass
class TtlTable:
    table: str  # physical name
    attribute: str  # the TimeToLiveSpecification's AttributeName


class Pollers:
    def __init__(self, endpoint: str, region: str, mappings: list[Mapping]) -> None:
        session: Any = boto3.session.Session()
        kw = {"endpoint_url": endpoint, "region_name": region}
        self._sqs = session.client("sqs", **kw)
        self._lambda = session.client("lambda", **kw)
        self._streams = session.client("dynamodbstreams", **kw)
        self._ddb = session.client("dynamodb", **kw)
        self._region = region
        self.mappings = mappings
        self.ttl_tables: list[TtlTable] = []
        self.ttl_clock: Callable[[], float] | None = None  # epoch seconds "now" for the periodic TTL sweep
        self.ttl_every = 5.0
        self._last_sweep = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._busy = threading.Lock()
        self.errors: list[str] = []

    # ------------------------------------------------------------------ lifecycle
    def start(self, interval: float = 0.2) -> None:
        def loop() -> None:
            while not self._stop.is_set():
                try:
                    self._sweep_ttl_when_due()
                    worked = self.poll_once()
                except Exception as exc:  # keep polling; surface the problem
                    self.errors.append(f"{type(exc).__name__}: {exc}")
                    worked = False
                if not worked:
                    self._stop.wait(interval)

        self._thread = threading.Thread(target=loop, name="esm-pollers", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)

    def drain(self, timeout: float = 300.0) -> None:
        """Poll until every mapped source is empty (used by tests, the demo and ``--wait``)."""
        deadline = time.monotonic() + timeout
        idle_rounds = 0
        while idle_rounds < 2:
            if time.monotonic() > deadline:
                raise TimeoutError("event sources did not drain in time")
            idle_rounds = 0 if self.poll_once() else idle_rounds + 1

    # ------------------------------------------------------------------ one pass over every mapping
    def poll_once(self) -> bool:
        with self._busy:
            worked = False
            for m in self.mappings:
                if ":sqs:" in m.source_arn:
                    worked |= self._poll_sqs(m)
                else:
                    worked |= self._poll_stream(m)
            return worked

    # ------------------------------------------------------------------ DynamoDB TTL
    def _sweep_ttl_when_due(self) -> None:
        if self.ttl_clock is None or time.monotonic() - self._last_sweep < self.ttl_every:
            return
        self._last_sweep = time.monotonic()
        now = self.ttl_clock()
        for t in self.ttl_tables:
            self.expire_ttl(t.table, t.attribute, now)

    def expire_ttl(self, table: str, attribute: str, now: float) -> int:
        """Delete the items of ``table`` whose ``attribute`` (epoch seconds) is at or before ``now``, as DynamoDB's
        TTL process does, and tag their REMOVE stream records with its ``userIdentity``. Returns how many.

        Runs while no mapping polls (the records are tagged before any reader sees them). The delete is
        conditional on the attribute, so an item updated to a later TTL meanwhile stays, as on AWS.
        """
        from moto.dynamodb.models import dynamodb_backends

        desc = self._ddb.describe_table(TableName=table)["Table"]
        key_names = [k["AttributeName"] for k in desc["KeySchema"]]
        account = desc["TableArn"].split(":")[4]
        names = {"#t": attribute, **{f"#k{i}": k for i, k in enumerate(key_names)}}
        values = {":now": {"N": str(int(now))}}
        expired: list[dict[str, Any]] = []
        projection = ", ".join(f"#k{i}" for i in range(len(key_names)))
        for page in self._ddb.get_paginator("scan").paginate(
                TableName=table, FilterExpression="#t <= :now", ExpressionAttributeNames=names,
                ExpressionAttributeValues=values, ProjectionExpression=projection):
            expired.extend(page.get("Items", []))
        shard = dynamodb_backends[account][self._region].tables[table].stream_shard
        deleted = 0
        with self._busy:
            for key in expired:
                seen = len(shard.items) if shard is not None else 0
                try:
                    self._ddb.delete_item(TableName=table, Key=key, ConditionExpression="#t <= :now",
                                          ExpressionAttributeNames={"#t": attribute},
                                          ExpressionAttributeValues=values)
                except self._ddb.exceptions.ConditionalCheckFailedException:
                    continue
                deleted += 1
                for rec in shard.items[seen:] if shard is not None else []:
                    if rec.record["eventName"] == "REMOVE" and rec.record["dynamodb"]["Keys"] == key:
                        rec.record["userIdentity"] = dict(_TTL_IDENTITY_API)
                        break
        return deleted

    def _invoke(self, m: Mapping, event: dict[str, Any]) -> tuple[bool, set[str] | None]:
        """Returns (function errored, failed item ids or None when not reported)."""
        body = json.dumps(event, default=event_json_default).encode()
        resp = self._lambda.invoke(FunctionName=m.function_name, Payload=body)
        payload = json.loads(resp["Payload"].read() or b"null")
        if resp.get("FunctionError"):
            return True, None
        if m.partial and isinstance(payload, dict) and "batchItemFailures" in payload:
            return False, {str(f["itemIdentifier"]) for f in payload["batchItemFailures"]}
        return False, set()

    def _poll_sqs(self, m: Mapping) -> bool:
        url = self._sqs.get_queue_url(QueueName=m.source_arn.rsplit(":", 1)[1])["QueueUrl"]
        messages: list[dict[str, Any]] = []
        while len(messages) < m.batch_size:
            got = self._sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=min(10, m.batch_size - len(messages)),
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not got:
                break
            messages.extend(got)
        if not messages:
            return False
        records = [
            {
                "messageId": msg["MessageId"],
                "receiptHandle": msg["ReceiptHandle"],
                "body": msg["Body"],
                "attributes": msg.get("Attributes", {}),
                "messageAttributes": msg.get("MessageAttributes", {}),
                "md5OfBody": msg.get("MD5OfBody", hashlib.md5(msg["Body"].encode()).hexdigest()),  # noqa: S324
                "eventSource": "aws:sqs",
                "eventSourceARN": m.source_arn,
                "awsRegion": m.source_arn.split(":")[3],
            }
            for msg in messages
        ]
        errored, failed = self._invoke(m, {"Records": records})
        if failed and m.source_arn.endswith(".fifo"):
            failed = fifo_failures(messages, failed)
        for msg in messages:
            if errored or (failed and msg["MessageId"] in failed):
                self._sqs.change_message_visibility(
                    QueueUrl=url, ReceiptHandle=msg["ReceiptHandle"], VisibilityTimeout=0
                )
            else:
                self._sqs.delete_message(QueueUrl=url, ReceiptHandle=msg["ReceiptHandle"])
        return True

    def _poll_stream(self, m: Mapping) -> bool:
        if not m.iterators:
            desc = self._streams.describe_stream(StreamArn=m.source_arn)["StreamDescription"]
            for shard in desc["Shards"]:
                it = self._streams.get_shard_iterator(
                    StreamArn=m.source_arn, ShardId=shard["ShardId"], ShardIteratorType=m.starting_position
                )["ShardIterator"]
                m.iterators[shard["ShardId"]] = it
        worked = False
        for shard_id, iterator in list(m.iterators.items()):
            resp = self._streams.get_records(ShardIterator=iterator, Limit=1000)
            records = resp.get("Records", [])
            if records:
                worked = True
                self._deliver_stream(m, records)
            m.iterators[shard_id] = resp.get("NextShardIterator") or iterator
        return worked

    def _deliver_stream(self, m: Mapping, records: list[dict[str, Any]]) -> None:
        for rec in records:
            created = rec.get("dynamodb", {}).get("ApproximateCreationDateTime")
            if hasattr(created, "timestamp"):
                rec["dynamodb"]["ApproximateCreationDateTime"] = int(created.timestamp())
            rec.setdefault("eventSourceARN", m.source_arn)
            rec.setdefault("eventSource", "aws:dynamodb")
            identity = rec.get("userIdentity")
            if isinstance(identity, dict) and "Type" in identity:  # GetRecords' shape -> the Lambda event's
                rec["userIdentity"] = {"type": identity["Type"], "principalId": identity.get("PrincipalId")}
        selected = [r for r in records if not m.filters or any(matches_pattern(f, r) for f in m.filters)]
        for start in range(0, len(selected), m.batch_size):
            batch = selected[start : start + m.batch_size]
            attempts = 0
            while batch:
                errored, failed = self._invoke(m, {"Records": batch})
                if not errored and not failed:
                    break
                attempts += 1
                if failed:  # retry from the first failed record, as Lambda does
                    first = next(
                        i for i, r in enumerate(batch) if r["dynamodb"]["SequenceNumber"] in failed
                    )
                    batch = batch[first:]
                if m.max_retries >= 0 and attempts > m.max_retries:
                    self._send_failure(m, batch)
                    break

    def _send_failure(self, m: Mapping, batch: list[dict[str, Any]]) -> None:
        self.errors.append(f"{m.function_name}: {len(batch)} stream records sent to the failure destination")
        if not m.on_failure_arn:
            return
        url = self._sqs.get_queue_url(QueueName=m.on_failure_arn.rsplit(":", 1)[1])["QueueUrl"]
        body = {
            "requestContext": {"functionArn": m.function_name, "condition": "RetryAttemptsExhausted"},
            "DDBStreamBatchInfo": {
                "streamArn": m.source_arn,
                "startSequenceNumber": batch[0]["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": batch[-1]["dynamodb"]["SequenceNumber"],
                "batchSize": len(batch),
            },
        }
        self._sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body))


def fifo_failures(messages: list[dict[str, Any]], failed: set[str]) -> set[str]:
    """The failed message ids of a FIFO batch, with every message after a failed one in the same group."""
    out = set(failed)
    broken: set[str] = set()
    for msg in messages:
        group = msg.get("Attributes", {}).get("MessageGroupId", "")
        if msg["MessageId"] in failed:
            broken.add(group)
        elif group in broken:
            out.add(msg["MessageId"])
    return out


def event_json_default(value: Any) -> Any:
    """Binary attributes (B) reach Lambda base64-encoded in the event's JSON, as the stream service sends them."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
