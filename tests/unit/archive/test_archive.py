"""Archiving contacts that DynamoDB's TTL deleted: the records selected, the lines kept, one object per batch."""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from dunning.app.archive import (
    PREFIX,
    ArchiveBatch,
    NotArchivable,
    archive_key,
    archived_contact,
    archived_contacts,
    decode_lines,
    encode_lines,
    is_ttl_deletion,
)
from dunning.models.contacts import Contact
from dunning.store.contacts import DEFAULT_RETENTION_DAYS, DynamoContactsRepository, expires_at
from dunning_ops.local.pollers import TTL_IDENTITY, matches_pattern
from dunning_ops.local.translate import load_sam_template
from tests.unit.core.fakes import FakeBlobs

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = json.loads((ROOT / "events" / "archive_contacts.json").read_text(encoding="utf-8"))
TTL_RECORD = SAMPLE["Records"][0]


def ttl_record(n: int, contact_id: str | None = None) -> dict[str, Any]:
    rec = copy.deepcopy(TTL_RECORD)
    cid = contact_id or f"c-{n:024d}"
    rec["dynamodb"]["OldImage"]["contact_id"] = {"S": cid}
    rec["dynamodb"]["Keys"] = {"contact_id": {"S": cid}}
    rec["dynamodb"]["SequenceNumber"] = str(500000000000000000000000 + n)
    return rec


def user_delete(rec: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(rec)
    del out["userIdentity"]
    return out


class RecordingBlobs(FakeBlobs):
    """The runs bucket in memory, with every PUT recorded in order."""

    def __init__(self) -> None:
        super().__init__("runs")
        self.puts: list[tuple[str, bytes]] = []

    def put_bytes(self, key: str, body: bytes, content_type: str = "application/octet-stream",
                  metadata: dict[str, str] | None = None) -> None:
        self.puts.append((key, body))
        super().put_bytes(key, body, content_type, metadata)


# ---------------------------------------------------------------------------------------------- ttl on create
def test_a_new_contact_gets_its_ttl_from_created_at_and_the_retention(monkeypatch):
    written: list[dict[str, Any]] = []
    monkeypatch.setattr("dunning.store.contacts.dynamo.batch_get", lambda *a, **k: [])
    monkeypatch.setattr("dunning.store.contacts.dynamo.batch_write", lambda table, items: written.extend(items))
    contact = Contact.model_validate(archived_contact(TTL_RECORD)).model_copy(update={"ttl": None})
    created = DynamoContactsRepository("contacts", retention_days=30).create_new([contact])
    expected = int(contact.created_at.timestamp()) + 30 * 86400
    assert created[0].ttl == expected and written[0]["ttl"] == expected
    assert expires_at(contact.created_at, DEFAULT_RETENTION_DAYS) == int(
        (contact.created_at + timedelta(days=90)).timestamp())


# ---------------------------------------------------------------------------------------------- selection
def test_only_ttl_deletions_are_selected_by_the_template_filter_and_by_the_code():
    sam = load_sam_template(ROOT / "template.yaml")
    mapping = sam["Resources"]["ArchiveContactsFunction"]["Properties"]["Events"]["ExpiredContacts"]["Properties"]
    (pattern,) = [json.loads(f["Pattern"]) for f in mapping["FilterCriteria"]["Filters"]]
    insert = {**copy.deepcopy(TTL_RECORD), "eventName": "INSERT"}
    other_service = copy.deepcopy(TTL_RECORD)
    other_service["userIdentity"] = {"type": "Service", "principalId": "lambda.amazonaws.com"}
    assert TTL_RECORD["userIdentity"] == TTL_IDENTITY
    assert matches_pattern(pattern, TTL_RECORD) and is_ttl_deletion(TTL_RECORD)
    for rec in (user_delete(TTL_RECORD), insert, other_service):
        assert not matches_pattern(pattern, rec) and not is_ttl_deletion(rec)
    assert (mapping["BatchSize"], mapping["MaximumBatchingWindowInSeconds"]) == (1000, 300)
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"] and mapping["BisectBatchOnFunctionError"]


def test_the_archived_line_is_the_contact_without_its_snapshot():
    assert "snapshot" in TTL_RECORD["dynamodb"]["OldImage"]
    line = archived_contact(TTL_RECORD)
    assert "snapshot" not in line
    contact = Contact.model_validate(line)
    assert (contact.contact_id, contact.account_id, contact.status) == ("c-sample-archive-0001", "A-S-1", "printed")
    assert contact.ttl == int(TTL_RECORD["dynamodb"]["OldImage"]["ttl"]["N"])


def test_an_unreadable_record_is_refused_without_its_values_in_the_message():
    rec = copy.deepcopy(TTL_RECORD)
    rec["dynamodb"]["OldImage"]["created_at"] = {"S": "jane.doe@example.com"}
    with pytest.raises(NotArchivable) as err:
        archived_contact(rec)
    assert "created_at" in str(err.value) and "jane" not in str(err.value)
    assert err.value.__cause__ is None and err.value.__suppress_context__
    no_image = copy.deepcopy(TTL_RECORD)
    del no_image["dynamodb"]["OldImage"]
    with pytest.raises(NotArchivable):
        archived_contact(no_image)


# ---------------------------------------------------------------------------------------------- one object per batch
def test_a_batch_of_a_thousand_is_one_deterministic_object():
    records = [ttl_record(n) for n in range(1000)]
    blobs = RecordingBlobs()
    for attempt in range(2):  # a retried batch writes the same key with the same bytes
        batch = ArchiveBatch()
        for rec in records:
            batch.add(rec)
        result = batch.write(blobs, records)
        assert result.contacts == 1000 and result.key == blobs.puts[attempt][0]
    assert len(blobs.puts) == 2 and blobs.puts[0] == blobs.puts[1]
    expired = datetime.fromtimestamp(TTL_RECORD["dynamodb"]["ApproximateCreationDateTime"], UTC)
    assert blobs.puts[0][0] == archive_key(records[0]["dynamodb"]["SequenceNumber"],
                                           records[-1]["dynamodb"]["SequenceNumber"], expired)
    assert blobs.puts[0][0].startswith(f"{PREFIX}{expired:%Y/%m/%d}/")
    lines = decode_lines(blobs.puts[0][1])
    assert [line["contact_id"] for line in lines] == [f"c-{n:024d}" for n in range(1000)]


def test_records_that_are_not_ttl_deletions_are_not_written():
    batch = ArchiveBatch()
    batch.add(user_delete(TTL_RECORD))
    blobs = RecordingBlobs()
    result = batch.write(blobs, [TTL_RECORD])
    assert (result.contacts, result.ignored, result.key, blobs.puts) == (0, 1, None, [])


def test_encoding_is_byte_for_byte_repeatable():
    lines = [archived_contact(r) for r in SAMPLE["Records"]]
    assert encode_lines(lines) == encode_lines(lines)
    assert decode_lines(encode_lines(lines)) == lines


def test_reading_the_archive_keeps_one_line_per_contact_and_filters_by_account_and_date():
    blobs = RecordingBlobs()
    first = [ttl_record(n) for n in range(3)]
    retried = first[1:]  # a batch delivered again from its 2nd record: contacts 1 and 2 are in two objects
    other = ttl_record(9, "c-other-account")
    other["dynamodb"]["OldImage"]["account_id"] = {"S": "A-OTHER"}
    for records in (first, retried, [other]):
        batch = ArchiveBatch()
        for rec in records:
            batch.add(rec)
        batch.write(blobs, records)
    got = archived_contacts(blobs, "A-S-1")
    assert [c.contact_id for c in got] == [f"c-{n:024d}" for n in range(3)]
    created = got[0].created_at.date()
    assert len(archived_contacts(blobs, "A-S-1", since=created)) == 3
    assert archived_contacts(blobs, "A-S-1", since=created + timedelta(days=1)) == []
    assert [c.contact_id for c in archived_contacts(blobs, "A-OTHER")] == ["c-other-account"]


# ---------------------------------------------------------------------------------------------- the handler
@pytest.fixture
def handler_module(monkeypatch):
    """The function's handler against moto's S3, with the environment the template gives it."""
    from moto import mock_aws

    from dunning import aws

    for key in ("AWS_ENDPOINT_URL",):
        monkeypatch.delenv(key, raising=False)
    env = {"LEDGER_TABLE": "l", "CONTACTS_TABLE": "c", "RUNS_TABLE": "r", "IDEMPOTENCY_TABLE": "i",
           "LETTERS_BUCKET": "letters", "RUNS_BUCKET": "runs-bucket", "AWS_ACCESS_KEY_ID": "x",
           "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with mock_aws():
        aws._client.cache_clear()
        path = ROOT / "functions" / "archive_contacts" / "app.py"
        spec = importlib.util.spec_from_file_location("archive_contacts_app_under_test", path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        yield module
        aws._client.cache_clear()


def _context() -> Any:
    from dunning_ops.local.runtime import LambdaContext

    return LambdaContext("archive", "arn:aws:lambda:us-east-1:123456789012:function:archive", 512, 120)


def test_the_handler_reports_unreadable_records_and_writes_the_rest_once(handler_module):
    from dunning.aws import client

    s3 = client("s3")
    s3.create_bucket(Bucket="runs-bucket")
    records = [ttl_record(n) for n in range(1000)]
    records[500]["dynamodb"]["OldImage"]["action"] = {"S": "carrier-pigeon"}
    result = handler_module.handler({"Records": records}, _context())
    assert result == {"batchItemFailures": [{"itemIdentifier": records[500]["dynamodb"]["SequenceNumber"]}]}
    (obj,) = s3.list_objects_v2(Bucket="runs-bucket", Prefix=PREFIX)["Contents"]
    lines = decode_lines(s3.get_object(Bucket="runs-bucket", Key=obj["Key"])["Body"].read())
    assert len(lines) == 999 and records[500]["dynamodb"]["Keys"]["contact_id"]["S"] not in {
        line["contact_id"] for line in lines}


def test_the_handler_fails_the_whole_batch_when_the_archive_cannot_be_written(handler_module):
    from dunning.errors import StoreError

    with pytest.raises(StoreError):  # no bucket: the stream delivers the batch again
        handler_module.handler({"Records": [ttl_record(1)]}, _context())
