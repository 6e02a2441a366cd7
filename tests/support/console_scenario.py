"""The console scenario: the demo book and run, then every console page and form called through the local HttpApi
gateway by users of each group, as a browser would (sign-in form, session cookies, CSRF tokens) - including a
letter whose own PDF has expired (cut out of its print file) - so the IAM audit sees every AWS call the console
function makes, and the log scans see its log lines."""

from __future__ import annotations

import json
import re
from typing import Any

from dunning_ops.local.demo_data import DEMO_AS_OF
from dunning_ops.local.http_api import DemoUser, add_demo_users
from tests.browser.client import Client
from tests.support.harness import Harness
from tests.support.scenarios import _common, demo_events, operations_config

PASSWORD = "Console-Passw0rd-1"
COLLECTOR = "agent-pt-BR"  # a collections agent the demo run assigns activities to
USERS = {"supervisor": DemoUser("supervisor@example.com", "supervisor@example.com", "supervisor", PASSWORD),
         "collector": DemoUser(COLLECTOR, "collector@example.com", "collector", PASSWORD),
         "agent": DemoUser("agent@example.com", "agent@example.com", "agent", PASSWORD)}


def console() -> dict[str, Any]:
    with Harness.started(config=operations_config()) as h:
        h.send(demo_events())
        h.send(["{not json"])  # one rejected event
        h.send([json.dumps({"event_id": "console-scenario-statement", "event_type": "contact.requested",
                            "occurred_at": "2026-11-15T09:00:00Z", "source": "crm",
                            "data": {"request_id": "console-scenario-statement", "contact_class": "CUSTSVC",
                                     "contact_type": "STATEMENT_ONLINE", "person_id": "P-0001",
                                     "account_id": "A-0001"}})])  # an online-only letter (online-letters/)
        h.run(DEMO_AS_OF)
        add_demo_users(h.stack, tuple(USERS.values()))
        url = h.stack.start_http_api()
        statuses: list[tuple[str, int]] = []

        def get(client: Client, path: str) -> str:
            status, _, body = client.request(path)
            statuses.append((path.split("?")[0], status))
            return body

        def post(client: Client, path: str, form: dict[str, str], page: str) -> None:
            status, _, _ = client.request(path, {**form, "csrf": client.csrf(page)})
            statuses.append((path, status))

        sup = Client(url)
        sup.sign_in(USERS["supervisor"])
        runs = get(sup, "/console/runs")
        run_id = re.findall(r'href="/console/runs/([^"]+)"', runs)[0]
        get(sup, f"/console/runs/{run_id}")
        get(sup, "/console/rejected")
        get(sup, "/static/console.css")
        from dunning.store.contacts import DynamoContactsRepository

        contacts = DynamoContactsRepository(h.stack.outputs["ContactsTableName"])
        printed = sorted((c for c in contacts.all() if c.action == "letter" and c.status == "printed"),
                         key=lambda c: c.contact_id)
        account = printed[0].account_id or ""
        get(sup, f"/console/accounts/{account}?as_of={DEMO_AS_OF.isoformat()}")
        page = f"/console/accounts/{account}"
        post(sup, f"{page}/assignment", {"hierarchy": "vip", "note": "scenario"}, page)
        post(sup, f"{page}/assignment", {"hierarchy": ""}, page)
        get(sup, f"/console/letters/{printed[0].contact_id}")
        gone = printed[1]  # its own PDF expired: the console links a copy cut out of its print file
        assert gone.s3_key and gone.print_file
        h.stack.client("s3").delete_object(Bucket=h.stack.outputs["LettersBucketName"], Key=gone.s3_key)
        get(sup, f"/console/letters/{gone.contact_id}")
        online = next(c for c in contacts.by_account("A-0001") if c.contact_type == "STATEMENT_ONLINE")
        get(sup, f"/console/letters/{online.contact_id}")

        collector = Client(url)
        collector.sign_in(USERS["collector"])
        worklist = get(collector, "/console/worklist")
        first = re.findall(r'action="(/console/activities/[^"]+/complete)"', worklist)[0]
        post(collector, first, {"outcome": "promise_to_pay", "note": "scenario"}, "/console/worklist")
        get(collector, "/console/runs")  # refused: 403
        post(collector, "/console/sign-out", {}, "/console/worklist")

        agent = Client(url)
        agent.sign_in(USERS["agent"])
        get(agent, f"/console/accounts/{account}")
        bad = Client(url)
        status, _, _ = bad.request("/console/sign-in", {"csrf": bad.csrf("/console/sign-in"),
                                                        "email": "nobody@example.com", "password": "wrong-Passw0rd"})
        statuses.append(("/console/sign-in (refused)", status))
        return {"statuses": statuses, **_common(h)}
