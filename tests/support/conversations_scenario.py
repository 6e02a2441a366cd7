"""The conversations scenario (issue 14): conversation workflows used through every edge, so the IAM audit sees
every AWS call the conversation functions make - and the API's and the console's conversation and workflow
routes, and inbound mail opening a conversation.

* workflows through the API (templates installed, list, show, a draft saved, validated, published, a version,
  a diff, the diagram) and the console (list, editor, validate, save, publish, a version, "Try it");
* customers through the public chat (the test channel): a VIP and a normal contact looked up in the stub CRM
  (the HTTP step reads the CRM token from Secrets Manager), one without an email address answering the question
  wrongly and then rightly, one answering the CSAT survey (a sheet row; its CSV export is a presigned link);
* agents through the API and the console: the team queues and ``mine``, a conversation's detail, answers,
  assign, unassign and close;
* inbound mail: a new mail whose category is one of ``conversations.email.categories`` opens a conversation
  (the email channel), and a reply to it is queued as its next message."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import quote

from dunning.config_loader import load_config_dir
from dunning.models.config import Config
from dunning_ops.local.http_api import add_demo_users
from tests.support.api_scenario import USERS
from tests.support.chat import ChatChannel, ChatSession
from tests.support.console_calls import RecordedConsole
from tests.support.conversations_fixtures import crm_settings, workflow_secrets
from tests.support.harness import Harness
from tests.support.interactions_scenario import _Api
from tests.support.local import ROOT, publish
from tests.support.scenarios import _common, demo_events

MAIL_CATEGORY = "web_request"  # a new mail's category (the web form's): it opens a conversation here
VIP, NORMAL = "vip.customer@example.com", "normal.customer@example.com"
CUSTOMER = "mail.customer@customer.example"
DRAFT = """\
id: scenario_hello
name: Scenario hello
trigger: {event: conversation_opened, contacts: any, channels: [test]}
priority: 0
start: hello
steps:
  - {id: hello, type: send, text: "Hello!", next: done}
  - {id: done, type: close, message: "Bye."}
"""


def _config(crm_url: str) -> Config:
    data = crm_settings(load_config_dir(ROOT / "infra" / "config"), crm_url).model_dump(mode="json", by_alias=True)
    data["conversations"]["email"] = {"enabled": True, "categories": ["dunning_reply", MAIL_CATEGORY]}
    return Config.model_validate(data)


def _wait(session: ChatSession, statuses: tuple[str, ...], timeout: float = 60.0) -> str:
    return session.wait_status(statuses, timeout)


def _mail(to: str, subject: str, text: str, reply_to: str | None = None) -> tuple[bytes, str]:
    msg = EmailMessage()
    msg["From"] = f"Mail Customer <{CUSTOMER}>"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = mid = f"<{uuid.uuid4().hex}@customer.example>"
    if reply_to:
        msg["In-Reply-To"] = reply_to
    msg.set_content(text)
    return msg.as_bytes(), mid


def _email_conversation(api: _Api, user: str, timeout: float = 60.0) -> str | None:
    """The conversation the mail opened (the only one on the email channel), once it is handed to a team."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for team in ("normal", "vip", "managers"):
            _, found = api.call(user, "GET", f"/api/conversations?team={team}")
            for item in found if isinstance(found, list) else []:
                if item.get("channel") == "email":
                    return str(item["id"])
        time.sleep(0.5)
    return None


def conversations() -> dict[str, Any]:
    from dunning_ops.local import stub_crm

    crm = stub_crm.start()
    crm_url = str(crm.url)
    crm.set_contact(VIP, customerType="VIP", name="Vic")
    crm.set_contact(NORMAL, customerType="normal", name="Noa")
    config = _config(crm_url)
    try:
        with Harness.started(config=config) as h:
            workflow_secrets(h.stack, config)
            publish(h.stack, config)
            h.send(demo_events())  # accounts and invoices: the collections template's promise to pay
            add_demo_users(h.stack, USERS)
            url = h.stack.start_http_api()
            api = _Api(url)
            admin, sup, _collector, agent = (u.username for u in USERS)
            outcome: dict[str, Any] = {}

            # ------------------------------------------------------------------ workflows (API, admin)
            api.ok(admin, "POST", "/api/workflows/templates/install", {"publish": True})
            api.ok(agent, "GET", "/api/workflows")
            api.ok(admin, "GET", "/api/workflows/vip_routing")
            api.ok(admin, "POST", "/api/workflows/validate", {"source": DRAFT, "format": "yaml"})
            api.ok(admin, "POST", "/api/workflows/validate", {"source": "id: x\nsteps: []\n"})  # ok: false
            api.ok(admin, "PUT", "/api/workflows/scenario_hello/draft", {"source": DRAFT, "format": "yaml"})
            api.ok(admin, "POST", "/api/workflows/scenario_hello/publish", {"note": "first"})
            api.ok(admin, "GET", "/api/workflows/scenario_hello/versions/1")
            api.ok(admin, "PUT", "/api/workflows/scenario_hello/draft",
                   {"source": DRAFT.replace("Hello!", "Hello again!"), "format": "yaml"})
            api.ok(admin, "GET", "/api/workflows/scenario_hello/diff?from=1&to=draft")
            api.call(admin, "GET", "/api/workflows/vip_routing/diagram")
            api.ok(agent, "PUT", "/api/workflows/scenario_hello/draft", {"source": DRAFT}, expect=403)

            # ------------------------------------------------------------------ customers (the public chat)
            channel = ChatChannel(url, poll_interval=0.2)
            vip = channel.open(name="Vic", email=VIP)
            normal = channel.open(name="Noa", email=NORMAL)
            typed_ahead = channel.open(name="Tia")
            typed_ahead.say(NORMAL)  # most likely before the question parks: park answers with it at once
            asked = channel.open(name="Ann")
            asked.wait_prompt(60)
            asked.say("not an address")
            asked.wait_for("doesn't look like", 60)
            asked.say(NORMAL)
            outcome["statuses"] = [_wait(s, ("handed_off", "closed")) for s in (vip, normal, asked, typed_ahead)]

            # the CSAT survey, forced onto its live version through the use case (as "Try it" does)
            from dunning.app import deps as app_deps
            from dunning.app.conversations import open_conversation
            from dunning.auth import Group, Principal
            from dunning.models.conversations import NewConversation
            from dunning_ops.cli.chat_cmd import ChatApi, Conversation, Opened
            from dunning_ops.target import Target

            settings = Target.from_args(h.stack.endpoint, None, None).settings
            admin_p = Principal(user_id="u-admin", username=admin, groups=frozenset({Group.ADMIN}))
            opened = open_conversation(app_deps.conversation_deps(settings), NewConversation(
                channel="test", name="Cat", email=NORMAL), _now(), principal=admin_p, workflow=("csat_survey", "1"))
            c = opened.conversation
            csat = ChatSession(Conversation(ChatApi(url), Opened(c.id, opened.token, c.number, 1000)), 0.2)
            csat.wait_prompt(60)
            csat.say("5")
            csat.wait_prompt(60)
            csat.say("Quick and friendly.")
            outcome["csat"] = _wait(csat, ("closed", "handed_off"))
            api.call(sup, "GET", "/api/sheets/csat/export")

            # ------------------------------------------------------------------ agents (API)
            api.ok(agent, "GET", "/api/conversations?team=vip")
            api.ok(agent, "GET", "/api/conversations?team=normal")
            api.ok(agent, "GET", "/api/conversations?mine=true")
            cid = normal.conversation_id
            api.ok(agent, "GET", f"/api/conversations/{cid}")
            api.ok(agent, "POST", f"/api/conversations/{cid}/assign", {"assignee": agent})
            api.ok(agent, "POST", f"/api/conversations/{cid}/messages", {"text": "Hello, how can I help?"},
                   expect=201)
            normal.say("My invoice is wrong.")
            api.ok(agent, "GET", "/api/conversations?mine=true")
            api.ok(agent, "POST", f"/api/conversations/{cid}/assign", {"assignee": None})
            api.ok(agent, "POST", f"/api/conversations/{cid}/close", {"reason": "answered"})
            refused = api.call(None, "POST", f"/public/chat/conversations/{cid}/messages",
                               {"text": "One more thing.", "client_message_id": "after-close"},
                               headers={"authorization": f"Bearer {normal.token}"})[0]
            outcome["chat_after_close"] = refused  # 409: the chat opens a new conversation to write again
            waiting = channel.open(name="Wes")  # the bot asks for the address; the admin closes it meanwhile
            waiting.wait_prompt(60)
            api.ok(admin, "POST", f"/api/conversations/{waiting.conversation_id}/close", {"reason": "spam"})
            outcome["closed_while_waiting"] = _wait(waiting, ("closed",))

            opened = open_conversation(app_deps.conversation_deps(settings), NewConversation(
                channel="test", name="Debtor", account_id="A-0001"), _now(), principal=admin_p,
                workflow=("collections_promise", "1"))
            c = opened.conversation
            debtor = ChatSession(Conversation(ChatApi(url), Opened(c.id, opened.token, c.number, 1000)), 0.2)
            debtor.wait_prompt(60)
            debtor.say("1")
            debtor.wait_prompt(60)
            debtor.say((_now().date() + timedelta(days=5)).isoformat())
            outcome["promise"] = _wait(debtor, ("closed", "handed_off"))
            api.ok(None, "GET", "/api/conversations?team=vip", expect=401)
            api.ok(_collector, "POST", f"/api/conversations/{vip.conversation_id}/close", {}, expect=403)

            # ------------------------------------------------------------------ inbound mail (the email channel)
            domain = h.stack.template.cloudformation.get("Parameters", {}).get("InboundMailDomain", {}).get(
                "Default", "reply.example.com")
            support = f"support@{domain}"
            raw, mid = _mail(support, "Question about my bill", "Why is my bill higher this month?")
            h.stack.drop_mail(raw, recipients=[support])
            h.drain()
            mail_conv = _email_conversation(api, agent)
            outcome["mail_conversation"] = mail_conv
            if mail_conv:
                api.ok(agent, "GET", f"/api/conversations/{mail_conv}")
                api.ok(agent, "POST", f"/api/conversations/{mail_conv}/messages",
                       {"text": "We are looking into it."}, expect=201)
                api.ok(agent, "POST", f"/api/conversations/{mail_conv}/close", {"reason": "answered"})
                # a reply after close: the inbound queue opens a new conversation on the same interaction
                raw, _ = _mail(support, "Re: Question about my bill", "Thank you.", reply_to=mid)
                h.stack.drop_mail(raw, recipients=[support])
                h.drain()

            # ------------------------------------------------------------------ the console
            outcome["console_statuses"] = _console(url, admin, agent, vip.conversation_id, channel)
            h.drain()
            assert not api.unexpected, api.unexpected
            return {"statuses": api.statuses, "outcome": outcome, **_common(h)}
    finally:
        crm.stop()


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def _console(url: str, admin: str, agent: str, vip_conversation: str, channel: ChatChannel) -> list[tuple[str, int]]:
    console = RecordedConsole(url, USERS)
    statuses, signed_in, get, post = console.statuses, console.signed_in, console.get, console.post

    ad = signed_in(admin)
    get(ad, "/console/workflows")
    edit = "/console/workflows/scenario_hello/edit"
    get(ad, "/console/workflows/scenario_hello")
    get(ad, edit)
    post(ad, edit, {"source": DRAFT, "format": "yaml", "action": "validate"}, edit)
    post(ad, edit, {"source": DRAFT.replace("Hello!", "Hi!"), "format": "yaml", "action": "save"}, edit)
    post(ad, edit, {"source": DRAFT.replace("Hello!", "Hi!"), "format": "yaml", "action": "publish",
                    "note": "from the console"}, edit)
    get(ad, "/console/workflows/vip_routing/versions/1")
    post(ad, "/console/workflows", {"template": "csat_survey"}, "/console/workflows")  # exists: opens it
    tried = "/console/workflows/scenario_hello/try"
    get(ad, tried)
    status, headers, _ = post(ad, tried, {"name": "Tess"}, tried)
    location = headers.get("location", "")
    if status == 303 and "/console/" in location:
        page = location[location.index("/console/"):].split("#")[0]
        get(ad, page)
        if "/try/" in page:
            post(ad, f"{page.split('?')[0]}/messages", {"text": "hi", "client_message_id": "scenario-1"}, page)

    a = signed_in(agent)
    get(a, "/console/inbox")
    get(a, "/console/inbox?queue=team:vip")
    page = f"/console/conversations/{quote(vip_conversation, safe='')}"
    get(a, page)
    post(a, f"{page}/assign", {"to": "me"}, page)
    post(a, f"{page}/reply", {"text": "Welcome, a VIP agent here."}, page)
    post(a, f"{page}/assign", {"to": "queue"}, page)
    post(a, f"{page}/close", {"reason": "done"}, page)
    get(a, "/console/workflows/scenario_hello/edit")
    post(a, edit, {"source": DRAFT, "format": "yaml", "action": "publish"}, edit)  # refused: 403
    waiting = channel.open(name="Cora")  # the bot asks for the address (the local timeout cap is seconds: close now)
    waiting.wait_prompt(60)
    waiting_page = f"/console/conversations/{quote(waiting.conversation_id, safe='')}"
    get(ad, waiting_page)
    post(ad, f"{waiting_page}/close", {"reason": "test"}, waiting_page)  # ends the bot's open question
    assert waiting.wait_status("closed", 30) == "closed"
    return statuses


__all__ = ["conversations"]
