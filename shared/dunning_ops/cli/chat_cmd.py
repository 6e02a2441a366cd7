"""``dunning chat``: the test channel in a terminal. You play the customer of a conversation workflow.

With ``--api-url`` it talks to a deployed stack's public chat endpoints (``/public/chat/...``, no sign-in; the
conversation's token is held in memory only). With ``--local`` (the default when no URL is given) it starts the
embedded local stack first, publishes the shipped workflow templates when none is live, starts the stub CRM and
publishes a configuration whose ``conversations.settings.crm_url`` points at it.

Conversations opened here are on the ``test`` channel (reports can leave them out). Type a line to send it;
``/status`` shows the conversation's status, ``/quit`` leaves. ``--script FILE`` sends one line of the file per
bot question instead (non-interactive); the exit code is 0 when the conversation ended handed off or closed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote, urlencode, urlsplit

from dunning_ops.cli.common import CliError, Subparsers, add_command
from dunning_ops.local.chat_stack import CHAT_PREFIX, local_chat_stack

ENDED = frozenset({"handed_off", "closed"})  # the statuses a script run succeeds on
FINAL = ENDED  # the bot has stopped: an agent answers (handed_off), or it is over (closed)
DEFAULT_WAIT = 30.0  # seconds a script waits for the bot before giving up


# ---------------------------------------------------------------------------------------------- HTTP client
class ChatApiError(Exception):
    """An answer of the public chat API other than the one expected (``status``, the body's message)."""

    def __init__(self, status: int, message: str, body: Any = None, retry_after: int | None = None) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message
        self.body = body
        self.retry_after = retry_after


@dataclass(frozen=True)
class ChatMessage:
    id: str
    author: str  # customer | bot | agent
    text: str
    at: str


@dataclass(frozen=True)
class ChatPrompt:
    kind: str
    choices: list[dict[str, str]]


@dataclass(frozen=True)
class ChatView:
    messages: list[ChatMessage]
    cursor: str | None
    status: str
    prompt: ChatPrompt | None
    continued_in: str | None = None

    @classmethod
    def parse(cls, data: dict[str, Any]) -> ChatView:
        prompt = data.get("prompt")
        return cls(messages=[ChatMessage(id=str(m["id"]), author=str(m["author"]), text=str(m["text"]),
                                         at=str(m["at"])) for m in data.get("messages") or []],
                   cursor=data.get("cursor"), status=str(data.get("status", "")),
                   prompt=ChatPrompt(kind=str(prompt.get("kind", "")),
                                     choices=[{"value": str(c.get("value", "")), "label": str(c.get("label", ""))}
                                              for c in prompt.get("choices") or []]) if prompt else None,
                   continued_in=data.get("continued_in"))


@dataclass(frozen=True)
class Opened:
    conversation_id: str
    token: str
    number: str
    poll_after_ms: int


class ChatApi:
    """The public chat endpoints of one stack (``base_url``: the HttpApi's URL). ``source_address`` binds the
    client's end of each connection (tests give each customer a loopback address of its own)."""

    def __init__(self, base_url: str, *, source_address: str | None = None, timeout: float = 30.0) -> None:
        parts = urlsplit(base_url.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise CliError(f"not an http(s) URL: {base_url}")
        self.scheme, self.host = parts.scheme, parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.base_path = parts.path.rstrip("/")
        self.source_address = source_address
        self.timeout = timeout

    def _request(self, method: str, path: str, body: Any = None,
                 token: str | None = None) -> tuple[int, Any, dict[str, str]]:
        source = (self.source_address, 0) if self.source_address else None
        conn: http.client.HTTPConnection
        if self.scheme == "https":
            conn = http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout, source_address=source)
        else:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout, source_address=source)
        headers = {"accept": "application/json"}
        raw = None
        if body is not None:
            raw = json.dumps(body).encode()
            headers["content-type"] = "application/json"
        if token:
            headers["authorization"] = f"Bearer {token}"
        try:
            conn.request(method, self.base_path + path, body=raw, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            answer_headers = {k.lower(): v for k, v in resp.getheaders()}
        finally:
            conn.close()
        try:
            parsed = json.loads(data) if data else None
        except ValueError:
            parsed = data.decode("utf-8", "replace")
        return resp.status, parsed, answer_headers

    def _expect(self, status: int, want: int, data: Any, headers: dict[str, str]) -> Any:
        if status != want:
            message = data.get("message", "") if isinstance(data, dict) else str(data)[:300]
            retry = headers.get("retry-after")
            raise ChatApiError(status, message or "unexpected answer", data,
                               int(retry) if retry and retry.isdigit() else None)
        return data

    def open(self, *, name: str | None = None, email: str | None = None, phone: str | None = None,
             text: str | None = None, language: str = "en", test: bool = True) -> Opened:
        body: dict[str, Any] = {k: v for k, v in {"name": name, "email": email, "phone": phone, "text": text}.items()
                                if v}
        body["language"] = language
        if test:
            body["test"] = True
        status, data, headers = self._request("POST", CHAT_PREFIX, body)
        data = self._expect(status, 201, data, headers)
        return Opened(conversation_id=str(data["conversation_id"]), token=str(data["token"]),
                      number=str(data["number"]), poll_after_ms=int(data["poll_after_ms"]))

    def send(self, conversation_id: str, token: str, text: str, client_message_id: str) -> str:
        status, data, headers = self._request("POST", f"{CHAT_PREFIX}/{quote(conversation_id, safe='')}/messages",
                                              {"text": text, "client_message_id": client_message_id}, token)
        return str(self._expect(status, 202, data, headers)["message_id"])

    def view(self, conversation_id: str, token: str, after: str | None = None) -> ChatView:
        query = f"?{urlencode({'after': after})}" if after else ""
        status, data, headers = self._request("GET", f"{CHAT_PREFIX}/{quote(conversation_id, safe='')}/messages"
                                              f"{query}", token=token)
        return ChatView.parse(self._expect(status, 200, data, headers))


@dataclass
class Conversation:
    """One open conversation: sends with deterministic client message ids, reads with the cursor."""

    api: ChatApi
    opened: Opened
    messages: list[ChatMessage] = field(default_factory=list)
    status: str = "opening"
    prompt: ChatPrompt | None = None
    continued_in: str | None = None
    cursor: str | None = None
    sent: int = 0

    @property
    def conversation_id(self) -> str:
        return self.opened.conversation_id

    @property
    def token(self) -> str:
        return self.opened.token

    def say(self, text: str, client_message_id: str | None = None) -> str:
        self.sent += 1
        cid = client_message_id or f"m{self.sent:04d}"
        for _ in range(5):
            try:
                return self.api.send(self.conversation_id, self.token, text, cid)
            except ChatApiError as exc:
                if exc.status != 429:
                    raise
                time.sleep(min(float(exc.retry_after or 1), 60.0))
        return self.api.send(self.conversation_id, self.token, text, cid)

    def poll(self) -> list[ChatMessage]:
        """The messages that arrived since the last poll (also appended to ``messages``)."""
        view = self.api.view(self.conversation_id, self.token, self.cursor)
        known = {m.id for m in self.messages}
        new = [m for m in view.messages if m.id not in known]
        self.messages.extend(new)
        self.cursor = view.cursor or self.cursor
        self.status, self.prompt, self.continued_in = view.status, view.prompt, view.continued_in
        return new


# ---------------------------------------------------------------------------------------------- the terminal
def _show(out: TextIO, messages: list[ChatMessage], prompt: ChatPrompt | None) -> None:
    for m in messages:
        if m.author != "customer":
            print(f"{m.author}> {m.text}", file=out, flush=True)
    if prompt and prompt.choices and messages:
        print("  choices: " + ", ".join(f"{c['value']} = {c['label']}" if c["label"] else c["value"]
                                        for c in prompt.choices), file=out, flush=True)


def _await_turn(conv: Conversation, out: TextIO, interval: float, timeout: float, since: int = 0) -> None:
    """Poll until it is the customer's turn again: a bot (or agent) message after the first ``since`` messages
    and a question pending, or the conversation ended, or ``timeout`` passed."""
    deadline = time.monotonic() + timeout
    while True:
        _show(out, conv.poll(), conv.prompt)
        answered = any(m.author != "customer" for m in conv.messages[since:])
        if conv.status in FINAL or (answered and conv.prompt is not None) or time.monotonic() >= deadline:
            return
        time.sleep(interval)


def _say(conv: Conversation, text: str) -> int:
    """Send ``text``; the number of messages known before it (what the bot's answer must come after)."""
    before = len(conv.messages)
    conv.say(text)
    return before


def run_script(conv: Conversation, lines: list[str], out: TextIO, *, interval: float = 0.5,
               timeout: float = DEFAULT_WAIT) -> int:
    """Answer each bot question with the next line; 0 when the conversation ends handed off or closed."""
    _await_turn(conv, out, interval, timeout)
    for line in lines:
        if conv.status in FINAL:
            break
        if conv.prompt is None:
            print(f"(no question pending, status {conv.status}: the rest of the script is not sent)", file=out,
                  flush=True)
            break
        print(f"you> {line}", file=out, flush=True)
        _await_turn(conv, out, interval, timeout, _say(conv, line))
    print(f"(conversation {conv.opened.number}: {conv.status})", file=out, flush=True)
    return 0 if conv.status in ENDED else 1


def run_repl(conv: Conversation, read_line: Callable[[], str | None], out: TextIO, *,
             interval: float = 0.5) -> int:
    """Interactive: what arrived is printed after each line sent (and on an empty line); ``/status``, ``/quit``."""
    print(f"conversation {conv.opened.number} ({conv.conversation_id}) opened. Commands: /status, /quit", file=out,
          flush=True)
    _await_turn(conv, out, interval, 10.0)
    while conv.status != "closed":  # after a hand-off the customer goes on writing, to the agent
        line = read_line()
        if line is None or line.strip() == "/quit":
            break
        line = line.strip()
        if not line:
            _show(out, conv.poll(), conv.prompt)
            continue
        if line == "/status":
            conv.poll()
            print(f"status: {conv.status}" + (f", waiting for: {conv.prompt.kind}" if conv.prompt else "")
                  + (f", continued in {conv.continued_in}" if conv.continued_in else ""), file=out, flush=True)
            continue
        try:
            since = _say(conv, line)
        except ChatApiError as exc:
            print(f"(not sent: {exc.message})", file=out, flush=True)
            if exc.status == 409:
                break
            continue
        _await_turn(conv, out, interval, DEFAULT_WAIT, since)
    print(f"(conversation {conv.opened.number}: {conv.status})", file=out, flush=True)
    return 0 if conv.status in ENDED else 1


def _stdin_line() -> str | None:
    try:
        return input("you> ")
    except EOFError:
        return None


def cmd_chat(args: argparse.Namespace) -> int:
    lines: list[str] | None = None
    if args.script:
        text = sys.stdin.read() if args.script == "-" else Path(args.script).read_text(encoding="utf-8")
        lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if args.api_url and args.local:
        raise CliError("--api-url and --local exclude each other")
    if args.api_url:
        return _chat(ChatApi(args.api_url), args, lines)
    with local_chat_stack(sys.stderr, Path(args.config_dir)) as url:
        return _chat(ChatApi(url), args, lines)


def _chat(api: ChatApi, args: argparse.Namespace, lines: list[str] | None) -> int:
    try:
        opened = api.open(name=args.name, email=args.email, phone=args.phone, language=args.language, test=True)
    except ChatApiError as exc:
        raise CliError(f"the conversation was not opened: {exc}") from exc
    except OSError as exc:
        raise CliError(f"{api.host}:{api.port}: {exc}") from exc
    conv = Conversation(api, opened)
    interval = max(0.1, opened.poll_after_ms / 1000)
    if lines is not None:
        return run_script(conv, lines, sys.stdout, interval=interval, timeout=args.wait)
    return run_repl(conv, _stdin_line, sys.stdout, interval=interval)


def register(sub: Subparsers) -> None:
    chat = add_command(sub, "chat", cmd_chat, "the test channel: play the customer of a conversation workflow")
    chat.description = __doc__
    chat.formatter_class = argparse.RawDescriptionHelpFormatter
    chat.add_argument("--api-url", default=None,
                      help="a deployed stack's HttpApi URL (its public chat endpoints); default: --local")
    chat.add_argument("--local", action="store_true",
                      help="start the embedded local stack, the workflow templates and the stub CRM (the default "
                           "without --api-url)")
    chat.add_argument("--config-dir", default="infra/config",
                      help="with --local: the configuration to publish (default infra/config)")
    chat.add_argument("--name", default=None, help="the customer's name")
    chat.add_argument("--email", default=None, help="the customer's email address (the VIP template looks it up)")
    chat.add_argument("--phone", default=None, help="the customer's phone number")
    chat.add_argument("--language", default="en", help="the customer's language (default en)")
    chat.add_argument("--script", default=None, metavar="FILE",
                      help="answer each bot question with the next line of FILE ('-': standard input; blank "
                           "lines and lines starting with # are skipped); exit code 0 when the conversation ends "
                           "handed off or closed, else 1")
    chat.add_argument("--wait", type=float, default=DEFAULT_WAIT, metavar="SECONDS",
                      help=f"with --script: how long to wait for the bot each turn (default {DEFAULT_WAIT:g})")
