"""Inbound customer mail (InboundMailFunction): SES wrote the raw mail to the inbound bucket, S3 notified the
queue; each object becomes a thread entry on its interaction, a new interaction, or a rejection with a reason.

1. **Read and check.** Oversized mail (more than :data:`dunning.interactions.mail.MAX_RAW_BYTES`) is rejected
   from its size alone; malformed or looping mail after parsing. A rejection writes ``rejected/{key}.json`` next
   to the raw mail, which stays: nothing is lost (``dunning mail rejected`` lists them).
2. **Once per Message-ID.** A Message-ID already recorded is a duplicate (SES, S3 or SQS delivered it again, or
   the sender re-sent it): nothing is written twice. The dedupe item is written in the same transaction as the
   entry (a conditional put), so two copies processed at once still give one entry.
3. **Match,** in this order: the signed reply address the mail was sent to (``reply+i.{id}.{sig}@`` an
   interaction, ``reply+c.{id}.{sig}@`` a dunning email's contact), then ``In-Reply-To``/``References`` against
   every recorded Message-ID (ours and the customer's), then the interaction number in the subject - only when
   the sender is the interaction's customer, since a number is easy to guess. A matched mail becomes an
   ``email_in`` entry with the quoted history stripped; the raw mail is kept as the ``message.eml`` attachment.
4. **Otherwise a new interaction** on the email channel. A reply to a dunning email becomes one on the
   contact's account, in the ``dunning_reply_category``, linked to the contact.
5. **Attachments** go to the attachments bucket when their type, size and content pass the same checks as an
   upload; a refused one is listed with its reason (and a system entry says why).
6. **Automatic reply** (the category's, on ``created``) only to a person's mail - never to automatic mail.
7. **Conversations** (the email channel, S4): a new interaction in one of ``conversations.email.categories``
   (with ``conversations.email.enabled``) opens a conversation on it, so a workflow answers; a mail filed into
   an interaction that has a conversation is queued as the conversation's next message (the workflow's answer,
   or the agent's after a hand-off). Automatic mail (out-of-office, bounces) does neither.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal
from urllib.parse import unquote_plus

from pydantic import BaseModel

from dunning.app.interaction_mail import MailDeps, send_auto_reply
from dunning.app.interactions import find_by_message_ids, find_by_number, record_interaction
from dunning.errors import PermanentError
from dunning.interactions.domain import attachment_key, message_id_hash, upload_refusal
from dunning.interactions.mail import (
    MAX_RAW_BYTES,
    InboundMail,
    Rejection,
    content_mismatch,
    find_number,
    find_reply_target,
    parse_mail,
    strip_quoted,
)
from dunning.models.contacts import Contact
from dunning.models.interactions import Attachment, Interaction, Link, NewInteraction, ThreadEntry
from dunning.observability import logger
from dunning.store.blobs import BlobStore
from dunning.store.inbound_mail import InboundMailStore
from dunning.store.interactions import DuplicateMessage, WriteConflict

if TYPE_CHECKING:
    from dunning.app.conversations import ConversationDeps

MAIL_AUTHOR = "mail"
RAW_FILENAME = "message.eml"
MatchedBy = Literal["reply_address", "thread", "number", "dunning_reply", "new"]
MailStatus = Literal["recorded", "duplicate", "rejected", "gone", "ignored"]


@dataclass(frozen=True)
class InboundMailDeps:
    mail: MailDeps  # the interactions, SES (automatic replies) and our mail domain
    inbound: InboundMailStore  # the inbound mail bucket
    attachments: BlobStore  # the attachments bucket (the raw mail and the mail's attachments)
    conversations: ConversationDeps | None = None  # the email channel of conversations (None: no conversations)


class S3Object(BaseModel):
    bucket: str
    key: str
    size: int = 0


class MailOutcome(BaseModel):
    """What became of one inbound object (ids only: logged)."""

    key: str
    status: MailStatus
    matched_by: MatchedBy | None = None
    interaction_id: str | None = None
    entry_id: str | None = None
    new_interaction: bool = False
    automatic: bool = False
    auto_reply: str = "none"  # sent | none | skipped_automatic | not_sent
    attachments_stored: int = 0
    attachments_refused: int = 0
    conversation_id: str | None = None  # the conversation the mail opened or was queued to
    reason: str = ""


# ---------------------------------------------------------------------------------------------- the event
def objects_in(body: str) -> list[S3Object]:
    """The objects an SQS message body names: an S3 event notification (``Records[].s3``; keys arrive
    URL-encoded). S3's ``s3:TestEvent`` (sent when the notification is set up) names none. Raises ValueError on a
    body that is neither (the message is retried, then dead-lettered)."""
    data = json.loads(body)
    if not isinstance(data, dict):
        raise ValueError("the message is not an S3 event notification")
    if data.get("Event") == "s3:TestEvent":
        return []
    records = data.get("Records")
    if not isinstance(records, list):
        raise ValueError("the message is not an S3 event notification")
    out = []
    try:
        for record in records:
            if not str(record.get("eventName", "")).startswith("ObjectCreated"):
                continue
            s3 = record["s3"]
            out.append(S3Object(bucket=str(s3["bucket"]["name"]), key=unquote_plus(str(s3["object"]["key"])),
                                size=int(s3["object"].get("size") or 0)))
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"the S3 event notification lacks {exc}") from exc
    return out


# ---------------------------------------------------------------------------------------------- one mail
def receive_mail(deps: InboundMailDeps, obj: S3Object, now: datetime) -> MailOutcome:
    """File one raw mail (see the module docs). Storage errors propagate (the message is retried)."""
    if obj.bucket != deps.inbound.bucket:
        return MailOutcome(key=obj.key, status="ignored", reason="not the inbound mail bucket")
    size = deps.inbound.size(obj.key)
    if size is None:
        return MailOutcome(key=obj.key, status="gone", reason="the object no longer exists")
    if size > MAX_RAW_BYTES:
        return _reject(deps, obj.key, Rejection(code="oversized", detail=(
            f"{size} bytes, more than the {MAX_RAW_BYTES} allowed")), size, now)
    raw = deps.inbound.read(obj.key)
    if raw is None:
        return MailOutcome(key=obj.key, status="gone", reason="the object no longer exists")
    cfg = deps.mail.interactions.config().interactions
    parsed = parse_mail(raw, own_domain=deps.mail.domain, own_addresses=[cfg.mail.from_address])
    if isinstance(parsed, Rejection):
        return _reject(deps, obj.key, parsed, len(raw), now)
    seen = find_by_message_ids(deps.mail.interactions, [parsed.message_id]).get(parsed.message_id)
    if seen is not None:
        _finish_attachments(deps, seen.interaction_id, parsed, raw, now)  # a retry after a partial write
        conversation_id = _conversation_after_retry(deps, seen.interaction_id, parsed, now)
        return MailOutcome(key=obj.key, status="duplicate", interaction_id=seen.interaction_id,
                           entry_id=seen.entry_id, conversation_id=conversation_id,
                           reason="this Message-ID is recorded already")
    try:
        return _file(deps, obj.key, parsed, raw, now)
    except DuplicateMessage as exc:  # the same mail, processed at the same moment elsewhere
        return MailOutcome(key=obj.key, status="duplicate", interaction_id=exc.ref.interaction_id,
                           entry_id=exc.ref.entry_id, reason="this Message-ID is recorded already")


def _reject(deps: InboundMailDeps, key: str, rejection: Rejection, size: int, now: datetime) -> MailOutcome:
    deps.inbound.reject(key, rejection.code, rejection.reason, size, now)
    logger.warning("inbound mail rejected", extra={"key": key, "code": rejection.code, "reason": rejection.reason})
    return MailOutcome(key=key, status="rejected", reason=rejection.reason)


def _file(deps: InboundMailDeps, key: str, mail: InboundMail, raw: bytes, now: datetime) -> MailOutcome:
    matched_by, interaction, contact = _match(deps, mail)
    text = strip_quoted(mail.text)
    if interaction is not None:
        entry = deps.mail.interactions.store.add_entry(interaction.id, ThreadEntry(
            entry_id=_mail_entry_id(mail), kind="email_in", author=mail.from_address, at=now, text=text,
            visibility="customer", message_id=mail.message_id,
            in_reply_to=mail.in_reply_to[0] if mail.in_reply_to else None, references=mail.references,
            subject=mail.subject, to=mail.to))
        stored, refused = _finish_attachments(deps, interaction.id, mail, raw, now)
        conversation_id = _queue_to_conversation(deps, interaction.id, mail, text, now)
        return MailOutcome(key=key, status="recorded", matched_by=matched_by, interaction_id=interaction.id,
                           entry_id=entry.entry_id, automatic=mail.automatic is not None,
                           attachments_stored=stored, attachments_refused=refused, conversation_id=conversation_id)
    created = _create(deps, mail, text, contact, now)
    stored, refused = _finish_attachments(deps, created.id, mail, raw, now)
    answering = ThreadEntry(entry_id="", kind="email_in", author=mail.from_address, at=now,
                            message_id=mail.message_id, references=mail.references)
    # a moment after the mail it answers, so the thread lists them in order
    reply = send_auto_reply(deps.mail, created, "created", now + timedelta(milliseconds=1), answering=answering,
                            automatic=mail.automatic)
    conversation_id = _open_conversation(deps, created, mail, text, now)
    return MailOutcome(key=key, status="recorded", matched_by="dunning_reply" if contact else "new",
                       interaction_id=created.id, new_interaction=True,
                       automatic=mail.automatic is not None, auto_reply=reply.status,
                       attachments_stored=stored, attachments_refused=refused, conversation_id=conversation_id)


def _match(deps: InboundMailDeps, mail: InboundMail) -> tuple[MatchedBy, Interaction | None, Contact | None]:
    interactions = deps.mail.interactions
    target = find_reply_target(mail, interactions.signing_key(), deps.mail.domain)
    if target is not None and target.kind == "i":
        found = interactions.store.get(target.ref)
        if found is not None:
            return "reply_address", found, None
    if target is not None and target.kind == "c" and interactions.contacts is not None:
        contact = interactions.contacts.get(target.ref)
        if contact is not None:
            return "dunning_reply", None, contact
    refs = find_by_message_ids(interactions, mail.thread_ids)
    for message_id in mail.thread_ids:
        ref = refs.get(message_id)
        found = interactions.store.get(ref.interaction_id) if ref else None
        if found is not None:
            return "thread", found, None
    number = find_number(mail.subject)
    found = find_by_number(interactions, number) if number else None
    if found is not None and (found.customer_email or "").strip().lower() == mail.from_address.lower():
        return "number", found, None
    return "new", None, None


def _create(deps: InboundMailDeps, mail: InboundMail, text: str, contact: Contact | None,
            now: datetime) -> Interaction:
    cfg = deps.mail.interactions.config().interactions
    category = (cfg.dunning_reply_category if contact is not None else None) or _mail_category(deps)
    new = NewInteraction(
        channel="email", category=category, subject=mail.subject[:300], text=text[:100_000],
        person_id=contact.person_id if contact else None, account_id=contact.account_id if contact else None,
        customer_email=mail.from_address[:254], customer_name=mail.from_name[:200] or None,
        language=_language(mail.language, contact), first_entry_kind="email_in", message_id=mail.message_id,
        in_reply_to=mail.in_reply_to[0] if mail.in_reply_to else None, references=mail.references)
    created = record_interaction(deps.mail.interactions, None, new, now)
    if contact is not None:
        try:
            deps.mail.interactions.store.put_link(created.id, Link(
                kind="contact", ref=contact.contact_id, label="dunning email replied to", by=MAIL_AUTHOR, at=now))
        except WriteConflict:  # the interaction was just written: only a concurrent delete gets here
            logger.warning("contact link not written", extra={"interaction_id": created.id})
    logger.info("interaction created from mail", extra={"interaction_id": created.id, "category": category})
    return created


def _mail_category(deps: InboundMailDeps) -> str:
    """The category of a new interaction from mail: ``interactions.mail_category`` when the configuration has
    one, else the web form's (both are a customer writing in), else the first category."""
    cfg = deps.mail.interactions.config().interactions
    chosen = getattr(cfg, "mail_category", None) or cfg.webform_category or (
        cfg.categories[0].id if cfg.categories else None)
    if not chosen:
        raise PermanentError("inbound mail cannot be filed: no interaction category is configured "
                             "(interactions.categories); the raw mail stays in the inbound bucket")
    return str(chosen)


_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


def _language(content_language: str, contact: Contact | None) -> str:
    """The contact's language for a dunning reply, else the mail's first Content-Language, else English."""
    if contact is not None and _LANGUAGE.match(contact.language or ""):
        return contact.language
    primary, _, rest = content_language.split(",")[0].strip().partition("-")
    tag = primary.lower() + (f"-{rest}" if rest else "")
    return tag if _LANGUAGE.match(tag) else "en"


def _mail_entry_id(mail: InboundMail) -> str:
    return message_id_hash(mail.message_id)[:26]


# ---------------------------------------------------------------------------------------------- conversations
def _starts_conversation(deps: InboundMailDeps, interaction: Interaction) -> bool:
    cfg = deps.mail.interactions.config().conversations.email
    return cfg.enabled and interaction.category in cfg.categories


def _open_conversation(deps: InboundMailDeps, created: Interaction, mail: InboundMail, text: str,
                       now: datetime) -> str | None:
    """A conversation on the interaction the mail just opened, when its category is one of the email channel's
    (``conversations.email``); the workflow reads the mail's sender and account as the contact."""
    if deps.conversations is None or mail.automatic is not None or not _starts_conversation(deps, created):
        return None
    from dunning.app.conversations import open_conversation
    from dunning.models.conversations import NewConversation

    opened = open_conversation(deps.conversations, NewConversation(
        channel="email", name=(mail.from_name or "")[:200] or None, email=mail.from_address[:254],
        account_id=created.account_id, language=created.language, text=text[:4000] or None,
        interaction_id=created.id, category=created.category), now)
    logger.info("conversation opened from mail", extra={"interaction_id": created.id,
                                                       "conversation_id": opened.conversation.id})
    return opened.conversation.id


def _mail_client_id(mail: InboundMail) -> str:
    """The conversation message's client id of a mail: from its Message-ID, so a repeat is one message."""
    return f"mail.{message_id_hash(mail.message_id)[:40]}"


def _queue_to_conversation(deps: InboundMailDeps, interaction_id: str, mail: InboundMail, text: str,
                           now: datetime) -> str | None:
    """A mail filed into an interaction that has a conversation: queued as the conversation's next message (the
    consumer delivers it to the question waiting, or keeps it for the agent after a hand-off, or, when the
    conversation is closed, opens the next one). Once per Message-ID: the queue's dedupe id and the thread's
    message id both derive from it."""
    if deps.conversations is None or mail.automatic is not None or not text.strip():
        return None
    from dunning.app.conversations import conversation_for_interaction
    from dunning.conversations import domain
    from dunning.models.conversations import InboundEnvelope

    conversation = conversation_for_interaction(deps.conversations, interaction_id)
    if conversation is None:
        return None
    client_id = _mail_client_id(mail)
    deps.conversations.queue.send(InboundEnvelope(
        kind="message", conversation_id=conversation.id, message_id=client_id, text=text[:4000], at=now,
        channel=conversation.channel, dedupe_id=domain.dedupe_id(f"{conversation.id}:{client_id}")))
    logger.info("mail queued to its conversation", extra={"interaction_id": interaction_id,
                                                         "conversation_id": conversation.id})
    return conversation.id


def _conversation_after_retry(deps: InboundMailDeps, interaction_id: str, mail: InboundMail,
                              now: datetime) -> str | None:
    """A mail processed again (a retry after a partial write): what its first processing may not have got to -
    queuing it to the interaction's conversation (a repeat is dropped by the message id), or, when the mail
    opened the interaction, opening its conversation."""
    if deps.conversations is None or mail.automatic is not None:
        return None
    from dunning.app.conversations import conversation_for_interaction

    interaction = deps.mail.interactions.store.get(interaction_id)
    if interaction is None:
        return None
    text = strip_quoted(mail.text)
    record = deps.mail.interactions.store.record(interaction_id)
    first = min(record.thread, key=lambda e: (e.at, e.entry_id)) if record and record.thread else None
    existing = conversation_for_interaction(deps.conversations, interaction_id)
    if first is not None and first.message_id == mail.message_id:  # the mail opened the interaction
        return existing.id if existing is not None else _open_conversation(deps, interaction, mail, text, now)
    return _queue_to_conversation(deps, interaction_id, mail, text, now) if existing is not None else None


# ---------------------------------------------------------------------------------------------- attachments
def _attachment_id(mail: InboundMail, n: int) -> str:
    return hashlib.sha256(f"{mail.message_id}\x1f{n}".encode()).hexdigest()[:26]


def _finish_attachments(deps: InboundMailDeps, interaction_id: str, mail: InboundMail, raw: bytes,
                        now: datetime) -> tuple[int, int]:
    """Store the raw mail and the mail's attachments that pass the checks; list the refused ones with their
    reason. Ids come from the Message-ID, so doing it again (a retry) writes the same items once.
    Returns (stored, refused)."""
    store = deps.mail.interactions.store
    record = store.record(interaction_id)
    existing = {a.attachment_id for a in record.attachments} if record else set()
    stored = refused = 0
    items: list[tuple[int, str, str, bytes, str | None]] = [(0, RAW_FILENAME, "message/rfc822", raw, None)]
    items += [(n, a.filename, a.content_type, a.content, _refusal(a.filename, a.content_type, a.content))
              for n, a in enumerate(mail.attachments, start=1)]
    for n, filename, content_type, content, refusal in items:
        attachment_id = _attachment_id(mail, n)
        refused, stored = (refused + 1, stored) if refusal else (refused, stored + 1)
        if attachment_id in existing:
            continue
        if not refusal:
            deps.attachments.put_bytes(attachment_key(interaction_id, attachment_id), content, content_type)
        store.put_attachment(interaction_id, Attachment(
            attachment_id=attachment_id, filename=filename, content_type=content_type, size=len(content),
            status="refused" if refusal else "stored", shared_with="agents", uploaded_by=MAIL_AUTHOR, at=now,
            refused_reason=refusal or "", interaction_id=interaction_id))
        if refusal:
            store.add_entry(interaction_id, ThreadEntry(
                entry_id=f"{attachment_id[:20]}refuse", kind="system", author=MAIL_AUTHOR, at=now,
                text=f"Attachment refused - {filename}: {refusal}", visibility="agents"))
    return stored - 1, refused  # the raw mail is not one of the mail's attachments


def _refusal(filename: str, content_type: str, content: bytes) -> str | None:
    return upload_refusal(filename, content_type, len(content)) or content_mismatch(content_type, content)
