"""The email channel's hook in the inbound mail path, on fakes: a new interaction in one of
``conversations.email.categories`` opens a conversation on it (channel email, that interaction, the sender as the
contact) - not in another category, not with the channel switched off, never for automatic mail; a mail filed into
an interaction that has a conversation is queued as its next message, with ids from the Message-ID (a repeat is
one message); a retry of a mail that opened the interaction opens the conversation its first run did not."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from dunning.app import conversations, inbound_mail
from dunning.interactions.mail import InboundMail
from dunning.models.config import ConversationsConfig
from dunning.models.conversations import Conversation, OpenedConversation

T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


def mail(**over: Any) -> InboundMail:
    return InboundMail(**{"message_id": "m-1@customer.example", "from_address": "maria@customer.example",
                          "from_name": "Maria", "subject": "About my invoice", "text": "Can I pay later?", **over})


def interaction(category: str = "dunning_reply", **over: Any) -> Any:
    return SimpleNamespace(id="i1", category=category, account_id="A-1", language="pt", **over)


def conv(cid: str = "c1") -> Conversation:
    return Conversation(id=cid, number="IN-2026-000001", channel="email", interaction_id="i1",
                        contact_key="email:maria@customer.example", created_at=T0, updated_at=T0)


class Queue:
    def __init__(self) -> None:
        self.sent: list[Any] = []

    def send(self, envelope: Any) -> None:
        self.sent.append(envelope)


@pytest.fixture
def world(monkeypatch) -> Any:
    w = SimpleNamespace(opened=[], by_interaction={}, queue=Queue(), thread=[],
                        email={"enabled": True, "categories": ["dunning_reply"]})

    def config() -> Any:
        return SimpleNamespace(conversations=ConversationsConfig.model_validate({"email": w.email}))

    def open_conversation(deps: Any, new: Any, now: datetime, **kw: Any) -> OpenedConversation:
        w.opened.append(new)
        return OpenedConversation(conversation=conv(f"c{len(w.opened)}"), token="t")

    monkeypatch.setattr(conversations, "open_conversation", open_conversation)
    monkeypatch.setattr(conversations, "conversation_for_interaction",
                        lambda deps, iid: w.by_interaction.get(iid))
    store = SimpleNamespace(get=lambda iid: interaction(), record=lambda iid: SimpleNamespace(thread=w.thread))
    w.deps = inbound_mail.InboundMailDeps(
        mail=SimpleNamespace(interactions=SimpleNamespace(config=config, store=store)),  # type: ignore[arg-type]
        inbound=None, attachments=None,  # type: ignore[arg-type]
        conversations=SimpleNamespace(queue=w.queue))  # type: ignore[arg-type]
    return w


def test_a_new_interaction_in_a_conversation_category_opens_an_email_conversation_on_it(world):
    cid = inbound_mail._open_conversation(world.deps, interaction(), mail(), "Can I pay later?", T0)
    assert cid == "c1"
    [new] = world.opened
    assert (new.channel, new.interaction_id, new.category, new.email, new.name, new.account_id, new.language,
            new.text) == ("email", "i1", "dunning_reply", "maria@customer.example", "Maria", "A-1", "pt",
                          "Can I pay later?")


@pytest.mark.parametrize("email, category, automatic", [
    ({"enabled": True, "categories": ["dunning_reply"]}, "web_request", None),
    ({"enabled": False, "categories": ["dunning_reply"]}, "dunning_reply", None),
    ({"enabled": True, "categories": ["dunning_reply"]}, "dunning_reply", "auto-submitted"),
])
def test_no_conversation_in_another_category_with_the_channel_off_or_for_automatic_mail(world, email, category,
                                                                                           automatic):
    world.email = email
    assert inbound_mail._open_conversation(world.deps, interaction(category), mail(automatic=automatic), "x",
                                           T0) is None
    assert world.opened == []


def test_without_conversation_deps_the_mail_path_is_as_before(world):
    plain = inbound_mail.InboundMailDeps(mail=world.deps.mail, inbound=None, attachments=None)  # type: ignore[arg-type]
    assert inbound_mail._open_conversation(plain, interaction(), mail(), "x", T0) is None
    assert inbound_mail._queue_to_conversation(plain, "i1", mail(), "x", T0) is None


def test_a_mail_into_an_interaction_with_a_conversation_is_queued_once_per_message_id(world):
    world.by_interaction["i1"] = conv("c7")
    assert inbound_mail._queue_to_conversation(world.deps, "i1", mail(), "Yes, on Friday.", T0) == "c7"
    assert inbound_mail._queue_to_conversation(world.deps, "i1", mail(), "Yes, on Friday.", T0) == "c7"
    first, again = world.queue.sent
    assert (first.kind, first.conversation_id, first.text, first.channel) == ("message", "c7", "Yes, on Friday.",
                                                                              "email")
    assert first.message_id.startswith("mail.") and first.message_id == again.message_id
    assert first.dedupe_id == again.dedupe_id and len(first.dedupe_id) <= 128
    other = mail(message_id="m-2@customer.example")
    inbound_mail._queue_to_conversation(world.deps, "i1", other, "And another thing", T0)
    assert world.queue.sent[-1].message_id != first.message_id


def test_a_mail_into_an_interaction_without_a_conversation_or_automatic_is_not_queued(world):
    assert inbound_mail._queue_to_conversation(world.deps, "i1", mail(), "x", T0) is None
    world.by_interaction["i1"] = conv()
    assert inbound_mail._queue_to_conversation(world.deps, "i1", mail(automatic="bounce"), "x", T0) is None
    assert world.queue.sent == []


def test_a_retry_of_the_mail_that_opened_the_interaction_opens_its_conversation_once(world):
    world.thread = [SimpleNamespace(at=T0, entry_id="e1", message_id="m-1@customer.example")]
    assert inbound_mail._conversation_after_retry(world.deps, "i1", mail(), T0) == "c1"
    world.by_interaction["i1"] = conv("c1")
    assert inbound_mail._conversation_after_retry(world.deps, "i1", mail(), T0) == "c1"
    assert len(world.opened) == 1 and world.queue.sent == []  # its own first mail is not a message to it


def test_a_retry_of_a_mail_filed_into_an_older_interaction_queues_it_again_and_opens_nothing(world):
    world.thread = [SimpleNamespace(at=T0, entry_id="e1", message_id="older@customer.example")]
    assert inbound_mail._conversation_after_retry(world.deps, "i1", mail(), T0) is None
    world.by_interaction["i1"] = conv("c3")
    assert inbound_mail._conversation_after_retry(world.deps, "i1", mail(), T0) == "c3"
    assert world.opened == [] and [e.conversation_id for e in world.queue.sent] == ["c3"]
