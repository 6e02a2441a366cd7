"""The sharded print extract over moto's DynamoDB and S3 (the real repositories, the contacts table's schema):
the shard plan, concurrent PDF fetches, pending detection through the run's batch results, the print queue for
every other letter, and the failure paths that hand a run's letters to the next extract."""

from __future__ import annotations

import io
import json
import threading
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pypdf import PdfReader

from dunning.app.letter_delivery import RECIPIENT_METADATA, recipient_metadata
from dunning.app.print_extract import (
    ExtractDeps,
    ExtractOptions,
    PrintExtractInput,
    ShardInput,
    build_planned_shard,
    build_shard,
    extract_when_ready,
    fetch_pdfs,
    plan_shards,
    print_extract_step,
    run_print_extract,
    still_pending,
)
from dunning.letters.extract import ExtractFile
from dunning.models.contacts import Contact
from dunning.store.blobs import S3Blobs
from dunning.store.contacts import PRINT_PENDING, DynamoContactsRepository
from dunning.store.runs import DynamoRunsRepository

from .test_extract import manifest_rows, rendered

AS_OF = date(2026, 11, 16)
RUN = "run-2026-11-16-abcd1234"
T0 = datetime(2026, 11, 16, 5, 0, tzinfo=UTC)


# ---------------------------------------------------------------------------------------------- the plan (pure)
def state(cid: str, status: str = "rendered", language: str = "en", minute: int = 0) -> dict[str, Any]:
    return {"contact_id": cid, "status": status, "language": language,
            "created_at": (T0 + timedelta(minutes=minute)).isoformat()}


def test_the_plan_cuts_each_language_into_shards_of_at_most_the_shard_size_oldest_first():
    states = [state(f"c-en-{n}", minute=10 - n) for n in range(7)] + [state("c-ru-1", language="ru"),
                                                                      state("c-ar-1", language="ar")]
    shards = plan_shards(states, 3)
    assert [(s.language, s.number, len(s.contact_ids)) for s in shards] == [
        ("ar", 0, 1), ("en", 0, 3), ("en", 1, 3), ("en", 2, 1), ("ru", 0, 1)]
    english = [i for s in shards if s.language == "en" for i in s.contact_ids]
    assert english == [f"c-en-{n}" for n in range(6, -1, -1)]  # oldest first, across shards


def test_the_plan_takes_rendered_letters_once_and_nothing_else():
    states = [state("c-1"), state("c-1"), state("c-2", "pending"), state("c-3", "printed"), state("c-4", "failed")]
    assert [s.contact_ids for s in plan_shards(states, 5000)] == [("c-1",)]
    assert plan_shards([], 10) == []
    with pytest.raises(ValueError, match="shard_size"):
        plan_shards(states, 0)


# ---------------------------------------------------------------------------------------------- moto
@pytest.fixture
def aws(monkeypatch):
    from moto import mock_aws

    from dunning import aws as aws_module

    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    aws_module._client.cache_clear()
    with mock_aws():
        from dunning.aws import client

        ddb = client("dynamodb")
        ddb.create_table(
            TableName="contacts", BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"}
                                  for n in ("contact_id", "print_queue", "created_at")],
            KeySchema=[{"AttributeName": "contact_id", "KeyType": "HASH"}],
            GlobalSecondaryIndexes=[{"IndexName": "print_queue", "Projection": {"ProjectionType": "KEYS_ONLY"},
                                     "KeySchema": [{"AttributeName": "print_queue", "KeyType": "HASH"},
                                                   {"AttributeName": "created_at", "KeyType": "RANGE"}]}])
        for table in ("runs", "ledger"):
            ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                             AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk")],
                             KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                        {"AttributeName": "sk", "KeyType": "RANGE"}])
        for bucket in ("letters", "runs-bucket"):
            client("s3").create_bucket(Bucket=bucket)
        yield ExtractDeps(contacts=DynamoContactsRepository("contacts"), letters=S3Blobs("letters"),
                          runs=DynamoRunsRepository("runs"), plans=S3Blobs("runs-bucket"))
    aws_module._client.cache_clear()


def letter(cid: str, *, language: str = "en", print_run: str | None = RUN, minute: int = 0) -> Contact:
    from .support import RECIPIENTS

    name, lines, city, postcode = RECIPIENTS[language]
    person = {"person_id": "P-1", "name": name, "language": language,
              "address": {"lines": lines, "city": city, "postal_code": postcode}}
    return Contact(contact_id=cid, contact_class="COLLECT", contact_type="REMINDER", action="letter",
                   template_code="REMINDER1", language=language, person_id="P-1", source="run" if print_run else "user",
                   source_ref=print_run or "req-1", as_of=AS_OF, created_at=T0 + timedelta(minutes=minute),
                   print_run=print_run, snapshot=json.dumps({"person": person}))


def create(deps: ExtractDeps, letters: list[Contact], batch: int = 0) -> None:
    deps.contacts.create_new(letters)
    run_letters = [c.contact_id for c in letters if c.print_run == RUN]
    if run_letters:
        assert deps.runs is not None
        deps.runs.put_batch_result(RUN, batch, {"batch": batch, "letter_ids": run_letters})


def render(deps: ExtractDeps, c: Contact, *, queue: bool = False) -> None:
    """What delivery._render stores: the PDF, then status rendered with its key (and the queue for non-run
    letters)."""
    key = f"letters/{AS_OF.isoformat()}/{c.contact_id}.pdf"
    assert deps.letters is not None
    deps.letters.put_bytes(key, rendered(c.language, 10).pdf, "application/pdf")
    fields: dict[str, Any] = {"s3_key": key, "pages": rendered(c.language, 10).pages, "language": c.language}
    if queue:
        fields["print_queue"] = PRINT_PENDING
    assert deps.contacts.set_status(c.contact_id, "rendered", fields=fields, only_from=["pending"])


def item(deps: ExtractDeps, cid: str) -> dict[str, Any]:
    from dunning.aws import client
    from dunning.store.dynamo import from_av

    return from_av(client("dynamodb").get_item(TableName="contacts", Key={"contact_id": {"S": cid}})["Item"])


def options(**kw: Any) -> ExtractOptions:
    return ExtractOptions(**{"max_attempts": 3, "wait_seconds": 1, "poll_for": 0.0, "shard_size": 2,
                             "concurrency": 4, **kw})


# ---------------------------------------------------------------------------------------------- pending detection
def test_the_run_waits_while_its_letters_from_the_batch_results_are_pending(aws):
    run_letters = [letter(f"c-{n:03d}") for n in range(3)]
    create(aws, run_letters[:2], batch=0)
    create(aws, run_letters[2:], batch=1)
    render(aws, run_letters[0])
    result = extract_when_ready(PrintExtractInput(run_id=RUN, as_of=AS_OF), aws, options()).model_dump(mode="json")
    assert (result["ready"], result["pending_letters"], result["attempt"], result["shards"]) == (False, 2, 1, [])
    assert not aws.letters.keys("print/")


def test_polling_rechecks_only_the_pending_letters_until_they_are_rendered(aws, monkeypatch):
    run_letters = [letter(f"c-{n:03d}", minute=n) for n in range(3)]
    create(aws, run_letters)
    render(aws, run_letters[0])
    checked: list[list[str]] = []
    original = aws.contacts.letter_states

    def spy(ids: list[str]) -> list[dict[str, Any]]:
        checked.append(sorted(ids))
        return original(ids)

    monkeypatch.setattr(aws.contacts, "letter_states", spy)

    def sleep(_: float) -> None:  # the stream renders while the function waits
        for c in run_letters[1:]:
            if item(aws, c.contact_id)["status"] == "pending":
                render(aws, c)
                return

    result = extract_when_ready(PrintExtractInput(run_id=RUN, as_of=AS_OF), aws, options(poll_for=60),
                                sleep=sleep).model_dump(mode="json")
    assert result["ready"] is True and result["pending_letters"] == 0 and result["letters"] == 3
    assert checked[:3] == [["c-000", "c-001", "c-002"], ["c-001", "c-002"], ["c-002"]]


def test_a_ready_run_plans_its_shards_in_the_runs_bucket_and_the_map_items_build_them(aws):
    run_letters = [letter(f"c-{n:03d}", minute=n) for n in range(3)] + [letter("c-ru", language="ru")]
    create(aws, run_letters)
    for c in run_letters:
        render(aws, c)
    result = extract_when_ready(PrintExtractInput(run_id=RUN, as_of=AS_OF), aws, options()).model_dump(mode="json")
    assert result["ready"] is True and result["letters"] == 4 and result["max_concurrency"] == 4
    prefix = f"print/{AS_OF.isoformat()}/{RUN}/"
    assert result["prefix"] == prefix
    assert [(s["language"], s["shard"], s["letters"]) for s in result["shards"]] == [("en", 0, 2), ("en", 1, 1),
                                                                                    ("ru", 0, 1)]
    assert aws.plans.get_json(result["shards"][0]["key"]) == ["c-000", "c-001"]
    # a few hundred bytes per shard for the state machine, whatever the shard size
    assert all(len(json.dumps(s)) < 300 for s in result["shards"])

    built = [build_planned_shard(ShardInput(run_id=RUN, as_of=AS_OF, prefix=prefix, **s), aws, workers=4)
             for s in result["shards"]]
    assert sorted(aws.letters.keys(prefix)) == sorted(f"{prefix}{n}.{ext}" for n in ("en-000", "en-001", "ru-000")
                                                      for ext in ("pdf", "csv"))
    assert [b.letters for b in built] == [2, 1, 1]
    rows = manifest_rows(ExtractFile("m", aws.letters.get_bytes(f"{prefix}en-000.csv"), "text/csv"))
    assert [r["contact_id"] for r in rows] == ["c-000", "c-001"] and rows[0]["recipient_name"] == "Margaret O'Connor"
    assert len(PdfReader(io.BytesIO(aws.letters.get_bytes(f"{prefix}en-000.pdf"))).pages) == 2
    for c in run_letters:
        stored = item(aws, c.contact_id)
        assert stored["status"] == "printed" and stored["history"][-1]["reason"] == f"print extract {prefix}"

    # a retried shard writes the same files and marks nothing twice
    again = build_planned_shard(ShardInput(run_id=RUN, as_of=AS_OF, prefix=prefix, **result["shards"][0]), aws)
    assert again.letters == 2
    assert [h["status"] for h in item(aws, "c-000")["history"]].count("printed") == 1
    # and the next extract finds nothing left to print
    assert run_print_extract(aws, as_of=AS_OF, run_id=RUN).letters == 0


# ---------------------------------------------------------------------------------------------- part by part
def test_the_extract_is_planned_part_by_part_as_the_letters_render_and_numbers_its_shards_on(aws):
    # three parts of one batch each (part_shards 1 x shard_size 2: a part closes at 2 letters)
    batches = [[letter(f"c-{b}{n}", minute=3 * b + n) for n in range(2)] for b in range(3)]
    for b, group in enumerate(batches):
        create(aws, group, batch=b)
    for c in batches[0]:
        render(aws, c)
    render(aws, batches[2][0])  # a later part's letter rendered early does not make its part ready
    opts = options(part_shards=1, max_attempts=1)
    first = extract_when_ready(PrintExtractInput(run_id=RUN, as_of=AS_OF), aws, opts).model_dump(mode="json")
    assert (first["ready"], first["parts"], first["parts_done"], first["letters"]) == (False, 3, 1, 2)
    assert [(s["language"], s["shard"]) for s in first["shards"]] == [("en", 0)]
    assert first["pending_letters"] == 2 and first["next_shard"] == {"en": 1}
    # the cap: a round per part plus one wait per MIN_LETTERS_PER_SECOND x wait_seconds letters, at least 1
    assert first["max_attempts"] == 3 + 1

    carried = {k: first[k] for k in ("attempt", "parts", "parts_done", "next_shard", "letters_total",
                                     "shards_total", "max_attempts")}
    aws.runs = None  # later rounds read their parts from the runs bucket, not the batch results
    idle = extract_when_ready(PrintExtractInput(run_id=RUN, as_of=AS_OF, **carried), aws, opts)
    assert (idle.ready, idle.letters, idle.shards, idle.parts_done, idle.attempt) == (False, 0, [], 1, 2)

    for c in batches[1] + batches[2][1:]:
        render(aws, c)
    carried = {**carried, "attempt": idle.attempt}
    last = extract_when_ready(PrintExtractInput(run_id=RUN, as_of=AS_OF, **carried), aws, opts).model_dump(mode="json")
    assert last["ready"] is True and last["parts_done"] == 3 and last["letters"] == 4
    assert [(s["shard"], aws.plans.get_json(s["key"])) for s in last["shards"]] == [(1, ["c-10", "c-11"]),
                                                                                     (2, ["c-20", "c-21"])]
    assert (last["letters_total"], last["shards_total"], last["next_shard"]) == (6, 3, {"en": 3})


def test_the_attempt_cap_follows_the_letter_count_within_the_history_bound():
    from dunning.app.print_extract import MAX_ROUNDS, MIN_LETTERS_PER_SECOND, attempt_cap

    opts = options(max_attempts=30, wait_seconds=60)
    assert attempt_cap(100, 1, opts) == 30  # the floor
    letters = 801_980  # a 10M-account run
    assert attempt_cap(letters, 41, opts) == 41 + -(-letters // int(MIN_LETTERS_PER_SECOND * 60))
    assert attempt_cap(10**9, 1, opts) == MAX_ROUNDS


# ---------------------------------------------------------------------------------------------- the print queue
def test_letters_outside_the_run_come_from_the_print_queue_and_leave_it_when_printed(aws):
    run_letter = letter("c-run")
    user_letter = letter("c-user", print_run=None, minute=-5)
    waiting = letter("c-user-pending", print_run=None)
    create(aws, [run_letter, user_letter, waiting])
    render(aws, run_letter)
    render(aws, user_letter, queue=True)
    assert aws.contacts.print_queue_ids() == ["c-user"]

    result = extract_when_ready(PrintExtractInput(run_id=RUN, as_of=AS_OF), aws,
                                options(shard_size=10)).model_dump(mode="json")
    assert [aws.plans.get_json(s["key"]) for s in result["shards"]] == [["c-user", "c-run"]]
    build_planned_shard(ShardInput(run_id=RUN, as_of=AS_OF, prefix=result["prefix"], **result["shards"][0]), aws)
    assert "print_queue" not in item(aws, "c-user") and item(aws, "c-user")["status"] == "printed"
    assert aws.contacts.print_queue_ids() == []
    assert item(aws, "c-user-pending")["status"] == "pending"  # not queued, not waited for: not the run's


def test_after_the_last_attempt_the_rendered_letters_are_extracted_and_the_rest_queued_for_the_next(aws):
    run_letters = [letter("c-a"), letter("c-b")]
    create(aws, run_letters)
    render(aws, run_letters[0])
    result = extract_when_ready(PrintExtractInput(run_id=RUN, as_of=AS_OF, attempt=2), aws,
                                options()).model_dump(mode="json")
    assert result["ready"] is True and result["pending_letters"] == 1 and result["letters"] == 1
    assert aws.contacts.print_queue_ids() == ["c-b"]
    build_planned_shard(ShardInput(run_id=RUN, as_of=AS_OF, prefix=result["prefix"], **result["shards"][0]), aws)

    # a queued letter still pending is not printed; once rendered, a manual extract takes it
    assert run_print_extract(aws, as_of=AS_OF).letters == 0
    render(aws, run_letters[1])
    manual = run_print_extract(aws, as_of=AS_OF, now=T0, shard_size=1).model_dump(mode="json")
    assert manual["letters"] == 1 and manual["prefix"] == f"print/{AS_OF.isoformat()}/manual-20261116T050000/"
    assert manual["files"] == [f"{manual['prefix']}en-000.pdf", f"{manual['prefix']}en-000.csv"]
    assert item(aws, "c-b")["status"] == "printed" and aws.contacts.print_queue_ids() == []


def test_a_failed_run_queues_its_unprinted_letters_for_the_next_extract(aws):
    run_letters = [letter("c-a"), letter("c-b"), letter("c-c")]
    create(aws, run_letters)
    render(aws, run_letters[0])
    render(aws, run_letters[1])
    run_print_extract(aws, as_of=AS_OF, run_id=RUN)  # prints c-a and c-b
    render(aws, run_letters[2])
    result = print_extract_step(PrintExtractInput(run_id=RUN, as_of=AS_OF, action="requeue"), aws, options())
    assert result.model_dump() == {"queued": 1}
    assert aws.contacts.print_queue_ids() == ["c-c"]


# ---------------------------------------------------------------------------------------------- concurrency
def test_a_shard_fetches_its_pdfs_concurrently_and_keeps_their_order(aws):
    keys = [f"letters/x/{n}.pdf" for n in range(12)]
    for n, k in enumerate(keys):
        aws.letters.put_bytes(k, f"pdf-{n}".encode())
    in_flight, peak, lock = 0, 0, threading.Lock()

    class SlowBlobs(S3Blobs):
        def get_with_metadata(self, key: str) -> tuple[bytes, dict[str, str]]:
            nonlocal in_flight, peak
            with lock:
                in_flight += 1
                peak = max(peak, in_flight)
            time.sleep(0.05)
            try:
                return super().get_with_metadata(key)
            finally:
                with lock:
                    in_flight -= 1

    started = time.perf_counter()
    out = fetch_pdfs(SlowBlobs("letters"), keys, workers=4)
    assert [body for body, _ in out] == [f"pdf-{n}".encode() for n in range(12)]
    assert peak == 4 and time.perf_counter() - started < 12 * 0.05
    assert [body for body, _ in fetch_pdfs(SlowBlobs("letters"), keys[:1], workers=4)] == [b"pdf-0"]


def test_a_poll_stops_at_the_first_chunk_that_still_has_a_pending_letter(aws, monkeypatch):
    run_letters = [letter(f"c-{n:03d}", minute=n) for n in range(7)]
    create(aws, run_letters)
    for c in run_letters[:3] + run_letters[5:6]:
        render(aws, c)
    reads: list[list[str]] = []
    original = aws.contacts.letter_states

    def spy(ids: list[str]) -> list[dict[str, Any]]:
        reads.append(list(ids))
        return original(ids)

    monkeypatch.setattr(aws.contacts, "letter_states", spy)
    states: dict[str, dict[str, Any]] = {}
    ids = [c.contact_id for c in run_letters]
    # chunks of 2: c-000/1 rendered, c-002/3 has c-003 pending -> stop; nothing after it is read
    assert still_pending(aws.contacts, ids, states, chunk=2) == ["c-003", "c-004", "c-005", "c-006"]
    assert reads == [["c-000", "c-001"], ["c-002", "c-003"]]
    for c in run_letters[3:]:
        if c.contact_id != "c-005":
            render(aws, c)
    reads.clear()
    # a pass that reaches the end with nothing pending: ready
    assert still_pending(aws.contacts, ["c-003", "c-004", "c-005", "c-006"], states, chunk=2) == []
    assert reads == [["c-003", "c-004"], ["c-005", "c-006"]]


def test_the_manifest_lists_the_address_the_letter_was_rendered_with(aws):
    c = letter("c-moved")
    create(aws, [c])
    render(aws, c)
    key = f"letters/{AS_OF.isoformat()}/{c.contact_id}.pdf"
    # what delivery._render stores with the PDF: the address window's name and lines
    aws.letters.put_bytes(key, aws.letters.get_bytes(key), "application/pdf",
                          metadata={RECIPIENT_METADATA: recipient_metadata("Zoë Ölçer", ["1 New Road", "Leeds"])})
    prefix = f"print/{AS_OF.isoformat()}/manual/"
    build_shard(aws, contact_ids=[c.contact_id], language="en", shard=0, prefix=prefix, workers=2)
    rows = manifest_rows(ExtractFile("m", aws.letters.get_bytes(f"{prefix}en-000.csv"), "text/csv"))
    assert rows[0]["recipient_name"] == "Zoë Ölçer" and rows[0]["address_1"] == "1 New Road"
