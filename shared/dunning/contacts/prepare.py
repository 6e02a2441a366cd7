"""The one contact-creation path (S1.1-S1.3, S2.10): a draft becomes a contact. Pure: no AWS, no clock, no storage.

Every source (a user request, a system event, a declarative rule, a plug-in, a collections run) first
builds a :class:`~dunning.models.contacts.ContactDraft`; :func:`prepare_contact` validates it against its
contact type and turns it into a :class:`~dunning.models.contacts.Contact` with a deterministic id, so a
redelivered event or a re-run of the same as-of date derives the same ids and the store's conditional put
creates nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from dunning.models.config import ActionKind, ActivityTemplate, Config, ContactType
from dunning.models.contacts import (
    ActivityDetails,
    Contact,
    ContactDraft,
    ContactStatus,
    EmailRecipient,
    StatusChange,
    contact_id_for,
)
from dunning.models.events import PersonUpserted

DEFAULT_LANGUAGE = "en"

Reject = Callable[[str], "ContactRejected"]


class ContactRejected(ValueError):
    """A draft cannot become a contact. ``str(exc)`` is a readable reason for logs, the CLI and the API."""

    def __init__(self, reason: str, *, contact_type: str = "", source_ref: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.contact_type = contact_type
        self.source_ref = source_ref


# --------------------------------------------------------------------------- validation helpers
def effective_action(draft: ContactDraft, contact_type: ContactType) -> ActionKind:
    """The draft's ``action_override`` wins over the contact type's action."""
    return draft.action_override or contact_type.action


def type_template(contact_type: ContactType, action: ActionKind) -> str | None:
    """The contact type's template for ``action`` (``None`` for action ``none``)."""
    return {
        "letter": contact_type.letter_template,
        "email": contact_type.email_template,
        "activity": contact_type.activity_template,
    }.get(action)


def usage_problems(
    contact_type: ContactType, *, person_id: str | None, account_id: str | None, premise_id: str | None
) -> list[str]:
    """Every way the given person/account/premise break the type's usage rules (empty: all fine)."""
    problems = []
    for what, value, usage in (
        ("person", person_id, contact_type.person_usage),
        ("account", account_id, contact_type.account_usage),
        ("premise", premise_id, contact_type.premise_usage),
    ):
        if usage == "required" and not value:
            problems.append(f"contact type {contact_type.key} requires a {what}, and none was given")
        elif usage == "not_allowed" and value:
            problems.append(f"contact type {contact_type.key} does not allow a {what} (got {value})")
    return problems


def initial_status(action: ActionKind, activity: ActivityDetails | None) -> ContactStatus:
    """pending (letter/email, waiting to be produced), open/closed (activity), recorded (no action)."""
    if action in ("letter", "email"):
        return "pending"
    if action == "activity":
        return "closed" if activity is not None and activity.closed else "open"
    return "recorded"


# --------------------------------------------------------------------------- the creation path
def prepare_contact(draft: ContactDraft, config: Config, *, person: PersonUpserted | None, now: datetime) -> Contact:
    """Validate ``draft`` against its contact type and build the :class:`Contact` to store.

    ``person`` is the stored record of ``draft.person_id`` (it gives the language and, for emails to the
    customer without an explicit recipient, the address); pass ``None`` when the draft names no person.
    Raises :class:`ContactRejected` with a readable reason.
    """
    key = f"{draft.contact_class}/{draft.contact_type}"

    def reject(reason: str) -> ContactRejected:
        return ContactRejected(reason, contact_type=key, source_ref=draft.source_ref)

    contact_type = config.find_contact_type(key)
    if contact_type is None:
        raise reject(f"unknown contact type {key}")
    action = _checked_action(draft, contact_type, person, reject)
    template = draft.template_code or type_template(contact_type, action)
    activity = draft.activity
    recipient = draft.recipient
    if action in ("letter", "email") and not template:
        raise reject(f"contact type {key} sends a {action}, but neither the type nor the contact names a template")
    if action == "activity" and activity is None:
        activity = _activity_from_type(config, template, draft, now, reject)
    reason = draft.reason
    if action == "email":
        recipient = _email_recipient(recipient, person, draft)
        if recipient is None:  # no address: the contact type's fallback_to_letter decides, on every path
            action, template, reason = _fallback_letter(contact_type, draft, reject)
    return _contact(draft.model_copy(update={"reason": reason}), action, template, person, activity, recipient,
                    now)


def _fallback_letter(contact_type: ContactType, draft: ContactDraft, reject: Reject) -> tuple[ActionKind, str, str]:
    """An email with no address becomes a letter from the type's ``fallback_to_letter`` template, or is refused
    when the type names none. The one rule for the run's email steps, user requests and event rules alike."""
    if draft.recipient is not None and draft.recipient.kind != "customer":
        label = draft.recipient.kind.replace("_", " ")
        raise reject(f"an email to the {label} needs an address, and there is none; an internal alert is never "
                     "sent to the customer as a letter")
    who = f"person {draft.person_id}" if draft.person_id else "the contact"
    if not contact_type.fallback_to_letter:
        raise reject(f"an email needs a recipient address, and {who} has no email address "
                     f"(contact type {contact_type.key} has no fallback_to_letter)")
    if not draft.person_id:
        raise reject(f"an email needs a recipient address, and {who} has no email address; the fallback letter "
                     "needs a person")
    why = f"no email address for {who}; sent as letter"
    return "letter", contact_type.fallback_to_letter, "; ".join(r for r in (draft.reason, why) if r)


def _checked_action(
    draft: ContactDraft, contact_type: ContactType, person: PersonUpserted | None, reject: Reject
) -> ActionKind:
    """The draft's effective action, once the person record, the letter rule and the usage rules hold."""
    if person is not None and draft.person_id and person.person_id != draft.person_id:
        raise reject(f"the person record {person.person_id} does not match the draft's person {draft.person_id}")
    action = effective_action(draft, contact_type)
    if action == "letter" and not draft.person_id:
        subject = f"premise {draft.premise_id}" if draft.premise_id else "nothing"
        raise reject(
            f"contact type {contact_type.key} would send a letter, and a letter can only be sent by a person-based "
            f"contact; this contact names no person (only {subject})"
        )
    problems = usage_problems(
        contact_type, person_id=draft.person_id, account_id=draft.account_id, premise_id=draft.premise_id
    )
    if problems:
        raise reject("; ".join(problems))
    return action


def _contact(
    draft: ContactDraft,
    action: ActionKind,
    template: str | None,
    person: PersonUpserted | None,
    activity: ActivityDetails | None,
    recipient: EmailRecipient | None,
    now: datetime,
) -> Contact:
    """The :class:`Contact` a validated draft becomes, with its deterministic id and first status."""
    status = initial_status(action, activity)
    reason = draft.reason or f"created by {draft.source} {draft.source_ref}"
    return Contact(
        contact_id=contact_id_for(*draft.identity),
        contact_class=draft.contact_class,
        contact_type=draft.contact_type,
        action=action,
        template_code=template,
        language=person.language if person is not None else DEFAULT_LANGUAGE,
        person_id=draft.person_id,
        account_id=draft.account_id,
        premise_id=draft.premise_id,
        invoice_id=draft.invoice_id,
        source=draft.source,
        source_ref=draft.source_ref,
        as_of=draft.as_of,
        created_at=now,
        status=status,
        history=[StatusChange(status=status, at=now, reason=reason)],
        note=draft.note,
        reason=draft.reason,
        recipient=recipient,
        activity=activity,
        hierarchy_id=draft.hierarchy_id,
        step_id=draft.step_id,
        automated=draft.automated,
    )


@dataclass(frozen=True)
class Prepared:
    """The outcome of :func:`prepare_contacts`: what can be stored, and what was rejected and why."""

    contacts: list[Contact] = field(default_factory=list)
    rejected: list[tuple[ContactDraft, str]] = field(default_factory=list)


def prepare_contacts(
    drafts: Iterable[ContactDraft], config: Config, *, persons: Mapping[str, PersonUpserted], now: datetime
) -> Prepared:
    """:func:`prepare_contact` over many drafts; one bad draft never blocks the others."""
    out = Prepared()
    for draft in drafts:
        person = persons.get(draft.person_id) if draft.person_id else None
        try:
            out.contacts.append(prepare_contact(draft, config, person=person, now=now))
        except ContactRejected as exc:
            out.rejected.append((draft, exc.reason))
    return out


def _activity_from_type(
    config: Config, template: str | None, draft: ContactDraft, now: datetime, reject: Reject
) -> ActivityDetails:
    """A user/event contact of an activity type: build the activity from the type's template."""
    found = find_activity_template(config, template)
    if found is None:
        raise reject(
            f"contact type {draft.contact_class}/{draft.contact_type} creates an activity, "
            f"but there is no activity template {template!r}"
        )
    return activity_details(found, as_of=draft.as_of or now.date(), assigned_to="")


def _email_recipient(
    recipient: EmailRecipient | None, person: PersonUpserted | None, draft: ContactDraft
) -> EmailRecipient | None:
    """An email goes to the draft's recipient, or else to the person's own address (None: no address)."""
    if recipient is None and person is not None:
        recipient = EmailRecipient(kind="customer", name=person.name, address=person.email)
    if recipient is None or not recipient.address:
        return None
    return recipient


def find_activity_template(config: Config, code: str | None) -> ActivityTemplate | None:
    """The configured activity template ``code`` (``None`` when there is no such template, or no code)."""
    return next((a for a in config.activity_templates if a.code == code), None) if code else None


def activity_details(template: ActivityTemplate, *, as_of: date, assigned_to: str) -> ActivityDetails:
    """S2.10: an open activity from its template, due ``as_of + days_to_complete``."""
    return ActivityDetails(
        template_code=template.code,
        name=template.name,
        type=template.type,
        purpose=template.purpose,
        details=template.details,
        due_on=as_of + timedelta(days=template.days_to_complete),
        assigned_to=assigned_to,
    )
