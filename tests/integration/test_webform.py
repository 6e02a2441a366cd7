"""The public web form through the edges: plain HTTP (no token) to the local HttpApi gateway, whose
``/public/{proxy+}`` route has no authorizer, to the API function on the local stack. Each client is a source
address of its own (the loopback network has many), as API Gateway gives the function ``sourceIp``."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from tests.integration.api_client import ApiClient
from tests.integration.test_interactions_api import give_the_api_its_signing_secret
from tests.support.local import ROOT, demo_events, send, start_stack, table_items

ADMIN = "admin@example.com"
MESSAGE = "Could I pay invoice INV-1001 in three parts? My meter number is 4711."


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Browser:
    """One client: every request from its own loopback address (127.0.0.N)."""

    def __init__(self, url: str, n: int) -> None:
        parts = urlsplit(url)
        self.host, self.port, self.source = parts.hostname or "127.0.0.1", parts.port or 80, f"127.0.0.{n}"

    def request(self, method: str, path: str, body: bytes | None = None,
                content_type: str = "application/x-www-form-urlencoded") -> Reply:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60, source_address=(self.source, 0))
        try:
            conn.request(method, path, body=body, headers={"content-type": content_type} if body else {})
            resp = conn.getresponse()
            return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
        finally:
            conn.close()

    def token(self) -> str:
        r = self.request("GET", "/public/interactions/form-token")
        assert r.status == 200, r.body
        return str(r.json()["form_token"])

    def post(self, fields: dict[str, str], as_json: bool = False) -> Reply:
        if as_json:
            return self.request("POST", "/public/interactions", json.dumps(fields).encode(), "application/json")
        return self.request("POST", "/public/interactions", urlencode(fields).encode())


def fields(token: str, **over: str) -> dict[str, str]:
    return {"name": "Ana Souza", "email": "ana@example.com", "subject": "Payment plan", "message": MESSAGE,
            "category": "", "account": "A-0001", "website": "", "form_token": token, **over}


@pytest.fixture(scope="module")
def api() -> Iterator[ApiClient]:
    stack = start_stack()
    send(stack, demo_events())  # the demo book: the account number a customer gives
    give_the_api_its_signing_secret(stack)
    client = ApiClient(stack)
    client.add_users()
    yield client
    stack.stop()


@pytest.fixture(scope="module")
def tokens(api) -> dict[int, str]:
    """A token per client, taken at the start and aged past the 3 s minimum once for all the tests."""
    out = {n: Browser(api.url, n).token() for n in range(10, 16)}
    time.sleep(3.2)
    return out


def recorded(api: ApiClient) -> list[dict[str, Any]]:
    return [i for i in table_items(api.stack, "InteractionsTable") if i["sk"] == "META"]


def test_an_accepted_post_becomes_an_internet_interaction_and_the_answer_is_its_number_only(api, tokens):
    r = Browser(api.url, 10).post(fields(tokens[10]))
    assert r.status == 201, r.body
    assert list(r.json()) == ["number"]
    [made] = [i for i in recorded(api) if i["number"] == r.json()["number"]]
    assert made["channel"] == "internet" and made["category"] == "web_request" and made["account_id"] == "A-0001"
    detail = api.as_user(ADMIN, "GET", f"/api/interactions/{made['id']}").json()
    assert [e["text"] for e in detail["thread"] if e["kind"] == "comment"] == [MESSAGE]


def test_a_json_post_is_accepted_as_well(api, tokens):
    r = Browser(api.url, 11).post(fields(tokens[11], category="payment_plan"), as_json=True)
    assert r.status == 201, r.body


def test_a_filled_honeypot_is_refused_with_the_reason_and_nothing_is_recorded(api, tokens):
    before = len(recorded(api))
    r = Browser(api.url, 12).post(fields(tokens[12], website="https://spam.example"))
    assert r.status == 400 and r.json()["message"] == ("your message was not recorded: "
                                                       "the form was filled in automatically")
    assert MESSAGE.encode() not in r.body and len(recorded(api)) == before


def test_a_post_right_after_the_token_is_too_fast(api):
    browser = Browser(api.url, 20)
    r = browser.post(fields(browser.token()))
    assert r.status == 400 and "too quickly" in r.json()["reason"]


def test_the_sixth_post_of_a_client_within_a_minute_is_429_with_retry_after(api, tokens):
    browser = Browser(api.url, 13)
    statuses = [browser.post(fields(tokens[13], website="bot")).status for _ in range(5)]
    assert statuses == [400] * 5  # refused posts count too
    limited = browser.post(fields(tokens[13]))
    assert limited.status == 429, limited.body
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert limited.json()["message"].startswith("your message was not recorded: too many messages")
    assert Browser(api.url, 14).post(fields(tokens[14])).status == 201  # another client is not held up
    counters = [i for i in table_items(api.stack, "InteractionsTable") if i["pk"].startswith("RATE#")]
    assert counters and all("ttl" in i for i in counters)
    assert not any("127.0.0." in json.dumps(i) for i in table_items(api.stack, "InteractionsTable"))


def test_injection_in_the_subject_and_message_is_stored_and_returned_as_text(api, tokens):
    hostile = "<script>alert(1)</script> {{ 7*7 }} '; DROP TABLE interactions; --"
    r = Browser(api.url, 15).post(fields(tokens[15], subject=hostile, message=hostile))
    assert r.status == 201, r.body
    [made] = [i for i in recorded(api) if i["number"] == r.json()["number"]]
    detail = api.as_user(ADMIN, "GET", f"/api/interactions/{made['id']}").json()
    [request] = [e for e in detail["thread"] if e["kind"] == "comment"]
    assert detail["interaction"]["subject"] == hostile and request["text"] == hostile
    # the acknowledgement quotes the subject as it was written: the template sandbox never evaluates it
    acks = [e for e in detail["thread"] if e["kind"] == "auto_reply"]
    assert acks and "{{ 7*7 }}" in acks[0]["text"] and "49" not in acks[0]["text"]


def test_a_forged_attachment_link_opens_nothing(api):
    r = Browser(api.url, 21).request("GET", "/public/attachments/not-a-real-token")
    assert r.status == 404 and "location" not in r.headers


def test_the_sample_event_is_refused_by_the_spam_guard_because_its_token_is_not_this_stacks(api):
    payload = json.loads((ROOT / "events" / "api_webform.json").read_text())
    resp = api.stack.client("lambda").invoke(FunctionName=api.stack.function_name("ApiFunction"),
                                             Payload=json.dumps(payload).encode())
    out = json.loads(resp["Payload"].read())
    assert "FunctionError" not in resp and out["statusCode"] == 400, out
    assert json.loads(out["body"])["message"].startswith("your message was not recorded: the form token")
