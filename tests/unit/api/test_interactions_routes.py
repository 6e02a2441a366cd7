"""The interaction routes of the API on the real use cases (the resolver in-process, the interactions table and the
attachments bucket in moto): record, show, move (a stale version is a 409, never a lost update), thread entries,
time, links, tasks, the reports (JSON and CSV), stage membership - and the stage rule: a member of the stage may,
another user of the same group may not (403 that names the stage rule), an admin always may."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest

from dunning.api import context
from dunning.api.resolver import build_app

ROOT = Path(__file__).resolve().parents[3]
TABLE = "interactions"
BUCKET = "attachments"
PROCESS = "customer_requests"
STAGES = ("registered", "in_progress", "awaiting_customer", "resolved")
USERS = {"agent": ("agent@example.com", "agent"), "other": ("other@example.com", "agent"),
         "collector": ("agent-en", "collector"), "admin": ("admin@example.com", "admin"),
         "supervisor": ("sup@example.com", "supervisor")}
# one resolver per test: the routers are module-level and bind to the resolver that included them last (another
# test module's resolver would otherwise hold the request's context)
APP = [build_app()]


def table_definition() -> dict[str, Any]:
    from dunning_ops.local.translate import load_sam_template

    props = load_sam_template(ROOT / "template.yaml")["Resources"]["InteractionsTable"]["Properties"]
    return {k: props[k] for k in ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode")}


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


def call(method: str, path: str, user: str | None = "agent", body: Any = None,
         query: dict[str, str] | None = None, content_type: str = "application/json",
         source_ip: str = "198.51.100.7") -> Answer:
    ctx: dict[str, Any] = {"http": {"method": method, "path": path, "sourceIp": source_ip}, "stage": "$default",
                           "requestId": "r", "routeKey": f"{method} {path}"}
    if user is not None:
        username, group = USERS[user]
        ctx["authorizer"] = {"jwt": {"claims": {"sub": f"sub-{user}", "username": username,
                                                "cognito:groups": f"[{group}]"}, "scopes": None}}
    raw = None
    if body is not None:
        raw = json.dumps(body) if content_type == "application/json" else urlencode(body)
    event = {"version": "2.0", "routeKey": f"{method} {path}", "rawPath": path,
             "rawQueryString": urlencode(query or {}), "queryStringParameters": query,
             "headers": {"content-type": content_type}, "requestContext": ctx, "body": raw, "isBase64Encoded": False}
    out = APP[0].resolve(event, {})
    return Answer(int(out["statusCode"]), {k.lower(): v for k, v in (out.get("headers") or {}).items()},
                  out.get("body") or "")


@pytest.fixture
def world(monkeypatch) -> Iterator[Any]:
    from moto import mock_aws

    from dunning import aws
    from dunning.app import interactions as uc
    from dunning.app.interaction_mail import MailDeps
    from dunning.auth import principal_from_claims
    from dunning.config_loader import load_config_dir
    from dunning.store.attachments import S3Attachments
    from dunning.store.interactions import DynamoInteractionsRepository
    from dunning.store.rate_limit import DynamoRateLimiter

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for k, v in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(k, v)
    config = load_config_dir(ROOT / "infra" / "config")
    APP[0] = build_app()
    with mock_aws():
        aws._client.cache_clear()
        boto3.client("dynamodb").create_table(TableName=TABLE, **table_definition())
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        deps = uc.InteractionDeps(store=DynamoInteractionsRepository(TABLE), attachments=S3Attachments(BUCKET),
                                  config=lambda: config, ledger=None, contacts=None, signing_key=lambda: b"k" * 32)
        mail = MailDeps(interactions=deps, ses=lambda: aws.client("sesv2"), domain="reply.example.com")
        limiter = DynamoRateLimiter(TABLE)
        monkeypatch.setattr(context, "interactions", lambda: deps)
        monkeypatch.setattr(context, "interaction_mail", lambda: mail)
        monkeypatch.setattr(context, "rate_limiter", lambda: limiter)
        admin = principal_from_claims({"sub": "a", "username": "admin@example.com", "cognito:groups": ["admin"]})
        for stage in STAGES:
            uc.add_member(deps, admin, PROCESS, stage, "agent@example.com")
        uc.add_member(deps, admin, PROCESS, "registered", "other@example.com")
        yield deps
        aws._client.cache_clear()


def record(user: str = "agent", **over: Any) -> dict[str, Any]:
    body = {"channel": "phone", "category": "invoice_dispute", "subject": "Invoice INV-9 is wrong",
            "text": "The customer says the reading was estimated.", "customer_name": "Ann Example",
            "customer_email": "ann@example.com", **over}
    r = call("POST", "/api/interactions", user, body)
    assert r.status == 201, r.body
    return dict(r.json())


# ---------------------------------------------------------------------------------------------- record, show
def test_an_agent_records_a_phone_interaction_which_is_numbered_and_shown_with_its_thread(world):
    made = record(subject="<script>alert(1)</script>")
    assert made["number"].startswith("IN-") and made["stage"] == "registered" and made["channel"] == "phone"
    detail = call("GET", f"/api/interactions/{made['id']}").json()
    assert detail["interaction"]["subject"] == "<script>alert(1)</script>"  # stored and returned as text
    assert [e["text"] for e in detail["thread"] if e["kind"] == "comment"] == [
        "The customer says the reading was estimated."]
    assert detail["allowed_moves"] == ["in_progress", "resolved"]
    listed = call("GET", "/api/interactions", query={"process": PROCESS, "stage": "registered"}).json()
    assert [i["id"] for i in listed["items"]] == [made["id"]]


def test_bad_input_is_a_422_with_where_it_is(world):
    r = call("POST", "/api/interactions", "agent", {"channel": "fax", "category": "invoice_dispute"})
    assert r.status == 422 and "channel" in r.body
    r = call("POST", "/api/interactions", "agent", {"channel": "phone", "category": "no_such_category"})
    assert r.status == 422 and "no_such_category" in r.json()["message"]


# ---------------------------------------------------------------------------------------------- the stage rule
def test_the_stage_rule_lets_a_member_act_and_refuses_a_non_member_of_the_same_group(world):
    made = record()
    moved = call("POST", f"/api/interactions/{made['id']}/moves", "agent",
                 {"to_stage": "in_progress", "expected_version": made["version"]})
    assert moved.status == 200 and moved.json()["stage"] == "in_progress"
    for method, path, body in [("GET", f"/api/interactions/{made['id']}", None),
                               ("POST", f"/api/interactions/{made['id']}/entries", {"kind": "note", "text": "x"}),
                               ("POST", f"/api/interactions/{made['id']}/time",
                                {"started_at": "2026-12-01T09:00:00Z", "minutes": 5}),
                               ("GET", f"/api/interactions/{made['id']}/similar", None)]:
        refused = call(method, path, "other", body)
        assert refused.status == 403 and refused.json()["rule"] == "stage", (path, refused.body)
        assert "in_progress" in refused.json()["message"]
    assert call("GET", f"/api/interactions/{made['id']}", "admin").status == 200  # admins pass every stage rule
    assert call("GET", "/api/interactions", "other", query={"process": PROCESS, "stage": "in_progress"}).status == 403


def test_recording_needs_membership_of_the_processs_registered_stage(world):
    r = call("POST", "/api/interactions", "collector", {"channel": "phone", "category": "invoice_dispute"})
    assert r.status == 403 and r.json()["rule"] == "stage"
    assert record("other")["stage"] == "registered"


def test_only_an_admin_manages_stage_membership(world):
    path = f"/api/interaction-processes/{PROCESS}/stages/in_progress/members/agent-en"
    assert call("PUT", path, "supervisor").status == 403
    added = call("PUT", path, "admin")
    assert added.status == 200 and "agent-en" in added.json()["members"]
    listed = call("GET", f"/api/interaction-processes/{PROCESS}/stages/in_progress/members", "collector")
    assert "agent-en" in listed.json()["members"]
    assert "agent-en" not in call("DELETE", path, "admin").json()["members"]
    assert call("PUT", f"/api/interaction-processes/{PROCESS}/stages/nope/members/agent-en", "admin").status in (
        404, 422)


def test_a_user_name_sent_percent_encoded_is_stored_decoded(world):
    # Given a user name with an @, as clients send it in a path (agent%40example.com)
    path = f"/api/interaction-processes/{PROCESS}/stages/in_progress/members/agent%40example.com"
    # Then the member is the user, not the encoded text, and removing it the same way works
    assert "agent@example.com" in call("PUT", path, "admin").json()["members"]
    assert "agent@example.com" not in call("DELETE", path, "admin").json()["members"]


# ---------------------------------------------------------------------------------------------- moves
def test_a_stale_version_is_a_409_and_a_move_the_process_does_not_allow_is_a_422(world):
    made = record()
    first = call("POST", f"/api/interactions/{made['id']}/moves", "agent",
                 {"to_stage": "in_progress", "expected_version": made["version"]})
    assert first.status == 200 and first.json()["version"] == made["version"] + 1
    late = call("POST", f"/api/interactions/{made['id']}/moves", "agent",  # read before the first move
                {"to_stage": "awaiting_customer", "expected_version": made["version"]})
    assert late.status == 409 and late.json()["message"]
    wrong = call("POST", f"/api/interactions/{made['id']}/moves", "agent",
                 {"to_stage": "registered", "expected_version": first.json()["version"]})
    assert wrong.status == 422
    assert call("GET", f"/api/interactions/{made['id']}").json()["interaction"]["stage"] == "in_progress"


def test_closing_a_category_that_requires_time_needs_a_time_entry(world):
    made = record()
    refused = call("POST", f"/api/interactions/{made['id']}/moves", "agent",
                   {"to_stage": "resolved", "expected_version": made["version"]})
    assert refused.status == 422 and "time" in refused.json()["message"]
    logged = call("POST", f"/api/interactions/{made['id']}/time", "agent",
                  {"started_at": "2026-12-01T09:00:00Z", "minutes": 12, "note": "call"})
    assert logged.status == 201 and logged.json()["minutes"] == 12
    closed = call("POST", f"/api/interactions/{made['id']}/moves", "agent",
                  {"to_stage": "resolved", "expected_version": made["version"]})
    assert closed.status == 200 and closed.json()["status"] == "closed"


# ---------------------------------------------------------------------------------------------- thread, links, tasks
def test_comments_and_notes_join_the_thread_and_a_note_cannot_be_shown_to_the_customer(world):
    made = record()
    assert call("POST", f"/api/interactions/{made['id']}/entries", "agent",
                {"kind": "note", "text": "internal", "visibility": "customer"}).status == 422
    note = call("POST", f"/api/interactions/{made['id']}/entries", "agent", {"kind": "note", "text": "{{ 7*7 }}"})
    assert note.status == 201 and note.json()["visibility"] == "agents"
    thread = call("GET", f"/api/interactions/{made['id']}").json()["thread"]
    assert any(e["text"] == "{{ 7*7 }}" and e["kind"] == "note" for e in thread)


def test_links_are_added_and_removed_and_tasks_are_added_and_completed(world):
    made = record()
    link = call("POST", f"/api/interactions/{made['id']}/links", "agent", {"kind": "job", "ref": "JOB-7"})
    assert link.status == 201, link.body
    assert call("GET", f"/api/interactions/{made['id']}").json()["links"][0]["ref"] == "JOB-7"
    assert call("DELETE", f"/api/interactions/{made['id']}/links/job/JOB-7", "agent").json() == {"removed": True}
    assert call("GET", f"/api/interactions/{made['id']}").json()["links"] == []
    task = call("POST", f"/api/interactions/{made['id']}/tasks", "agent", {"title": "Call back"})
    assert task.status == 201, task.body
    done = call("POST", f"/api/interactions/{made['id']}/tasks/{task.json()['task_id']}/complete", "agent", {})
    assert done.status == 200 and done.json()["done"]
    assert [t["done"] for t in call("GET", f"/api/interactions/{made['id']}/tasks").json()] == [True]


def test_similar_requests_count_the_same_customers_same_kind_of_request(world):
    first = record(subject="Invoice INV-9 is wrong")
    second = record(subject="RE: invoice INV-9 is wrong!")
    record(subject="Meter question", category="meter_question")
    similar = call("GET", f"/api/interactions/{second['id']}/similar").json()
    assert similar["count"] >= 1 and first["id"] in [i["id"] for i in similar["earlier"]]


def test_an_upload_starts_with_a_presigned_post_and_a_wrong_type_is_refused(world):
    made = record()
    assert call("POST", f"/api/interactions/{made['id']}/attachments", "agent",
                {"filename": "x.exe", "content_type": "application/x-msdownload", "size": 10}).status == 422
    assert call("POST", f"/api/interactions/{made['id']}/attachments", "agent",
                {"filename": "big.pdf", "content_type": "application/pdf", "size": 11 * 1024 * 1024}).status == 422
    ticket = call("POST", f"/api/interactions/{made['id']}/attachments", "agent",
                  {"filename": "bill.pdf", "content_type": "application/pdf", "size": 1000})
    assert ticket.status == 201 and ticket.json()["fields"]["Content-Type"] == "application/pdf"


# ---------------------------------------------------------------------------------------------- reports
def test_the_time_report_adds_up_and_downloads_as_csv(world):
    made = record()
    for minutes in (10, 25):
        call("POST", f"/api/interactions/{made['id']}/time", "agent",
             {"started_at": "2026-12-01T09:00:00Z", "minutes": minutes})
    report = call("GET", "/api/interaction-reports/time", "supervisor",
                  query={"start": "2026-12-01", "end": "2026-12-31"})
    assert report.status == 200, report.body
    data = report.json()
    assert data["total_minutes"] == 35 == sum(data["by_day"].values()) == sum(data["by_agent"].values())
    assert data["rows"] == []  # the JSON report carries the totals; the CSV lists every cell
    csv = call("GET", "/api/interaction-reports/time", "supervisor",
               query={"start": "2026-12-01", "end": "2026-12-31", "format": "csv"})
    assert csv.status == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.headers["content-disposition"] == 'attachment; filename="interaction-time-2026-12-01-2026-12-31.csv"'
    assert "agent@example.com" in csv.body and "35" in csv.body
    assert call("GET", "/api/interaction-reports/time", "agent").status == 403  # reports: supervisors and admins
    assert call("GET", "/api/interaction-reports/time", "supervisor",
                query={"start": "2026-12-31", "end": "2026-12-01"}).status == 422


def test_the_content_report_counts_the_periods_interactions_and_downloads_as_csv(world):
    record()
    record(category="meter_question", subject="Meter")
    from datetime import UTC, datetime

    today = datetime.now(UTC).date().isoformat()
    data = call("GET", "/api/interaction-reports/content", "admin", query={"start": today, "end": today}).json()
    assert data["total"] == 2 and data["by_category"] == {"invoice_dispute": 1, "meter_question": 1}
    csv = call("GET", "/api/interaction-reports/content", "admin",
               query={"start": today, "end": today, "format": "csv"})
    assert csv.headers["content-type"].startswith("text/csv") and "meter_question" in csv.body
