"""Produce what a new contact asks for: a letter PDF in S3, or an email through SES.

Both are triggered by the contacts table's stream. Side effects are guarded twice: the caller wraps each
contact in Powertools' ``idempotent_function`` (keyed on the contact id), and the status moves only
from ``pending``, so a redelivered stream record never renders or sends again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from botocore.exceptions import ClientError

from dunning.aws import client
from dunning.models.accounts import AccountView
from dunning.models.config import Config
from dunning.models.contacts import Contact, ContactDraft
from dunning.models.events import PersonUpserted, PremiseUpserted
from dunning.observability import logger
from dunning.store.blobs import Blobs
from dunning.store.contacts import PRINT_PENDING, ContactsRepository, item_contact
from dunning.store.dynamo import from_av
from dunning.store.ledger import LedgerRepository
from dunning.templating import TemplateError

# SES v2 errors that retrying will not fix.
PERMANENT_SES_ERRORS = frozenset({
    "MessageRejected", "MailFromDomainNotVerifiedException", "AccountSuspendedException",
    "SendingPausedException", "BadRequestException", "NotFoundException",
})


def letter_key(contact: Contact, production: str = "print") -> str:
    """Where a letter's PDF lives. Printed letters (``letters/``) are kept for LetterRetentionDays, the print
    extract being their long-term record; letters that are never printed (``online-letters/``) are their own
    record, kept for PrintRetentionDays (template.yaml lifecycle rules)."""
    as_of = (contact.as_of or contact.created_at.date()).isoformat()
    prefix = "online-letters" if production == "online" else "letters"
    return f"{prefix}/{as_of}/{contact.contact_id}.pdf"


def contacts_from_stream(records: list[dict[str, Any]], action: str) -> list[Contact]:
    """New contacts of ``action`` in a DynamoDB stream batch (INSERTs only: updates never re-trigger)."""
    out = []
    for rec in records:
        image = rec.get("dynamodb", {}).get("NewImage")
        if rec.get("eventName") != "INSERT" or not image:
            continue
        contact = item_contact(from_av(image))
        if contact.action == action:
            out.append(contact)
    return out


@dataclass
class DeliveryDeps:
    config: Callable[[], Config]
    ledger: LedgerRepository
    contacts: ContactsRepository
    letters: Blobs
    sender_identity: str = ""


@dataclass
class Recipient:
    person: PersonUpserted | None
    premise: PremiseUpserted | None
    view: AccountView | None


def load_recipient(contact: Contact, ledger: LedgerRepository) -> Recipient:
    """The person, premise and account view a contact's output merges: its creation snapshot when it has
    one (no reads), otherwise the current ledger (one BatchGet + one Query)."""
    snap = contact.snapshot_data()
    if snap is not None:
        return Recipient(
            person=PersonUpserted.model_validate(snap["person"]) if snap.get("person") else None,
            premise=PremiseUpserted.model_validate(snap["premise"]) if snap.get("premise") else None,
            view=AccountView.model_validate(snap["view"]) if snap.get("view") else None,
        )
    keys = [("PERSON", contact.person_id)] if contact.person_id else []
    keys += [("PREMISE", contact.premise_id)] if contact.premise_id else []
    profiles = ledger.profiles(keys) if keys else {}
    person_json = profiles.get(("PERSON", contact.person_id or ""))
    premise_json = profiles.get(("PREMISE", contact.premise_id or ""))
    return Recipient(
        person=PersonUpserted.model_validate_json(person_json) if person_json else None,
        premise=PremiseUpserted.model_validate_json(premise_json) if premise_json else None,
        view=ledger.account_view(contact.account_id) if contact.account_id else None,
    )


# ---------------------------------------------------------------------------------------------- letters
def render_contact_letter(contact: Contact, deps: DeliveryDeps, now: datetime | None = None) -> dict[str, Any]:
    """Render a new letter contact (only from ``pending``)."""
    return _render(contact, deps, now or datetime.now(UTC), only_from=["pending"], reason="")


def reprint_letter(contact: Contact, deps: DeliveryDeps, now: datetime | None = None) -> dict[str, Any]:
    """Render a letter again from today's data, store it over the old one (the bucket keeps versions) and
    queue it for the next print extract."""
    return _render(contact, deps, now or datetime.now(UTC), only_from=None, reason="reprint requested")


def _render(contact: Contact, deps: DeliveryDeps, now: datetime, only_from: list[Any] | None,
            reason: str) -> dict[str, Any]:
    from dunning.app.print_extract import RECIPIENT_METADATA, recipient_metadata
    from dunning.letters.context import build_letter_context
    from dunning.letters.render import letter_language, render_letter

    config = deps.config()
    template = next((t for t in config.letter_templates if t.code == contact.template_code), None)
    if template is None:
        return _fail(deps, contact, f"unknown letter template {contact.template_code!r}")
    who = load_recipient(contact, deps.ledger)
    if who.person is None:
        return _fail(deps, contact, f"person {contact.person_id} is not known; a letter needs a recipient")
    language = letter_language(template, who.person.language)  # the body's language: amounts formatted to match
    try:
        context = build_letter_context(contact=contact, person=who.person, account=who.view, premise=who.premise,
                                       company=config.company, language=language,
                                       today=contact.as_of or now.date())
        rendered = render_letter(template, context, language=language)
    except TemplateError as exc:
        return _fail(deps, contact, f"letter template {template.code}: {exc}")
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
    return {"contact_id": contact.contact_id, "status": "rendered", "s3_key": key, "pages": rendered.pages}


# ---------------------------------------------------------------------------------------------- emails
def send_contact_email(contact: Contact, deps: DeliveryDeps, now: datetime | None = None) -> dict[str, Any]:
    from dunning.email.compose import EmailError, compose_contact_email
    from dunning.email.context import email_context
    from dunning.email.mime import to_mime

    now = now or datetime.now(UTC)
    config = deps.config()
    who = load_recipient(contact, deps.ledger)
    language = who.person.language if who.person else contact.language
    as_of: date = contact.as_of or now.date()
    try:
        context = email_context(company=config.company, person=who.person,
                                account=who.view.account if who.view else None, view=who.view,
                                invoice_id=contact.invoice_id, as_of=as_of, language=language,
                                recipient=contact.recipient)
        composed = compose_contact_email(contact, config, context)
        raw = to_mime(composed, message_id=f"<{contact.contact_id}@dunning>", date=now)
    except (TemplateError, EmailError) as exc:
        return _fail_email(deps, contact, f"email not composed: {exc}", now)
    try:
        resp = client("sesv2").send_email(
            FromEmailAddress=composed.sender,
            Destination={"ToAddresses": [composed.to]},
            Content={"Raw": {"Data": raw}},
            EmailTags=[{"Name": "contact_type", "Value": f"{contact.contact_class}-{contact.contact_type}"}],
        )
    except ClientError as exc:
        code = exc.response["Error"]["Code"]
        if code in PERMANENT_SES_ERRORS:
            return _fail_email(deps, contact, f"SES rejected the email: {code}", now)
        raise  # throttling / 5xx: the stream retries the record
    logger.info("email sent", extra={"contact_id": contact.contact_id, "ses_message_id": resp["MessageId"]})
    # The status is recorded by record_sent, outside the idempotent send: if that write fails, the retry
    # gets this result back from the idempotency record and only repeats the write, never the send.
    return {"contact_id": contact.contact_id, "status": "sent", "ses_message_id": resp["MessageId"]}


def record_sent(result: dict[str, Any], deps: DeliveryDeps, now: datetime | None = None) -> None:
    """Mark an email contact sent (a no-op when it already is)."""
    if result.get("status") == "sent":
        deps.contacts.set_status(result["contact_id"], "sent", fields={"ses_message_id": result["ses_message_id"]},
                                 only_from=["pending"], now=now, remove=["snapshot"])


def _fail(deps: DeliveryDeps, contact: Contact, reason: str) -> dict[str, Any]:
    deps.contacts.set_status(contact.contact_id, "failed", reason=reason, only_from=["pending"])
    logger.warning("contact failed", extra={"contact_id": contact.contact_id, "reason": reason})
    return {"contact_id": contact.contact_id, "status": "failed", "reason": reason}


def _fail_email(deps: DeliveryDeps, contact: Contact, reason: str, now: datetime) -> dict[str, Any]:
    """Mark the email failed; when its type names a fallback letter, create that letter contact."""
    from dunning.contacts.create import ContactRejected, prepare_contact

    result = _fail(deps, contact, reason)
    config = deps.config()
    ctype = config.find_contact_type(contact.type_key)
    fallback = ctype.fallback_to_letter if ctype else None
    if not fallback or not contact.person_id:
        return result
    draft = ContactDraft(
        contact_class=contact.contact_class, contact_type=contact.contact_type, source=contact.source,
        source_ref=contact.source_ref, identity=("email-fallback", contact.contact_id),
        person_id=contact.person_id, account_id=contact.account_id, premise_id=contact.premise_id,
        invoice_id=contact.invoice_id, as_of=contact.as_of, template_code=fallback, action_override="letter",
        hierarchy_id=contact.hierarchy_id, step_id=contact.step_id, automated=contact.automated,
        reason=f"email {contact.contact_id} failed ({reason}); sent as letter",
    )
    person = deps.ledger.persons([contact.person_id]).get(contact.person_id)
    try:
        letter = prepare_contact(draft, config, person=person, now=now)
    except ContactRejected as exc:
        logger.warning("no fallback letter", extra={"contact_id": contact.contact_id, "reason": exc.reason})
        return result
    deps.contacts.create_new([letter])
    return {**result, "fallback_contact_id": letter.contact_id}
