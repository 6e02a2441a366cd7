"""The conversations repository on DynamoDB (moto, the table as SPEC_14 lays it out: pk/sk with the by_queue and
by_assignee GSIs): every state change is one conditional write, so a repeat changes nothing twice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from dunning.models.conversations import Conversation, PendingMessage, SheetRow, StepRecord, Waiting
from dunning.store.conversations import DynamoConversationsRepository
from tests.unit.conversations.support import CONVERSATIONS, create_tables

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> Iterator[DynamoConversationsRepository]:
    from moto import mock_aws

    from dunning import aws

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for k, v in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(k, v)
    with mock_aws():
        aws._client.cache_clear()
        create_tables()
        yield DynamoConversationsRepository(CONVERSATIONS)
        aws._client.cache_clear()


def conversation(cid: str, at: datetime = T0, status: str = "bot") -> Conversation:
    return Conversation.model_validate({"id": cid, "status": status, "channel": "web_chat",
                                        "interaction_id": f"i-{cid}", "contact_key": f"anon:{cid}",
                                        "created_at": at, "updated_at": at})


def waiting(token: str) -> Waiting:
    return Waiting(step="ask_email", token=token, kind="email", asked_at=T0)


def test_create_is_once_and_the_interaction_finds_its_conversation(store):
    assert store.create(conversation("c1"))
    assert not store.create(conversation("c1"))
    assert store.for_interaction("i-c1") == "c1"
    got = store.get("c1")
    assert got is not None and got.status == "bot" and got.version_no == 1


def test_only_an_opening_conversation_is_started(store):
    store.create(conversation("c1", status="opening"))
    started = store.mark_started("c1", "vip_routing", "3", "c1", {"CustomerType": None}, T0)
    assert started is not None and (started.status, started.version, started.execution_name) == ("bot", "3", "c1")
    assert started.variables == {"CustomerType": None}
    assert store.mark_started("c1", "vip_routing", "4", "c1", {}, T0) is None


def test_the_task_token_is_taken_once(store):
    store.create(conversation("c1"))
    assert store.park("c1", waiting("tok"), T0) is not None
    assert not store.take_waiting("c1", "other", T0)
    assert store.take_waiting("c1", "tok", T0)
    assert not store.take_waiting("c1", "tok", T0)
    got = store.get("c1")
    assert got is not None and got.waiting is None


def test_pending_is_refused_while_a_question_is_open_and_the_question_takes_the_first(store):
    store.create(conversation("c1"))
    first = PendingMessage(message_id="chat:c1:m1", text="one", at=T0)
    second = PendingMessage(message_id="chat:c1:m2", text="two", at=T0)
    assert store.add_pending("c1", first, T0) and store.add_pending("c1", second, T0)
    parked = store.park("c1", waiting("tok"), T0)
    assert parked is not None and [p.text for p in parked.pending] == ["one", "two"]
    assert not store.add_pending("c1", PendingMessage(message_id="x", text="three", at=T0), T0)
    taken = store.pop_pending("c1", "tok")
    assert taken is not None and taken.text == "one"
    assert store.pop_pending("c1", "tok") is None  # the token went with it
    got = store.get("c1")
    assert got is not None and got.waiting is None and [p.text for p in got.pending] == ["two"]


def test_hand_off_counts_the_open_conversation_once_and_close_takes_it_back(store):
    c = conversation("c1")
    store.create(c)
    handed = store.hand_off(c, "vip", "ana", T0)
    assert handed is not None and (handed.status, handed.team, handed.assignee) == ("handed_off", "vip", "ana")
    assert store.hand_off(c, "vip", "ana", T0) is None
    assert store.open_counts("vip", ["ana", "bob"]) == {"ana": 1}
    closed = store.close(handed, T0 + timedelta(minutes=1))
    assert closed is not None and closed.status == "closed"
    assert store.close(handed, T0 + timedelta(minutes=2)) is None
    assert store.open_counts("vip", ["ana"]) == {"ana": 0}
    assert store.queue("vip", "handed_off", 10) == []
    assert [q.id for q in store.queue("vip", "closed", 10)] == ["c1"]


def test_the_queue_lists_the_longest_waiting_first_and_a_new_message_moves_it_back(store):
    for n, cid in enumerate(("c1", "c2", "c3")):
        c = conversation(cid)
        store.create(c)
        store.hand_off(c, "normal", None, T0 + timedelta(minutes=n))
    assert [q.id for q in store.queue("normal", "handed_off", 10)] == ["c1", "c2", "c3"]
    c1 = store.get("c1")
    assert c1 is not None and store.touch(c1, T0 + timedelta(hours=1)) is not None
    assert [q.id for q in store.queue("normal", "handed_off", 10)] == ["c2", "c3", "c1"]
    c2 = store.get("c2")
    assert c2 is not None
    mine = store.assign(c2, "bob", T0 + timedelta(hours=2))
    assert mine is not None and [a.id for a in store.assigned("bob", "handed_off", 10)] == ["c2"]
    assert store.assign(c2, "carol", T0) is None  # c2 changed (assigned) since it was read
    back = store.assign(mine, None, T0 + timedelta(hours=3))
    assert back is not None and back.assignee is None and store.assigned("bob", "handed_off", 10) == []
    assert store.open_counts("normal", ["bob"]) == {"bob": 0}


def test_round_robin_counts_up(store):
    assert [store.next_round_robin("vip") for _ in range(3)] == [1, 2, 3]
    assert store.next_round_robin("normal") == 1


def test_a_profile_counts_each_conversation_once(store):
    assert store.upsert_profile("email:a@x", {"name": "Ana", "email": "a@x"}, "c1", T0) is None
    again = store.upsert_profile("email:a@x", {"name": "Ana"}, "c1", T0)  # the same open, retried
    assert again is None
    before = store.upsert_profile("email:a@x", {"phone": "123"}, "c2", T0 + timedelta(days=1))
    assert before is not None and before.conversations == 1 and before.fields == {"name": "Ana", "email": "a@x"}
    store.set_profile_field("email:a@x", "CustomerType", "VIP", T0)
    now = store.profile("email:a@x")
    assert now is not None and now.conversations == 2 and now.last_conversation_id == "c2"
    assert now.fields == {"name": "Ana", "email": "a@x", "phone": "123", "CustomerType": "VIP"}
    assert now.first_seen == T0


def test_steps_and_sheet_rows_written_twice_are_there_once(store):
    steps = [StepRecord(step="ask", type="ask", outcome="asked", at_transition=1, variables={"x": 1.5}, at=T0),
             StepRecord(step="ask", type="ask", outcome="valid", at_transition=2, variables={}, at=T0)]
    store.put_steps("c1", steps)
    store.put_steps("c1", steps)
    assert [(s.step, s.at_transition) for s in store.steps("c1")] == [("ask", 1), ("ask", 2)]
    assert store.steps("c1")[0].variables == {"x": 1.5}
    row = SheetRow(sheet="csat", sk=f"{T0.isoformat()}#c1#000001", conversation_id="c1", seq=1, at=T0,
                   columns={"rating": "5"})
    assert store.put_sheet_row(row)
    assert not store.put_sheet_row(row.model_copy(update={"columns": {"rating": "1"}}))
    assert [r.columns for r in store.sheet_rows("csat")] == [{"rating": "5"}]


def test_continued_in_keeps_the_first(store):
    store.create(conversation("c1", status="closed"))
    assert store.set_continued_in("c1", "c2") == "c2"
    assert store.set_continued_in("c1", "c3") == "c2"
