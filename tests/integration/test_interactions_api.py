"""Interactions through the edges: HTTP to the local HttpApi gateway (the template's routes and JWT authorizer),
the API function in-process on the local stack. An agent records a phone interaction, it is listed, moved (two
moves from the same version: one wins, the other is a 409), commented on, timed; similar requests are counted;
the time report downloads as CSV. The stage rule: a member of the stage acts, a member of the group who is not a
member of the stage gets a 403 that names the stage rule."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from tests.integration.api_client import ApiClient
from tests.support.local import ROOT, demo_events, send, start_stack

PROCESS = "customer_requests"
STAGES = ("registered", "in_progress", "awaiting_customer", "resolved")
ADMIN, SUP, AGENT, COLLECTOR, OUTSIDER = ("admin@example.com", "supervisor@example.com", "agent@example.com",
                                          "agent-en", "agent-ru")


def give_the_api_its_signing_secret(stack) -> None:
    """moto's CloudFormation cannot create ``InteractionSigningSecret`` (AWS::SecretsManager::Secret): while the
    local stack leaves the API function's SIGNING_SECRET_ARN empty, create the secret through the Secrets
    Manager API and give the function its ARN. A no-op once the local stack provides it."""
    lam, name = stack.client("lambda"), stack.function_name("ApiFunction")
    env = lam.get_function_configuration(FunctionName=name).get("Environment", {}).get("Variables", {})
    if env.get("SIGNING_SECRET_ARN"):
        return
    arn = stack.client("secretsmanager").create_secret(Name="local-interaction-signing-secret",
                                                       SecretString=secrets.token_hex(32))["ARN"]
    variables = {**{k: str(v) for k, v in env.items()}, "SIGNING_SECRET_ARN": arn}
    lam.update_function_configuration(FunctionName=name, Environment={"Variables": variables})


@pytest.fixture(scope="module")
def api() -> Iterator[ApiClient]:
    stack = start_stack()
    send(stack, demo_events())  # the demo book: the accounts interactions name
    give_the_api_its_signing_secret(stack)
    client = ApiClient(stack)
    client.add_users()
    for stage in STAGES:
        r = client.as_user(ADMIN, "PUT", f"/api/interaction-processes/{PROCESS}/stages/{stage}/members/{AGENT}")
        assert r.status == 200, r.body
    r = client.as_user(ADMIN, "PUT", f"/api/interaction-processes/{PROCESS}/stages/registered/members/{COLLECTOR}")
    assert r.status == 200 and COLLECTOR in r.json()["members"]
    yield client
    stack.stop()


def record(api: ApiClient, user: str = AGENT, **over) -> dict:
    body = {"channel": "phone", "category": "invoice_dispute", "subject": "Invoice INV-1001 is too high",
            "text": "Customer says the meter was read wrongly.", "account_id": "A-0001",
            "customer_name": "Ann Example", "customer_email": "ann@example.com", **over}
    r = api.as_user(user, "POST", "/api/interactions", body)
    assert r.status == 201, (r.status, r.body)
    return dict(r.json())


def test_an_agent_records_a_phone_interaction_and_it_is_listed_for_its_stage_and_account(api):
    made = record(api)
    assert made["number"].startswith(f"IN-{datetime.now(UTC).year}-") and made["stage"] == "registered"
    listed = api.as_user(AGENT, "GET", f"/api/interactions?process={PROCESS}&stage=registered").json()
    assert made["id"] in [i["id"] for i in listed["items"]]
    by_account = api.as_user(AGENT, "GET", "/api/accounts/A-0001/interactions").json()
    assert made["id"] in [i["id"] for i in by_account["items"]]


def test_two_moves_from_the_same_version_give_one_move_and_one_conflict(api):
    made = record(api, category="meter_question", subject="Meter reading")  # no time needed to close
    path = f"/api/interactions/{made['id']}/moves"
    api.sign_in(ADMIN)
    moves = [(AGENT, "in_progress"), (ADMIN, "resolved")]
    with ThreadPoolExecutor(2) as pool:  # both at once, both from the version they read
        answers = list(pool.map(lambda m: api.as_user(m[0], "POST", path, {
            "to_stage": m[1], "expected_version": made["version"]}), moves))
    assert sorted(a.status for a in answers) == [200, 409], [a.body for a in answers]
    won = moves[[a.status for a in answers].index(200)][1]
    detail = api.as_user(ADMIN, "GET", f"/api/interactions/{made['id']}").json()
    assert detail["interaction"]["stage"] == won and detail["interaction"]["version"] == made["version"] + 1
    assert [(m["from_stage"], m["to_stage"]) for m in detail["moves"]] == [("registered", won)]


def test_comments_and_time_join_the_interaction(api):
    made = record(api)
    comment = api.as_user(AGENT, "POST", f"/api/interactions/{made['id']}/entries",
                          {"kind": "comment", "text": "<b>Called back</b>", "visibility": "customer"})
    assert comment.status == 201
    logged = api.as_user(AGENT, "POST", f"/api/interactions/{made['id']}/time",
                         {"started_at": datetime.now(UTC).replace(microsecond=0).isoformat(), "minutes": 15,
                          "note": "phone call"})
    assert logged.status == 201, logged.body
    detail = api.as_user(AGENT, "GET", f"/api/interactions/{made['id']}").json()
    assert any(e["text"] == "<b>Called back</b>" for e in detail["thread"])
    assert [t["minutes"] for t in detail["time"]] == [15] and detail["interaction"]["time_minutes"] == 15


def test_the_same_customers_same_kind_of_request_is_counted_as_similar(api):
    first = record(api, subject="Payment plan for INV-2001", account_id="A-0002", category="payment_plan")
    again = record(api, subject="RE: payment plan for INV-2001", account_id="A-0002", category="payment_plan")
    similar = api.as_user(AGENT, "GET", f"/api/interactions/{again['id']}/similar").json()
    assert similar["count"] >= 1 and first["id"] in [i["id"] for i in similar["earlier"]]


def test_the_time_report_downloads_as_csv_with_totals_that_add_up(api):
    made = record(api)
    today = datetime.now(UTC).date().isoformat()
    api.as_user(AGENT, "POST", f"/api/interactions/{made['id']}/time",
                {"started_at": datetime.now(UTC).replace(microsecond=0).isoformat(), "minutes": 7})
    report = api.as_user(SUP, "GET", f"/api/interaction-reports/time?start={today}&end={today}").json()
    assert report["total_minutes"] == sum(report["by_agent"].values()) == sum(report["by_day"].values())
    assert report["total_minutes"] >= 7
    csv = api.as_user(SUP, "GET", f"/api/interaction-reports/time?start={today}&end={today}&format=csv")
    assert csv.status == 200 and csv.headers["content-type"].startswith("text/csv")
    assert f'filename="interaction-time-{today}-{today}.csv"' in csv.headers["content-disposition"]
    lines = csv.body.decode().strip().splitlines()
    assert len(lines) >= 2 and AGENT in csv.body.decode()
    assert api.as_user(AGENT, "GET", "/api/interaction-reports/time").status == 403  # a group rule


def test_the_stage_rule_a_member_may_a_non_member_of_the_same_group_may_not(api):
    made = record(api)
    # the collector is a member of "registered" only
    assert api.as_user(COLLECTOR, "GET", f"/api/interactions/{made['id']}").status == 200
    api.as_user(AGENT, "POST", f"/api/interactions/{made['id']}/moves",
                {"to_stage": "in_progress", "expected_version": made["version"]})
    refused = api.as_user(COLLECTOR, "GET", f"/api/interactions/{made['id']}")
    assert refused.status == 403 and refused.json()["rule"] == "stage"
    refused = api.as_user(COLLECTOR, "POST", f"/api/interactions/{made['id']}/entries", {"kind": "note", "text": "x"})
    assert refused.status == 403 and refused.json()["rule"] == "stage"
    # another collector, in no stage: cannot record either
    r = api.as_user(OUTSIDER, "POST", "/api/interactions", {"channel": "phone", "category": "invoice_dispute"})
    assert r.status == 403 and r.json()["rule"] == "stage"
    assert api.as_user(ADMIN, "GET", f"/api/interactions/{made['id']}").status == 200


def test_the_sample_event_invokes_the_api_function(api):
    record(api)
    payload = json.loads((ROOT / "events" / "api_interactions.json").read_text())
    resp = api.stack.client("lambda").invoke(FunctionName=api.stack.function_name("ApiFunction"),
                                             Payload=json.dumps(payload).encode())
    out = json.loads(resp["Payload"].read())
    assert "FunctionError" not in resp and out["statusCode"] == 200, out
    assert json.loads(out["body"])["items"]
