"""Interaction mail out (S3.5, S3.10): an agent's answer from the console or the API, and the automatic replies
chosen by category or stage, sent through SES v2 and recorded in the thread with their Message-ID.

Every mail carries the interaction's signed reply address (``Reply-To: reply+i.{id}.{sig}@{domain}``) and
threads under the customer's last mail (``In-Reply-To``/``References``), so the answer comes back to the same
interaction whichever way the customer's client replies. The mail settings (``interactions.mail``) decide the
sender display and signature line (``show_sender_address``) and the number in the subject
(``number_in_subject``). An automatic reply is never sent to automatic mail (``Auto-Submitted``, bounces, lists):
the thread says why instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel

from dunning.app.email_delivery import PERMANENT_SES_ERRORS, ses_rejection
from dunning.app.interactions import (
    InteractionDeps,
    InteractionNotFound,
    auto_reply_for,
    get_interaction,
)
from dunning.app.operations import InvalidRequest
from dunning.auth import Permission, Principal
from dunning.interactions.domain import new_id
from dunning.interactions.mail import (
    BuiltMail,
    OutboundMail,
    build_outbound,
    interaction_reply_address,
    reply_subject,
)
from dunning.models.interactions import Interaction, ThreadEntry
from dunning.observability import logger
from dunning.store.interactions import WriteConflict

AUTO_REPLY_AUTHOR = "auto_reply"
MAX_REPLY_CHARS = 50_000


@dataclass(frozen=True)
class MailDeps:
    interactions: InteractionDeps
    ses: Callable[[], Any]  # the SES v2 client
    domain: str  # InboundMailDomain: signed reply addresses and our Message-IDs


class MailNotSent(InvalidRequest):
    """The answer cannot be sent (no customer address, no sender configured, SES refused it): 422."""


class AutoReplyOutcome(BaseModel):
    status: Literal["sent", "none", "skipped_automatic", "not_sent"]
    reason: str = ""
    entry: ThreadEntry | None = None


def _last_mail_in(thread: list[ThreadEntry]) -> ThreadEntry | None:
    return next((e for e in sorted(thread, key=lambda e: (e.at, e.entry_id), reverse=True)
                 if e.kind == "email_in" and e.message_id), None)


def _send(deps: MailDeps, built: BuiltMail, from_address: str, to: str, tag: str) -> str:
    """SES v2 SendEmail with the raw message; the SES message id. :class:`MailNotSent` when SES refuses it for
    good; throttling and 5xx propagate (the caller may try again)."""
    try:
        answer = deps.ses().send_email(FromEmailAddress=from_address, Destination={"ToAddresses": [to]},
                                       Content={"Raw": {"Data": built.raw}},
                                       EmailTags=[{"Name": "kind", "Value": tag}])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in PERMANENT_SES_ERRORS:
            raise MailNotSent(ses_rejection(exc, recipient=to)) from exc
        raise
    return str(answer.get("MessageId", ""))


def _outbound(deps: MailDeps, interaction: Interaction, last_in: ThreadEntry | None, *, subject: str, text: str,
              to: str, automatic: bool, agent: str = "") -> OutboundMail:
    mail = deps.interactions.config().interactions.mail
    if not mail.from_address:
        raise MailNotSent("no sender is configured (interactions.mail.from_address)")
    return OutboundMail(
        from_address=mail.from_address, from_name=mail.from_name, to_address=to,
        to_name=interaction.customer_name or "", subject=subject, text=text, domain=deps.domain,
        reply_to=interaction_reply_address(interaction.id, deps.interactions.signing_key(), deps.domain),
        in_reply_to=last_in.message_id if last_in else None, references=_references(last_in),
        number=interaction.number,
        number_in_subject=mail.number_in_subject, automatic=automatic, agent_name=agent,
        agent_address=agent if "@" in agent else "", show_sender_address=mail.show_sender_address,
        language=interaction.language)


def send_reply(deps: MailDeps, principal: Principal, interaction_id: str, text: str, now: datetime, *,
               subject: str | None = None, to: str | None = None) -> ThreadEntry:
    """Send an agent's answer to the customer and record it as an ``email_out`` entry with its Message-ID.

    The stage rule applies (:func:`dunning.app.interactions.get_interaction`). :class:`MailNotSent` (422) when
    there is no address to send to, no sender configured, or SES refuses the mail; the thread is not changed."""
    principal.require(Permission.INTERACTIONS_WRITE)
    detail = get_interaction(deps.interactions, principal, interaction_id)
    interaction = detail.interaction
    text = text.strip()
    if not text:
        raise InvalidRequest("the answer is empty")
    if len(text) > MAX_REPLY_CHARS:
        raise InvalidRequest(f"the answer is longer than {MAX_REPLY_CHARS} characters")
    address = (to or interaction.customer_email or "").strip()
    if not address:
        raise MailNotSent(f"interaction {interaction.number} has no customer email address")
    last_in = _last_mail_in(detail.thread)
    wanted = subject or (reply_subject(last_in.subject) if last_in and last_in.subject else
                         reply_subject(interaction.subject or interaction.number))
    try:
        built = build_outbound(_outbound(deps, interaction, last_in, subject=wanted, text=text, to=address,
                                         automatic=False, agent=principal.username), now=now)
    except ValueError as exc:
        raise MailNotSent(f"the mail cannot be built: {exc}") from exc
    ses_id = _send(deps, built, _sender(deps), address, "interaction_reply")
    logger.info("interaction mail sent", extra={"interaction_id": interaction.id, "ses_message_id": ses_id})
    return deps.interactions.store.add_entry(interaction.id, ThreadEntry(
        entry_id=_entry_id(built), kind="email_out", author=principal.username, at=now, text=built.text,
        visibility="customer", message_id=built.message_id, in_reply_to=last_in.message_id if last_in else None,
        references=_references(last_in), subject=built.subject, to=[address]))


def _sender(deps: MailDeps) -> str:
    return deps.interactions.config().interactions.mail.from_address


def _entry_id(built: BuiltMail) -> str:
    return built.message_id.split("@", 1)[0][:26]


def _references(last_in: ThreadEntry | None) -> list[str]:
    if last_in is None:
        return []
    return [*last_in.references, *([last_in.message_id] if last_in.message_id else [])][-20:]


def send_auto_reply(deps: MailDeps, interaction: Interaction, trigger: str, now: datetime, *,
                    answering: ThreadEntry | None = None, automatic: str | None = None) -> AutoReplyOutcome:
    """The automatic reply for ``trigger`` (``created`` or ``stage:<id>``), if the category has one: sent and
    recorded as an ``auto_reply`` entry. Never when the mail it would answer is automatic (``automatic`` is why):
    a ``system`` entry records that instead. A failed send is recorded too (the interaction itself stands)."""
    draft = auto_reply_for(deps.interactions, interaction, trigger)
    if draft is None:
        return AutoReplyOutcome(status="none")
    if automatic:
        entry = _system(deps, interaction, f"No automatic reply: the mail is automatic ({automatic}).", now)
        return AutoReplyOutcome(status="skipped_automatic", reason=automatic, entry=entry)
    if not draft.to:
        return AutoReplyOutcome(status="none", reason="no customer email address")
    try:
        built = build_outbound(_outbound(deps, interaction, answering, subject=draft.subject, text=draft.text,
                                         to=draft.to, automatic=True), now=now)
        ses_id = _send(deps, built, _sender(deps), draft.to, "interaction_auto_reply")
    except (MailNotSent, ValueError, ClientError, BotoCoreError) as exc:
        why = str(exc) if isinstance(exc, MailNotSent | ValueError) else f"SES failed ({type(exc).__name__})"
        logger.warning("auto reply not sent", extra={"interaction_id": interaction.id, "reason": why})
        entry = _system(deps, interaction, f"The automatic reply {draft.template} was not sent: {why}", now)
        return AutoReplyOutcome(status="not_sent", reason=why, entry=entry)
    logger.info("auto reply sent", extra={"interaction_id": interaction.id, "ses_message_id": ses_id})
    entry = deps.interactions.store.add_entry(interaction.id, ThreadEntry(
        entry_id=_entry_id(built), kind="auto_reply", author=AUTO_REPLY_AUTHOR, at=now, text=built.text,
        visibility="customer", message_id=built.message_id,
        in_reply_to=answering.message_id if answering else None, references=_references(answering),
        subject=built.subject, to=[draft.to]))
    return AutoReplyOutcome(status="sent", entry=entry)


def _system(deps: MailDeps, interaction: Interaction, text: str, now: datetime) -> ThreadEntry:
    try:
        return deps.interactions.store.add_entry(interaction.id, ThreadEntry(
            entry_id=new_id(), kind="system", author=AUTO_REPLY_AUTHOR, at=now, text=text, visibility="agents"))
    except WriteConflict as exc:  # the interaction is gone
        raise InteractionNotFound(f"no interaction {interaction.id}") from exc
