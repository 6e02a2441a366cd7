"""The derived text part (html_to_text) and the MIME message (to_mime), parsed back with the email package."""

# ruff: noqa: RUF001 - Arabic and Cyrillic test data is the point

from __future__ import annotations

import email
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage, MIMEPart

import pytest

from dunning.email import ComposedEmail, EmailError, html_to_text, to_mime

TEXT_CASES = [
    ("paragraphs", "<p>One</p><p>Two</p>", "One\n\nTwo"),
    ("line breaks", "<p>One<br>Two<br/>Three</p>", "One\nTwo\nThree"),
    ("divs are lines", "<div>One</div><div>Two</div>", "One\nTwo"),
    ("headings", "<h1>Title</h1>Body", "Title\n\nBody"),
    ("whitespace collapsed", "<p>  Many \n\t spaces   here </p>", "Many spaces here"),
    ("entities", "<p>A &amp; B &lt;ok&gt; &#8364;5</p>", "A & B <ok> €5"),
    ("list items", "<ul><li>One</li><li>Two</li></ul>", "- One\n- Two"),
    ("nested list", "<ul><li>A<ul><li>A1</li></ul></li><li>B</li></ul>", "- A\n  - A1\n- B"),
    ("ordered list", "<ol><li>First</li></ol>", "- First"),
    ("link", '<a href="https://pay.example/i/1">Pay now</a>', "Pay now (https://pay.example/i/1)"),
    ("link same as text", '<a href="https://pay.example/">https://pay.example/</a>', "https://pay.example/"),
    ("mailto", '<a href="mailto:ar@acme.example">ar@acme.example</a>', "ar@acme.example"),
    ("mailto named", '<a href="mailto:ar@acme.example">write us</a>', "write us (ar@acme.example)"),
    ("anchor link", '<a href="#top">Top</a>', "Top"),
    ("javascript link", '<a href="javascript:x()">Click</a>', "Click"),
    ("image link", '<a href="https://acme.example/"><img src="logo.png"></a>', "https://acme.example/"),
    ("script and style dropped", "<style>p{}</style><script>var x=1;</script><p>Kept</p>", "Kept"),
    ("head dropped", "<html><head><title>T</title></head><body><p>Body</p></body></html>", "Body"),
    (
        "table rows",
        "<table><tr><td>I-1</td><td>10.00</td></tr><tr><td>I-2</td><td>5.00</td></tr></table>",
        "I-1 10.00\nI-2 5.00",
    ),
    ("pre kept", "<pre>a   b\n  c</pre>", "a   b\n  c"),
    ("hr", "<p>a</p><hr><p>b</p>", "a\n\n----\n\nb"),
    ("no-break space kept", "<p>R$&nbsp;10</p>", "R$\xa010"),
    ("arabic with direction mark", '<p dir="rtl">مرحبا \u200fعميلنا العزيز</p>', "مرحبا \u200fعميلنا العزيز"),
    ("cyrillic", "<p>Здравствуйте,<br>Иван</p>", "Здравствуйте,\nИван"),
    ("outlook conditional comment", "<!--[if mso]><p>MSO only</p><![endif]--><p>All</p>", "All"),
    ("inline markup", "<p>Pay <b>now</b>, <i>please</i></p>", "Pay now, please"),
    ("empty", "", ""),
]


@pytest.mark.parametrize(("html", "text"), [c[1:] for c in TEXT_CASES], ids=[c[0] for c in TEXT_CASES])
def test_given_html_when_deriving_text_then_readable_plain_text(html, text):
    assert html_to_text(html) == text


EMAIL = ComposedEmail(
    sender="Acme Collections <ar@acme.example>",
    to="Иван Петров <ivan@example.ru>",
    subject="Счёт INV-1 просрочен",
    html='<p dir="ltr">Здравствуйте, Иван! <a href="https://pay.example/">Оплатить</a></p>',
    text="Здравствуйте, Иван! Оплатить (https://pay.example/)",
    language="ru",
)
DATE = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def content(part: MIMEPart) -> str:
    """A text part's content; text is canonicalised to CRLF on the wire (RFC 2046), so normalise it."""
    return str(part.get_content()).replace("\r\n", "\n").rstrip("\n")


def parse(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def test_given_composed_email_when_serialised_then_parses_back_to_the_same_content():
    msg = parse(to_mime(EMAIL, message_id="c-1@acme.example", date=DATE))
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg["From"].addresses[0].display_name == "Acme Collections"
    assert msg["To"].addresses[0].display_name == "Иван Петров"
    assert msg["To"].addresses[0].addr_spec == "ivan@example.ru"
    assert str(msg["Subject"]) == EMAIL.subject
    assert msg["Message-ID"] == "<c-1@acme.example>"
    assert msg["Date"].datetime == DATE
    assert (msg["Content-Language"], msg["Auto-Submitted"], msg["MIME-Version"]) == (
        "ru",
        "auto-generated",
        "1.0",
    )
    text_part, html_part = msg.iter_parts()
    assert content(text_part) == EMAIL.text
    assert content(html_part) == EMAIL.html
    assert text_part.get_content_charset() == "utf-8"


def test_given_non_ascii_content_when_serialised_then_seven_bit_crlf_and_short_lines():
    long = ComposedEmail(
        sender=EMAIL.sender,
        to=EMAIL.to,
        subject="ش" * 200,
        html="<p>" + "ش" * 3000 + "</p>",
        text="ش" * 3000,
        language="ar",
    )
    raw = to_mime(long, date=DATE)
    assert raw.isascii()
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    body = parse(raw).get_body(("plain",))
    assert isinstance(body, EmailMessage) and content(body) == "ش" * 3000


def test_given_no_message_id_when_serialised_then_one_on_the_sender_domain():
    msg = parse(to_mime(EMAIL, date=DATE))
    assert msg["Message-ID"].endswith("@acme.example>")


def test_given_same_inputs_when_serialised_with_id_and_date_then_same_content_parts():
    first, second = (parse(to_mime(EMAIL, message_id="x@acme.example", date=DATE)) for _ in range(2))
    assert [p.get_content() for p in first.iter_parts()] == [p.get_content() for p in second.iter_parts()]
    assert dict(first.items()).keys() == dict(second.items()).keys()


def test_given_header_injection_in_subject_when_serialised_then_email_error():
    bad = ComposedEmail(
        sender=EMAIL.sender,
        to=EMAIL.to,
        subject="Hi\r\nBcc: x@evil.example",
        html="<p>x</p>",
        text="x",
        language="en",
    )
    with pytest.raises(EmailError, match="headers"):
        to_mime(bad, date=DATE)


def test_given_naive_date_when_serialised_then_email_error():
    with pytest.raises(EmailError, match="timezone"):
        to_mime(EMAIL, date=datetime(2026, 3, 1))
