"""``dunning chat``'s conversation loop on a fake of the public chat API (a bot that asks for an email address
until it gets one, then hands off): a script answers each question with its next line and exits 0 once handed
off, 1 when the lines run out first; the REPL prints the bot's messages and the choices, ``/status`` and
``/quit``; client message ids are deterministic; a 429 is waited out and sent again."""

from __future__ import annotations

import argparse
import io
from datetime import UTC, datetime
from typing import Any

import pytest

from dunning_ops.cli import chat_cmd
from dunning_ops.cli.chat_cmd import ChatApiError, ChatMessage, ChatPrompt, ChatView, Conversation, Opened

AT = datetime(2026, 12, 4, 9, 0, tzinfo=UTC).isoformat()


class FakeBot:
    def __init__(self, limited: int = 0) -> None:
        self.messages: list[ChatMessage] = []
        self.status = "bot"
        self.prompt: ChatPrompt | None = None
        self.sent: list[tuple[str, str]] = []
        self.limited = limited  # the first sends answered 429
        self._bot("What's your email address?", ChatPrompt(kind="email", choices=[]))

    def _bot(self, text: str, prompt: ChatPrompt | None) -> None:
        self.messages.append(ChatMessage(id=f"{len(self.messages) + 1:04d}", author="bot", text=text, at=AT))
        self.prompt = prompt

    def send(self, conversation_id: str, token: str, text: str, client_message_id: str) -> str:
        if self.limited:
            self.limited -= 1
            raise ChatApiError(429, "too many", retry_after=0)
        self.sent.append((text, client_message_id))
        self.messages.append(ChatMessage(id=f"{len(self.messages) + 1:04d}", author="customer", text=text, at=AT))
        if "@" in text:
            self._bot("Connecting you to our VIP team.", None)
            self.status = "handed_off"
        else:
            self._bot("That doesn't look like an email address. Please try again.",
                      ChatPrompt(kind="email", choices=[{"value": "1", "label": "skip"}]))
        return f"chat:c1:{client_message_id}"

    def view(self, conversation_id: str, token: str, after: str | None = None) -> ChatView:
        msgs = [m for m in self.messages if after is None or m.id > after]
        return ChatView(messages=msgs, cursor=self.messages[-1].id, status=self.status, prompt=self.prompt)


def conversation(bot: FakeBot) -> Conversation:
    return Conversation(bot, Opened("c1", "tok", "IN-2026-000001", 100))  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    monkeypatch.setattr(chat_cmd.time, "sleep", lambda s: None)


def test_a_script_answers_each_question_and_exits_0_once_handed_off():
    bot, out = FakeBot(), io.StringIO()
    code = chat_cmd.run_script(conversation(bot), ["not an email", "ana@example.com", "never sent"], out,
                               interval=0, timeout=1)
    assert code == 0
    assert bot.sent == [("not an email", "m0001"), ("ana@example.com", "m0002")]
    text = out.getvalue()
    assert "bot> What's your email address?" in text and "bot> Connecting you to our VIP team." in text
    assert "choices: 1 = skip" in text and "(conversation IN-2026-000001: handed_off)" in text
    assert "you> never sent" not in text


def test_a_script_that_runs_out_of_lines_before_the_end_exits_1():
    bot = FakeBot()
    assert chat_cmd.run_script(conversation(bot), ["nope"], io.StringIO(), interval=0, timeout=0) == 1
    assert bot.status == "bot"


def test_a_rate_limited_send_is_waited_out_and_sent_again_with_the_same_client_id():
    bot = FakeBot(limited=2)
    conv = conversation(bot)
    assert conv.say("ana@example.com") == "chat:c1:m0001"
    assert bot.sent == [("ana@example.com", "m0001")]
    assert conv.say("again", client_message_id="mine") == "chat:c1:mine"


def test_the_repl_shows_status_and_quits():
    bot, out = FakeBot(), io.StringIO()
    lines = iter(["/status", "", "hello", "/quit", "ana@example.com"])
    code = chat_cmd.run_repl(conversation(bot), lambda: next(lines), out, interval=0)
    assert code == 1 and bot.sent == [("hello", "m0001")]
    text = out.getvalue()
    assert "status: bot, waiting for: email" in text and "Please try again." in text


def test_the_repl_goes_on_after_a_hand_off_until_eof_and_exits_0():
    bot, out = FakeBot(), io.StringIO()
    lines = iter(["ana@example.com", "are you there?"])
    code = chat_cmd.run_repl(conversation(bot), lambda: next(lines, None), out, interval=0)
    assert code == 0 and [t for t, _ in bot.sent] == ["ana@example.com", "are you there?"]


def test_the_parser_has_the_chat_command_with_its_options():
    from dunning_ops.cli.main import build_parser

    args = build_parser().parse_args(["chat", "--api-url", "http://x", "--email", "a@example.com", "--script", "f"])
    assert (args.api_url, args.email, args.script, args.local) == ("http://x", "a@example.com", "f", False)
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    help_text = sub.choices["chat"].format_help()
    for option in ("--api-url", "--local", "--name", "--email", "--phone", "--script", "--wait", "/quit"):
        assert option in help_text


def test_an_api_error_names_the_status_and_message():
    api = chat_cmd.ChatApi("http://127.0.0.1:9")
    with pytest.raises(chat_cmd.ChatApiError) as err:
        api._expect(409, 202, {"message": "closed"}, {"retry-after": "5"})
    assert err.value.status == 409 and err.value.message == "closed" and err.value.retry_after == 5
    with pytest.raises(chat_cmd.CliError):
        chat_cmd.ChatApi("ftp://x")




def test_the_http_client_sends_json_the_bearer_token_and_the_cursor_and_reads_errors():
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[tuple[str, str, str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length") or 0)).decode()
            seen.append(("POST", self.path, self.headers.get("authorization") or "", raw))
            if self.path.endswith("/conversations"):
                self._answer(201, {"conversation_id": "c 1", "token": "tok", "number": "IN-1", "poll_after_ms": 500})
            else:
                self._answer(429, {"message": "too many"}, {"Retry-After": "7"})

        def do_GET(self) -> None:
            seen.append(("GET", self.path, self.headers.get("authorization") or "", ""))
            self._answer(200, {"messages": [{"id": "1", "author": "bot", "text": "hi", "at": AT}], "cursor": "1",
                               "status": "bot", "prompt": {"kind": "choice", "choices": [{"value": "1"}]}})

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        api = chat_cmd.ChatApi(f"http://127.0.0.1:{server.server_address[1]}/")
        opened = api.open(email="a@example.com")
        assert opened == Opened("c 1", "tok", "IN-1", 500)
        view = api.view(opened.conversation_id, opened.token, after="2026-12-04T09:00:00+00:00#e1")
        assert view.status == "bot" and view.prompt == ChatPrompt(kind="choice", choices=[{"value": "1", "label": ""}])
        with pytest.raises(ChatApiError) as err:
            api.send(opened.conversation_id, opened.token, "hello", "m0001")
        assert err.value.status == 429 and err.value.retry_after == 7
    finally:
        server.shutdown()
    assert seen[0][:3] == ("POST", "/public/chat/conversations", "")
    assert json.loads(seen[0][3]) == {"email": "a@example.com", "language": "en", "test": True}
    assert seen[1] == ("GET", "/public/chat/conversations/c%201/messages?after=2026-12-04T09%3A00%3A00%2B00%3A00%23e1",
                       "Bearer tok", "")
    assert seen[2][:3] == ("POST", "/public/chat/conversations/c%201/messages", "Bearer tok")
    assert json.loads(seen[2][3]) == {"text": "hello", "client_message_id": "m0001"}
