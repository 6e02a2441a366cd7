"""The whole collections path on the local stack, driven only through its edges."""

from __future__ import annotations

import email
import json
from datetime import date

import pytest

from dunning_ops.local.demo import sent_emails
from dunning_ops.local.demo_data import DEMO_AS_OF
from tests.support.local import bucket_keys, contacts, demo_events, run, send, table_items


@pytest.fixture(scope="module")
def stack(demo_stack):
    return demo_stack


@pytest.fixture(scope="module")
def first_run(stack):
    return run(stack, DEMO_AS_OF)


def test_events_from_the_queue_land_in_the_ledger(stack):
    items = table_items(stack, "LedgerTable")
    accounts = {i["pk"] for i in items if i["pk"].startswith("ACCT#") and i["sk"] == "PROFILE"}
    invoices = [i for i in items if i["sk"].startswith("INV#")]
    assert len(accounts) == 49
    assert len(invoices) > 100
    assert not bucket_keys(stack, "RunsBucketName", "rejected/")
    dlq = stack.client("sqs").get_queue_attributes(QueueUrl=stack.outputs["EventsDeadLetterQueueUrl"],
                                                   AttributeNames=["ApproximateNumberOfMessages"])
    assert dlq["Attributes"]["ApproximateNumberOfMessages"] == "0"


def test_the_run_succeeds_and_writes_a_summary(stack, first_run):
    assert first_run["status"] == "SUCCEEDED", (first_run.get("error"), first_run.get("cause"))
    summary = json.loads(first_run["output"])
    assert summary["status"] == "SUCCEEDED"
    assert summary["with_open_balance"] > 0
    assert summary["batches_done"] == summary["batch_count"] >= 1
    runs = [i for i in table_items(stack, "RunsTable") if i["sk"] == "RUN"]
    assert any(r["run_id"] == summary["run_id"] and r["status"] == "SUCCEEDED" for r in runs)
    assert bucket_keys(stack, "RunsBucketName", f"runs/{DEMO_AS_OF.isoformat()}/{summary['run_id']}/summary.json")


def test_letter_contacts_have_a_pdf_in_s3_at_the_documented_key(stack, first_run):
    letters = [c for c in contacts(stack) if c["action"] == "letter" and c["source"] == "run"]
    assert letters, "the demo run creates letters"
    keys = set(bucket_keys(stack, "LettersBucketName", "letters/"))
    for c in letters:
        assert c["status"] == "printed" and c["printed_at"], c
        assert [h["status"] for h in c["history"]] == ["pending", "rendered", "printed"]
        assert c["s3_key"] == f"letters/{c['as_of']}/{c['contact_id']}.pdf"
        assert c["s3_key"] in keys
    body = stack.client("s3").get_object(Bucket=stack.outputs["LettersBucketName"], Key=letters[0]["s3_key"])
    assert body["Body"].read().startswith(b"%PDF")


def test_email_contacts_are_sent_through_ses_with_html_and_text(stack, first_run):
    emails = [c for c in contacts(stack) if c["action"] == "email"]
    assert emails
    sent = {m.id: m for m in sent_emails()}
    for c in emails:
        assert c["status"] == "sent", c
        raw = sent[c["ses_message_id"]].raw_data
        msg = email.message_from_string(raw)
        kinds = {part.get_content_type() for part in msg.walk()}
        assert {"text/plain", "text/html"} <= kinds
        assert "collections@dunning.example" in msg["From"]


def test_a_second_run_for_the_same_date_creates_nothing_new(stack, first_run):
    before = {c["contact_id"] for c in contacts(stack)}
    second = run(stack, DEMO_AS_OF)
    assert second["status"] == "SUCCEEDED", (second.get("error"), second.get("cause"))
    assert json.loads(second["output"])["contacts_created"] == 0
    assert {c["contact_id"] for c in contacts(stack)} == before


def test_redelivered_events_change_nothing(stack, first_run):
    ledger_before = sorted((i["pk"], i["sk"], i.get("v")) for i in table_items(stack, "LedgerTable"))
    contacts_before = len(contacts(stack))
    send(stack, demo_events()[:120])
    assert sorted((i["pk"], i["sk"], i.get("v")) for i in table_items(stack, "LedgerTable")) == ledger_before
    assert len(contacts(stack)) == contacts_before


def test_a_later_run_date_acts_again_without_repeating_steps(stack, first_run):
    later = run(stack, date.fromordinal(DEMO_AS_OF.toordinal() + 30))
    assert later["status"] == "SUCCEEDED"
    run_contacts = [c for c in contacts(stack) if c["source"] == "run" and c.get("step_id")]
    keys = [(c["account_id"], c["step_id"], c["invoice_id"]) for c in run_contacts
            if not c["step_id"].startswith("prediction") and c["contact_type"] != "AUTOMATION_LOG"]
    assert len(keys) == len(set(keys)), "a step ran twice for the same invoice"


def test_the_run_ends_with_a_print_extract_per_language_with_its_manifest(stack, first_run):
    import csv
    import io

    summary = json.loads(first_run["output"])
    prefix = f"print/{DEMO_AS_OF.isoformat()}/{summary['run_id']}/"
    assert summary["print"]["ready"] is True
    files = set(bucket_keys(stack, "LettersBucketName", prefix))
    in_extract = [c for c in contacts(stack)
                  if any(h["status"] == "printed" and h["reason"] == f"print extract {prefix}" for h in c["history"])]
    languages = {c["language"] for c in in_extract}
    assert languages == {"en", "pt-BR", "ru", "ar"}
    # one shard per language at the demo's size: {language}-000.pdf with its manifest {language}-000.csv
    assert files == {f"{prefix}{lang}-000.{ext}" for lang in languages for ext in ("pdf", "csv")}
    assert [s["letters"] for s in summary["print"]["extracted"]] == [s["letters"] for s in summary["print"]["shards"]]
    s3 = stack.client("s3")
    rows = []
    for lang in languages:
        body = s3.get_object(Bucket=stack.outputs["LettersBucketName"], Key=f"{prefix}{lang}-000.csv")
        rows += list(csv.DictReader(io.StringIO(body["Body"].read().decode("utf-8"))))
    assert {r["contact_id"] for r in rows} == {c["contact_id"] for c in in_extract}
    assert all(r["recipient_name"] and r["address_1"] and int(r["pages"]) >= 1 for r in rows)
    # the run's own letters come from its batch results, the others (event letters here) from the print queue
    sources = {c["source"] for c in in_extract}
    assert "run" in sources and sources - {"run"}, sources
    assert all(c.get("print_run") == summary["run_id"] for c in in_extract if c["source"] == "run")
    assert not [c for c in contacts(stack) if c.get("print_queue") and c["status"] == "printed"]


def test_a_letter_whose_own_pdf_expired_comes_back_from_its_print_file_through_the_cli(
        stack, first_run, tmp_path, capsys):
    import csv
    import io
    import urllib.request

    from pypdf import PdfReader

    from dunning_ops.cli.main import main as cli

    summary = json.loads(first_run["output"])
    prefix = f"print/{DEMO_AS_OF.isoformat()}/{summary['run_id']}/"
    bucket, s3 = stack.outputs["LettersBucketName"], stack.client("s3")
    in_extract = [c for c in contacts(stack)
                  if any(h["status"] == "printed" and h["reason"] == f"print extract {prefix}" for h in c["history"])]
    # each printed letter records its print file and first page: the manifest's place of it
    for lang in {c["language"] for c in in_extract}:
        body = s3.get_object(Bucket=bucket, Key=f"{prefix}{lang}-000.csv")["Body"].read().decode("utf-8")
        places = {r["contact_id"]: (int(r["first_page"]), int(r["pages"])) for r in csv.DictReader(io.StringIO(body))}
        for c in (c for c in in_extract if c["language"] == lang):
            assert c["print_file"] == f"{prefix}{lang}-000.pdf"
            assert (c["print_first_page"], c["print_pages"] or c["pages"]) == places[c["contact_id"]]

    def text(pdf: bytes) -> list[str]:
        return [p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages]

    # the later of a language's letters (not on page 1), its own PDF deleted as the letters/ lifecycle does
    chosen = max(in_extract, key=lambda c: c["print_first_page"])
    assert chosen["print_first_page"] > 1
    original = s3.get_object(Bucket=bucket, Key=chosen["s3_key"])["Body"].read()
    s3.delete_object(Bucket=bucket, Key=chosen["s3_key"])
    base = ["--endpoint-url", stack.endpoint, "letters"]
    out = tmp_path / "letter.pdf"
    capsys.readouterr()
    assert cli([*base, "get", chosen["contact_id"], "-o", str(out), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert (got["source"], got["key"]) == ("print", f"s3://{bucket}/{chosen['print_file']}")
    assert text(out.read_bytes()) == text(original)

    assert cli([*base, "url", chosen["contact_id"], "--json"]) == 0
    link = json.loads(capsys.readouterr().out)
    assert (link["source"], link["key"]) == ("print", f"letters/retrieved/{chosen['contact_id']}.pdf")
    with urllib.request.urlopen(link["url"], timeout=10) as resp:  # the local stack serves the presigned URL
        assert text(resp.read()) == text(original)
    assert cli([*base, "url", chosen["contact_id"]]) == 0
    assert "cut out of its print file" in capsys.readouterr().out

    assert cli([*base, "get", "c-nobody", "-o", str(out)]) == 2
    assert "--account" in capsys.readouterr().err


def test_assign_fans_out_over_the_ledgers_scan_segments_and_the_manifest_holds_each_account_once(stack, first_run):
    # the run's execution went through the fan-out: begin, one AssignSegment per planned segment, the manifest
    sfn = stack.client("stepfunctions")
    history = sfn.get_execution_history(executionArn=first_run["executionArn"], maxResults=1000)["events"]
    entered = [e["stateEnteredEventDetails"]["name"] for e in history if e["type"].endswith("StateEntered")]
    assert entered[:2] == ["Assign", "ScanSegments"] and "AssignManifest" in entered
    summary = json.loads(first_run["output"])
    record = next(i for i in table_items(stack, "RunsTable") if i["sk"] == "RUN" and i["run_id"] == summary["run_id"])
    plan = next(json.loads(e["taskSucceededEventDetails"]["output"])["Payload"] for e in history
                if e["type"] == "TaskSucceeded" and "total_segments" in e["taskSucceededEventDetails"]["output"])
    assert entered.count("AssignSegment") == len(plan["segments"]) >= 1

    # three invocations over 3 x 2 Scan segments of the real ledger (moto's parallel Scan) give the same accounts
    lam = stack.client("lambda")

    def invoke(payload: dict) -> dict:
        resp = lam.invoke(FunctionName=stack.function_name("AssignFunction"), Payload=json.dumps(payload).encode())
        body = json.loads(resp["Payload"].read())
        assert "FunctionError" not in resp, body
        return body

    run_id, as_of = "run-2026-11-16-fanout01", DEMO_AS_OF.isoformat()
    prefix = f"runs/{as_of}/{run_id}"
    common = {"run_id": run_id, "as_of": as_of, "manifest_prefix": prefix}
    parts = [invoke({"action": "segment", **common, "segment": s, "total_segments": 6, "scan_segments": 2})
             for s in range(3)]
    manifest = invoke({"action": "manifest", **common, "started_at": "2026-11-16T05:00:00+00:00",
                       "segments": parts})
    assert manifest["batches"] == list(range(manifest["batch_count"]))
    s3 = stack.client("s3")
    accounts = [row["account_id"] for b in manifest["batches"] for row in json.loads(
        s3.get_object(Bucket=stack.outputs["RunsBucketName"], Key=f"{prefix}/batch-{b:06d}.json")["Body"].read())]
    assert len(accounts) == len(set(accounts)) == manifest["accounts"] == record["accounts"]
