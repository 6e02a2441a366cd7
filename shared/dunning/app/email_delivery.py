"""Email delivery (SendEmailFunction): compose a new email contact, send it through SES v2 and mark the contact
sent; an email that cannot be sent becomes its type's fallback letter, when it names one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from dunning.app.contact_delivery import (
    DeliveryResult,
    contacts_from_stream,
    fail_contact,
    load_merge_data,
    suppress_contact,
)
from dunning.contacts import ContactRejected, prepare_contact
from dunning.models.config import Config
from dunning.models.contacts import Contact, ContactDraft
from dunning.observability import logger
from dunning.store.contacts import ContactStore
from dunning.store.ledger import LedgerStore
from dunning.templating import TemplateError

if TYPE_CHECKING:
    from dunning.email.compose import ComposedEmail

# SES v2 errors that retrying will not fix.
PERMANENT_SES_ERRORS = frozenset({
    "MessageRejected", "MailFromDomainNotVerifiedException", "AccountSuspendedException",
    "SendingPausedException", "BadRequestException", "NotFoundException",
})


@dataclass
class EmailDeps:
    config: Callable[[], Config]
    ledger: LedgerStore
    contacts: ContactStore
    ses: Callable[[], Any]  # the SES v2 client (resolved per call: the endpoint comes from the environment)
    # contact id -> its signed reply address (reply+c.{id}.{sig}@InboundMailDomain), so that a customer's reply
    # becomes an interaction on the account (dunning.app.inbound_mail); None: replies go to the company address
    reply_address: Callable[[str], str] | None = None


def deliver_emails(record: dict[str, Any], deps: EmailDeps,
                   send_once: Callable[[Contact], DeliveryResult]) -> list[DeliveryResult]:
    """The new email contacts of one stream record: each sent once (``send_once`` is :func:`send_contact_email`
    behind the handler's idempotency), then its status recorded. The status is written outside the idempotent
    send: if that write fails, the retry gets the send's result back from the idempotency record and only repeats
    the write, never the send."""
    results = []
    for contact in contacts_from_stream([record], "email"):
        result = send_once(contact)
        record_sent(result, deps)
        results.append(result)
    return results


def send_contact_email(contact: Contact, deps: EmailDeps, now: datetime | None = None) -> DeliveryResult:
    # the locale data loads on the first email, not at import: send_email's cold start stays short
    from dunning.email.compose import EmailError, compose_contact_email
    from dunning.email.context import email_context, email_locale
    from dunning.email.mime import to_mime
    from dunning.letters.conditions import suppression_reason

    now = now or datetime.now(UTC)
    config = deps.config()
    merge = load_merge_data(contact, deps.ledger)
    language = merge.person.language if merge.person else contact.language
    as_of: date = contact.as_of or now.date()
    template = next((t for t in config.email_templates if t.code == contact.template_code), None)
    unmet = None if template is None else suppression_reason(
        template, view=merge.view, premise=merge.premise, invoice_id=contact.invoice_id,
        premise_id=contact.premise_id, as_of=as_of, locale=email_locale(language, merge.person))
    if unmet is not None:  # the email's subject would be false (template ``requires:``): no fallback letter either
        return suppress_contact(deps.contacts, contact, unmet)
    try:
        context = email_context(company=config.company, person=merge.person,
                                account=merge.view.account if merge.view else None, view=merge.view,
                                invoice_id=contact.invoice_id, as_of=as_of, language=language,
                                recipient=contact.recipient)
        composed = compose_contact_email(contact, config, context)
        composed = _with_reply_address(composed, contact, config, deps)
        raw = to_mime(composed, message_id=f"<{contact.contact_id}@dunning>", date=now)
    except (TemplateError, EmailError) as exc:
        return _fail_email(deps, contact, f"email not composed: {exc}", now)
    try:
        resp = deps.ses().send_email(
            FromEmailAddress=composed.sender,
            Destination={"ToAddresses": [composed.to]},
            Content={"Raw": {"Data": raw}},
            EmailTags=[{"Name": "contact_type", "Value": f"{contact.contact_class}-{contact.contact_type}"}],
        )
    except ClientError as exc:
        code = exc.response["Error"]["Code"]
        if code in PERMANENT_SES_ERRORS:
            return _fail_email(deps, contact, ses_rejection(exc, recipient=composed.to), now)
        raise  # throttling / 5xx: the stream retries the record
    logger.info("email sent", extra={"contact_id": contact.contact_id, "ses_message_id": resp["MessageId"]})
    return DeliveryResult(contact_id=contact.contact_id, status="sent", ses_message_id=resp["MessageId"])


def _with_reply_address(composed: ComposedEmail, contact: Contact, config: Config, deps: EmailDeps) -> ComposedEmail:
    """A customer's email gets the contact's signed reply address as Reply-To (shown as the company)."""
    from dunning.email.compose import format_address

    if deps.reply_address is None or contact.recipient is None or contact.recipient.kind != "customer":
        return composed
    return replace(composed, reply_to=format_address(config.company.name, deps.reply_address(contact.contact_id)))


def ses_rejection(exc: ClientError, recipient: str = "") -> str:
    """A rejected email's reason in SES's own words, e.g. "SES rejected the email (MessageRejected): Did not have
    authority to send from ...". The recipient's address, should SES quote it, becomes "<recipient>": the reason
    is logged, and logs carry no personal data."""
    error = exc.response.get("Error", {})
    code = error.get("Code", "error")
    message = (error.get("Message") or "").strip()
    address = recipient.rpartition("<")[2].rstrip(">").strip() if recipient else ""
    for quoted in {recipient, address} - {""}:
        message = message.replace(quoted, "<recipient>")
    return f"SES rejected the email ({code}): {message}" if message else f"SES rejected the email ({code})"


def record_sent(result: DeliveryResult, deps: EmailDeps, now: datetime | None = None) -> None:
    """Mark an email contact sent (a no-op when it already is)."""
    if result.status == "sent":
        deps.contacts.set_status(result.contact_id, "sent", fields={"ses_message_id": result.ses_message_id},
                                 only_from=["pending"], now=now, remove=["snapshot"])


def _fail_email(deps: EmailDeps, contact: Contact, reason: str, now: datetime) -> DeliveryResult:
    """Mark the email failed; when its type names a fallback letter, create that letter contact."""
    result = fail_contact(deps.contacts, contact, reason)
    config = deps.config()
    contact_type = config.find_contact_type(contact.type_key)
    fallback = contact_type.fallback_to_letter if contact_type else None
    if contact.recipient is not None and contact.recipient.kind != "customer":
        # an internal alert (sales group, collections agent) never becomes a letter to the customer
        return result
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
    return result.model_copy(update={"fallback_contact_id": letter.contact_id})
