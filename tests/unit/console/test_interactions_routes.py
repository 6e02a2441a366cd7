"""The interaction pages through the console's routes (payload 2.0 events in-process) on the real use cases, with
the interactions table and the attachments bucket in moto: a signed-in agent records a phone request, moves it
(a stale version is a clear conflict, not a lost update), writes in the thread, logs time, attaches a file
through the presigned POST flow; the stage rule and CSRF hold; the reports add up and download as CSV."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest

from dunning.auth import Group, Principal
from dunning.console import security
from dunning.settings import ConsoleSettings

ROOT = Path(__file__).resolve().parents[3]
TABLE = "interactions"
BUCKET = "attachments"
SID = "s" * 43
SETTINGS = ConsoleSettings.model_validate({
    "LEDGER_TABLE": "ledger", "CONTACTS_TABLE": "contacts", "RUNS_TABLE": "runs", "RUNS_BUCKET": "runs-bucket",
    "LETTERS_BUCKET": "letters-bucket", "COGNITO_USER_POOL_ID": "pool", "COGNITO_CLIENT_ID": "client",
    "COGNITO_ISSUER": "https://cognito-idp.us-east-1.amazonaws.com/pool", "CONSOLE_SECURE_COOKIES": "true",
    "INTERACTIONS_TABLE": TABLE, "ATTACHMENTS_BUCKET": BUCKET, "SIGNING_SECRET_ARN": "arn:secret"})
USERS = {
    "agent": Principal(user_id="u-1", username="agent@example.com", groups=frozenset({Group.AGENT})),
    "other": Principal(user_id="u-2", username="other@example.com", groups=frozenset({Group.AGENT})),
    "admin": Principal(user_id="u-0", username="admin@example.com", groups=frozenset({Group.ADMIN})),
    "supervisor": Principal(user_id="u-3", username="sup@example.com", groups=frozenset({Group.SUPERVISOR})),
}
PROCESS = "customer_requests"


class Context:
    function_name = "console"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:console"
    aws_request_id = "req-1"


@dataclass
class World:
    deps: Any

    def call(self, path: str, user: str | None = "agent", method: str = "GET", form: dict[str, str] | None = None,
             query: dict[str, str] | None = None, csrf: bool = True) -> dict[str, Any]:
        from dunning.console.routes import resolve

        cookies = [f"__Host-{security.SID}={SID}"]
        if user:
            cookies.append(f"__Host-{security.SESSION}={user}")
        body = None
        if form is not None:
            body = urlencode({**form, **({"csrf": security.csrf_token(SID)} if csrf else {})})
        event = {"version": "2.0", "routeKey": f"{method} {path}", "rawPath": path,
                 "rawQueryString": urlencode(query or {}),
                 "headers": {"accept-language": "en", "host": "console.example", "x-forwarded-proto": "https",
                             **({"content-type": "application/x-www-form-urlencoded"} if body else {})},
                 "queryStringParameters": query, "cookies": cookies, "isBase64Encoded": False, "body": body,
                 "requestContext": {"http": {"method": method, "path": path, "sourceIp": "10.0.0.1",
                                             "userAgent": "t"}, "stage": "$default", "domainName": "console.example",
                                    "requestId": "r"}}
        return resolve(event, Context(), SETTINGS)

    def post(self, path: str, form: dict[str, str], user: str = "agent", **kw: Any) -> dict[str, Any]:
        return self.call(path, user, "POST", form, **kw)

    def record(self, user: str = "agent", subject: str = "Invoice INV-9 is wrong", **over: str) -> str:
        form = {"channel": "phone", "category": "invoice_dispute", "subject": subject,
                "text": "The customer says the meter reading was estimated.", "customer_name": "Ann Example",
                "customer_email": "ann@example.com", "account_id": "", **over}
        answer = self.post("/console/interactions", form, user)
        assert answer["statusCode"] == 303, answer["body"][:400]
        location = answer["headers"]["Location"]
        found = re.match(r"^/console/interactions/([^?#]+)\?done=interaction_recorded$", location)
        assert found, location
        return found.group(1)

    def page(self, interaction_id: str, user: str = "agent", done: str = "") -> str:
        answer = self.call(f"/console/interactions/{interaction_id}", user, query={"done": done} if done else None)
        assert answer["statusCode"] == 200, answer["body"][:400]
        return str(answer["body"])


def _table_definition() -> dict[str, Any]:
    from dunning_ops.local.translate import load_sam_template

    props = load_sam_template(ROOT / "template.yaml")["Resources"]["InteractionsTable"]["Properties"]
    return {k: props[k] for k in ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode")}


@pytest.fixture
def world(monkeypatch) -> Iterator[World]:
    from moto import mock_aws

    from dunning import aws
    from dunning.app import interactions as uc
    from dunning.app.deps import ConsoleDeps
    from dunning.config_loader import load_config_dir
    from dunning.console import routes
    from dunning.console import session as console_session
    from dunning.store.attachments import S3Attachments
    from dunning.store.interactions import DynamoInteractionsRepository

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for k, v in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(k, v)
    config = load_config_dir(ROOT / "infra" / "config")
    with mock_aws():
        aws._client.cache_clear()
        boto3.client("dynamodb").create_table(TableName=TABLE, **_table_definition())
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        deps = uc.InteractionDeps(store=DynamoInteractionsRepository(TABLE), attachments=S3Attachments(BUCKET),
                                  config=lambda: config, ledger=None, contacts=None, signing_key=lambda: b"k" * 32)
        from dunning.app.interaction_mail import MailDeps

        boto3.client("sesv2").create_email_identity(EmailIdentity=config.interactions.mail.from_address)
        mail = MailDeps(interactions=deps, ses=lambda: boto3.client("sesv2"), domain="mail.dunning.example")
        made = ConsoleDeps(reads=None, activities=None, pool=None, interactions=deps,  # type: ignore[arg-type]
                           mail=mail)
        monkeypatch.setattr(routes, "console_deps", lambda settings: made)
        monkeypatch.setattr(console_session, "verify_token", lambda token: USERS[token])
        admin = USERS["admin"]
        for stage in ("registered", "in_progress", "awaiting_customer", "resolved"):
            uc.add_member(deps, admin, PROCESS, stage, USERS["agent"].username)
        uc.add_member(deps, admin, PROCESS, "registered", USERS["other"].username)
        yield World(deps=deps)
        aws._client.cache_clear()


def version_of(page: str) -> str:
    found = re.search(r'name="expected_version" value="(\d+)"', page)
    assert found, page[:300]
    return found.group(1)


# ---------------------------------------------------------------------------------------------- record, list
def test_an_agent_records_a_phone_request_and_it_is_numbered_listed_and_shown_as_text(world):
    interaction_id = world.record(subject="<b>bold</b> & <script>alert(1)</script>")
    page = world.page(interaction_id, done="interaction_recorded")
    number = re.search(r'<span class="number">(IN-\d{4}-\d{6})</span>', page)
    assert number, page[:500]
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "The interaction is recorded." in page and "Phone" in page and "Invoice dispute" in page
    listing = world.call("/console/interactions")["body"]
    assert number.group(1) in listing and "&lt;b&gt;bold&lt;/b&gt;" in listing
    narrowed = world.call("/console/interactions", query={"channel": "internet"})["body"]
    assert number.group(1) not in narrowed and "No interaction here." in narrowed
    by_stage = world.call("/console/interactions", query={"stage": f"{PROCESS}/registered"})["body"]
    assert number.group(1) in by_stage


def test_the_stage_rule_keeps_a_non_member_out_of_an_interaction_and_its_stage(world):
    interaction_id = world.record()
    world.post(f"/console/interactions/{interaction_id}/moves",
               {"to_stage": "in_progress", "expected_version": version_of(world.page(interaction_id))})
    refused = world.call(f"/console/interactions/{interaction_id}", "other")
    assert refused["statusCode"] == 403 and "Not in your stages" in refused["body"]
    listing = world.call("/console/interactions", "other", query={"stage": f"{PROCESS}/in_progress"})
    assert listing["statusCode"] == 403
    assert world.call(f"/console/interactions/{interaction_id}", "admin")["statusCode"] == 200  # admins: every stage


def test_a_post_without_its_csrf_token_is_refused_and_records_nothing(world):
    answer = world.post("/console/interactions", {"channel": "phone", "category": "invoice_dispute",
                                                   "subject": "x", "text": "y"}, csrf=False)
    assert answer["statusCode"] == 400
    assert "No interaction here." in world.call("/console/interactions")["body"]


def test_without_a_session_the_interaction_pages_send_to_sign_in(world):
    answer = world.call("/console/interactions", user=None)
    assert answer["statusCode"] == 303 and answer["headers"]["Location"].startswith("/console/sign-in?next=")


# ---------------------------------------------------------------------------------------------- stages
def test_a_move_carries_the_version_it_read_and_a_stale_one_is_a_conflict_not_a_lost_update(world):
    interaction_id = world.record()
    page = world.page(interaction_id)
    seen = version_of(page)
    assert re.findall(r'name="to_stage" value="([a-z_]+)"', page) == ["in_progress", "resolved"]
    moved = world.post(f"/console/interactions/{interaction_id}/moves", {"to_stage": "in_progress",
                                                                         "expected_version": seen})
    assert moved["statusCode"] == 303 and "done=interaction_moved" in moved["headers"]["Location"]
    late = world.post(f"/console/interactions/{interaction_id}/moves", {"to_stage": "awaiting_customer",
                                                                        "expected_version": seen})
    assert late["statusCode"] == 409 and "Someone else changed this interaction" in late["body"]
    after = world.page(interaction_id)
    assert re.search(r'<dd id="stage">In progress</dd>', after)
    assert re.findall(r'name="to_stage" value="([a-z_]+)"', after) == ["awaiting_customer", "resolved"]


def test_a_move_the_process_does_not_allow_is_refused_with_the_reason(world):
    interaction_id = world.record()
    answer = world.post(f"/console/interactions/{interaction_id}/moves",
                        {"to_stage": "awaiting_customer", "expected_version": version_of(world.page(interaction_id))})
    assert answer["statusCode"] == 422 and "awaiting_customer" in unescape(answer["body"])


def test_a_category_that_requires_time_cannot_close_without_it_and_can_once_time_is_logged(world):
    interaction_id = world.record()
    refused = world.post(f"/console/interactions/{interaction_id}/moves",
                         {"to_stage": "resolved", "expected_version": version_of(world.page(interaction_id))})
    assert refused["statusCode"] == 422
    logged = world.post(f"/console/interactions/{interaction_id}/time",
                        {"started_at": (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
                         "minutes": "12", "note": "call"})
    assert logged["statusCode"] == 303
    closed = world.post(f"/console/interactions/{interaction_id}/moves",
                        {"to_stage": "resolved", "expected_version": version_of(world.page(interaction_id))})
    assert closed["statusCode"] == 303
    assert 'id="status">closed<' in world.page(interaction_id)


# ---------------------------------------------------------------------------------------------- email
def _sent() -> list[dict[str, Any]]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return list(ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages)


def test_a_reply_by_email_goes_out_through_ses_and_into_the_thread(world):
    interaction_id = world.record()
    before = len(_sent())  # the category's automatic acknowledgement went out when it was recorded
    assert before == 1
    answer = world.post(f"/console/interactions/{interaction_id}/entries", {"kind": "email", "action": "save",
                                                                            "text": "The invoice is corrected."})
    assert answer["statusCode"] == 303 and "done=reply_sent" in answer["headers"]["Location"]
    assert len(_sent()) == before + 1
    page = world.page(interaction_id)
    out = re.search(r'<li class="entry kind-email_out">.*?</li>', page, re.S)
    assert out and "The invoice is corrected." in out.group(0)


def test_update_and_send_moves_and_mails_in_one_submit_and_a_stale_move_sends_nothing(world):
    interaction_id = world.record()
    seen = version_of(world.page(interaction_id))
    sent = len(_sent())
    both = world.post(f"/console/interactions/{interaction_id}/entries",
                      {"action": "send", "kind": "comment", "text": "We are on it.", "to_stage": "in_progress",
                       "expected_version": seen})
    assert both["statusCode"] == 303 and "done=updated_and_sent" in both["headers"]["Location"]
    assert len(_sent()) == sent + 1  # the agent's mail only: no automatic reply on top
    assert re.search(r'<dd id="stage">In progress</dd>', world.page(interaction_id))
    stale = world.post(f"/console/interactions/{interaction_id}/entries",
                       {"action": "send", "kind": "comment", "text": "Again", "to_stage": "awaiting_customer",
                        "expected_version": seen})
    assert stale["statusCode"] == 409 and len(_sent()) == sent + 1  # the conflict stopped the mail


# ---------------------------------------------------------------------------------------------- thread, time
def test_comments_and_internal_notes_go_into_the_thread_as_text(world):
    interaction_id = world.record()
    for kind, text in (("comment", "Called back <i>twice</i>"), ("note", "Supervisor said OK")):
        answer = world.post(f"/console/interactions/{interaction_id}/entries", {"kind": kind, "text": text,
                                                                                "action": "save"})
        assert answer["statusCode"] == 303 and "done=entry_added" in answer["headers"]["Location"]
    page = world.page(interaction_id)
    assert "Called back &lt;i&gt;twice&lt;/i&gt;" in page
    note = re.search(r'<li class="entry kind-note">.*?</li>', page, re.S)
    assert note and "Supervisor said OK" in note.group(0) and "internal" in note.group(0)


def test_logged_time_is_listed_totalled_and_in_the_time_report_that_adds_up(world):
    interaction_id = world.record()
    started = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    today = started[:10]
    for minutes in ("25", "5"):
        answer = world.post(f"/console/interactions/{interaction_id}/time",
                            {"started_at": started, "minutes": minutes, "note": "call"})
        assert answer["statusCode"] == 303, answer["body"][:300]
    assert re.search(r'id="time-total">30<', world.page(interaction_id))
    bad = world.post(f"/console/interactions/{interaction_id}/time", {"started_at": started, "minutes": "0"})
    assert bad["statusCode"] == 400
    report = world.call("/console/reports/time", "supervisor", query={"start": today, "end": today})
    assert report["statusCode"] == 200, report["body"][:300]
    body = report["body"]
    assert re.search(r'id="total-minutes">30<', body) and body.count('<svg class="chart"') == 3
    assert "Invoice dispute" in body and "agent@example.com" in body
    csv = world.call("/console/reports/time", "supervisor", query={"start": today, "end": today, "format": "csv"})
    assert csv["statusCode"] == 200 and csv["headers"]["Content-Type"].startswith("text/csv")
    assert "attachment" in csv["headers"]["Content-Disposition"] and "agent@example.com" in csv["body"]
    assert world.call("/console/reports/time", "agent")["statusCode"] == 403  # agents have no reports


def test_the_content_report_counts_by_category_channel_and_stage(world):
    world.record()
    world.record(subject="Tariff?", category="tariff_question", channel="call_centre")
    today = datetime.now(UTC).date().isoformat()
    body = world.call("/console/reports/content", "supervisor", query={"start": today, "end": today})["body"]
    assert re.search(r'id="content-total">2<', body)
    assert "Tariff and product question" in body and "Call centre" in body and "Registered" in body
    csv = world.call("/console/reports/content", "admin", query={"start": today, "end": today, "format": "csv"})
    assert csv["statusCode"] == 200 and "Tariff?" in csv["body"]


# ---------------------------------------------------------------------------------------------- attachments
def _start_upload(world: World, interaction_id: str, content_type: str = "application/pdf") -> tuple[dict, str]:
    answer = world.post(f"/console/interactions/{interaction_id}/attachments",
                        {"filename": "scan.pdf", "content_type": content_type, "shared_with": "customer"})
    assert answer["statusCode"] == 200, answer["body"][:400]
    page = answer["body"]
    fields = {n: unescape(v) for n, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page)}
    action = re.search(r'<form method="post" action="([^"]+)" enctype="multipart/form-data"', page)
    assert action
    assert f"form-action 'self' {security.origin_of(unescape(action.group(1)))}" in \
        answer["headers"]["Content-Security-Policy"]
    return fields, page


def _complete(world: World, fields: dict[str, str]) -> dict[str, Any]:
    target = fields["success_action_redirect"]
    assert target.startswith("https://console.example/console/interactions/")
    path = target.removeprefix("https://console.example")
    return world.call(path, query={"bucket": BUCKET, "key": fields["key"]})


def test_a_file_goes_to_the_bucket_through_the_presigned_form_and_is_attached_after_the_check(world):
    interaction_id = world.record()
    fields, _ = _start_upload(world, interaction_id)
    assert fields["Content-Type"] == "application/pdf" and fields["key"].startswith(f"attachments/{interaction_id}/")
    boto3.client("s3").put_object(Bucket=BUCKET, Key=fields["key"], Body=b"%PDF-1.4 test",
                                  ContentType="application/pdf")
    done = _complete(world, fields)
    assert done["statusCode"] == 303 and "done=attachment_stored" in done["headers"]["Location"]
    page = world.page(interaction_id)
    link = re.search(rf'href="(/console/interactions/{interaction_id}/attachments/[^"]+)">scan.pdf</a>', page)
    assert link and "shared with the customer" in page
    opened = world.call(link.group(1))
    assert opened["statusCode"] == 303 and BUCKET in opened["headers"]["Location"]


def test_a_file_of_another_type_than_declared_is_refused_and_removed(world):
    interaction_id = world.record()
    fields, _ = _start_upload(world, interaction_id)
    boto3.client("s3").put_object(Bucket=BUCKET, Key=fields["key"], Body=b"<html>", ContentType="text/html")
    refused = _complete(world, fields)
    assert refused["statusCode"] == 422 and "This type of file is not accepted." in refused["body"]
    assert "KeyCount" in boto3.client("s3").list_objects_v2(Bucket=BUCKET, Prefix=fields["key"])
    assert boto3.client("s3").list_objects_v2(Bucket=BUCKET, Prefix=fields["key"])["KeyCount"] == 0
    assert "refused" in world.page(interaction_id)


def test_a_type_outside_the_allowed_list_is_refused_before_any_upload(world):
    interaction_id = world.record()
    answer = world.post(f"/console/interactions/{interaction_id}/attachments",
                        {"filename": "x.exe", "content_type": "application/x-msdownload", "shared_with": "agents"})
    assert answer["statusCode"] == 422 and "This type of file is not accepted." in answer["body"]


# ---------------------------------------------------------------------------------------------- links, tasks
def test_links_and_tasks_are_added_listed_and_completed(world):
    interaction_id = world.record()
    assert world.post(f"/console/interactions/{interaction_id}/links", {"kind": "invoice", "ref": "INV-9",
                                                                        "label": "disputed"})["statusCode"] == 303
    assert world.post(f"/console/interactions/{interaction_id}/tasks", {"title": "Send a meter photo",
                                                                        "due_on": "2026-12-01"})["statusCode"] == 303
    page = world.page(interaction_id)
    assert "Invoice: INV-9" in page and "Send a meter photo" in page
    task = re.search(rf'action="(/console/interactions/{interaction_id}/tasks/[^"]+/complete)"', page)
    assert task
    assert world.post(task.group(1), {})["statusCode"] == 303
    done = world.page(interaction_id)
    assert re.search(r'<li class="done">Send a meter photo', done)
    removed = world.post(f"/console/interactions/{interaction_id}/links/remove", {"kind": "invoice", "ref": "INV-9"})
    assert removed["statusCode"] == 303 and "INV-9" not in world.page(interaction_id).split("links-heading")[1]


def test_similar_requests_list_the_customer_s_earlier_ones_of_the_same_kind(world):
    first = world.record(subject="Invoice 123 is wrong")
    second = world.record(subject="RE: invoice 456 is wrong")
    page = world.page(second)
    assert "This customer raised this kind of request 1 times before." in page
    assert f'href="/console/interactions/{first}"' in page


# ---------------------------------------------------------------------------------------------- stage members
def test_an_admin_adds_and_removes_stage_members_and_others_may_not(world):
    page = world.call("/console/interaction-stages", "admin")
    assert page["statusCode"] == 200 and "agent@example.com" in page["body"]
    added = world.post("/console/interaction-stages", {"stage": f"{PROCESS}/in_progress",
                                                       "username": "other@example.com"}, "admin")
    assert added["statusCode"] == 303 and "done=member_added" in added["headers"]["Location"]
    from dunning.app import interactions as uc

    assert "other@example.com" in uc.members(world.deps, PROCESS, "in_progress")
    removed = world.post("/console/interaction-stages", {"stage": f"{PROCESS}/in_progress",
                                                         "username": "other@example.com", "action": "remove"}, "admin")
    assert removed["statusCode"] == 303
    assert "other@example.com" not in uc.members(world.deps, PROCESS, "in_progress")
    assert world.call("/console/interaction-stages", "supervisor")["statusCode"] == 403
    assert world.post("/console/interaction-stages", {"stage": f"{PROCESS}/in_progress", "username": "x"},
                      "agent")["statusCode"] == 403
