"""The sample events in events/ (the ones `sam local invoke -e` uses) invoke the real handlers on the local stack."""

from __future__ import annotations

import json

import pytest

from tests.support.local import ROOT, bucket_keys, contacts, send, start_stack

EVENTS = ROOT / "events"


def invoke(stack, logical_id: str, payload: dict) -> dict:
    resp = stack.client("lambda").invoke(FunctionName=stack.function_name(logical_id),
                                         Payload=json.dumps(payload).encode())
    body = json.loads(resp["Payload"].read())
    assert "FunctionError" not in resp, body
    return body


def sample(name: str) -> dict:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def stack():
    s = start_stack()
    yield s
    s.stop()


def test_every_function_has_a_sample_event():
    for folder in (ROOT / "functions").iterdir():
        if folder.is_dir() and (folder / "app.py").exists():
            assert (EVENTS / f"{folder.name}.json").exists(), f"events/{folder.name}.json is missing"


def test_ingest_sample_reports_only_real_failures_and_rejects_the_invalid_record(stack):
    result = invoke(stack, "IngestFunction", sample("ingest.json"))
    assert result == {"batchItemFailures": []}
    rejected = bucket_keys(stack, "RunsBucketName", "rejected/")
    assert len(rejected) == 1 and rejected[0].endswith("00000000-0000-4000-8000-000000000003.json")


def test_run_samples_chain_through_assign_evaluate_create_and_summarize(stack):
    send(stack, [json.loads(r["body"]) for r in sample("ingest.json")["Records"][:2]])
    send(stack, [{"event_id": "sample-acct", "event_type": "account.upserted", "occurred_at": "2026-11-01T08:00:00Z",
                  "source": "crm", "data": {"account_id": "A-S-1", "currency": "EUR", "main_person_id": "P-S-1",
                                            "attributes": {"segment": "residential"}}}])
    run = invoke(stack, "AssignFunction", sample("assign.json"))
    assert run["batch_count"] == 1 and run["accounts"] == 1
    batch = {**sample("evaluate.json"), "run_id": run["run_id"], "manifest_prefix": run["manifest_prefix"]}
    evaluated = invoke(stack, "EvaluateFunction", batch)
    assert evaluated["evaluated"] == 1
    created = invoke(stack, "CreateContactsFunction", {**sample("create_contacts.json"), **batch,
                                                        "decisions_key": evaluated["decisions_key"]})
    assert created["acting_accounts"] == 1
    summary = invoke(stack, "SummarizeRunFunction", {**sample("summarize_run.json"), "run_id": run["run_id"]})
    assert summary["status"] == "SUCCEEDED" and summary["batches_done"] == 1


def test_scheduled_input_resolves_the_as_of_date_in_the_schedule_time_zone(stack):
    run = invoke(stack, "AssignFunction", sample("assign_scheduled.json"))
    assert run["as_of"] == "2026-11-16"


@pytest.mark.parametrize(("logical_id", "name"), [("RenderLetterFunction", "render_letter.json"),
                                                   ("SendEmailFunction", "send_email.json")])
def test_stream_samples_are_processed_without_batch_failures(stack, logical_id, name):
    # the sample contacts reference the sample person and account ingested above
    send(stack, [json.loads(r["body"]) for r in sample("ingest.json")["Records"][:2]])
    event = sample(name)
    image = event["Records"][0]["dynamodb"]["NewImage"]
    from dunning.store.dynamo import from_av, to_av

    stack.client("dynamodb").put_item(TableName=stack.outputs["ContactsTableName"], Item=to_av(from_av(image)))
    result = invoke(stack, logical_id, event)
    assert result == {"batchItemFailures": []}
    status = {c["contact_id"]: c for c in contacts(stack)}[image["contact_id"]["S"]]
    assert status["status"] in ("rendered", "sent"), status


def test_archive_sample_writes_the_expired_contacts_to_one_archive_object(stack):
    from dunning.app.archive import PREFIX, decode_lines
    from dunning.store.blobs import S3Blobs

    event = sample("archive_contacts.json")
    assert invoke(stack, "ArchiveContactsFunction", event) == {"batchItemFailures": []}
    blobs = S3Blobs(stack.outputs["RunsBucketName"])
    first, last = (event["Records"][i]["dynamodb"]["SequenceNumber"] for i in (0, -1))
    assert blobs.keys(PREFIX) == [f"{PREFIX}2026/11/16/{first}-{last}.jsonl.gz"]
    lines = decode_lines(blobs.get_bytes(blobs.keys(PREFIX)[0]))
    assert [line["contact_id"] for line in lines] == ["c-sample-archive-0001", "c-sample-archive-0002"]
    assert all("snapshot" not in line for line in lines)
