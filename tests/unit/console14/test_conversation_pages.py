"""The inbox and a conversation's page through the console's routes on the real conversation use cases, the
conversations and interactions tables in moto (the queue and the state machine are recorded, not run: the
conversation is put where a workflow would leave it, handed to the normal team): an agent of the team finds it in
the team queue, reads who wrote each message and the steps the workflow took with the version, assigns it to
themself, answers (the customer's view shows the answer) and closes it; an agent outside the team may not open it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import unescape
from pathlib import Path
from typing import Any

import boto3
import pytest

from dunning.auth import Group, Principal
from tests.unit.console14.test_workflow_pages import USERS as WF_USERS
from tests.unit.console14.test_workflow_pages import World as PageWorld

ROOT = Path(__file__).resolve().parents[3]
CONVERSATIONS = "conversations"
INTERACTIONS = "interactions"
BUCKET = "attachments"
USERS = {**WF_USERS,
         "agent": Principal(user_id="u-1", username="agent@example.com", groups=frozenset({Group.AGENT})),
         "outsider": Principal(user_id="u-9", username="outsider@example.com", groups=frozenset({Group.AGENT}))}


@dataclass
class FakeQueue:
    sent: list[Any] = field(default_factory=list)

    def send(self, envelope: Any) -> None:
        self.sent.append(envelope)


@dataclass
class FakeExecutions:
    failed: list[str] = field(default_factory=list)

    def start(self, name: str, payload: dict[str, Any]) -> str:
        return f"arn:aws:states:us-east-1:123456789012:execution:conversation:{name}"

    def succeed(self, token: str, output: dict[str, Any]) -> bool:
        return True

    def fail(self, token: str, error: str, cause: str) -> None:
        self.failed.append(token)


@dataclass
class World(PageWorld):
    conversation_id: str = ""
    token: str = ""
    number: str = ""


def _table(name: str) -> dict[str, Any]:
    from dunning_ops.local.translate import load_sam_template

    props = load_sam_template(ROOT / "template.yaml")["Resources"][name]["Properties"]
    return {k: props[k] for k in ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode")}


@pytest.fixture
def world(monkeypatch) -> Iterator[World]:
    from moto import mock_aws

    from dunning import aws
    from dunning.app import conversations as conv
    from dunning.app.conversations import ConversationDeps
    from dunning.app.deps import ConsoleDeps
    from dunning.app.interactions import InteractionDeps
    from dunning.app.workflows import WorkflowDeps, install_templates
    from dunning.config_loader import load_config_dir
    from dunning.console import routes
    from dunning.console import session as console_session
    from dunning.models.conversations import NewConversation, StepRecord
    from dunning.models.interactions import ThreadEntry
    from dunning.store.attachments import S3Attachments
    from dunning.store.conversations import DynamoConversationsRepository
    from dunning.store.interactions import DynamoInteractionsRepository
    from dunning.store.workflows import DynamoWorkflowsRepository

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for k, v in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(k, v)
    config = load_config_dir(ROOT / "infra" / "config")
    with mock_aws():
        aws._client.cache_clear()
        boto3.client("dynamodb").create_table(TableName=CONVERSATIONS, **_table("ConversationsTable"))
        boto3.client("dynamodb").create_table(TableName=INTERACTIONS, **_table("InteractionsTable"))
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        workflows = WorkflowDeps(store=DynamoWorkflowsRepository(CONVERSATIONS), config=lambda: config)
        interactions = InteractionDeps(store=DynamoInteractionsRepository(INTERACTIONS),
                                       attachments=S3Attachments(BUCKET), config=lambda: config, ledger=None,
                                       contacts=None, signing_key=lambda: b"k" * 32)
        deps = ConversationDeps(store=DynamoConversationsRepository(CONVERSATIONS), workflows=workflows,
                                interactions=interactions, config=lambda: config, queue=FakeQueue(),
                                executions=FakeExecutions(), signing_key=lambda: b"c" * 32,
                                sheets=None)  # type: ignore[arg-type]
        made = ConsoleDeps(reads=None, activities=None, pool=None, interactions=interactions,  # type: ignore[arg-type]
                           conversations=deps, workflows=workflows)
        monkeypatch.setattr(routes, "console_deps", lambda settings: made)
        monkeypatch.setattr(console_session, "verify_token", lambda token: USERS[token])
        now = datetime.now(UTC).replace(microsecond=0)
        install_templates(workflows, None, now)
        opened = conv.open_conversation(deps, NewConversation(channel="web_chat", name="Nora Normal",
                                                              email="nora@example.com", text="Hello there"), now)
        c = opened.conversation
        store = deps.store
        # where the VIP workflow leaves a normal contact: its steps, a bot message, handed to the normal team
        store.mark_started(c.id, "vip_routing", "1", c.id, {}, now)
        steps = [("has_email", "branch", "yes", {}), ("get_contact", "http", "ok", {"CustomerType": "normal"}),
                 ("vip_or_normal", "branch", "else", {"CustomerType": "normal"}),
                 ("route_normal", "route", "normal", {"CustomerType": "normal"})]
        store.put_steps(c.id, [StepRecord(step=s, type=t, outcome=o, at_transition=i + 1, variables=v, at=now)
                               for i, (s, t, o, v) in enumerate(steps)])
        store.save_progress(c.id, workflow_id="vip_routing", version="1", variables={"CustomerType": "normal"},
                            last_step="route_normal", at=now)
        # the customer's first message is in the thread already (opening recorded it); the bot's answer
        interactions.store.add_entry(c.interaction_id, ThreadEntry.model_validate(
            {"entry_id": "e-bot", "kind": "chat_out", "author": "bot", "at": now,
             "text": "Connecting you to our customer service team.", "visibility": "customer"}))
        current = store.get(c.id)
        assert current is not None
        assert store.hand_off(current, "normal", None, now) is not None
        yield World(deps=deps, conversation_id=c.id, token=opened.token, number=c.number)
        aws._client.cache_clear()


def page_of(world: World, user: str = "agent", **kw: Any) -> str:
    return world.page(f"/console/conversations/{world.conversation_id}", user=user, **kw)


def test_an_agent_finds_the_conversation_in_the_team_queue_not_in_mine(world):
    mine = world.page("/console/inbox", user="agent")
    assert 'aria-current="page">Assigned to me</a>' in mine and world.number not in mine
    tabs = re.findall(r'<a href="/console/inbox\?queue=([^"&]+)"', mine)
    assert tabs[0] == "mine" and "team%3Anormal" in tabs and "team%3Amanagers" not in tabs
    queue = world.page("/console/inbox", user="agent", query={"queue": "team:normal"})
    row = re.search(rf'<a href="/console/conversations/{world.conversation_id}">{world.number}</a>(.*?)</tr>', queue,
                    re.S)
    assert row, queue
    assert "Nora Normal" in row.group(1) and "Customer service" in row.group(1) and "nobody" in row.group(1)
    assert world.call("/console/inbox", "agent", query={"queue": "team:managers"})["statusCode"] == 400


def test_the_page_labels_who_wrote_each_message_and_shows_the_steps_taken_and_the_version(world):
    page = page_of(world)
    thread = re.search(r'<ol class="thread chat-thread" id="thread"[^>]*>(.*?)</ol>', page, re.S)
    assert thread
    roles = re.findall(r'<span class="badge role-(\w+)">([^<]+)</span>', thread.group(1))
    assert roles == [("customer", "Customer"), ("bot", "Bot")]
    history = re.search(r'id="history">(.*?)</section>', page, re.S)
    assert history
    taken = re.findall(r"<th scope=\"row\"><code>(\w+)</code>", history.group(1))
    assert taken == ["has_email", "get_contact", "vip_or_normal", "route_normal"]
    assert "CustomerType" in history.group(1) and '<dd>"normal"</dd>' in history.group(1)
    link = re.search(r'<a href="([^"]+)" id="version-link">([^<]+)</a>', page)
    assert link and link.group(1) == "/console/workflows/vip_routing/versions/1"
    assert "v1" in unescape(link.group(2))


def test_the_agent_assigns_it_to_themself_answers_and_closes_it_and_the_customer_sees_the_answer(world):
    from dunning.app.conversations import customer_view

    base = f"/console/conversations/{world.conversation_id}"
    answer = world.call(f"{base}/assign", "agent", "POST", {"to": "me"})
    assert answer["statusCode"] == 303 and answer["headers"]["Location"].endswith("?done=assigned")
    page = page_of(world, query={"done": "assigned"})
    assert 'id="assign-me"' not in page and "me (agent@example.com)" in page
    assert world.number in world.page("/console/inbox", user="agent")  # now in "Assigned to me"
    reply = world.call(f"{base}/reply", "agent", "POST", {"text": "Your reading is on file, <b>Nora</b>."})
    assert reply["headers"]["Location"].endswith("?done=conversation_reply_sent#thread-heading")
    page = page_of(world)
    assert '<span class="badge role-agent">Agent</span>' in page and "&lt;b&gt;Nora&lt;/b&gt;" in page
    seen = customer_view(world.deps, world.conversation_id, world.token, None)
    assert ("agent", "Your reading is on file, <b>Nora</b>.") in [(m.role, m.text) for m in seen.messages]
    closed = world.call(f"{base}/close", "agent", "POST", {})
    assert closed["headers"]["Location"].endswith("?done=conversation_closed")
    page = page_of(world, query={"done": "conversation_closed"})
    assert 'id="reply-form"' not in page and 'id="close"' not in page and "The conversation is closed." in page
    assert world.call(f"{base}/reply", "agent", "POST", {"text": "late"})["statusCode"] == 409
    assert world.number in world.page("/console/inbox", user="agent", query={"status": "closed"})


def test_an_agent_outside_the_team_may_not_open_it_and_an_empty_reply_is_refused(world):
    assert world.call(f"/console/conversations/{world.conversation_id}", "outsider")["statusCode"] == 403
    empty = world.call(f"/console/conversations/{world.conversation_id}/reply", "agent", "POST", {"text": "  "})
    assert empty["statusCode"] == 400


def test_try_it_opens_a_test_conversation_on_the_draft_and_the_browser_that_started_it_plays_the_customer(world):
    from dunning.app.conversations import conversation_detail

    started = world.call("/console/workflows/vip_routing/try", "supervisor", "POST", {"name": "Tess"})
    assert started["statusCode"] == 303, started["body"][:400]
    chat = started["headers"]["Location"]
    found = re.match(r"^/console/workflows/vip_routing/try/([0-9a-f]+)$", chat)
    assert found, chat
    cid = found.group(1)
    kept = [c for c in started["cookies"] if c.startswith("__Host-dunning_try=")]
    assert kept and "HttpOnly" in kept[0] and "Secure" in kept[0]
    opened = conversation_detail(world.deps, USERS["supervisor"], cid).conversation
    assert opened.channel == "test"
    forced = world.deps.queue.sent[-1].workflow  # the "open" envelope forces the draft's snapshot
    assert forced[0] == "vip_routing" and forced[1].startswith("draft-")
    cookie = kept[0].split(";", 1)[0].removeprefix("__Host-")
    page = world.with_cookie(cookie).page(chat)
    assert 'id="message-form"' in page and 'id="chat-log"' in page and 'data-poll="on"' in page
    sent = world.with_cookie(cookie).call(f"{chat}/messages", "supervisor", "POST",
                                          {"text": "tess@example.com", "client_message_id": "m1"})
    assert sent["headers"]["Location"] == f"{chat}?done=message_sent#chat-log"
    assert (world.deps.queue.sent[-1].kind, world.deps.queue.sent[-1].text) == ("message", "tess@example.com")
    other = world.page(chat)  # another browser (no cookie): the history, but not the customer's side
    assert 'id="message-form"' not in other and "started in another browser" in other
    assert world.call(f"{chat}/messages", "supervisor", "POST", {"text": "hi"})["statusCode"] == 400
