"""The agents' conversation routes through the real resolver, on fakes of the use cases: each route's guard
(conversations:read / write / reports) lets the groups SPEC 14 names through and no one else; the route passes
the caller and the validated body on; a conversation that does not exist is 404."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from dunning.api import context
from dunning.api.resolver import build_app
from dunning.app import conversations
from dunning.models.conversations import Conversation, ConversationDetail, ConversationSummary
from dunning.models.interactions import ThreadEntry
from tests.unit.chat.routes import call, fake_deps

T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


def conv(cid: str = "c1", **over: Any) -> Conversation:
    return Conversation(**{"id": cid, "number": "IN-2026-000001", "status": "handed_off", "channel": "web_chat",
                           "interaction_id": "i1", "contact_key": "anon:c1", "team": "vip", "created_at": T0,
                           "updated_at": T0, **over})


class FakeAgents:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def _known(self, cid: str) -> None:
        if cid != "c1":
            raise conversations.ConversationNotFound(f"no conversation {cid}")

    def inbox(self, deps: Any, principal: Any, *, team: Any = None, status: str = "handed_off",
              mine: bool = False) -> list[ConversationSummary]:
        self.calls.append(("inbox", principal.username, team, status, mine))
        c = conv()
        return [ConversationSummary(**c.model_dump(include=set(ConversationSummary.model_fields)))]

    def detail(self, deps: Any, principal: Any, cid: str) -> ConversationDetail:
        self._known(cid)
        return ConversationDetail(conversation=conv(), variables={"CustomerType": "VIP"}, version="3",
                                  workflow_name="Route VIP contacts")

    def reply(self, deps: Any, principal: Any, cid: str, text: str, now: datetime) -> ThreadEntry:
        self._known(cid)
        self.calls.append(("reply", principal.username, cid, text))
        return ThreadEntry(entry_id="e1", kind="comment", author=principal.username, at=now, text=text,
                           visibility="customer")

    def close(self, deps: Any, principal: Any, cid: str, now: datetime, *, reason: str = "") -> Conversation:
        self._known(cid)
        self.calls.append(("close", principal.username, cid, reason))
        return conv(status="closed", closed_at=now)

    def assign(self, deps: Any, principal: Any, cid: str, assignee: str | None, now: datetime) -> Conversation:
        self._known(cid)
        self.calls.append(("assign", principal.username, cid, assignee))
        return conv(assignee=assignee)

    def export(self, deps: Any, principal: Any, sheet: str) -> str:
        self.calls.append(("export", principal.username, sheet))
        return f"https://s3.example/sheets/{sheet}/x.csv?sig"


@pytest.fixture
def world(monkeypatch) -> Any:
    fake = FakeAgents()
    monkeypatch.setattr(context, "conversations", lambda: fake_deps())
    for name, fn in (("inbox", fake.inbox), ("conversation_detail", fake.detail), ("agent_reply", fake.reply),
                     ("close_conversation", fake.close), ("assign", fake.assign), ("export_sheet", fake.export)):
        monkeypatch.setattr(conversations, name, fn)
    return type("World", (), {"app": build_app(), "fake": fake})


ROUTES = [("GET", "/api/conversations", None, "read"),
          ("GET", "/api/conversations/c1", None, "read"),
          ("POST", "/api/conversations/c1/messages", {"text": "hello"}, "write"),
          ("POST", "/api/conversations/c1/close", {}, "write"),
          ("POST", "/api/conversations/c1/assign", {"assignee": None}, "write"),
          ("GET", "/api/sheets/csat/export", None, "reports")]
EVERYONE = {"admin", "supervisor", "collector", "agent"}
ALLOWED = {"read": EVERYONE, "write": EVERYONE, "reports": {"admin", "supervisor"}}


@pytest.mark.parametrize("group", ["admin", "supervisor", "collector", "agent"])
@pytest.mark.parametrize("method, path, body, perm", ROUTES, ids=[f"{m} {p}" for m, p, _, _ in ROUTES])
def test_each_route_lets_exactly_the_groups_of_its_permission_through(world, method, path, body, perm, group):
    r = call(world.app, method, path, group=group, body=body)
    if group in ALLOWED[perm]:
        assert r.status in (200, 201), (r.status, r.body)
    else:
        assert r.status == 403 and f"conversations:{perm}" in r.json()["message"]


@pytest.mark.parametrize("method, path, body, perm", ROUTES, ids=[f"{m} {p}" for m, p, _, _ in ROUTES])
def test_without_a_caller_every_route_is_401(world, method, path, body, perm):
    assert call(world.app, method, path, body=body).status == 401


def test_the_inbox_passes_team_status_and_mine_on(world):
    r = call(world.app, "GET", "/api/conversations", group="agent",
             query={"team": "vip", "status": "bot", "mine": "true"})
    assert r.status == 200 and r.json()[0]["id"] == "c1"
    assert world.fake.calls == [("inbox", "agent@example.com", "vip", "bot", True)]
    assert call(world.app, "GET", "/api/conversations", group="agent").status == 200
    assert world.fake.calls[-1] == ("inbox", "agent@example.com", None, "handed_off", False)
    assert call(world.app, "GET", "/api/conversations", group="agent", query={"status": "lost"}).status == 422


def test_the_detail_has_the_version_variables_and_workflow(world):
    d = call(world.app, "GET", "/api/conversations/c1", group="agent").json()
    assert d["version"] == "3" and d["variables"] == {"CustomerType": "VIP"} and d["conversation"]["team"] == "vip"
    assert call(world.app, "GET", "/api/conversations/nope", group="agent").status == 404


def test_reply_close_and_assign_pass_the_validated_body_on(world):
    r = call(world.app, "POST", "/api/conversations/c1/messages", group="agent", body={"text": "  On it.  "})
    assert r.status == 201 and r.json()["visibility"] == "customer"
    assert call(world.app, "POST", "/api/conversations/c1/assign", group="agent",
                body={"assignee": "agent@example.com"}).json()["assignee"] == "agent@example.com"
    assert call(world.app, "POST", "/api/conversations/c1/close", group="agent",
                body={"reason": "solved"}).json()["status"] == "closed"
    assert world.fake.calls == [("reply", "agent@example.com", "c1", "On it."),
                                ("assign", "agent@example.com", "c1", "agent@example.com"),
                                ("close", "agent@example.com", "c1", "solved")]


@pytest.mark.parametrize("path, body", [
    ("/api/conversations/c1/messages", {"text": ""}),
    ("/api/conversations/c1/messages", {"text": "x" * 4001}),
    ("/api/conversations/c1/assign", {}),
    ("/api/conversations/c1/assign", {"assignee": "two words"}),
    ("/api/conversations/c1/close", {"reason": "x" * 501}),
])
def test_bad_bodies_are_422(world, path, body):
    assert call(world.app, "POST", path, group="agent", body=body).status == 422
    assert world.fake.calls == []


def test_replying_to_an_unknown_conversation_is_404(world):
    assert call(world.app, "POST", "/api/conversations/nope/messages", group="agent",
                body={"text": "hi"}).status == 404


def test_the_sheet_export_answers_its_url_and_refuses_a_bad_sheet_name(world):
    r = call(world.app, "GET", "/api/sheets/csat/export", group="supervisor")
    assert r.status == 200 and r.json() == {"url": "https://s3.example/sheets/csat/x.csv?sig"}
    assert call(world.app, "GET", "/api/sheets/bad%20name/export", group="supervisor").status == 422
