"""The one contact-creation path (S1.1-S1.3, S2.9-S2.10). Pure: no AWS, no clock, no storage.

Every source (a user request, a system event, a declarative rule, a plug-in, a collections run) first
builds a :class:`~dunning.models.contacts.ContactDraft`; :func:`prepare_contact` validates it against its
contact type and turns it into a :class:`~dunning.models.contacts.Contact` with a deterministic id, so a
redelivered event or a re-run of the same as-of date derives the same ids and the store's conditional put
creates nothing twice.

:func:`run_contact_drafts` is the collections run's source: it turns an
:class:`~dunning.models.decisions.AccountDecision`'s planned actions into drafts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

from dunning.models.accounts import AccountView
from dunning.models.config import ActivityTemplate, Config, ContactType
from dunning.models.contacts import (
    ActivityDetails,
    Contact,
    ContactDraft,
    ContactStatus,
    EmailRecipient,
    StatusChange,
    contact_id_for,
)
from dunning.models.decisions import AccountDecision, PlannedAction
from dunning.models.events import AccountPerson, AccountUpserted, PartyContact, PersonUpserted

Action = Literal["letter", "email", "activity", "none"]
DEFAULT_LANGUAGE = "en"


class ContactRejected(ValueError):
    """A draft cannot become a contact. ``str(exc)`` is a readable reason for logs, the CLI and the API."""

    def __init__(self, reason: str, *, contact_type: str = "", source_ref: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.contact_type = contact_type
        self.source_ref = source_ref


# --------------------------------------------------------------------------- validation helpers
def effective_action(draft: ContactDraft, contact_type: ContactType) -> Action:
    """The draft's ``action_override`` wins over the contact type's action."""
    return draft.action_override or contact_type.action


def type_template(contact_type: ContactType, action: Action) -> str | None:
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


def initial_status(action: Action, activity: ActivityDetails | None) -> ContactStatus:
    """pending (letter/email, waiting to be produced), open/closed (activity), recorded (no action)."""
    if action in ("letter", "email"):
        return "pending"
    if action == "activity":
        return "closed" if activity is not None and activity.closed else "open"
    return "recorded"


# --------------------------------------------------------------------------- the creation path
def prepare_contact(
    draft: ContactDraft, config: Config, *, person: PersonUpserted | None, now: datetime
) -> Contact:
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
    if person is not None and draft.person_id and person.person_id != draft.person_id:
        raise reject(
            f"the person record {person.person_id} does not match the draft's person {draft.person_id}"
        )

    action = effective_action(draft, contact_type)
    if action == "letter" and not draft.person_id:
        subject = f"premise {draft.premise_id}" if draft.premise_id else "nothing"
        raise reject(
            f"contact type {key} would send a letter, and a letter can only be sent by a person-based "
            f"contact; this contact names no person (only {subject})"
        )
    problems = usage_problems(
        contact_type, person_id=draft.person_id, account_id=draft.account_id, premise_id=draft.premise_id
    )
    if problems:
        raise reject("; ".join(problems))

    template = draft.template_code or type_template(contact_type, action)
    activity = draft.activity
    recipient = draft.recipient
    if action in ("letter", "email") and not template:
        raise reject(
            f"contact type {key} sends a {action}, but neither the type nor the contact names a template"
        )
    if action == "activity" and activity is None:
        activity = _activity_from_type(config, template, draft, now, reject)
    if action == "email":
        recipient = _email_recipient(recipient, person, draft, reject)

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
    config: Config,
    template: str | None,
    draft: ContactDraft,
    now: datetime,
    reject: Callable[[str], ContactRejected],
) -> ActivityDetails:
    """A user/event contact of an activity type: build the activity from the type's template."""
    found = _find_activity_template(config, template)
    if found is None:
        raise reject(
            f"contact type {draft.contact_class}/{draft.contact_type} creates an activity, "
            f"but there is no activity template {template!r}"
        )
    return activity_details(found, as_of=draft.as_of or now.date(), assigned_to="")


def _email_recipient(
    recipient: EmailRecipient | None,
    person: PersonUpserted | None,
    draft: ContactDraft,
    reject: Callable[[str], ContactRejected],
) -> EmailRecipient:
    """An email goes to the draft's recipient, or else to the person's own address."""
    if recipient is None and person is not None:
        recipient = EmailRecipient(kind="customer", name=person.name, address=person.email)
    if recipient is None or not recipient.address:
        who = f"person {draft.person_id}" if draft.person_id else "the contact"
        raise reject(f"an email needs a recipient address, and {who} has no email address")
    return recipient


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


# --------------------------------------------------------------------------- the collections run
def run_identity(decision: AccountDecision, action: PlannedAction) -> tuple[str, ...]:
    """The parts a run contact's id is derived from: the same as-of date always derives the same id.

    An automation log records a step that was also acted on; it gets ``"automation_log"`` appended so it
    never collides with the step's own contact.
    """
    parts = (
        "run",
        decision.account_id,
        action.hierarchy_id,
        action.step_id,
        action.invoice_id,
        decision.as_of.isoformat(),
    )
    return (*parts, "automation_log") if action.origin == "automation_log" else parts


def run_contact_drafts(
    decision: AccountDecision,
    view: AccountView,
    config: Config,
    persons: Mapping[str, PersonUpserted],
    run_id: str,
) -> list[ContactDraft]:
    """Turn the run's planned actions for one account into contact drafts (one per action, same order).

    - letter (S2.12): per customer, to the account's main person, template = the step's document or the
      letter contact type's template;
    - email (S2.9): recipient resolution, falling back to a letter when there is no email address;
    - activity (S2.10) and automation log: :class:`ActivityDetails` linked to the action's invoice.

    ``persons`` holds the account's persons by id (it may miss some; an email to a person that is not in
    it falls back to a letter). ``view.account`` may be ``None`` (account not known yet): the drafts then
    name no person, and :func:`prepare_contact` rejects the ones that need one.
    """
    return [
        _run_draft(decision, view.account, action, config, persons, run_id) for action in decision.actions
    ]


def _run_draft(
    decision: AccountDecision,
    account: AccountUpserted | None,
    action: PlannedAction,
    config: Config,
    persons: Mapping[str, PersonUpserted],
    run_id: str,
) -> ContactDraft:
    types = config.collections_contact_types
    main_person = account.main_person_id if account is not None else None
    agent = account.collections_agent.id if account is not None and account.collections_agent else ""
    common = {
        "source": "run",
        "source_ref": run_id,
        "identity": run_identity(decision, action),
        "account_id": decision.account_id,
        "invoice_id": action.invoice_id,
        "as_of": decision.as_of,
        "hierarchy_id": action.hierarchy_id,
        "step_id": action.step_id,
        "automated": action.automated,
    }
    reasons = [action.reason] if action.reason else []

    if action.origin == "automation_log":
        log_type = config.find_contact_type(types.automation_log)
        template = _find_activity_template(config, log_type.activity_template if log_type else None)
        activity = ActivityDetails(
            template_code=template.code if template else "",
            name=f"Automated: {_step_description(config, action)}",
            type=template.type if template else "automation_log",
            purpose=template.purpose if template else "",
            details=action.reason,
            due_on=decision.as_of,
            assigned_to=agent,
            closed=True,
        )
        return _draft(
            types.automation_log,
            person_id=main_person,
            action_override="activity",
            template_code=activity.template_code or None,
            activity=activity,
            reason="; ".join(reasons),
            **common,
        )

    if action.action == "activity":
        found = _find_activity_template(config, action.document)
        if found is None:  # fall back to the activity contact type's own template
            act_type = config.find_contact_type(types.activity)
            found = _find_activity_template(config, act_type.activity_template if act_type else None)
        activity_ = activity_details(found, as_of=decision.as_of, assigned_to=agent) if found else None
        return _draft(
            types.activity,
            person_id=main_person,
            action_override="activity",
            template_code=found.code if found else action.document,
            activity=activity_,
            reason="; ".join(reasons),
            **common,
        )

    if action.action == "email":
        resolved = resolve_email_recipient(account, action, persons)
        reasons += resolved.notes
        if resolved.recipient is not None:
            return _draft(
                types.email,
                person_id=resolved.person_id,
                action_override="email",
                template_code=action.document,
                recipient=resolved.recipient,
                reason="; ".join(reasons),
                **common,
            )
        reasons.append(f"{resolved.missing}; sent as letter")
        email_type = config.find_contact_type(types.email)
        letter_type = config.find_contact_type(types.letter)
        fallback = (email_type.fallback_to_letter if email_type else None) or (
            letter_type.letter_template if letter_type else None
        )
        return _draft(
            types.letter,
            person_id=main_person,
            action_override="letter",
            template_code=fallback,
            reason="; ".join(reasons),
            **common,
        )

    return _draft(
        types.letter,
        person_id=main_person,
        action_override="letter",
        template_code=action.document,
        reason="; ".join(reasons),
        **common,
    )


def _draft(type_key: str, **fields: object) -> ContactDraft:
    contact_class, _, contact_type = type_key.partition("/")
    return ContactDraft.model_validate(
        {"contact_class": contact_class, "contact_type": contact_type, **fields}
    )


def _find_activity_template(config: Config, code: str | None) -> ActivityTemplate | None:
    return next((a for a in config.activity_templates if a.code == code), None) if code else None


def _step_description(config: Config, action: PlannedAction) -> str:
    hierarchy = next((h for h in config.hierarchies if h.id == action.hierarchy_id), None)
    step = next((s for s in hierarchy.steps if s.id == action.step_id), None) if hierarchy else None
    return (step.description or step.id) if step is not None else action.step_id


# --------------------------------------------------------------------------- email recipients (S2.9)
@dataclass(frozen=True)
class ResolvedRecipient:
    """Who gets an email step; ``recipient`` is ``None`` when there is no address (``missing`` says why)."""

    person_id: str | None
    recipient: EmailRecipient | None
    missing: str = ""
    notes: list[str] = field(default_factory=list)


def resolve_email_recipient(
    account: AccountUpserted | None, action: PlannedAction, persons: Mapping[str, PersonUpserted]
) -> ResolvedRecipient:
    """S2.9: ``customer`` -> the account person with the step's business purpose (else the main person);
    ``sales_group`` / ``collections_agent`` -> the account's party contact. The contact's person is the
    customer person for ``customer``, the main person otherwise."""
    if account is None:
        return ResolvedRecipient(
            None, None, missing="the account is not known yet, so there is no email address"
        )
    main = account.main_person_id
    if action.recipient in ("sales_group", "collections_agent"):
        party: PartyContact | None = getattr(account, action.recipient)
        label = action.recipient.replace("_", " ")
        if party is None:
            return ResolvedRecipient(
                main, None, missing=f"account {account.account_id} has no {label}, so no email address"
            )
        if not party.email:
            return ResolvedRecipient(
                main,
                None,
                missing=f"no email address for the {label} {party.id} of account {account.account_id}",
            )
        return ResolvedRecipient(
            main, EmailRecipient(kind=action.recipient, name=party.name, address=party.email)
        )

    notes: list[str] = []
    chosen: AccountPerson | None = None
    if action.business_purpose:
        chosen = _person_for_purpose(account, action.business_purpose)
        if chosen is None:
            notes.append(
                f"no person on account {account.account_id} has business purpose "
                f"{action.business_purpose}; using the main person {main}"
            )
    person_id = chosen.person_id if chosen is not None else main
    person = persons.get(person_id)
    if person is None or not person.email:
        return ResolvedRecipient(
            person_id, None, missing=f"no email address for person {person_id}", notes=notes
        )
    return ResolvedRecipient(
        person_id, EmailRecipient(kind="customer", name=person.name, address=person.email), notes=notes
    )


def _person_for_purpose(account: AccountUpserted, purpose: str) -> AccountPerson | None:
    """The first account person (main person first) whose business purposes include ``purpose``."""
    wanted = purpose.casefold()
    candidates = sorted(
        account.all_persons(), key=lambda p: not p.main
    )  # stable: main first, then listed order
    return next((p for p in candidates if wanted in {b.casefold() for b in p.business_purposes}), None)
