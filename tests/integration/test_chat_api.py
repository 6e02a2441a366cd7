"""The public web chat through the edges: plain HTTP to the local HttpApi gateway (``/public/{proxy+}``, no
authorizer) to the API function, the FIFO queue, ConversationStateMachine in moto and back, with the seed's VIP
routing template live and a probe workflow of this module's own on the test channel (so what the bot says
is known here). The test channel helper plays the customer; ``dunning chat --script`` does the same from a
file. Also: the conversation token is required (401), a closed conversation refuses a message (409) and the
per-client open limit answers 429 with Retry-After."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from dunning_ops.cli.chat_cmd import ChatApi, ChatApiError, ChatMessage
from tests.support.chat import ChatChannel, ChatSession
from tests.support.conversations_fixtures import ADMIN, ConversationStack, now, start_conversation_stack

PROBE = """
id: chat_api_probe
name: Chat API probe
description: asks for an email address, confirms it and hands the conversation to the normal team
trigger: {event: conversation_opened, contacts: any, channels: [test]}
priority: 1000
start: ask_email
variables: {}
steps:
  - id: ask_email
    type: ask
    kind: email
    text: "Hello! What's your email address?"
    save_as: contact.email
    retries: 3
    retry_text: "That doesn't look like an email address. Please try again."
    timeout_seconds: 600
    next: saved
    on_invalid: to_managers
    on_timeout: close_idle
  - {id: saved, type: send, text: "Thanks, {{ contact.email }} is saved.", next: to_normal}
  - {id: to_normal, type: route, team: normal, rule: least_open, message: "Connecting you to customer service."}
  - {id: to_managers, type: route, team: managers, rule: round_robin}
  - {id: close_idle, type: close, message: "We'll close this chat for now."}
"""


@pytest.fixture(scope="module")
def cs() -> Iterator[ConversationStack]:
    from dunning.app.workflows import publish

    s = start_conversation_stack()
    try:
        publish(s.workflows, None, "chat_api_probe", now(), text=PROBE, fmt="yaml", note="test_chat_api")
        yield s
    finally:
        s.stop()


def answered(chat: ChatSession, text: str, client_message_id: str | None = None) -> list[ChatMessage]:
    """Say ``text`` and wait for the bot's next message after it; the messages from it to that one."""
    chat.wait_prompt()
    chat.say(text, client_message_id)
    chat.wait_for(lambda m: m.author == "customer" and m.text == text)
    return chat.wait_for(lambda m: m.author == "bot")


def test_a_customer_is_asked_answers_and_the_bot_replies_with_the_thread_recording_both(cs):
    chat = ChatChannel(cs.api_url).open(name="Ana")
    [*_, question] = chat.wait_for("What's your email address?")
    assert question.author == "bot" and chat.wait_prompt().kind == "email"
    assert answered(chat, "ana@example.com")[-1].text == "Thanks, ana@example.com is saved."
    chat.wait_status("handed_off")
    detail = cs.detail(chat.conversation_id)
    assert detail.conversation.channel == "test" and detail.conversation.number == chat.number
    assert detail.conversation.team == "normal" and detail.version == "1"
    thread = detail.thread
    assert [e.text for e in thread if e.kind == "chat_in"] == ["ana@example.com"]
    assert "Hello! What's your email address?" in [e.text for e in thread if e.kind == "chat_out"]


def test_the_same_client_message_id_sent_twice_is_one_message(cs):
    chat = ChatChannel(cs.api_url).open()
    chat.wait_prompt()
    first = chat.say("not an email", client_message_id="same-id")
    again = chat.say("not an email", client_message_id="same-id")
    assert first == again == f"chat:{chat.conversation_id}:same-id"
    chat.wait_for("Please try again")
    chat.poll()
    assert [m.text for m in chat.messages if m.author == "customer"] == ["not an email"]


def test_without_the_token_or_with_anothers_it_is_401(cs):
    a, b = ChatChannel(cs.api_url).open(), ChatChannel(cs.api_url).open()
    for token in ("", b.token, a.token[:-2] + "xx"):
        with pytest.raises(ChatApiError) as err:
            a.api.view(a.conversation_id, token)
        assert err.value.status == 401
        with pytest.raises(ChatApiError) as err:
            a.api.send(a.conversation_id, token, "hello", "m9999")
        assert err.value.status == 401


def test_a_message_to_a_closed_conversation_is_409_and_says_to_open_a_new_one(cs):
    from dunning.app.conversations import close_conversation

    chat = ChatChannel(cs.api_url).open()
    chat.wait_prompt()
    close_conversation(cs.deps, ADMIN, chat.conversation_id, now())
    chat.wait_status("closed")
    with pytest.raises(ChatApiError) as err:
        chat.say("are you still there?")
    assert err.value.status == 409 and "open a new conversation" in err.value.message


def test_the_open_limit_per_client_address_is_429_with_retry_after(cs):
    url = urlsplit(cs.api_url)

    def post(source: str) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port or 80, timeout=60,
                                          source_address=(source, 0))
        try:
            conn.request("POST", "/public/chat/conversations", body=json.dumps({"test": True}),
                         headers={"content-type": "application/json"})
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    before = cs.config.conversations.web_chat.open_per_hour
    cs.publish_config(lambda d: d["conversations"]["web_chat"].update(open_per_hour=2))
    try:
        assert [post("127.0.250.250")[0] for _ in range(2)] == [201, 201]
        status, headers, body = post("127.0.250.250")
        assert status == 429 and 1 <= int(headers["retry-after"]) <= 3600, body
        assert post("127.0.250.251")[0] == 201  # another client is not held up
    finally:
        cs.publish_config(lambda d: d["conversations"]["web_chat"].update(open_per_hour=before))


def test_dunning_chat_script_plays_the_customer_and_exits_0_when_handed_off(cs, tmp_path, capsys):
    from dunning_ops.cli.main import main

    script = tmp_path / "customer.txt"
    script.write_text("# the probe workflow asks for an email address\nnot-an-email\nana@example.com\n")
    assert main(["chat", "--api-url", cs.api_url, "--script", str(script), "--wait", "60"]) == 0
    out = capsys.readouterr().out
    assert "you> not-an-email" in out and "bot> " in out and "handed_off" in out


def test_a_bad_body_is_422_through_the_gateway(cs):
    api = ChatApi(cs.api_url)
    with pytest.raises(ChatApiError) as err:
        api.open(email="not-an-email")
    assert err.value.status == 422


EMAIL_PROBE = """
id: email_probe
name: Email probe
description: the email channel - asks for the invoice number and hands the conversation to the normal team
trigger: {event: conversation_opened, contacts: any, channels: [email]}
priority: 1000
start: ask_invoice
variables: {}
steps:
  - id: ask_invoice
    type: ask
    kind: text
    text: "Which invoice is it about?"
    save_as: vars.invoice
    retries: 1
    retry_text: "Please name the invoice."
    timeout_seconds: 600
    next: to_normal
    on_invalid: to_normal
    on_timeout: to_normal
  - {id: to_normal, type: route, team: normal, rule: least_open, message: "Thanks, an agent takes it from here."}
"""


def test_the_email_channel_opens_a_conversation_and_a_reply_mail_answers_its_question(cs):
    """The inbound mail path with the conversations' use cases (as the InboundMailFunction builds them once its
    deps carry them): a new mail in a conversation category opens an email conversation on its interaction; the
    customer's next mail, filed into that interaction, is the answer to the workflow's question."""
    import dataclasses
    import uuid
    from email.message import EmailMessage

    from dunning.app import deps as composition
    from dunning.app.inbound_mail import S3Object, receive_mail
    from dunning.app.workflows import publish
    from dunning.settings import FUNCTION_SETTINGS
    from tests.support.conversations_fixtures import wait_until

    publish(cs.workflows, None, "email_probe", now(), text=EMAIL_PROBE, fmt="yaml", note="test_chat_api")
    category = cs.config.interactions.webform_category or "web_request"  # a new mail's category
    cs.publish_config(lambda d: d["conversations"].update(email={"enabled": True, "categories": [category]}))
    env = cs.function_env("InboundMailFunction")
    inbound = dataclasses.replace(composition.inbound_mail_deps(FUNCTION_SETTINGS["inbound_mail"].from_env(env)),
                                  conversations=cs.deps)
    bucket = cs.stack.outputs["InboundMailBucketName"]

    def receive(subject: str, text: str) -> Any:
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = "Maria <maria@customer.example>", "support@reply.example.com", subject
        msg["Message-ID"] = f"<{uuid.uuid4().hex}@customer.example>"
        msg.set_content(text)
        key = f"manual/{uuid.uuid4().hex}"  # outside inbound/: no notification, this test files it itself
        cs.stack.client("s3").put_object(Bucket=bucket, Key=key, Body=msg.as_bytes())
        return receive_mail(inbound, S3Object(bucket=bucket, key=key), now())

    first = receive("A question about my bill", "Hello, I have a question about my bill.")
    assert first.status == "recorded" and first.new_interaction and first.conversation_id
    cid = first.conversation_id
    detail = wait_until(lambda: (d := cs.detail(cid)).conversation.waiting and d, 60, "the workflow's question")
    assert detail.conversation.channel == "email" and detail.conversation.interaction_id == first.interaction_id
    number = detail.conversation.number
    second = receive(f"Re: A question about my bill [{number}]", "It is INV-1001.")
    assert second.status == "recorded" and second.interaction_id == first.interaction_id
    assert second.conversation_id == cid
    wait_until(lambda: cs.detail(cid).conversation.status == "handed_off", 60, "the hand-off")
    routed = cs.settled(cid, 60)  # the hand-off is written before the step's variables and history
    assert routed.conversation.team == "normal" and routed.variables.get("invoice") == "It is INV-1001."
    replies = [e for e in cs.thread(cid) if "INV-1001" in (e.text or "")]
    assert [e.kind for e in replies] == ["email_in"]  # the reply mail is in the thread once, as the mail
