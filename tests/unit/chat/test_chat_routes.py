"""The public web chat routes through the real resolver, on fakes of the conversation use cases: opening answers
the token (and the test channel when asked); the token is required and checked (401); a closed conversation
refuses a message with 409 and says to open a new one; the per-client open limit and the per-conversation
message limit answer 429 with Retry-After, and the source address is never what is counted; bodies are
validated with 422s that name the field; the customer's text is never echoed in a refusal."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from dunning.api import context
from dunning.api.resolver import build_app
from dunning.app import conversations
from dunning.interactions.webform import RateLimited
from dunning.models.conversations import (
    AcceptedMessage,
    Conversation,
    CustomerMessage,
    CustomerView,
    OpenedConversation,
    Prompt,
)
from dunning.models.workflows import Choice
from tests.unit.chat.routes import MemoryCounter, call, fake_deps

T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
SECRET = "my card number is 4111 1111 1111 1111"


class FakeChats:
    """open / accept / view over a dict: token ``tok-<id>``; a conversation in ``closed`` is closed."""

    def __init__(self) -> None:
        self.opened: list[Any] = []
        self.accepted: list[tuple[str, str, str]] = []
        self.closed: set[str] = set()
        self.per_minute = 3  # the use case's limit (it counts; here: a plain count)

    def open(self, deps: Any, new: Any, now: datetime, **kw: Any) -> OpenedConversation:
        n = len(self.opened) + 1
        self.opened.append(new)
        conv = Conversation(id=f"c{n}", number=f"IN-2026-{n:06d}", channel=new.channel, interaction_id=f"i{n}",
                            contact_key=f"anon:c{n}", created_at=now, updated_at=now)
        return OpenedConversation(conversation=conv, token=f"tok-c{n}")

    def _check(self, conversation_id: str, token: str) -> None:
        if token != f"tok-{conversation_id}":
            raise conversations.TokenInvalid("wrong token")

    def accept(self, deps: Any, conversation_id: str, token: str, text: str, client_message_id: str,
               now: datetime) -> AcceptedMessage:
        self._check(conversation_id, token)
        if conversation_id in self.closed:
            raise conversations.ConversationClosed("the conversation is closed")
        if len(self.accepted) >= self.per_minute:
            raise RateLimited(42, "chat-minute")
        self.accepted.append((conversation_id, text, client_message_id))
        mid = f"chat:{conversation_id}:{client_message_id}"
        return AcceptedMessage(conversation_id=conversation_id, client_message_id=client_message_id, message_id=mid,
                               dedupe_id=mid)

    def view(self, deps: Any, conversation_id: str, token: str, after: str | None) -> CustomerView:
        self._check(conversation_id, token)
        msgs = [CustomerMessage(cursor="0001", role="bot", text="What's your email address?", at=T0),
                CustomerMessage(cursor="0002", role="customer", text="ana@example.com", at=T0)]
        msgs = [m for m in msgs if after is None or m.cursor > after]
        return CustomerView(conversation_id=conversation_id, status="bot", messages=msgs,
                            cursor=msgs[-1].cursor if msgs else after,
                            prompt=Prompt(step="pick", kind="choice",
                                          choices=[Choice(value="1", label="Promise to pay"), Choice(value="2")]))


@pytest.fixture
def world(monkeypatch) -> Any:
    chats = FakeChats()
    counter = MemoryCounter()
    state = {"deps": fake_deps(counter, web_chat={"enabled": True, "rate_per_minute": 3, "open_per_hour": 2})}
    monkeypatch.setattr(context, "conversations", lambda: state["deps"])
    monkeypatch.setattr(conversations, "open_conversation", chats.open)
    monkeypatch.setattr(conversations, "accept_message", chats.accept)
    monkeypatch.setattr(conversations, "customer_view", chats.view)
    from dunning.api.routers import chat

    monkeypatch.setattr(chat, "_now", lambda: T0)
    app = build_app()
    return type("World", (), {"app": app, "chats": chats, "counter": counter, "state": state})


def test_opening_answers_id_token_number_and_when_to_poll_on_the_web_chat_channel(world):
    r = call(world.app, "POST", "/public/chat/conversations",
             body={"name": "Ana", "email": "ana@example.com", "text": "hello"})
    assert r.status == 201, r.body
    assert r.json() == {"conversation_id": "c1", "token": "tok-c1", "number": "IN-2026-000001",
                        "poll_after_ms": 1000}
    assert r.headers["cache-control"] == "no-store"
    [new] = world.chats.opened
    assert (new.channel, new.name, new.email, new.text, new.phone) == ("web_chat", "Ana", "ana@example.com",
                                                                        "hello", None)


def test_test_true_opens_on_the_test_channel(world):
    assert call(world.app, "POST", "/public/chat/conversations", body={"test": True}).status == 201
    assert world.chats.opened[0].channel == "test"


@pytest.mark.parametrize("body, field", [
    ({"email": "not-an-email"}, "email"),
    ({"language": "English!"}, "language"),
    ({"text": "x" * 4001}, "text"),
    ({"nickname": "ana"}, "nickname"),
])
def test_a_bad_open_body_is_422_naming_the_field(world, body, field):
    r = call(world.app, "POST", "/public/chat/conversations", body=body)
    assert r.status == 422, r.body
    assert field in r.body and not world.chats.opened


def test_the_third_open_from_one_address_in_the_hour_is_429_and_another_address_is_not_held_up(world):
    for _ in range(2):
        assert call(world.app, "POST", "/public/chat/conversations", body={}, source_ip="203.0.113.9").status == 201
    r = call(world.app, "POST", "/public/chat/conversations", body={}, source_ip="203.0.113.9")
    assert r.status == 429 and 1 <= int(r.headers["retry-after"]) <= 3600
    assert r.json()["retry_after"] == int(r.headers["retry-after"])
    assert call(world.app, "POST", "/public/chat/conversations", body={}, source_ip="203.0.113.10").status == 201
    assert len(world.chats.opened) == 3
    assert not any("203.0.113" in k for k in world.counter.keys)  # only a keyed hash of the address is counted


def test_the_web_chat_switched_off_opens_nothing(world):
    world.state["deps"] = fake_deps(web_chat={"enabled": False})
    r = call(world.app, "POST", "/public/chat/conversations", body={})
    assert r.status == 404 and not world.chats.opened


def test_a_message_with_its_token_is_accepted_202_with_the_thread_message_id(world):
    call(world.app, "POST", "/public/chat/conversations", body={})
    r = call(world.app, "POST", "/public/chat/conversations/c1/messages", token="tok-c1",
             body={"text": "  hello  ", "client_message_id": "m0001"})
    assert r.status == 202, r.body
    assert r.json() == {"message_id": "chat:c1:m0001"}
    assert world.chats.accepted == [("c1", "hello", "m0001")]


@pytest.mark.parametrize("token", [None, "", "tok-c2", "garbage"])
def test_a_message_without_the_conversations_token_is_401_and_not_accepted(world, token):
    call(world.app, "POST", "/public/chat/conversations", body={})
    r = call(world.app, "POST", "/public/chat/conversations/c1/messages", token=token,
             body={"text": SECRET, "client_message_id": "m0001"})
    assert r.status == 401, r.body
    assert SECRET not in r.body and not world.chats.accepted


def test_a_message_to_a_closed_conversation_is_409_and_says_to_open_a_new_one(world):
    call(world.app, "POST", "/public/chat/conversations", body={})
    world.chats.closed.add("c1")
    r = call(world.app, "POST", "/public/chat/conversations/c1/messages", token="tok-c1",
             body={"text": SECRET, "client_message_id": "m0001"})
    assert r.status == 409, r.body
    assert "open a new conversation" in r.json()["message"] and r.json()["open"] == "/public/chat/conversations"
    assert SECRET not in r.body


@pytest.mark.parametrize("body, field", [
    ({"text": "", "client_message_id": "m1"}, "text"),
    ({"text": "x" * 4001, "client_message_id": "m1"}, "text"),
    ({"text": "hi", "client_message_id": "has space"}, "client_message_id"),
    ({"text": "hi", "client_message_id": "x" * 65}, "client_message_id"),
    ({"text": "hi"}, "client_message_id"),
])
def test_a_bad_message_body_is_422_naming_the_field(world, body, field):
    call(world.app, "POST", "/public/chat/conversations", body={})
    r = call(world.app, "POST", "/public/chat/conversations/c1/messages", token="tok-c1", body=body)
    assert r.status == 422, r.body
    assert field in r.body and not world.chats.accepted


def test_messages_past_the_per_minute_limit_of_a_conversation_are_429(world):
    call(world.app, "POST", "/public/chat/conversations", body={})
    statuses = [call(world.app, "POST", "/public/chat/conversations/c1/messages", token="tok-c1",
                     body={"text": "hi", "client_message_id": f"m{i}"}).status for i in range(4)]
    assert statuses == [202, 202, 202, 429]
    r = call(world.app, "POST", "/public/chat/conversations/c1/messages", token="tok-c1",
             body={"text": "hi", "client_message_id": "m9"})
    assert r.status == 429 and "this conversation" in r.json()["message"]
    assert r.headers["retry-after"] == "42" and len(world.chats.accepted) == 3


def test_reading_gives_messages_with_authors_cursor_status_and_the_prompt(world):
    call(world.app, "POST", "/public/chat/conversations", body={})
    r = call(world.app, "GET", "/public/chat/conversations/c1/messages", token="tok-c1")
    assert r.status == 200, r.body
    view = r.json()
    assert [(m["id"], m["author"], m["text"]) for m in view["messages"]] == [
        ("0001", "bot", "What's your email address?"), ("0002", "customer", "ana@example.com")]
    assert view["cursor"] == "0002" and view["status"] == "bot" and view["continued_in"] is None
    assert view["prompt"] == {"kind": "choice", "choices": [{"value": "1", "label": "Promise to pay"},
                                                            {"value": "2", "label": ""}]}
    later = call(world.app, "GET", "/public/chat/conversations/c1/messages", token="tok-c1",
                 query={"after": "0001"}).json()
    assert [m["id"] for m in later["messages"]] == ["0002"]


@pytest.mark.parametrize("token", [None, "tok-c9"])
def test_reading_without_the_token_is_401(world, token):
    call(world.app, "POST", "/public/chat/conversations", body={})
    assert call(world.app, "GET", "/public/chat/conversations/c1/messages", token=token).status == 401
