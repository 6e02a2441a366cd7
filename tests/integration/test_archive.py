"""Contacts past their retention leave DynamoDB and are kept in S3, on the local stack: contacts created through
the queue get their ``ttl``, the emulated TTL process deletes them, the template's filter hands only those
deletions to the real archive handler, and ``dunning contacts archived`` reads them back. A contact deleted by
a user is not archived."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest

from dunning.app.archive import PREFIX, decode_lines, is_ttl_deletion
from dunning.models.contacts import Contact
from dunning.store.blobs import S3Blobs
from dunning_ops.cli.main import main as cli
from dunning_ops.local.demo_data import DEMO_AS_OF
from tests.support.local import contacts, run

DAY = 86400


@pytest.fixture(scope="module")
def stack(demo_stack):
    run(demo_stack, DEMO_AS_OF)  # the run's contacts too (letters, emails, activities)
    return demo_stack


def lambda_form(rec: dict) -> dict:
    """A GetRecords record as Lambda delivers it (``userIdentity`` keys in camel case)."""
    identity = rec.get("userIdentity")
    if identity:
        rec = {**rec, "userIdentity": {"type": identity["Type"], "principalId": identity["PrincipalId"]}}
    return rec


@pytest.fixture(scope="module")
def expired(stack):
    """The demo's contacts, one deleted by a user, then the rest expired by the TTL process and archived."""
    before = {c["contact_id"]: c for c in contacts(stack)}
    account = next(c["account_id"] for c in before.values() if c.get("account_id"))
    user_deleted = next(cid for cid, c in before.items() if c.get("account_id") == account)
    stack.client("dynamodb").delete_item(TableName=stack.outputs["ContactsTableName"],
                                         Key={"contact_id": {"S": user_deleted}})
    stack.drain()
    archive_fn = stack.function_name("ArchiveContactsFunction")
    calls_before = sum(1 for i in stack.runtime.invocations if i.function_name == archive_fn)
    not_yet = stack.expire_ttl(min(c["ttl"] for c in before.values()) - 1, ["ContactsTable"])
    stack.drain()
    deleted = stack.expire_ttl(time.time() + 91 * DAY, ["ContactsTable"])
    stack.drain()
    blobs = S3Blobs(stack.outputs["RunsBucketName"])
    keys = blobs.keys(PREFIX)
    return SimpleNamespace(before=before, account=account, user_deleted=user_deleted, not_yet=not_yet,
                           deleted=deleted["ContactsTable"], keys=keys, blobs=blobs,
                           lines=[line for k in keys for line in decode_lines(blobs.get_bytes(k))],
                           invocations=[i for i in stack.runtime.invocations if i.function_name == archive_fn],
                           calls_before=calls_before)


def test_every_new_contact_gets_a_ttl_of_created_at_plus_the_retention_days(expired):
    assert len(expired.before) > 10
    for c in expired.before.values():
        created = Contact.model_validate(c).created_at
        assert c["ttl"] == int((created + timedelta(days=90)).timestamp()), c["contact_id"]  # template default


def test_nothing_expires_before_its_ttl(expired):
    assert expired.not_yet == {"ContactsTable": 0}


def test_expired_contacts_leave_the_table_and_are_archived_once_each(stack, expired):
    assert contacts(stack) == []
    assert expired.deleted == len(expired.before) - 1
    archived = {line["contact_id"] for line in expired.lines}
    assert archived == set(expired.before) - {expired.user_deleted}
    assert len(expired.lines) == len(archived)
    for line in expired.lines:
        assert "snapshot" not in line
        original = {k: v for k, v in expired.before[line["contact_id"]].items() if k != "snapshot" and v is not None}
        assert Contact.model_validate(line).model_dump(mode="json", exclude_none=True, exclude={"snapshot"}) == original


def test_one_object_per_invocation_and_no_failures(stack, expired):
    handled = expired.invocations[expired.calls_before:]
    assert handled and not any(i.errored for i in handled)
    assert expired.calls_before == 0  # inserts, updates and the user's delete never reached it
    assert len(expired.keys) == len(handled) <= -(-len(expired.lines) // 1000) + 1
    assert all(k.endswith(".jsonl.gz") for k in expired.keys)
    depth = stack.client("sqs").get_queue_attributes(QueueUrl=stack.outputs["StreamFailureQueueUrl"],
                                                     AttributeNames=["ApproximateNumberOfMessages"])
    assert depth["Attributes"]["ApproximateNumberOfMessages"] == "0"
    assert stack.pollers.errors == []


def test_a_redelivered_batch_overwrites_the_same_object_with_the_same_bytes(stack, expired):
    from tests.support.scenarios import stream_records

    records = [lambda_form(r) for r in stream_records(SimpleNamespace(stack=stack))]
    ttl_records = [r for r in records if is_ttl_deletion(r)]
    user_removes = [r for r in records if r["eventName"] == "REMOVE" and not is_ttl_deletion(r)]
    assert [r["dynamodb"]["Keys"]["contact_id"]["S"] for r in user_removes] == [expired.user_deleted]
    if len(expired.keys) != 1:
        pytest.skip("the stream delivered the deletions in more than one batch")
    (key,) = expired.keys
    body = expired.blobs.get_bytes(key)
    resp = stack.client("lambda").invoke(FunctionName=stack.function_name("ArchiveContactsFunction"),
                                         Payload=json.dumps({"Records": ttl_records}, default=str).encode())
    assert json.loads(resp["Payload"].read()) == {"batchItemFailures": []}
    assert expired.blobs.keys(PREFIX) == [key] and expired.blobs.get_bytes(key) == body


def test_the_cli_lists_an_accounts_archived_contacts(stack, expired, capsys):
    base = ["--endpoint-url", stack.endpoint, "contacts", "archived", "--account", expired.account]
    capsys.readouterr()
    assert cli([*base, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    wanted = {cid for cid, c in expired.before.items() if c.get("account_id") == expired.account} - {
        expired.user_deleted}
    assert {c["contact_id"] for c in listed} == wanted
    created = min(Contact.model_validate(c).created_at for c in listed).date()
    assert cli([*base, "--since", created.isoformat()]) == 0
    assert next(iter(wanted)) in capsys.readouterr().out
    assert cli([*base, "--since", (created + timedelta(days=1)).isoformat(), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert cli(["--endpoint-url", stack.endpoint, "contacts", "archived", "--account", "NOBODY"]) == 0
    assert "no archived contacts" in capsys.readouterr().out


def test_an_archived_letter_whose_own_pdf_expired_comes_back_with_its_account(stack, expired, tmp_path, capsys):
    archived = {line["contact_id"]: line for line in expired.lines}
    c = next(c for cid, c in expired.before.items() if cid in archived and c.get("print_file"))
    assert archived[c["contact_id"]]["print_file"] == c["print_file"]
    bucket, s3 = stack.outputs["LettersBucketName"], stack.client("s3")
    s3.delete_object(Bucket=bucket, Key=c["s3_key"])  # as the letters/ lifecycle does after LetterRetentionDays
    base = ["--endpoint-url", stack.endpoint, "letters", "get", c["contact_id"], "-o", str(tmp_path / "l.pdf")]
    capsys.readouterr()
    assert cli(base) == 2
    assert "--account" in capsys.readouterr().err
    assert cli([*base, "--account", c["account_id"], "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert (got["source"], got["key"]) == ("print", f"s3://{bucket}/{c['print_file']}")
    assert (tmp_path / "l.pdf").read_bytes().startswith(b"%PDF") and got["pages"] == c["pages"]
