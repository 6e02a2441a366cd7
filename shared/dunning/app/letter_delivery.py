"""Letter delivery (RenderLetterFunction, and ``dunning letters reprint``): render a letter contact's PDF to the
letters bucket and mark the contact rendered; printed letters then go to a print extract
(:mod:`dunning.app.print_extract`)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dunning.app.contact_delivery import (
    DeliveryResult,
    contacts_from_stream,
    fail_contact,
    load_merge_data,
    suppress_contact,
)
from dunning.models.config import Config
from dunning.models.contacts import Contact
from dunning.observability import logger
from dunning.store.blobs import BlobStore
from dunning.store.contacts import PRINT_PENDING, ContactStore
from dunning.store.ledger import LedgerStore
from dunning.templating import TemplateError, locale_tag

RECIPIENT_METADATA = "recipient"  # S3 user metadata of a letter PDF: whom and where it is addressed to


@dataclass
class LetterDeps:
    config: Callable[[], Config]
    ledger: LedgerStore
    contacts: ContactStore
    letters: BlobStore


def letter_key(contact: Contact, production: str = "print") -> str:
    """Where a letter's PDF lives. Printed letters (``letters/``) are kept for LetterRetentionDays, the print
    extract being their long-term record; letters that are never printed (``online-letters/``) are their own
    record, kept for PrintRetentionDays (template.yaml lifecycle rules)."""
    as_of = (contact.as_of or contact.created_at.date()).isoformat()
    prefix = "online-letters" if production == "online" else "letters"
    return f"{prefix}/{as_of}/{contact.contact_id}.pdf"


def recipient_metadata(name: str, address_lines: Sequence[str]) -> str:
    """The letter's addressee as the PDF's address window shows it, for the print manifest: kept with the PDF
    (S3 user metadata is ASCII, hence base64 of the JSON), so the extract needs no further reads and lists the
    address the letter was rendered with."""
    return base64.urlsafe_b64encode(json.dumps([name, *address_lines], ensure_ascii=False).encode()).decode()


def deliver_letters(record: dict[str, Any], render_once: Callable[[Contact], DeliveryResult]) -> list[DeliveryResult]:
    """The new letter contacts of one stream record, each rendered once (``render_once`` is
    :func:`render_contact_letter` behind the handler's idempotency)."""
    return [render_once(contact) for contact in contacts_from_stream([record], "letter")]


def render_contact_letter(contact: Contact, deps: LetterDeps, now: datetime | None = None) -> DeliveryResult:
    """Render a new letter contact (only from ``pending``)."""
    return _render(contact, deps, now or datetime.now(UTC), only_from=["pending"], reason="")


def reprint_letter(contact: Contact, deps: LetterDeps, now: datetime | None = None) -> DeliveryResult:
    """Render a letter again from today's data, store it over the old one (the bucket keeps versions) and
    queue it for the next print extract."""
    return _render(contact, deps, now or datetime.now(UTC), only_from=None, reason="reprint requested")


def _render(contact: Contact, deps: LetterDeps, now: datetime, only_from: list[Any] | None,
            reason: str) -> DeliveryResult:
    # the PDF stack loads on the first letter, not at import: render_letter's cold start stays short
    from dunning.letters.conditions import suppression_reason
    from dunning.letters.context import build_letter_context, recipient_country
    from dunning.letters.render import letter_language, render_letter

    config = deps.config()
    template = next((t for t in config.letter_templates if t.code == contact.template_code), None)
    if template is None:
        return fail_contact(deps.contacts, contact, f"unknown letter template {contact.template_code!r}")
    merge = load_merge_data(contact, deps.ledger)
    if merge.person is None:
        return fail_contact(deps.contacts, contact,
                            f"person {contact.person_id} is not known; a letter needs a recipient")
    language = letter_language(template, merge.person.language)  # the body's language: amounts formatted to match
    today = contact.as_of or now.date()
    unmet = suppression_reason(template, view=merge.view, premise=merge.premise, invoice_id=contact.invoice_id,
                               premise_id=contact.premise_id, as_of=today,
                               locale=locale_tag(language, recipient_country(merge.person, merge.premise)))
    if unmet is not None:  # the letter's subject would be false (template ``requires:``)
        return suppress_contact(deps.contacts, contact, unmet)
    try:
        context = build_letter_context(contact=contact, person=merge.person, account=merge.view,
                                       premise=merge.premise, company=config.company, language=language,
                                       today=today)
        rendered = render_letter(template, context, language=language)
    except TemplateError as exc:
        return fail_contact(deps.contacts, contact, f"letter template {template.code}: {exc}")
    key = letter_key(contact, template.production)
    to = context["recipient"]  # the address window's name and lines: the print manifest lists the same
    deps.letters.put_bytes(key, rendered.pdf, "application/pdf",
                           metadata={"contact-id": contact.contact_id, "language": rendered.language,
                                     RECIPIENT_METADATA: recipient_metadata(to["name"], to["address_lines"])})
    fields: dict[str, Any] = {"s3_key": key, "pages": rendered.pages, "language": rendered.language}
    # a run's own letters are found by that run's print extract (through its batch results); every other printed
    # letter - and any reprint (only_from None), which the run's extract has already taken - waits in the queue
    if template.production in ("print", "print_and_online") and (contact.print_run is None or only_from is None):
        fields["print_queue"] = PRINT_PENDING
    # the creation snapshot has done its job (the PDF shows it); dropping it keeps the stored contact small
    deps.contacts.set_status(contact.contact_id, "rendered", fields=fields, only_from=only_from, now=now,
                             reason=reason, remove=["snapshot"])
    # one line per letter only at DEBUG: the contact itself records the outcome, the handler logs the batch
    logger.debug("letter rendered", extra={"contact_id": contact.contact_id, "pages": rendered.pages,
                                          "bytes": len(rendered.pdf)})
    return DeliveryResult(contact_id=contact.contact_id, status="rendered", s3_key=key, pages=rendered.pages)
