"""The conversation use cases on moto tables with fake ports: opening, the inbound consumer, the run's advance
and park, hand-off, close, the agent side and sheet exports."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from dunning.app import conversations as uc
from dunning.auth import Forbidden, Group, Principal
from dunning.models.conversations import (
    InboundEnvelope,
    NewConversation,
    ParkInput,
    StepInput,
    StepOutput,
)
from dunning.models.workflows import Event
from tests.unit.conversations.support import ASK_EMAIL, ROUTE_NORMAL, ROUTE_VIP, Env, definition

AGENT = Principal(user_id="u1", username="agent@example.com", groups=frozenset({Group.AGENT}))
PT_AGENT = Principal(user_id="u2", username="agent-pt-BR", groups=frozenset({Group.AGENT}))
SUPERVISOR = Principal(user_id="u3", username="supervisor@example.com", groups=frozenset({Group.SUPERVISOR}))
OUTSIDER = Principal(user_id="u4", username="someone-else", groups=frozenset({Group.AGENT}))


def live(env: Env, data: dict[str, Any], version: str = "1") -> None:
    d = definition(data)
    env.workflows[(d.id, version)] = d
    env.live[:] = [(d, version)]


def open_chat(env: Env, **kw: Any) -> tuple[str, str]:
    new = NewConversation(channel=kw.pop("channel", "web_chat"), **kw)
    opened = uc.open_conversation(env.deps, new, env.now())
    return opened.conversation.id, opened.token


def thread(env: Env, cid: str) -> list[Any]:
    conv = env.deps.store.get(cid)
    assert conv is not None
    record = env.deps.interactions.store.record(conv.interaction_id)
    assert record is not None
    return sorted(record.thread, key=lambda e: (e.at, e.entry_id))


def texts(env: Env, cid: str, kind: str) -> list[str]:
    return [e.text for e in thread(env, cid) if e.kind == kind]


def started(env: Env, cid: str) -> StepOutput:
    """Open -> the execution's first advance."""
    env.run_queue()
    payload = env.executions.started[cid]
    return uc.advance_step(env.deps, StepInput.model_validate(payload), env.now())


def parked(env: Env, cid: str, out: StepOutput, token: str) -> None:
    assert out.wait == "answer" and out.ask is not None
    env.executions.valid.add(token)
    uc.park(env.deps, ParkInput(conversation_id=cid, token=token, state=out.state, ask=out.ask), env.now())


def message(env: Env, cid: str, client_id: str, text: str) -> InboundEnvelope:
    return InboundEnvelope(kind="message", conversation_id=cid, message_id=client_id, text=text, at=env.now(),
                           channel="web_chat", dedupe_id=f"{cid}:{client_id}")


# ---------------------------------------------------------------------------------------------- open
def test_opening_records_the_interaction_the_conversation_and_queues_the_open_envelope(env):
    cid, token = open_chat(env, name="Ana", email="Ana@Example.com", text="Hi, I need help")
    conv = env.deps.store.get(cid)
    assert conv is not None and conv.status == "opening" and not conv.returning
    interaction = env.deps.interactions.store.get(conv.interaction_id)
    assert interaction is not None
    assert (interaction.category, interaction.channel, interaction.customer_email) == ("conversation", "chat",
                                                                                      "Ana@Example.com")
    assert texts(env, cid, "chat_in") == ["Hi, I need help"]
    assert env.deps.store.for_interaction(interaction.id) == cid
    assert [(e.kind, e.dedupe_id) for e in env.queue.sent] == [("open", f"{cid}:open")]
    assert conv.contact_key == "email:ana@example.com" and conv.contact["email"] == "Ana@Example.com"
    assert uc.customer_view(env.deps, cid, token, None).status == "opening"
    again, _ = open_chat(env, email="ana@example.com")
    second = env.deps.store.get(again)
    assert second is not None and second.returning and second.contact["conversations"] == 2


def test_processing_the_open_envelope_twice_starts_one_execution(env):
    live(env, ROUTE_NORMAL)
    cid, _ = open_chat(env)
    envelope = env.queue.sent[0]
    first = uc.process_inbound(env.deps, envelope, env.now())
    second = uc.process_inbound(env.deps, envelope, env.now())
    assert first.outcome == "started" and second.outcome == "duplicate"
    assert list(env.executions.started) == [cid]
    payload = env.executions.started[cid]
    assert payload["event"] == {"kind": "start", "text": "", "http": None, "ok": False, "today": None}
    assert payload["state"]["workflow_id"] == "normal_now" and payload["state"]["step"] == "normal"
    conv = env.deps.store.get(cid)
    assert conv is not None and (conv.status, conv.workflow_id, conv.version) == ("bot", "normal_now", "1")


def test_no_live_workflow_hands_the_conversation_to_the_fallback_team_with_a_message(env):
    cid, _ = open_chat(env)
    [outcome] = env.run_queue()
    assert outcome.outcome == "handed_off"
    conv = env.deps.store.get(cid)
    assert conv is not None and conv.status == "handed_off" and conv.team == "managers"
    assert conv.assignee == "supervisor@example.com"  # the only manager
    assert texts(env, cid, "chat_out") == [uc.NO_WORKFLOW_MESSAGE]


# ---------------------------------------------------------------------------------------------- questions
def test_a_message_while_waiting_delivers_the_answer_and_the_duplicate_is_processed_once(env):
    live(env, ASK_EMAIL)
    env.deps = env.deps.__class__(**{**env.deps.__dict__, "ask_timeout_cap": 6})
    cid, token = open_chat(env)
    out = started(env, cid)
    assert out.ask is not None and out.ask.timeout_seconds == 6  # capped
    parked(env, cid, out, "tok-1")
    assert texts(env, cid, "chat_out") == ["What's your email address?"]
    view = uc.customer_view(env.deps, cid, token, None)
    assert view.prompt is not None and view.prompt.kind == "email"
    envelope = message(env, cid, "m1", "ana@example.com")
    assert uc.process_inbound(env.deps, envelope, env.now()).outcome == "delivered"
    assert uc.process_inbound(env.deps, envelope, env.now()).outcome == "duplicate"
    assert env.executions.succeeded == [("tok-1", {"kind": "answer", "text": "ana@example.com"})]
    assert texts(env, cid, "chat_in") == ["ana@example.com"]
    conv = env.deps.store.get(cid)
    assert conv is not None and conv.waiting is None


def test_a_redelivered_message_whose_delivery_was_cut_short_is_delivered_once(env, monkeypatch):
    """The consumer stopped between the thread entry and handing the answer over (a timeout, a crash): the
    redelivery finds the entry already there and still delivers the answer - once."""
    live(env, ASK_EMAIL)
    cid, _ = open_chat(env)
    parked(env, cid, started(env, cid), "tok-1")
    envelope = message(env, cid, "m1", "ana@example.com")
    real = env.deps.store.take_waiting

    def cut_short(*args, **kwargs):
        raise TimeoutError("the Lambda ran out of time")

    monkeypatch.setattr(env.deps.store, "take_waiting", cut_short)
    with pytest.raises(TimeoutError):
        uc.process_inbound(env.deps, envelope, env.now())
    monkeypatch.setattr(env.deps.store, "take_waiting", real)
    assert env.executions.succeeded == []
    assert uc.process_inbound(env.deps, envelope, env.now()).outcome == "delivered"
    assert uc.process_inbound(env.deps, envelope, env.now()).outcome == "duplicate"
    assert env.executions.succeeded == [("tok-1", {"kind": "answer", "text": "ana@example.com"})]
    assert texts(env, cid, "chat_in") == ["ana@example.com"]


def test_a_message_while_the_bot_runs_is_pending_and_the_next_question_takes_it(env):
    live(env, ASK_EMAIL)
    cid, _ = open_chat(env)
    env.run_queue()
    assert uc.process_inbound(env.deps, message(env, cid, "m1", "bob@example.com"), env.now()).outcome == "pending"
    out = uc.advance_step(env.deps, StepInput.model_validate(env.executions.started[cid]), env.now())
    parked(env, cid, out, "tok-1")
    assert env.executions.succeeded == [("tok-1", {"kind": "answer", "text": "bob@example.com"})]
    assert texts(env, cid, "chat_out") == []  # answered already: the question is not sent
    conv = env.deps.store.get(cid)
    assert conv is not None and conv.pending == [] and conv.waiting is None


def test_the_same_advance_twice_sends_one_message(env):
    live(env, ASK_EMAIL)
    cid, _ = open_chat(env)
    out = started(env, cid)
    parked(env, cid, out, "tok-1")
    answer = StepInput(conversation_id=cid, state=out.state, event=Event(kind="answer", text="ana@example.com"))
    first = uc.advance_step(env.deps, answer, env.now())
    second = uc.advance_step(env.deps, answer, env.now())
    assert first.state.seq == second.state.seq and first.wait == second.wait == "answer"
    assert texts(env, cid, "chat_out") == ["What's your email address?", "Thanks, ana@example.com is saved."]
    steps = env.deps.store.steps(cid)
    # asked, answered, sent, asked: each once (the history is keyed by transition number)
    assert [(s.step, s.at_transition) for s in steps] == [("ask_email", 1), ("ask_email", 2), ("thanks", 3),
                                                          ("rate", 4)]
    conv = env.deps.store.get(cid)
    assert conv is not None and conv.last_step == "rate"
    profile = env.deps.store.profile(conv.contact_key)
    assert profile is not None and profile.fields["email"] == "ana@example.com"  # update contact.email


def test_the_run_routes_saves_the_sheet_row_and_the_export_is_a_csv(env):
    live(env, ASK_EMAIL)
    cid, _ = open_chat(env)
    out = started(env, cid)
    parked(env, cid, out, "tok-1")
    out = uc.advance_step(env.deps, StepInput(conversation_id=cid, state=out.state,
                                              event=Event(kind="answer", text="ana@example.com")), env.now())
    parked(env, cid, out, "tok-2")
    out = uc.advance_step(env.deps, StepInput(conversation_id=cid, state=out.state,
                                              event=Event(kind="answer", text="great")), env.now())
    assert out.wait == "end"
    conv = env.deps.store.get(cid)
    assert conv is not None and conv.status == "handed_off" and conv.team == "normal"
    assert texts(env, cid, "chat_out")[-1] == "Connecting you to customer service."
    url = uc.export_sheet(env.deps, SUPERVISOR, "csat")
    [(key, body)] = env.sheets.objects.items()
    assert key.startswith("sheets/csat/") and key.endswith(".csv") and key in url
    rows = list(csv.reader(io.StringIO(body.decode())))
    assert rows[0] == ["at", "conversation_id", "rating"] and rows[1][1:] == [cid, "5"]
    with pytest.raises(Forbidden):
        uc.export_sheet(env.deps, AGENT, "csat")


def test_a_message_to_a_handed_off_conversation_only_moves_it_in_the_queue(env):
    live(env, ROUTE_NORMAL)
    cid, _ = open_chat(env)
    started(env, cid)
    before = env.deps.store.get(cid)
    assert before is not None and before.status == "handed_off"
    assert uc.process_inbound(env.deps, message(env, cid, "m1", "hello?"), env.now()).outcome == "queued"
    after = env.deps.store.get(cid)
    assert after is not None and after.updated_at > before.updated_at and env.executions.succeeded == []


# ---------------------------------------------------------------------------------------------- routing
def test_round_robin_routing_alternates_between_the_vip_agents(env):
    live(env, ROUTE_VIP)
    assignees = []
    for _ in range(4):
        cid, _ = open_chat(env)
        started(env, cid)
        conv = env.deps.store.get(cid)
        assert conv is not None and conv.team == "vip"
        assignees.append(conv.assignee)
        assert texts(env, cid, "chat_out") == ["Hello!", "Connecting you to our VIP team."]
    assert assignees == ["agent@example.com", "supervisor@example.com"] * 2


def test_least_open_routing_picks_the_member_with_fewer_open_conversations(env):
    live(env, ROUTE_NORMAL)
    first, _ = open_chat(env)
    started(env, first)
    second, _ = open_chat(env)
    started(env, second)
    a, b = env.deps.store.get(first), env.deps.store.get(second)
    assert a is not None and b is not None
    assert {a.assignee, b.assignee} == {"agent@example.com", "agent-pt-BR"}
    assert env.deps.store.open_counts("normal", ["agent@example.com", "agent-pt-BR"]) == {
        "agent@example.com": 1, "agent-pt-BR": 1}
    uc.close_conversation(env.deps, SUPERVISOR, first, env.now())
    third, _ = open_chat(env)
    started(env, third)
    c = env.deps.store.get(third)
    assert c is not None and c.assignee == a.assignee  # the one whose conversation closed has fewer open


# ---------------------------------------------------------------------------------------------- close
def test_a_question_parked_after_the_conversation_closed_ends_its_execution(env):
    """The race the IAM audit names (RACE_ONLY): closed between the advance that asks and the park."""
    live(env, ASK_EMAIL)
    cid, _ = open_chat(env)
    out = started(env, cid)
    uc.close_conversation(env.deps, None, cid, env.now(), reason="closed meanwhile")
    parked(env, cid, out, "tok-late")
    assert env.executions.failed == [("tok-late", "ConversationClosed")]
    conv = env.deps.store.get(cid)
    assert conv is not None and conv.status == "closed" and conv.waiting is None
    assert "What's your email address?" not in texts(env, cid, "chat_out")  # the question is not sent


def test_closing_a_waiting_conversation_ends_the_execution_and_closes_the_interaction(env):
    live(env, ASK_EMAIL)
    cid, token = open_chat(env)
    parked(env, cid, started(env, cid), "tok-1")
    closed = uc.close_conversation(env.deps, None, cid, env.now(), reason="test")
    assert closed.status == "closed"
    assert env.executions.failed == [("tok-1", "ConversationClosed")]
    conv = env.deps.store.get(cid)
    assert conv is not None and conv.status == "closed" and conv.waiting is None
    interaction = env.deps.interactions.store.get(conv.interaction_id)
    assert interaction is not None and (interaction.stage, interaction.status) == ("resolved", "closed")
    with pytest.raises(uc.ConversationClosed):
        uc.accept_message(env.deps, cid, token, "anyone?", "m9", env.now())


def test_a_message_after_close_opens_a_new_conversation_once(env):
    live(env, ROUTE_NORMAL)
    cid, token = open_chat(env, email="ana@example.com", name="Ana")
    started(env, cid)
    uc.close_conversation(env.deps, SUPERVISOR, cid, env.now())
    envelope = message(env, cid, "late-1", "One more thing")
    outcome = uc.process_inbound(env.deps, envelope, env.now())
    assert outcome.outcome == "continued" and outcome.new_conversation_id
    new_id = outcome.new_conversation_id
    again = uc.process_inbound(env.deps, envelope, env.now())
    assert again.outcome == "duplicate" and again.new_conversation_id == new_id
    old, new = env.deps.store.get(cid), env.deps.store.get(new_id)
    assert old is not None and new is not None
    assert old.continued_in == new_id and new.continued_from == cid and new.returning
    assert new.contact_key == old.contact_key
    assert texts(env, new_id, "chat_in") == ["One more thing"]
    view = uc.customer_view(env.deps, cid, token, None)
    assert view.continued_in == new_id and view.continued_token
    assert uc.customer_view(env.deps, new_id, view.continued_token, None).messages[0].text == "One more thing"
    # a second late message goes to the open continuation instead of opening a third conversation
    later = uc.process_inbound(env.deps, message(env, cid, "late-2", "And another"), env.now())
    assert later.new_conversation_id == new_id
    assert texts(env, new_id, "chat_in") == ["One more thing", "And another"]


def test_a_failed_execution_tells_the_customer_and_goes_to_the_fallback_team(env):
    live(env, ASK_EMAIL)
    cid, _ = open_chat(env)
    env.run_queue()
    uc.fail_conversation(env.deps, cid, "States.TaskFailed", env.now())
    uc.fail_conversation(env.deps, cid, "States.TaskFailed", env.now())
    conv = env.deps.store.get(cid)
    assert conv is not None and (conv.status, conv.team) == ("handed_off", "managers")
    assert texts(env, cid, "chat_out") == [uc.FALLBACK_MESSAGE]


# ---------------------------------------------------------------------------------------------- web chat
def test_accept_message_checks_the_token_and_the_rate_and_queues_with_a_dedupe_id(env):
    cid, token = open_chat(env)
    env.queue.take()
    with pytest.raises(uc.TokenInvalid):
        uc.accept_message(env.deps, cid, "bad", "hi", "m1", env.now())
    accepted = uc.accept_message(env.deps, cid, token, "hi", "m1", env.now())
    assert accepted.message_id == f"chat:{cid}:m1"
    uc.accept_message(env.deps, cid, token, "hi", "m1", env.now())  # the client retried: FIFO dedupe drops it
    assert [(e.kind, e.message_id) for e in env.queue.sent] == [("message", "m1")]
    limit = env.deps.config().conversations.web_chat.rate_per_minute
    with pytest.raises(uc.RateLimited):
        for n in range(limit):
            uc.accept_message(env.deps, cid, token, "spam", f"s{n}", env.now())


def test_the_customer_view_pages_by_cursor_and_shows_agents_replies(env):
    cid, token = open_chat(env, text="first")
    env.run_queue()  # no workflow live: handed to managers
    view = uc.customer_view(env.deps, cid, token, None)
    assert [(m.role, m.text) for m in view.messages] == [("customer", "first"), ("bot", uc.NO_WORKFLOW_MESSAGE)]
    uc.agent_reply(env.deps, SUPERVISOR, cid, "Hello, I'm here.", env.now())
    newer = uc.customer_view(env.deps, cid, token, view.cursor)
    assert [(m.role, m.text) for m in newer.messages] == [("agent", "Hello, I'm here.")]
    assert uc.customer_view(env.deps, cid, token, newer.cursor).messages == []


# ---------------------------------------------------------------------------------------------- agents
def test_inbox_assign_and_detail_follow_the_teams_of_the_agent(env):
    live(env, ROUTE_NORMAL)
    cid, _ = open_chat(env, name="Ana")
    started(env, cid)
    conv = env.deps.store.get(cid)
    assert conv is not None and conv.team == "normal"
    owner = AGENT if conv.assignee == AGENT.username else PT_AGENT
    other = PT_AGENT if owner is AGENT else AGENT
    assert [s.id for s in uc.inbox(env.deps, owner, mine=True)] == [cid]
    assert [s.id for s in uc.inbox(env.deps, other, team="normal")] == [cid]
    assert uc.inbox(env.deps, other, mine=True) == []
    with pytest.raises(Forbidden):
        uc.inbox(env.deps, OUTSIDER, team="normal")
    with pytest.raises(Forbidden):
        uc.conversation_detail(env.deps, OUTSIDER, cid)
    moved = uc.assign(env.deps, SUPERVISOR, cid, other.username, env.now())
    assert moved.assignee == other.username
    assert [s.id for s in uc.inbox(env.deps, other, mine=True)] == [cid]
    counts = env.deps.store.open_counts("normal", [owner.username, other.username])
    assert counts == {owner.username: 0, other.username: 1}
    with pytest.raises(Forbidden):
        uc.assign(env.deps, owner, cid, owner.username + "x", env.now())
    detail = uc.conversation_detail(env.deps, other, cid)
    assert detail.workflow_name == "Route normal" and detail.version == "1"
    assert [s.step for s in detail.steps] == ["normal"]
    assert uc.inbox(env.deps, SUPERVISOR, team="normal")[0].contact_name == "Ana"


# ---------------------------------------------------------------------------------------------- ledger, promises
PROMISE = {"id": "promise_flow", "name": "Promise", "start": "promise",
           "steps": [{"id": "promise", "type": "promise", "until": "2026-12-20", "next": "ok", "on_failure": "nope"},
                     {"id": "ok", "type": "close", "message": "Promise of {{ contact.lead_invoice_amount }} noted."},
                     {"id": "nope", "type": "close", "message": "That did not work."}]}


def test_an_account_fills_the_contact_from_the_ledger_and_a_promise_step_records_the_promise(env):
    from dataclasses import replace

    from tests.unit.holds.support import FakePromiseLedger, account, posted

    ledger = FakePromiseLedger()
    account(ledger, "A1")
    posted(ledger, "INV-2", "2026-02-28", "40.00", account="A1")
    posted(ledger, "INV-1", "2026-01-31", "100.00", account="A1")
    env.deps = replace(env.deps, interactions=replace(env.deps.interactions, ledger=ledger))
    live(env, PROMISE)
    cid, _ = open_chat(env, account_id="A1")
    conv = env.deps.store.get(cid)
    assert conv is not None
    assert {k: conv.contact[k] for k in ("account_id", "balance", "currency", "lead_invoice", "lead_invoice_amount",
                                         "lead_invoice_due")} == {
        "account_id": "A1", "balance": "140.00", "currency": "EUR", "lead_invoice": "INV-1",
        "lead_invoice_amount": "100.00", "lead_invoice_due": "2026-01-31"}
    out = started(env, cid)
    assert out.wait == "end"
    assert texts(env, cid, "chat_out") == ["Promise of 100.00 noted."]
    interaction = env.deps.interactions.store.get(conv.interaction_id)
    assert interaction is not None and [(h.kind, h.invoice_id, str(h.amount)) for h in interaction.holds] == [
        ("promise", "INV-1", "100.00")]
    after = env.deps.store.get(cid)
    assert after is not None and after.status == "closed"


def test_an_answer_to_a_question_that_timed_out_is_kept_for_the_next_question(env):
    live(env, ASK_EMAIL)
    cid, _ = open_chat(env)
    out = started(env, cid)
    parked(env, cid, out, "tok-1")
    env.executions.valid.discard("tok-1")  # the question's timeout fired first
    assert uc.process_inbound(env.deps, message(env, cid, "m1", "late@example.com"), env.now()).outcome == "pending"
    conv = env.deps.store.get(cid)
    assert conv is not None and conv.waiting is None and [p.text for p in conv.pending] == ["late@example.com"]


def test_the_timeout_path_clears_the_question_and_closes(env):
    live(env, ASK_EMAIL)
    cid, token = open_chat(env)
    out = started(env, cid)
    parked(env, cid, out, "tok-1")
    env.executions.valid.discard("tok-1")
    done = uc.advance_step(env.deps, StepInput(conversation_id=cid, state=out.state, event=Event(kind="timeout")),
                           env.now())
    assert done.wait == "end"
    view = uc.customer_view(env.deps, cid, token, None)
    assert view.status == "closed" and view.prompt is None
    assert view.messages[-1].text == "We'll close this chat for now."


class FakeSes:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send_email(self, **kw: Any) -> dict[str, str]:
        self.sent.append(kw)
        return {"MessageId": f"ses-{len(self.sent)}"}


def test_an_email_conversation_mails_the_bot_and_the_agent_once(env):
    from dataclasses import replace

    from dunning.app.interaction_mail import MailDeps

    ses = FakeSes()
    env.deps = replace(env.deps, mail=MailDeps(interactions=env.deps.interactions, ses=lambda: ses,
                                               domain="mail.example"))
    live(env, ROUTE_VIP)
    cid, _ = open_chat(env, channel="email", email="ana@example.com", name="Ana", text="Please call me")
    out = started(env, cid)
    uc.advance_step(env.deps, StepInput.model_validate(env.executions.started[cid]), env.now())  # a retry
    assert out.wait == "end"
    assert [m["Destination"]["ToAddresses"] for m in ses.sent] == [["ana@example.com"]] * 2  # hello + the route
    kinds = [(e.kind, e.visibility) for e in thread(env, cid)]
    assert kinds.count(("email_out", "customer")) == 2 and kinds.count(("chat_out", "agents")) == 2
    uc.agent_reply(env.deps, AGENT, cid, "I'll call you today.", env.now())
    assert len(ses.sent) == 3
