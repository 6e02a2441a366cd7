"""The API scenario: the demo book and run, then every route of the HTTP API called through the local HttpApi
gateway by users of each group - including the less common paths (a letter whose own PDF has expired and is cut
out of its print file, an online-only letter, starting a run, publishing the configuration) - so the IAM audit
sees every AWS call the API function makes, and the log scans see its log lines."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import timedelta
from typing import Any

from dunning_ops.local.demo_data import DEMO_AS_OF
from dunning_ops.local.http_api import DemoUser, add_demo_users
from tests.support.harness import Harness
from tests.support.scenarios import _common, demo_events, operations_config

PASSWORD = "Scenario-Passw0rd-1"
USERS = (DemoUser("admin@example.com", "admin@example.com", "admin", PASSWORD),
         DemoUser("supervisor@example.com", "supervisor@example.com", "supervisor", PASSWORD),
         DemoUser("agent-pt-BR", "collector@example.com", "collector", PASSWORD),
         DemoUser("agent@example.com", "agent@example.com", "agent", PASSWORD))


class _Client:
    def __init__(self, url: str) -> None:
        self.url = url
        self.tokens: dict[str, str] = {}
        self.statuses: list[tuple[str, str, int]] = []

    def call(self, user: str | None, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = {"content-type": "application/json"}
        if user is not None:
            if user not in self.tokens:
                _, tokens = self.call(None, "POST", "/api/auth/sign-in", {"username": user, "password": PASSWORD})
                self.tokens[user] = tokens["access_token"]
            headers["authorization"] = f"Bearer {self.tokens[user]}"
        req = urllib.request.Request(self.url + path, method=method, headers=headers,
                                     data=json.dumps(body).encode() if body is not None else None)
        try:
            with urllib.request.urlopen(req, timeout=120) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        self.statuses.append((method, path.split("?")[0], status))
        return status, json.loads(raw) if raw else None


def api() -> dict[str, Any]:
    with Harness.started(config=operations_config()) as h:
        h.send(demo_events())
        h.send(["{not json"])  # one rejected event
        h.run(DEMO_AS_OF)
        add_demo_users(h.stack, USERS)
        c = _Client(h.stack.start_http_api())
        admin, sup, collector, agent = (u.username for u in USERS)
        day = DEMO_AS_OF.isoformat()

        c.call(sup, "GET", "/api/me")
        _, runs = c.call(sup, "GET", "/api/runs?limit=5")
        c.call(sup, "GET", f"/api/runs/{runs['items'][0]['run_id']}")
        c.call(sup, "GET", f"/api/simulate?as_of={day}&limit=20")
        c.call(agent, "GET", "/api/accounts/A-0001")
        c.call(collector, "GET", f"/api/accounts/A-0001/lead-invoice?as_of={day}")
        c.call(agent, "GET", f"/api/accounts/A-0001/decision?as_of={day}")
        c.call(agent, "GET", "/api/accounts/A-0001/contacts?limit=5")
        _, contacts = c.call(sup, "GET", "/api/contacts?limit=200")
        c.call(agent, "GET", "/api/contacts?account_id=A-0002")
        c.call(sup, "GET", f"/api/contacts/{contacts['items'][0]['contact_id']}")
        c.call(sup, "GET", "/api/rejected-events")

        # letters: one with its own PDF; one whose own PDF has gone (cut out of its print file); one online-only
        printed = [x for x in contacts["items"] if x["action"] == "letter" and x["status"] == "printed"]
        c.call(collector, "GET", f"/api/letters/{printed[0]['contact_id']}/url")
        from dunning.store.contacts import DynamoContactsRepository

        gone = DynamoContactsRepository(h.stack.outputs["ContactsTableName"]).get(printed[1]["contact_id"])
        assert gone is not None and gone.s3_key and gone.print_file
        h.stack.client("s3").delete_object(Bucket=h.stack.outputs["LettersBucketName"], Key=gone.s3_key)
        c.call(collector, "GET", f"/api/letters/{gone.contact_id}/url")
        status, _ = c.call(agent, "POST", "/api/contacts", {
            "contact_class": "CUSTSVC", "contact_type": "STATEMENT_ONLINE", "person_id": "P-0001",
            "account_id": "A-0001", "request_id": "api-scenario-statement"})
        assert status == 201
        h.drain()
        _, timeline = c.call(agent, "GET", "/api/contacts?account_id=A-0001&limit=200")
        online = next(x for x in timeline["items"] if x["type"] == "CUSTSVC/STATEMENT_ONLINE")
        c.call(sup, "GET", f"/api/letters/{online['contact_id']}/url")

        # activities
        _, mine = c.call(collector, "GET", "/api/activities/mine")
        c.call(sup, "GET", "/api/activities")
        c.call(collector, "POST", f"/api/activities/{mine['items'][0]['contact_id']}/complete",
               {"outcome": "promised_to_pay", "note": "scenario"})
        c.call(sup, "POST", f"/api/activities/{mine['items'][1]['contact_id']}/reassign", {"assignee": "agent-ru"})

        # configuration, a run started through the API
        config = json.loads(operations_config().model_dump_json(by_alias=True))
        c.call(admin, "POST", "/api/config/validate", {"config": config})
        c.call(admin, "POST", "/api/config/publish", {"config": config})
        status, started = c.call(sup, "POST", "/api/runs", {"as_of": (DEMO_AS_OF + timedelta(days=1)).isoformat()})
        assert status == 202
        h.wait([started["execution_arn"]])
        c.call(sup, "POST", "/api/auth/refresh", {"refresh_token": "not-a-refresh-token"})
        return {"statuses": c.statuses, **_common(h)}
