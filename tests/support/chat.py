"""The test channel for tests: plays the customer of a conversation through the public chat endpoints of the local
HttpApi gateway (``stack.start_http_api()``), as a browser would - plain HTTP, the conversation's token.

    channel = ChatChannel(stack.start_http_api())
    chat = channel.open(email="vip@example.com")
    chat.wait_for("VIP team")
    chat.say("ana@example.com")
    chat.wait_status("handed_off")

Each conversation is opened from a loopback address of its own (127.0.x.y), so the per-client open limit of the
web chat counts each test customer apart, as it would count people. Client message ids are deterministic
(``m0001``, ``m0002``... per conversation), so a test that sends again with the same id tests the dedupe.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any

from dunning_ops.cli.chat_cmd import ChatApi, ChatMessage, ChatPrompt, Conversation

Predicate = Callable[[ChatMessage], bool] | str

_addresses = itertools.count(2)


def _next_address() -> str:
    n = next(_addresses) % (250 * 250)
    return f"127.0.{10 + n // 250}.{1 + n % 250}"


class ChatSession:
    """One customer's conversation. ``messages`` holds everything read so far (customer, bot and agent)."""

    def __init__(self, conversation: Conversation, poll_interval: float) -> None:
        self._conv = conversation
        self._consumed = 0  # messages already returned by wait_for
        self.poll_interval = poll_interval

    @property
    def conversation_id(self) -> str:
        return self._conv.conversation_id

    @property
    def token(self) -> str:
        return self._conv.token

    @property
    def number(self) -> str:
        return self._conv.opened.number

    @property
    def messages(self) -> list[ChatMessage]:
        return list(self._conv.messages)

    @property
    def status(self) -> str:
        return self._conv.status

    @property
    def prompt(self) -> ChatPrompt | None:
        return self._conv.prompt

    @property
    def api(self) -> ChatApi:
        return self._conv.api

    def bot_texts(self) -> list[str]:
        return [m.text for m in self._conv.messages if m.author != "customer"]

    def say(self, text: str, client_message_id: str | None = None) -> str:
        """Send a message (the next deterministic client id unless one is given); the API's message id."""
        return self._conv.say(text, client_message_id)

    def poll(self) -> list[ChatMessage]:
        return self._conv.poll()

    def wait_for(self, predicate: Predicate, timeout: float = 30.0) -> list[ChatMessage]:
        """Poll until a message not yet returned by an earlier ``wait_for`` matches (a predicate, or a substring of
        a bot's or agent's text); returns the messages up to and including it. AssertionError on timeout, with
        what did arrive."""
        match: Callable[[ChatMessage], bool] = (
            (lambda m: m.author != "customer" and predicate in m.text) if isinstance(predicate, str) else predicate)
        deadline = time.monotonic() + timeout
        while True:
            self._conv.poll()
            for i in range(self._consumed, len(self._conv.messages)):
                if match(self._conv.messages[i]):
                    got = self._conv.messages[self._consumed:i + 1]
                    self._consumed = i + 1
                    return list(got)
            if time.monotonic() >= deadline:
                raise AssertionError(f"no message matching {predicate!r} within {timeout}s; status "
                                     f"{self._conv.status}; messages: {[(m.author, m.text) for m in self.messages]}")
            time.sleep(self.poll_interval)

    def wait_status(self, status: str | tuple[str, ...], timeout: float = 30.0) -> str:
        """Poll until the conversation's status is ``status`` (or one of them); returns it."""
        wanted = (status,) if isinstance(status, str) else status
        deadline = time.monotonic() + timeout
        while True:
            self._conv.poll()
            if self._conv.status in wanted:
                return self._conv.status
            if time.monotonic() >= deadline:
                raise AssertionError(f"status {self._conv.status!r}, not {wanted}, after {timeout}s; messages: "
                                     f"{[(m.author, m.text) for m in self.messages]}")
            time.sleep(self.poll_interval)

    def wait_prompt(self, timeout: float = 30.0) -> ChatPrompt:
        """Poll until the bot waits on an answer; the question's kind and choices."""
        deadline = time.monotonic() + timeout
        while True:
            self._conv.poll()
            if self._conv.prompt is not None:
                return self._conv.prompt
            if time.monotonic() >= deadline:
                raise AssertionError(f"no question pending after {timeout}s (status {self._conv.status})")
            time.sleep(self.poll_interval)


class ChatChannel:
    """The public chat of one local gateway (``base_url``, e.g. ``stack.start_http_api()``)."""

    def __init__(self, base_url: str, *, test: bool = True, poll_interval: float = 0.1) -> None:
        self.base_url = base_url
        self.test = test
        self.poll_interval = poll_interval

    def open(self, *, source_address: str | None = None, **contact: Any) -> ChatSession:
        """Open a conversation (``name``, ``email``, ``phone``, ``text``, ``language``); on the test channel unless
        the channel was made with ``test=False`` (then: web_chat)."""
        api = ChatApi(self.base_url, source_address=source_address or _next_address())
        opened = api.open(test=self.test, **contact)
        return ChatSession(Conversation(api, opened), self.poll_interval)
