"""Compose an email from an :class:`~dunning.models.config.EmailTemplate` (S2.11). Pure; no AWS.

The subject and HTML body are business-authored Jinja2, rendered in the project's sandbox
(:func:`dunning.templating.render`, HTML with autoescape). The plain-text alternative is derived from the
rendered HTML, so authors maintain one body per language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.headerregistry import Address
from email.utils import parseaddr
from typing import Any

from dunning.email.text import html_to_text
from dunning.models.config import Company, Config, EmailTemplate
from dunning.models.contacts import Contact
from dunning.templating import render

_ADDRESS = re.compile(r"^[^@\s<>\",;]+@[^@\s<>\",;]+\.[^@\s<>\",;]+$")


class EmailError(ValueError):
    """An email cannot be composed for a reason other than its template (e.g. no usable address)."""


@dataclass(frozen=True)
class ComposedEmail:
    """A ready-to-send email. ``sender`` and ``to`` are formatted ``Name <address>`` (quoted when needed)."""

    sender: str
    to: str
    subject: str
    html: str
    text: str
    language: str  # the body language actually used (after fallback)
    reply_to: str = ""  # ``Name <address>`` replies go to (the company's address on its letters), or none

    @property
    def sender_address(self) -> str:
        return parseaddr(self.sender)[1]

    @property
    def to_address(self) -> str:
        return parseaddr(self.to)[1]


def body_language(template: EmailTemplate, language: str) -> str:
    """The body to use for ``language``: the exact language (case-insensitive), then its base language
    (``pt`` for ``pt-BR``), then another variant of the base (``pt-PT`` for ``pt-BR``, the first in sorted
    order), then the template's default language."""
    by_lower = {code.lower(): code for code in template.bodies}
    wanted = language.strip().lower()
    if wanted in by_lower:
        return by_lower[wanted]
    base = wanted.split("-", 1)[0]
    if base in by_lower:
        return by_lower[base]
    siblings = sorted(code for code in template.bodies if code.lower().split("-", 1)[0] == base)
    return siblings[0] if siblings else template.default_language


def format_address(name: str, address: str) -> str:
    """``Name <address>``, with the name quoted when it holds specials (``"Acme, Inc" <a@b.c>``).

    The domain is converted to punycode; a non-ASCII local part is refused (SES has no SMTPUTF8).
    Raises :class:`EmailError` for an address that is empty or malformed (including CR/LF injection)."""
    address = address.strip()
    if not _ADDRESS.match(address):
        raise EmailError(f"not a usable email address: {address!r}")
    local, _, domain = address.rpartition("@")
    if not local.isascii():  # SES does not support SMTPUTF8 (RFC 6531)
        raise EmailError(f"cannot send to {address!r}: the part before @ must be ASCII")
    try:
        domain = domain.encode("idna").decode("ascii")  # internationalised domains as punycode
    except UnicodeError as exc:
        raise EmailError(f"not a usable email domain in {address!r}: {exc}") from exc
    display = " ".join(name.split())  # no line breaks in a header
    try:
        return str(Address(display_name=display, addr_spec=f"{local}@{domain}"))
    except (ValueError, IndexError) as exc:  # the stdlib parser's complaints
        raise EmailError(f"not a usable email address: {address!r}: {exc}") from exc


def compose_email(
    template: EmailTemplate, context: dict[str, Any], *, language: str, to_name: str, to_address: str,
    reply_to: str = "",
) -> ComposedEmail:
    """Render ``template`` for ``language`` (with fallback, see :func:`body_language`). ``reply_to`` is an
    already formatted ``Name <address>`` (see :func:`company_reply_to`).

    Raises :class:`dunning.templating.TemplateError` when the subject or body cannot be rendered, and
    :class:`EmailError` when an address is unusable or the subject renders empty.
    """
    used = body_language(template, language)
    body = template.bodies[used]
    name = f"email template {template.code} ({used})"
    subject = " ".join(render(body.subject, context, autoescape=False, name=f"{name} subject").split())
    if not subject:
        raise EmailError(f"{name}: the subject is empty after rendering")
    html = render(body.html, context, autoescape=True, name=f"{name} body")
    return ComposedEmail(
        sender=format_address(template.sender_name, template.sender_address),
        to=format_address(to_name, to_address),
        subject=subject,
        html=html,
        text=html_to_text(html),
        language=used,
        reply_to=reply_to,
    )


def company_reply_to(company: Company, sender_address: str) -> str:
    """Where a customer's reply should go: the company's own address, as printed on its letters.

    The From address must belong to the stack's SES identity (``SenderIdentity``, e.g. collections@...), which
    need not be the address the company prints on its letters (``company.email``). With ``Reply-To`` set to the
    latter, the email and the letter name the same company and the same contact address. Empty when the company
    has no email or it is the sender's."""
    if not company.email or company.email.strip().lower() == sender_address.strip().lower():
        return ""
    try:
        return format_address(company.name, company.email)
    except EmailError:  # a malformed company address is not a reason to hold the email back
        return ""


def compose_contact_email(contact: Contact, config: Config, context: dict[str, Any]) -> ComposedEmail:
    """Compose the email of an email contact: its template, its language, its recipient."""
    if contact.action != "email":
        raise EmailError(f"contact {contact.contact_id} is a {contact.action} contact, not an email")
    if contact.recipient is None or not contact.recipient.address:
        raise EmailError(f"contact {contact.contact_id} has no recipient address")
    template = next((t for t in config.email_templates if t.code == contact.template_code), None)
    if template is None:
        raise EmailError(f"contact {contact.contact_id}: unknown email template {contact.template_code!r}")
    return compose_email(
        template,
        context,
        language=contact.language,
        to_name=contact.recipient.name,
        to_address=contact.recipient.address,
        # a customer's reply goes to the company's address; an internal alert's to its sender
        reply_to=company_reply_to(config.company, template.sender_address)
        if contact.recipient.kind == "customer" else "",
    )
