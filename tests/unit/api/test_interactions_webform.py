"""The public web form through the resolver on the real use cases (moto): a token, then a post (JSON or
form-encoded) that becomes an internet interaction answered with its number only; the spam guard's refusals
with their reason and never the customer's text; the per-client rate limit with Retry-After; a customer's
attachment link that only opens a file shared with the customer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from dunning.api.routers import public
from tests.unit.api import test_interactions_routes as routes
from tests.unit.api.test_interactions_routes import BUCKET, TABLE, call

world = routes.world  # the same moto world: the interactions table, the attachments bucket, the use cases

T0 = datetime(2026, 12, 4, 9, 0, 0, tzinfo=UTC)
SECRET_TEXT = "My meter number is 4711 and I cannot pay this month"


@pytest.fixture
def clock(monkeypatch) -> list[datetime]:
    now = [T0]
    monkeypatch.setattr(public, "_now", lambda: now[0])
    return now


def token(clock: list[datetime]) -> str:
    r = call("GET", "/public/interactions/form-token", user=None)
    assert r.status == 200 and r.headers["cache-control"] == "no-store"
    return str(r.json()["form_token"])


def form(tok: str, **over: str) -> dict[str, str]:
    return {"name": "Ana Souza", "email": "ana@example.com", "subject": "Payment plan", "message": SECRET_TEXT,
            "website": "", "form_token": tok, **over}


def post(body: dict[str, str], *, content_type: str = "application/x-www-form-urlencoded",
         ip: str = "198.51.100.7") -> Any:
    return call("POST", "/public/interactions", user=None, body=body, content_type=content_type, source_ip=ip)


def interactions_in_table() -> list[dict[str, Any]]:
    from dunning.store import dynamo

    return [i for i in dynamo.scan(TABLE) if i["sk"] == "META"]


def test_a_web_form_post_becomes_an_internet_interaction_and_the_answer_is_its_number_only(world, clock):
    tok = token(clock)
    clock[0] = T0 + timedelta(seconds=8)
    r = post(form(tok, category="payment_plan", account="A-0001"))
    assert r.status == 201, r.body
    assert list(r.json()) == ["number"] and r.json()["number"].startswith("IN-2026-")
    [item] = interactions_in_table()
    assert item["channel"] == "internet" and item["category"] == "payment_plan" and item["account_id"] == "A-0001"
    assert item["created_by"] == "web_form" and item["customer_email"] == "ana@example.com"
    # the category's acknowledgement was tried (moto's SES has no verified sender here: recorded as not sent)
    thread = call("GET", f"/api/interactions/{item['id']}", "admin").json()["thread"]
    assert sorted(e["kind"] for e in thread if e["kind"] == "comment") == ["comment"]
    assert any(e["kind"] == "auto_reply" or (e["kind"] == "system" and "ack_request" in e["text"])
               for e in thread), thread


def test_a_json_post_is_accepted_too_under_the_configured_web_form_category(world, clock):
    tok = token(clock)
    clock[0] = T0 + timedelta(seconds=5)
    r = post(form(tok), content_type="application/json")
    assert r.status == 201, r.body
    assert interactions_in_table()[0]["category"] == "web_request"


@pytest.mark.parametrize("over, seconds, reason", [
    ({"website": "http://spam.example"}, 10, "filled in automatically"),
    ({}, 1, "too quickly"),
    ({}, 86401, "expired"),
    ({"form_token": "v1.1764838800.0000000000000000000000000000000"}, 10, "not valid"),
    ({"category": "invoice_dispute"}, 10, "category"),
    ({"message": "x" * 5001}, 10, "longer than 5000"),
    ({"email": "nobody"}, 10, "e-mail address"),
    ({"message": "buy https://a.example https://b.example https://c.example https://d.example"}, 10, "links"),
])
def test_a_refused_post_says_why_and_is_not_recorded_and_its_text_never_comes_back(world, clock, over, seconds,
                                                                                  reason):
    tok = token(clock)
    clock[0] = T0 + timedelta(seconds=seconds)
    r = post(form(tok, **over))
    assert r.status == 400, r.body
    assert r.json()["message"].startswith("your message was not recorded: ") and reason in r.json()["message"]
    assert SECRET_TEXT not in r.body and "Ana Souza" not in r.body
    assert interactions_in_table() == []


def test_the_sixth_post_of_a_client_in_a_minute_is_429_with_retry_after_and_others_are_not_held_up(world, clock):
    tok = token(clock)
    clock[0] = T0 + timedelta(seconds=20)
    for _ in range(5):
        assert post(form(tok, website="bot")).status == 400  # refused posts count too
    limited = post(form(tok))
    assert limited.status == 429 and limited.headers["retry-after"] == "40"
    assert limited.json()["message"].startswith("your message was not recorded: too many messages")
    assert post(form(tok), ip="198.51.100.8").status == 201
    clock[0] = T0 + timedelta(minutes=1, seconds=1)
    assert post(form(tok)).status == 201


def test_the_rate_counters_hold_a_keyed_hash_of_the_client_never_its_address(world, clock):
    tok = token(clock)
    clock[0] = T0 + timedelta(seconds=5)
    post(form(tok), ip="203.0.113.99")
    raw = boto3.client("dynamodb").scan(TableName=TABLE)["Items"]
    counters = [i for i in raw if i["pk"]["S"].startswith("RATE#")]
    assert len(counters) == 2 and all("ttl" in i for i in counters)
    assert "203.0.113.99" not in str(raw)


def test_markup_and_template_syntax_in_a_post_are_stored_as_text(world, clock):
    tok = token(clock)
    clock[0] = T0 + timedelta(seconds=5)
    hostile = "<script>alert(1)</script> {{ config }} {% for x in y %}"
    assert post(form(tok, subject=hostile, message=hostile)).status == 201
    [item] = interactions_in_table()
    assert item["subject"] == hostile
    detail = call("GET", f"/api/interactions/{item['id']}", "admin")
    assert detail.status == 200, detail.body
    assert [e["text"] for e in detail.json()["thread"] if e["kind"] == "comment"] == [hostile]


def test_a_customer_link_opens_only_a_file_shared_with_the_customer(world, clock):
    from dunning.app import interactions as uc
    from dunning.auth import principal_from_claims

    admin = principal_from_claims({"sub": "a", "username": "admin@example.com", "cognito:groups": ["admin"]})
    tok = token(clock)
    clock[0] = T0 + timedelta(seconds=5)
    post(form(tok))
    interaction_id = interactions_in_table()[0]["id"]
    ticket = uc.start_upload(world, admin, interaction_id, "statement.pdf", "application/pdf", 5, "customer")
    boto3.client("s3").put_object(Bucket=BUCKET, Key=ticket.fields["key"], Body=b"%PDF-",
                                  ContentType="application/pdf")
    uc.complete_upload(world, admin, interaction_id, ticket.attachment_id)
    link = uc.customer_link(world, interaction_id, ticket.attachment_id)
    opened = call("GET", f"/public/attachments/{link}", user=None)
    assert opened.status == 302 and ticket.attachment_id in opened.headers["location"]
    assert opened.headers["cache-control"] == "no-store"
    assert call("GET", f"/public/attachments/{link[:-2]}xx", user=None).status == 404  # tampered
    # no longer shared with the customer: the same link opens nothing
    stored = world.store.get_attachment(interaction_id, ticket.attachment_id)
    world.store.put_attachment(interaction_id, stored.model_copy(update={"shared_with": "agents"}))
    assert call("GET", f"/public/attachments/{link}", user=None).status == 404


def test_an_unknown_account_number_does_not_lose_the_message(world, clock, monkeypatch):
    from dataclasses import replace

    from dunning.api import context

    class NoAccounts:  # a ledger that knows no account
        def account(self, account_id: str) -> None:
            return None

        def account_view(self, account_id: str) -> Any:
            raise AssertionError("not needed")

    monkeypatch.setattr(context, "interactions", lambda: replace(world, ledger=NoAccounts()))
    tok = token(clock)
    clock[0] = T0 + timedelta(seconds=5)
    r = post(form(tok, account="A-9999"))
    assert r.status == 201, r.body
    [item] = interactions_in_table()
    assert item.get("account_id") is None
    thread = call("GET", f"/api/interactions/{item['id']}", "admin").json()["thread"]
    [request] = [e for e in thread if e["kind"] == "comment"]
    assert SECRET_TEXT in request["text"] and "A-9999" in request["text"]
