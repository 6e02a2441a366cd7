"""Serialise a :class:`~dunning.email.compose.ComposedEmail` as an RFC 5322 message (stdlib only).

The result is ``multipart/alternative`` (text first, then HTML, as RFC 2046 orders them), UTF-8 encoded
to 7-bit, CRLF line endings: the bytes SES ``SendEmail`` takes as raw content, and what ``.eml`` files hold.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from dunning.email.compose import ComposedEmail, EmailError

# 7-bit: SES asks that non-ASCII content be encoded (quoted-printable or base64, whichever is shorter),
# which also keeps every line under RFC 5321's 1,000 characters. CRLF line endings.
_POLICY = policy.SMTP.clone(cte_type="7bit")


def to_mime(email: ComposedEmail, *, message_id: str | None = None, date: datetime | None = None) -> bytes:
    """The message as bytes. ``message_id`` defaults to a fresh id on the sender's domain; ``date`` (an
    aware datetime) to now. Pass both for reproducible output. Raises :class:`EmailError` on bad input."""
    if date is not None and date.tzinfo is None:
        raise EmailError("the Date of an email must carry a timezone")
    domain = email.sender_address.rpartition("@")[2] or "localhost"
    if message_id is None:
        message_id = make_msgid(domain=domain)
    elif not message_id.startswith("<"):
        message_id = f"<{message_id}>"
    msg = EmailMessage(policy=_POLICY)
    try:
        msg["From"] = email.sender
        msg["To"] = email.to
        msg["Subject"] = email.subject
        msg["Date"] = format_datetime(date or datetime.now(UTC))
        msg["Message-ID"] = message_id
        if email.reply_to:
            msg["Reply-To"] = email.reply_to
        msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to dunning mail
    except ValueError as exc:  # e.g. a line break smuggled into a header
        raise EmailError(f"cannot build the email headers: {exc}") from exc
    msg.set_content(email.text, subtype="plain", charset="utf-8")
    msg.add_alternative(email.html, subtype="html", charset="utf-8")
    msg["Content-Language"] = email.language  # after the body: set_content clears Content-* headers
    return msg.as_bytes()
