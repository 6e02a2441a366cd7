"""The API's routes on the demo book after a run, through the local HttpApi gateway: what each group sees and
does, pagination, letter links, completing and reassigning activities, configuration, and no personal data in
the API function's logs."""

from __future__ import annotations

import json
import re
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pytest

from dunning.config_loader import load_config_dir
from dunning_ops.local.demo_data import DEMO_AS_OF
from tests.integration.api_client import ApiClient
from tests.support.local import ROOT, demo_events, run, send

# the demo's open activities belong to the pt-BR, ru and ar accounts' collections agents
SUP, ADMIN, COLLECTOR, OTHER_COLLECTOR, AGENT = ("supervisor@example.com", "admin@example.com", "agent-pt-BR",
                                                 "agent-ru", "agent@example.com")


@pytest.fixture(scope="module")
def api(demo_stack) -> Iterator[ApiClient]:
    send(demo_stack, ["{not json", json.dumps({"event_id": "bad-1", "event_type": "invoice.posted",
                                               "occurred_at": "2026-11-01T00:00:00Z", "source": "t", "data": {}})])
    outcome = run(demo_stack, DEMO_AS_OF)
    assert outcome["status"] == "SUCCEEDED"
    client = ApiClient(demo_stack)
    client.add_users()
    yield client


def get(api: ApiClient, user: str, path: str):
    r = api.as_user(user, "GET", path)
    assert r.status == 200, (path, r.status, r.body)
    return r.json()


def all_pages(api: ApiClient, user: str, path: str, limit: int) -> list[dict]:
    sep = "&" if "?" in path else "?"
    items, token, pages = [], None, 0
    while True:
        page = get(api, user, f"{path}{sep}limit={limit}" + (f"&next={token}" if token else ""))
        assert len(page["items"]) <= limit
        items += page["items"]
        pages += 1
        token = page.get("next")
        if not token:
            return items


def test_the_runs_list_shows_the_run_and_its_detail_has_the_summary_and_batches(api):
    runs = get(api, SUP, "/api/runs")["items"]
    assert runs and runs[0]["as_of"] == DEMO_AS_OF.isoformat() and runs[0]["status"] == "SUCCEEDED"
    detail = get(api, SUP, f"/api/runs/{runs[0]['run_id']}")
    assert detail["run"]["accounts_scanned"] == 49 and detail["run"]["contacts_created"] > 0
    assert len(detail["batches"]) == detail["run"]["batch_count"] >= 1
    assert api.as_user(SUP, "GET", "/api/runs/run-that-never-was").status == 404


def test_a_supervisor_starts_a_run(api):
    r = api.as_user(SUP, "POST", "/api/runs", {"as_of": DEMO_AS_OF.isoformat()})
    assert r.status == 202 and r.json()["execution_arn"].startswith("arn:aws:states:")
    api.stack.drain()


def test_an_accounts_ledger_lead_invoice_decision_and_timeline(api):
    acct = "A-0001"
    ledger = get(api, AGENT, f"/api/accounts/{acct}")
    assert ledger["account_id"] == acct and ledger["invoices"]
    lead = get(api, COLLECTOR, f"/api/accounts/{acct}/lead-invoice?as_of={DEMO_AS_OF.isoformat()}")
    decision = get(api, AGENT, f"/api/accounts/{acct}/decision?as_of={DEMO_AS_OF.isoformat()}")
    assert decision["lead_invoice_id"] == (lead["invoice"] or {}).get("invoice_id")
    assert decision["reasons"] or decision["would"]
    timeline = all_pages(api, AGENT, f"/api/accounts/{acct}/contacts", limit=1)
    assert timeline and [c["created_at"] for c in timeline] == sorted((c["created_at"] for c in timeline),
                                                                      reverse=True)
    assert api.as_user(AGENT, "GET", "/api/accounts/A-NOPE").status == 404


def test_lists_are_paged_with_an_opaque_next_token_and_pages_do_not_overlap(api):
    everything = all_pages(api, SUP, "/api/contacts", limit=7)
    ids = [c["contact_id"] for c in everything]
    assert len(ids) == len(set(ids)) > 7
    assert api.as_user(SUP, "GET", "/api/contacts?next=garbage").status == 400
    first = get(api, SUP, "/api/contacts?limit=2")
    assert api.as_user(SUP, "GET", f"/api/rejected-events?next={first['next']}").status == 400  # another list's


def test_contacts_show_no_snapshot_or_address(api):
    page = get(api, SUP, "/api/contacts?limit=50")
    assert page["items"] and all("snapshot" not in c and "recipient" not in c for c in page["items"])


def test_the_whole_book_simulation_pages_through_every_account_once(api):
    day = DEMO_AS_OF.isoformat()
    decided = all_pages(api, SUP, f"/api/simulate?as_of={day}", limit=10)
    accounts = [d["account_id"] for d in decided]
    assert len(accounts) == len(set(accounts)) == 49
    one = get(api, SUP, f"/api/simulate?as_of={day}&account_id=A-0001")
    assert [d["account_id"] for d in one["items"]] == ["A-0001"]


def test_a_letter_is_a_short_lived_presigned_link_never_its_bytes(api):
    letters = [c for c in all_pages(api, SUP, "/api/contacts", limit=100) if c["action"] == "letter"
               and c["has_letter"]]
    assert letters
    r = api.as_user(COLLECTOR, "GET", f"/api/letters/{letters[0]['contact_id']}/url")
    assert r.status == 200 and b"%PDF" not in r.body
    link = r.json()
    assert link["expires_in"] <= 900
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(link["url"]).query))
    expires = int(query["Expires"]) - time.time() if "Expires" in query else int(query["X-Amz-Expires"])
    assert 0 < expires <= link["expires_in"] + 5
    with urllib.request.urlopen(link["url"], timeout=30) as pdf:
        assert pdf.read(4) == b"%PDF"


def test_a_collector_works_their_own_activities_and_not_anyone_elses(api):
    mine = get(api, COLLECTOR, "/api/activities/mine")["items"]
    assert mine and all(a["activity"]["assigned_to"] == COLLECTOR and a["status"] == "open" for a in mine)
    dues = [a["activity"]["due_on"] for a in mine]
    assert dues == sorted(dues)
    others = [a for a in get(api, SUP, "/api/activities?limit=200")["items"]
              if a["activity"]["assigned_to"] != COLLECTOR]
    assert others, "the demo has activities of other collectors"
    refused = api.as_user(COLLECTOR, "POST", f"/api/activities/{others[0]['contact_id']}/complete",
                          {"outcome": "no_answer"})
    assert refused.status == 409

    target = mine[0]["contact_id"]
    done = api.as_user(COLLECTOR, "POST", f"/api/activities/{target}/complete",
                       {"outcome": "promised_to_pay", "note": "will pay on Friday"})
    assert done.status == 200 and done.json()["status"] == "closed"
    assert target not in [a["contact_id"] for a in get(api, COLLECTOR, "/api/activities/mine")["items"]]
    contact = get(api, SUP, f"/api/contacts/{target}")
    assert contact["status"] == "closed" and "promised_to_pay: will pay on Friday" in contact["history"][-1]["reason"]
    again = api.as_user(COLLECTOR, "POST", f"/api/activities/{target}/complete", {"outcome": "no_answer"})
    assert again.status == 409


def test_a_supervisor_reassigns_an_activity_into_another_collectors_worklist(api):
    mine = get(api, COLLECTOR, "/api/activities/mine")["items"]
    moved = mine[-1]["contact_id"]
    r = api.as_user(SUP, "POST", f"/api/activities/{moved}/reassign", {"assignee": OTHER_COLLECTOR})
    assert r.status == 200
    assert moved not in [a["contact_id"] for a in get(api, COLLECTOR, "/api/activities/mine")["items"]]
    assert moved in [a["contact_id"] for a in all_pages(api, OTHER_COLLECTOR, "/api/activities/mine", limit=50)]
    assert moved in [a["contact_id"] for a in get(api, SUP, f"/api/activities?assignee={OTHER_COLLECTOR}")["items"]]


def test_rejected_events_come_with_their_reasons_not_their_bodies(api):
    rejected = get(api, SUP, "/api/rejected-events")["items"]
    assert len(rejected) >= 2 and all(r["reason"] and "body" not in r for r in rejected)


def test_an_agent_creates_a_contact_once_per_request_id(api):
    body = {"contact_class": "CUSTSVC", "contact_type": "AUTOPAY_FORM", "person_id": "P-0001",
            "account_id": "A-0001", "request_id": "api-test-1"}
    first = api.as_user(AGENT, "POST", "/api/contacts", body)
    assert first.status == 201 and first.json()["created"] >= 1
    second = api.as_user(AGENT, "POST", "/api/contacts", body)
    assert second.status == 200 and second.json()["created"] == 0
    bad = api.as_user(AGENT, "POST", "/api/contacts", {**body, "contact_type": "NO_SUCH_TYPE", "request_id": "x2"})
    assert bad.status == 422 and bad.json()["message"]


def test_an_admin_validates_and_publishes_the_configuration(api):
    config = json.loads(load_config_dir(ROOT / "infra" / "config").model_dump_json(by_alias=True))
    ok = api.as_user(ADMIN, "POST", "/api/config/validate", {"config": config})
    assert ok.status == 200 and ok.json()["valid"] and ok.json()["counts"]["hierarchies"] > 0
    broken = api.as_user(ADMIN, "POST", "/api/config/validate", {"config": {**config, "hierarchies": "nope"}})
    assert broken.status == 200 and not broken.json()["valid"] and broken.json()["errors"]
    assert api.as_user(ADMIN, "POST", "/api/config/publish", {"config": {"hierarchies": 1}}).status == 422
    published = api.as_user(ADMIN, "POST", "/api/config/publish", {"config": config})
    assert published.status == 200 and published.json()["key"] == "config/current.json"


def test_the_sample_event_invokes_the_api_function(api):
    payload = json.loads((ROOT / "events" / "api.json").read_text())
    resp = api.stack.client("lambda").invoke(FunctionName=api.stack.function_name("ApiFunction"),
                                             Payload=json.dumps(payload).encode())
    out = json.loads(resp["Payload"].read())
    assert "FunctionError" not in resp and out["statusCode"] == 200 and json.loads(out["body"])["items"]
    sign_in = json.loads((ROOT / "events" / "api_sign_in.json").read_text())
    resp = api.stack.client("lambda").invoke(FunctionName=api.stack.function_name("ApiFunction"),
                                             Payload=json.dumps(sign_in).encode())
    assert json.loads(resp["Payload"].read())["statusCode"] == 401



def test_the_console_sample_event_renders_the_sign_in_page_with_its_security_headers(api):
    payload = json.loads((ROOT / "events" / "console.json").read_text())
    resp = api.stack.client("lambda").invoke(FunctionName=api.stack.function_name("ConsoleFunction"),
                                             Payload=json.dumps(payload).encode())
    out = json.loads(resp["Payload"].read())
    assert "FunctionError" not in resp and out["statusCode"] == 200, out
    headers = {k.lower(): v for k, v in out["headers"].items()}
    assert headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in headers["content-security-policy"]
    assert 'type="password"' in out["body"]

def personal_values() -> set[str]:
    """Names, emails, phones and address lines in the demo events (what must never reach a log line)."""
    values: set[str] = set()

    def walk(node, key=""):
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, k)
        elif isinstance(node, list):
            for v in node:
                walk(v, key)
        elif isinstance(node, str) and len(node) > 4 and re.search(r"name|email|phone|address|line|city", key):
            values.add(node)

    for line in demo_events():
        walk(json.loads(line).get("data", {}))
    return values


def test_no_log_line_of_the_api_carries_personal_data_or_tokens(api):
    # read every account (names and emails are in the ledger) and the contacts, then scan the logs
    for n in range(1, 50):
        api.as_user(SUP, "GET", f"/api/accounts/A-{n:04d}")
    all_pages(api, SUP, "/api/contacts", limit=100)
    api.as_user(SUP, "GET", "/api/nothing-here")
    assert api.as_user(AGENT, "GET", "/api/runs").status == 403  # logged (permission and route, no user)
    logs = api.stack.runtime._log_sink.getvalue()  # the stack's log sink (tests/support.start_stack)
    values = personal_values()
    assert values and logs
    api_lines = [ln for ln in logs.splitlines() if "ApiFunction" in ln or '"function_name"' in ln]
    leaked = sorted(v for v in values if any(v in ln for ln in api_lines))
    assert any('"forbidden"' in ln for ln in api_lines), "the API's own log lines are scanned"
    assert leaked == []
    assert not any(t in logs for t in api.tokens.values()), "a token reached the logs"
    assert "Test-Passw0rd-123" not in logs
