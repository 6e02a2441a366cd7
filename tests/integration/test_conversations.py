"""Conversation workflows through the test channel on the local stack (issue 14, Quality): moto runs
ConversationStateMachine (task tokens for questions, native Retry for the HTTP Lambda, the ask timeout at the
stack's ConversationAskTimeoutCapSeconds), the customer talks to the public chat API of the local gateway, the
CRM is the stub CRM. The seed's VIP routing template is live, as ``install_templates`` ships it.

What happened is read back from the conversation's detail (team, assignee, steps taken, version), its
interaction's thread (InteractionsTable) and what the customer saw.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import yaml

from dunning.store.interactions import DynamoInteractionsRepository
from dunning_ops.cli.chat_cmd import ChatApiError
from tests.support.conversations_fixtures import (
    ADMIN,
    NORMAL_EMAIL,
    VIP_EMAIL,
    VIP_TEMPLATE,
    ConversationStack,
    chat_entries,
    crm_fail_next,
    crm_mode,
    crm_requests,
    now,
    start_conversation_stack,
    wait_until,
)

ASK_TEXT = "email address"  # the VIP template's question (seed: ask the customer for the email)
SUCCESS = "saved"  # its success message after a valid answer
RETRY = "Please try again"  # its re-ask after an invalid answer
TIMEOUT_WAIT = 40.0  # the local ConversationAskTimeoutCapSeconds is a few seconds; Step Functions in moto is slow


@pytest.fixture(scope="module")
def cs() -> Iterator[ConversationStack]:
    s = start_conversation_stack()
    yield s
    s.stop()


@pytest.fixture(autouse=True)
def crm_up(cs: ConversationStack) -> Iterator[None]:
    crm_mode(cs.crm, "ok")
    yield
    crm_mode(cs.crm, "ok")


def team_skills(cs: ConversationStack, username: str) -> list[str]:
    agent = cs.config.conversations.agent(username)
    assert agent is not None, f"{username} is not a configured agent"
    return list(agent.skills)


def taken(cs: ConversationStack, conversation_id: str) -> list[tuple[str, str]]:
    """(step, outcome) of the execution history, in order."""
    return [(s.step, s.outcome) for s in cs.detail(conversation_id).steps]


def path(cs: ConversationStack, conversation_id: str) -> list[str]:
    """The steps taken, a step that waited (ask, http) once: ``asked`` + ``valid`` is one visit."""
    out: list[str] = []
    for step, _ in taken(cs, conversation_id):
        if not out or out[-1] != step:
            out.append(step)
    return out


# ---------------------------------------------------------------------------------------------- routing
def test_the_shipped_templates_are_live(cs):
    from dunning.app.workflows import list_workflows

    live = {w.id: w.live_version for w in list_workflows(cs.workflows, ADMIN)}
    assert VIP_TEMPLATE in cs.installed
    assert live.get(VIP_TEMPLATE), live


def test_a_vip_contact_with_an_email_is_routed_to_the_vip_team(cs):
    chat = cs.open(name="Vera VIP", email=VIP_EMAIL)
    d = cs.wait_routed(chat)
    assert (d.conversation.status, d.conversation.team) == ("handed_off", "vip")
    assert d.conversation.workflow_id == VIP_TEMPLATE
    assert d.conversation.assignee and "vip" in team_skills(cs, d.conversation.assignee)
    assert d.variables.get("CustomerType") == "VIP"
    steps = path(cs, chat.conversation_id)
    assert steps == ["has_email", "get_contact", "vip_or_normal", "route_vip"]  # known email: no question
    assert ("get_contact", "ok 200") in taken(cs, chat.conversation_id)
    [*_, lookup] = crm_requests(cs.crm, VIP_EMAIL)
    assert lookup["status"] == 200 and lookup["authorization"]  # the CRM token was resolved and sent


def test_a_normal_contact_is_routed_to_the_normal_team(cs):
    chat = cs.open(name="Nuno Normal", email=NORMAL_EMAIL)
    d = cs.wait_routed(chat)
    assert (d.conversation.status, d.conversation.team) == ("handed_off", "normal")
    assert d.conversation.assignee in {a.username for a in cs.config.conversations.members("normal")}
    assert path(cs, chat.conversation_id) == ["has_email", "get_contact", "vip_or_normal", "route_normal"]


def test_no_email_and_a_valid_answer_saves_it_jumps_to_the_lookup_and_routes(cs):
    chat = cs.open(name="Anna Asked")
    chat.wait_for(ASK_TEXT)
    assert chat.wait_prompt().kind == "email"
    chat.say(VIP_EMAIL)
    chat.wait_for(SUCCESS)
    d = cs.wait_routed(chat)
    assert d.conversation.team == "vip"  # the answer is looked up in the CRM, as the seed's jump says
    assert path(cs, chat.conversation_id) == ["has_email", "ask_email", "email_saved", "to_lookup", "get_contact",
                                              "vip_or_normal", "route_vip"]
    assert ("ask_email", "valid") in taken(cs, chat.conversation_id)
    texts = [m.text for m in chat.messages if m.author == "bot"]
    assert any(VIP_EMAIL in t and SUCCESS in t for t in texts), texts  # the success message names the email


def test_four_invalid_answers_route_to_the_managers_after_exactly_three_re_asks(cs):
    chat = cs.open(name="Ivo Invalid")
    chat.wait_for(ASK_TEXT)
    for i, answer in enumerate(["not an email", "still@nope", "@@@", "no"]):
        chat.say(answer)
        if i < 3:
            chat.wait_for(RETRY)
    d = cs.wait_routed(chat)
    assert d.conversation.team == "managers"
    bot = [m.text for m in chat.messages if m.author == "bot"]
    assert sum(RETRY in t for t in bot) == 3, bot
    outcomes = [o for s, o in taken(cs, chat.conversation_id) if s == "ask_email"]
    assert sum("re-ask" in o for o in outcomes) == 3 and sum("retries used" in o for o in outcomes) == 1, outcomes
    assert path(cs, chat.conversation_id) == ["has_email", "ask_email", "route_manager"]


def test_silence_takes_the_timeout_branch(cs):
    chat = cs.open(name="Sam Silent")
    chat.wait_for(ASK_TEXT)
    cs.wait_closed(chat, TIMEOUT_WAIT)
    assert path(cs, chat.conversation_id) == ["has_email", "ask_email", "close_idle"]
    assert ("ask_email", "timeout") in taken(cs, chat.conversation_id)
    assert any("close this chat" in t for t in chat.bot_texts()), chat.bot_texts()
    assert cs.detail(chat.conversation_id).conversation.team is None


# ---------------------------------------------------------------------------------------------- the CRM
def test_the_crm_down_takes_the_failure_branch(cs):
    since = len(cs.crm.requests())
    crm_mode(cs.crm, "down")
    chat = cs.open(name="Vera Down", email=VIP_EMAIL)
    d = cs.wait_routed(chat, TIMEOUT_WAIT)
    # a VIP contact, but the lookup failed: the HTTP step's on_failure (route_normal), not the VIP branch
    assert d.conversation.team == "normal"
    assert path(cs, chat.conversation_id) == ["has_email", "get_contact", "route_normal"]
    steps = taken(cs, chat.conversation_id)
    assert any(s == "get_contact" and o.startswith("failure") for s, o in steps), steps
    statuses = [r["status"] for r in crm_requests(cs.crm, VIP_EMAIL, since=since)]
    assert statuses == [503, 503, 503], statuses  # the step's retries: 2, then the failure branch


def test_a_crm_503_is_retried_and_the_contact_routed(cs):
    since = len(cs.crm.requests())
    crm_fail_next(cs.crm, 503, 1)
    chat = cs.open(name="Vera Retry", email=VIP_EMAIL)
    d = cs.wait_routed(chat, TIMEOUT_WAIT)
    assert d.conversation.team == "vip"
    assert d.variables.get("CustomerType") == "VIP"
    assert ("get_contact", "ok 200") in taken(cs, chat.conversation_id)
    statuses = [r["status"] for r in crm_requests(cs.crm, VIP_EMAIL, since=since)]
    assert statuses == [503, 200], statuses  # retried once by the state machine's Retry, then answered


# ---------------------------------------------------------------------------------------------- versions
def _variant(source: str) -> str:
    """The VIP template with other texts on the question and the success message (a visible v2)."""
    data = yaml.safe_load(source)
    for step in data["steps"]:
        if step["id"] == "ask_email":
            step["text"] = "V2: your email address, please?"
        if step["id"] == "email_saved":
            step["text"] = "V2 saved {{ contact.email }}."
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def test_a_conversation_waiting_on_v1_finishes_on_v1_after_v2_is_published(cs):
    from dunning.app.workflows import get_workflow, publish, version

    wf = get_workflow(cs.workflows, ADMIN, VIP_TEMPLATE)
    v1 = str(wf.summary.live_version)
    v1_source = version(cs.workflows, ADMIN, VIP_TEMPLATE, int(v1)).source
    chat = cs.open(name="Olga Old")
    chat.wait_for(ASK_TEXT)  # waiting on v1's question
    v2 = publish(cs.workflows, ADMIN, VIP_TEMPLATE, now(), note="test: new texts", text=_variant(v1_source),
                 fmt="yaml")
    try:
        assert str(v2.n) != v1
        chat.say(NORMAL_EMAIL)
        old = cs.wait_routed(chat)
        assert (old.version, old.conversation.version) == (v1, v1)
        bot = [m.text for m in chat.messages if m.author == "bot"]
        assert not any(t.startswith("V2") for t in bot), bot  # the v1 texts all the way
        assert any(SUCCESS in t for t in bot)

        new = cs.open(name="Nina New")
        new.wait_for("V2: your email address")
        new.say(NORMAL_EMAIL)
        new.wait_for("V2 saved")
        fresh = cs.wait_routed(new)
        assert fresh.conversation.version == str(v2.n) and fresh.conversation.team == "normal"
    finally:  # the other tests read the shipped texts: make them live again (a new version, same source)
        publish(cs.workflows, ADMIN, VIP_TEMPLATE, now(), note="test: restore", text=v1_source, fmt="yaml")


# ---------------------------------------------------------------------------------------------- bad input
def test_a_duplicate_inbound_message_is_processed_once(cs):
    chat = cs.open(name="Dora Double")
    chat.wait_for(ASK_TEXT)
    first = chat.say("not-an-email", client_message_id="dup-1")
    again = chat.say("not-an-email", client_message_id="dup-1")  # the client sends it again (a retry)
    assert first == again
    chat.wait_for(RETRY)
    chat.say(NORMAL_EMAIL, client_message_id="dup-2")
    chat.say(NORMAL_EMAIL, client_message_id="dup-2")
    cs.wait_routed(chat)
    bot = [m.text for m in chat.messages if m.author == "bot"]
    assert sum(RETRY in t for t in bot) == 1 and sum(SUCCESS in t for t in bot) == 1, bot
    inbound = chat_entries(cs.thread(chat.conversation_id), "chat_in")
    ids = [e.message_id for e in inbound]
    assert ids.count(f"chat:{chat.conversation_id}:dup-1") == 1
    assert ids.count(f"chat:{chat.conversation_id}:dup-2") == 1
    assert [e.text for e in inbound] == ["not-an-email", NORMAL_EMAIL]


def test_a_message_after_close_is_refused_or_continued_never_lost(cs):
    from dunning.app.conversations import close_conversation

    chat = cs.open(name="Carl Closed", email=NORMAL_EMAIL)
    cs.wait_routed(chat)
    close_conversation(cs.deps, ADMIN, chat.conversation_id, now(), reason="test")
    chat.wait_status("closed")
    text = "One more thing about my bill"
    try:
        chat.say(text)
    except ChatApiError as exc:  # refused: the customer is told, nothing half-recorded
        assert exc.status == 409, exc
        assert text not in [e.text for e in chat_entries(cs.thread(chat.conversation_id), "chat_in")]
        return
    # accepted (it raced the close): it opens a new conversation, which holds the message
    follow = wait_until(lambda: chat.api.view(chat.conversation_id, chat.token).continued_in, 30.0,
                        "the new conversation after close")
    wait_until(lambda: text in [e.text for e in chat_entries(cs.thread(follow), "chat_in")], 30.0,
               "the message in the new conversation's thread")


def test_an_invalid_workflow_is_refused_at_publish_with_the_step_and_the_reason(cs):
    from dunning.app.workflows import WorkflowInvalid, list_workflows, publish

    bad = """\
id: broken_flow
name: Broken on purpose
trigger: {event: conversation_opened}
start: ask
steps:
  - {id: ask, type: ask, kind: email, text: "Email?", save_as: contact.email, next: nowhere,
     on_invalid: to_mars, on_timeout: bye}
  - {id: to_mars, type: route, team: mars, rule: round_robin}
  - {id: bye, type: close}
  - {id: orphan, type: send, text: "never reached", next: bye}
"""
    with pytest.raises(WorkflowInvalid) as refused:
        publish(cs.workflows, ADMIN, "broken_flow", now(), text=bad, fmt="yaml")
    errors = [(e.step, e.message) for e in refused.value.errors]
    assert any(step == "ask" and "nowhere" in msg for step, msg in errors), errors
    assert any(step == "orphan" and "reach" in msg.lower() for step, msg in errors), errors
    live = {w.id: w.live_version for w in list_workflows(cs.workflows, ADMIN)}
    assert not live.get("broken_flow")  # nothing went live


def test_an_unknown_team_is_refused_at_publish(cs):
    from dunning.app.workflows import WorkflowInvalid, publish

    bad = """\
id: unknown_team
name: Routes to a team that does not exist
trigger: {event: conversation_opened}
start: go
steps:
  - {id: go, type: route, team: mars, rule: round_robin}
"""
    with pytest.raises(WorkflowInvalid) as refused:
        publish(cs.workflows, ADMIN, "unknown_team", now(), text=bad, fmt="yaml")
    assert any(e.step == "go" and "mars" in e.message for e in refused.value.errors), refused.value.errors


# ---------------------------------------------------------------------------------------------- the record
def test_every_conversation_is_an_interaction_with_its_messages_in_the_thread(cs):
    chat = cs.open(name="Ines Interaction")
    chat.wait_for(ASK_TEXT)
    chat.say("nope")
    chat.wait_for(RETRY)
    chat.say(NORMAL_EMAIL)
    cs.wait_routed(chat)
    chat.poll()
    d = cs.detail(chat.conversation_id)
    repo = DynamoInteractionsRepository(cs.stack.outputs["InteractionsTableName"])
    record = repo.record(d.conversation.interaction_id)
    assert record is not None, "no interaction for the conversation"
    assert record.interaction.category == cs.config.conversations.interaction_category
    assert record.interaction.number == chat.number
    seen = [(m.author, m.text) for m in chat.messages if m.author in ("customer", "bot")]
    in_thread = [("customer" if e.kind == "chat_in" else "bot", e.text) for e in record.thread
                 if e.kind in ("chat_in", "chat_out")]
    assert in_thread == seen  # every message once, in order, as the customer saw them
    assert [t for a, t in in_thread if a == "customer"] == ["nope", NORMAL_EMAIL]


def test_after_hand_off_the_bot_stops_answering(cs):
    from dunning.app.conversations import inbox

    chat = cs.open(name="Hugo Handoff", email=NORMAL_EMAIL)
    d = cs.wait_routed(chat)
    chat.poll()
    bot_before = [m.text for m in chat.messages if m.author == "bot"]
    text = "Hello? Is a person there?"
    chat.say(text)
    wait_until(lambda: text in [e.text for e in chat_entries(cs.thread(chat.conversation_id), "chat_in")], 20.0,
               "the customer's message in the thread")
    time.sleep(2.0)  # the bot would have answered by now (its answers take well under a second here)
    chat.poll()
    assert [m.text for m in chat.messages if m.author == "bot"] == bot_before  # no bot answer
    assert cs.detail(chat.conversation_id).conversation.status == "handed_off"
    queue = inbox(cs.deps, ADMIN, team=d.conversation.team, status="handed_off")
    assert chat.conversation_id in [c.id for c in queue]

