"""Outgoing interaction mail (S3.5 email out, S3.10 mail settings): threading, reply address, settings, loops."""

from __future__ import annotations

from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser

import pytest

from dunning.interactions.mail import (
    LOOP_HEADER,
    InboundMail,
    OutboundMail,
    build_outbound,
    outbound_subject,
    parse_mail,
    reply_subject,
)

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
DOMAIN = "reply.example.com"


def outbound(**kw: object) -> OutboundMail:
    base: dict[str, object] = dict(
        from_address="support@dunning.example", from_name="Customer service", to_address="maria@customer.example",
        to_name="Maria Silva", subject="Re: Your invoice", text="We checked: the payment arrived.",
        domain=DOMAIN, reply_to=f"reply+i.int-1.0123456789abcdef@{DOMAIN}", in_reply_to="<reply-1@customer.example>",
        references=["first-1@customer.example"], number="IN-2026-000042", agent_name="Alice Agent",
        agent_address="alice@dunning.example")
    base.update(kw)
    return OutboundMail.model_validate(base)


def read_back(raw: bytes) -> InboundMail:
    mail = parse_mail(raw)  # no own domain given: read it as any receiver would
    assert isinstance(mail, InboundMail), mail
    return mail


def test_an_answer_threads_under_the_customer_mail_and_replies_to_the_signed_address():
    built = build_outbound(outbound(), now=NOW)
    assert built.message_id.endswith(f"@{DOMAIN}")
    mail = read_back(built.raw)
    assert mail.message_id == built.message_id
    assert mail.in_reply_to == ["reply-1@customer.example"]
    assert mail.references == ["first-1@customer.example", "reply-1@customer.example"]
    headers = BytesParser(policy=policy.default).parsebytes(built.raw)
    assert headers["Reply-To"] == "Customer service <reply+i.int-1.0123456789abcdef@reply.example.com>"
    assert headers[LOOP_HEADER] == DOMAIN
    assert mail.automatic is None  # an agent's answer is a person's mail


def test_the_number_in_subject_setting_adds_the_number_once():
    assert build_outbound(outbound(), now=NOW).subject == "[IN-2026-000042] Re: Your invoice"
    assert build_outbound(outbound(number_in_subject=False), now=NOW).subject == "Re: Your invoice"
    assert outbound_subject("Re: x [IN-2026-000042]", "IN-2026-000042", True) == "Re: x [IN-2026-000042]"


def test_show_sender_address_puts_the_agent_in_the_from_display_and_a_signature_line():
    shown = build_outbound(outbound(), now=NOW)
    assert b'From: "Alice Agent (Customer service)" <support@dunning.example>' in shown.raw
    assert shown.text.endswith("-- \nAlice Agent <alice@dunning.example>")
    hidden = build_outbound(outbound(show_sender_address=False), now=NOW)
    assert b"From: Customer service <support@dunning.example>" in hidden.raw
    assert "alice" not in hidden.text.lower() and b"alice" not in hidden.raw.lower()


def test_an_agent_known_by_address_only_signs_once():
    built = build_outbound(outbound(agent_name="alice@dunning.example"), now=NOW)
    assert built.text.endswith("-- \nalice@dunning.example")


def test_an_automatic_reply_says_so_and_names_no_agent():
    built = build_outbound(outbound(automatic=True), now=NOW)
    assert b"Auto-Submitted: auto-replied" in built.raw
    assert read_back(built.raw).automatic is not None  # so another robot does not answer it
    assert b"Alice" not in built.raw


def test_our_own_mail_coming_back_is_a_loop():
    built = build_outbound(outbound(), now=NOW)
    result = parse_mail(built.raw, own_domain=DOMAIN)
    assert not isinstance(result, InboundMail) and result.code == "loop"


def test_a_line_break_in_the_subject_or_names_cannot_add_headers():
    built = build_outbound(outbound(subject="Hi\r\nBcc: victim@example.com", to_name="Eve\r\nX-Evil: 1"), now=NOW)
    assert b"\r\nBcc:" not in built.raw and b"\r\nX-Evil:" not in built.raw


def test_non_ascii_text_is_sent_7bit():
    built = build_outbound(outbound(text="Olá, João — спасибо, شكرا"), now=NOW)
    assert all(b < 128 for b in built.raw)
    assert "João — спасибо, شكرا" in read_back(built.raw).text


def test_reply_subject_adds_re_only_once():
    assert reply_subject("Invoice") == "Re: Invoice"
    assert reply_subject("RE: Invoice") == "RE: Invoice"


def test_bad_addresses_and_naive_dates_are_refused():
    with pytest.raises(ValueError):
        build_outbound(outbound(to_address="nobody"), now=NOW)
    with pytest.raises(ValueError):
        build_outbound(outbound(), now=datetime(2026, 12, 1, 9, 0))  # naive: the point of the test
