"""Parsing inbound mail (S3.5 email in): decoding, rejection with a reason, automatic-mail detection."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest

from dunning.interactions.mail import (
    MAX_RECEIVED_HEADERS,
    InboundMail,
    Rejection,
    find_number,
    parse_mail,
)

MAIL = Path(__file__).resolve().parents[3] / "events" / "mail"
DOMAIN = "reply.example.com"
OURS = ["support@reply.example.com"]


def sample(name: str) -> bytes:
    return (MAIL / name).read_bytes()


def parsed(raw: bytes) -> InboundMail:
    mail = parse_mail(raw, own_domain=DOMAIN, own_addresses=OURS)
    assert isinstance(mail, InboundMail), mail
    return mail


def rejected(raw: bytes, **kw: object) -> Rejection:
    result = parse_mail(raw, own_domain=DOMAIN, own_addresses=OURS, **kw)  # type: ignore[arg-type]
    assert isinstance(result, Rejection), result
    return result


def simple(**headers: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = headers.pop("From", "Maria <maria@customer.example>")
    msg["To"] = headers.pop("To", "support@reply.example.com")
    msg["Subject"] = headers.pop("Subject", "Hello")
    msg["Message-ID"] = headers.pop("Message_ID", "<m-1@customer.example>")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content("Hello there")
    return msg.as_bytes()


def test_a_reply_is_decoded_with_its_thread_ids_bare_and_nearest_first():
    mail = parsed(sample("reply_with_quote.eml"))
    assert mail.message_id == "reply-1@customer.example"
    assert mail.in_reply_to == ["out-1@reply.example.com"]
    assert mail.thread_ids == ["out-1@reply.example.com", "first-1@customer.example"]
    assert (mail.from_name, mail.from_address) == ("Maria Silva", "maria.silva@customer.example")
    assert find_number(mail.subject) == "IN-2026-000042"
    assert mail.automatic is None
    assert mail.text.startswith("I paid the invoice last week")


def test_an_html_only_mail_becomes_text_without_script_or_style():
    mail = parsed(sample("html_only.eml"))
    assert mail.text_from_html
    assert mail.subject == "Pedido de parcelamento"
    assert "parcelar" in mail.text
    assert "alert" not in mail.text and "color" not in mail.text


def test_attachments_are_listed_with_safe_names_and_the_body_is_not_one_of_them():
    mail = parsed(sample("with_attachments.eml"))
    assert [(a.filename, a.content_type) for a in mail.attachments] == [
        ("receipt.pdf", "application/pdf"), ("invoice.exe", "application/x-msdownload")]
    assert mail.attachments[0].content.startswith(b"%PDF")
    assert mail.attachments[0].size == len(mail.attachments[0].content)


def test_the_envelope_recipient_in_a_received_header_counts_as_a_recipient():
    raw = simple(To="someone-else@customer.example",
                 Received="from x by inbound-smtp for <reply+i.abc.0123456789abcdef@reply.example.com>; "
                          "Tue, 01 Dec 2026 09:15:02 +0000")
    assert "reply+i.abc.0123456789abcdef@reply.example.com" in parsed(raw).recipients


def test_injection_in_subject_and_body_is_kept_as_plain_text():
    mail = parsed(sample("injection.eml"))
    assert mail.subject == "<img src=x onerror=alert(1)> {{ 7*7 }} ${7*7}"
    assert "<script>" in mail.text and "{{ config.__class__ }}" in mail.text


def test_a_header_line_break_cannot_smuggle_a_second_line_into_the_subject():
    raw = b"From: a@customer.example\r\nSubject: one\r\n two\r\nMessage-ID: <x@y>\r\n\r\nbody\r\n"
    assert parsed(raw).subject == "one two"


def test_a_mail_without_message_id_gets_a_stable_stand_in():
    raw = b"From: a@customer.example\r\nSubject: hi\r\n\r\nbody\r\n"
    first, second = parsed(raw), parsed(raw)
    assert first.message_id_synthesized and first.message_id == second.message_id


# ---------------------------------------------------------------------------------------------- rejections
def test_an_oversized_mail_is_rejected_before_parsing():
    result = rejected(simple() + b"x" * 2000, max_bytes=1000)
    assert result.code == "oversized" and "1000" in result.reason


@pytest.mark.parametrize("raw", [b"", b"   \r\n", sample("malformed.eml"),
                                 b"Subject: no sender\r\n\r\nbody\r\n",
                                 b"From: not an address\r\nSubject: x\r\n\r\nbody\r\n"])
def test_malformed_mail_is_rejected_with_a_reason(raw):
    assert rejected(raw).code == "malformed"


def test_a_multipart_without_its_boundary_is_malformed():
    raw = (b"From: a@customer.example\r\nMessage-ID: <b@c>\r\nContent-Type: multipart/mixed; boundary=\"zz\"\r\n"
           b"\r\nno boundary ever appears here\r\n")
    assert rejected(raw).code == "malformed"


@pytest.mark.parametrize("raw, why", [
    (sample("looping.eml"), "X-Dunning-Loop"),
    (simple(From="support@reply.example.com"), "own address"),
    (simple(From="reply+i.x.0123456789abcdef@reply.example.com"), "own mail domain"),
])
def test_looping_mail_is_rejected(raw, why):
    result = rejected(raw)
    assert result.code == "loop" and why in result.detail


def test_too_many_hops_is_a_loop():
    msg = EmailMessage()
    msg["From"] = "a@customer.example"
    for n in range(MAX_RECEIVED_HEADERS + 1):
        msg["Received"] = f"from hop{n} by hop{n + 1}; Tue, 01 Dec 2026 09:15:02 +0000"
    msg.set_content("x")
    assert rejected(msg.as_bytes()).code == "loop"
    assert isinstance(parse_mail(simple(Received="from a by b; Tue, 01 Dec 2026 09:15:02 +0000"),
                                 own_domain=DOMAIN), InboundMail)


# ---------------------------------------------------------------------------------------------- automatic mail
@pytest.mark.parametrize("raw, why", [
    (sample("auto_reply.eml"), "Auto-Submitted"),
    (sample("bounce.eml"), "bounce"),
    (simple(From="MAILER-DAEMON@mx.example"), "mailer-daemon"),
    (simple(From="postmaster@mx.example"), "postmaster"),
    (simple(Return_Path="<>"), "null return path"),
    (simple(Precedence="bulk"), "Precedence"),
    (simple(Precedence="junk"), "Precedence"),
    (simple(X_Autoreply="yes"), "X-Autoreply"),
    (simple(X_Autorespond="yes"), "X-Autorespond"),
    (simple(List_Id="<news.customer.example>"), "mailing list"),
])
def test_automatic_mail_is_recognised(raw, why):
    reason = parsed(raw).automatic
    assert reason is not None and why.lower() in reason.lower()


def test_auto_submitted_no_is_a_person_writing():
    assert parsed(simple(Auto_Submitted="no")).automatic is None
    assert parsed(simple()).automatic is None
