"""The collections run as a contact source (S2.9-S2.10, S2.12): an account decision's planned actions become
contact drafts, which :func:`dunning.contacts.prepare.prepare_contact` then validates like any other source's.
Pure: the account, its persons and the configuration are given."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from dunning.contacts.prepare import activity_details, find_activity_template
from dunning.contacts.recipients import resolve_email_recipient
from dunning.models.accounts import AccountView
from dunning.models.config import Config
from dunning.models.contacts import ActivityDetails, ContactDraft
from dunning.models.decisions import AccountDecision, PlannedAction
from dunning.models.events import AccountUpserted, PersonUpserted


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


@dataclass(frozen=True)
class SkippedAction:
    """A planned action that creates no contact, and why: an internal alert (an email step to the sales group or
    the collections agent) whose recipient has no address. It is never turned into a customer letter."""

    account_id: str
    hierarchy_id: str
    step_id: str
    action: str
    reason: str


@dataclass(frozen=True)
class RunDrafts:
    """One account's run drafts (in the order of its planned actions) and the actions that create no contact."""

    drafts: list[ContactDraft]
    skipped: list[SkippedAction]


def plan_run_contacts(
    decision: AccountDecision,
    view: AccountView,
    config: Config,
    persons: Mapping[str, PersonUpserted],
    run_id: str,
) -> RunDrafts:
    """:func:`run_contact_drafts`, with the planned actions that create no contact and their reasons."""
    drafts: list[ContactDraft] = []
    skipped: list[SkippedAction] = []
    for action in decision.actions:
        out = _run_draft(_Drafting(decision, view.account, action, config, run_id), persons)
        (skipped if isinstance(out, SkippedAction) else drafts).append(out)  # type: ignore[arg-type]
    return RunDrafts(drafts, skipped)


def run_contact_drafts(
    decision: AccountDecision,
    view: AccountView,
    config: Config,
    persons: Mapping[str, PersonUpserted],
    run_id: str,
) -> list[ContactDraft]:
    """Turn the run's planned actions for one account into contact drafts (same order; an internal alert with no
    address creates none, see :func:`plan_run_contacts`).

    - letter (S2.12): per customer, to the account's main person, template = the step's document or the
      letter contact type's template;
    - email (S2.9): recipient resolution; a customer with no email address gets the email contact type's
      ``fallback_to_letter`` (applied by :func:`prepare_contact`, as for every source); an email to the sales group
      or collections agent with no address is skipped, never sent to the customer;
    - activity (S2.10) and automation log: :class:`ActivityDetails` linked to the action's invoice.

    ``persons`` holds the account's persons by id (it may miss some; an email to a person that is not in
    it falls back to a letter). ``view.account`` may be ``None`` (account not known yet): the drafts then
    name no person, and :func:`prepare_contact` rejects the ones that need one.
    """
    return plan_run_contacts(decision, view, config, persons, run_id).drafts


@dataclass(frozen=True)
class _Drafting:
    """One planned action being turned into a draft, with what every run draft carries."""

    decision: AccountDecision
    account: AccountUpserted | None
    action: PlannedAction
    config: Config
    run_id: str

    @property
    def main_person(self) -> str | None:
        return self.account.main_person_id if self.account is not None else None

    @property
    def agent(self) -> str:
        """The account's collections agent, who run activities are assigned to ("" when none)."""
        account = self.account
        return account.collections_agent.id if account is not None and account.collections_agent else ""

    def draft(self, type_key: str, reasons: list[str], **fields: object) -> ContactDraft:
        """The draft of contact type ``type_key`` (``class/type``) with the run's common fields."""
        decision, action = self.decision, self.action
        contact_class, _, contact_type = type_key.partition("/")
        return ContactDraft.model_validate(
            {
                "contact_class": contact_class,
                "contact_type": contact_type,
                "source": "run",
                "source_ref": self.run_id,
                "identity": run_identity(decision, action),
                "account_id": decision.account_id,
                "invoice_id": action.invoice_id,
                "as_of": decision.as_of,
                "hierarchy_id": action.hierarchy_id,
                "step_id": action.step_id,
                "automated": action.automated,
                "reason": "; ".join(reasons),
                **fields,
            }
        )


def _run_draft(drafting: _Drafting, persons: Mapping[str, PersonUpserted]) -> ContactDraft | SkippedAction:
    """The draft for one planned action, by what it is."""
    action = drafting.action
    if action.origin == "automation_log":
        return _automation_log_draft(drafting)
    if action.action == "activity":
        return _activity_draft(drafting)
    if action.action == "email":
        return _email_draft(drafting, persons)
    return _letter_draft(drafting, action.document, [action.reason] if action.reason else [])


def _automation_log_draft(drafting: _Drafting) -> ContactDraft:
    """A closed activity recording an automated step (``create_activities_for_automations``)."""
    config, action = drafting.config, drafting.action
    type_key = config.collections_contact_types.automation_log
    log_type = config.find_contact_type(type_key)
    template = find_activity_template(config, log_type.activity_template if log_type else None)
    activity = ActivityDetails(
        template_code=template.code if template else "",
        name=f"Automated: {_step_description(config, action)}",
        type=template.type if template else "automation_log",
        purpose=template.purpose if template else "",
        details=action.reason,
        due_on=drafting.decision.as_of,
        assigned_to=drafting.agent,
        closed=True,
    )
    return drafting.draft(
        type_key,
        [action.reason] if action.reason else [],
        person_id=drafting.main_person,
        action_override="activity",
        template_code=activity.template_code or None,
        activity=activity,
    )


def _activity_draft(drafting: _Drafting) -> ContactDraft:
    """An activity step: the step's activity template, else the activity contact type's own."""
    config, action = drafting.config, drafting.action
    types = config.collections_contact_types
    found = find_activity_template(config, action.document)
    if found is None:
        activity_type = config.find_contact_type(types.activity)
        found = find_activity_template(config, activity_type.activity_template if activity_type else None)
    activity = activity_details(found, as_of=drafting.decision.as_of, assigned_to=drafting.agent) if found else None
    return drafting.draft(
        types.activity,
        [action.reason] if action.reason else [],
        person_id=drafting.main_person,
        action_override="activity",
        template_code=found.code if found else action.document,
        activity=activity,
    )


def _email_draft(drafting: _Drafting, persons: Mapping[str, PersonUpserted]) -> ContactDraft | SkippedAction:
    """An email step to its resolved recipient (S2.9). A customer without an address still gets an email draft
    with no recipient: :func:`prepare_contact` applies the type's ``fallback_to_letter``. An internal alert
    without an address is skipped: it must never become a customer letter."""
    config, action = drafting.config, drafting.action
    reasons = [action.reason] if action.reason else []
    resolved = resolve_email_recipient(drafting.account, action, persons)
    reasons += resolved.notes
    if resolved.recipient is None and action.recipient != "customer":
        return SkippedAction(
            account_id=drafting.decision.account_id, hierarchy_id=action.hierarchy_id, step_id=action.step_id,
            action="email", reason=f"{resolved.missing}; the internal alert {action.document or action.step_id} "
                                   "was not sent (never to the customer instead)")
    return drafting.draft(
        config.collections_contact_types.email,
        reasons,
        person_id=resolved.person_id,
        action_override="email",
        template_code=action.document,
        recipient=resolved.recipient,
    )


def _letter_draft(drafting: _Drafting, template_code: str | None, reasons: list[str]) -> ContactDraft:
    """A letter to the account's main person (S2.12)."""
    return drafting.draft(
        drafting.config.collections_contact_types.letter,
        reasons,
        person_id=drafting.main_person,
        action_override="letter",
        template_code=template_code,
    )


def _step_description(config: Config, action: PlannedAction) -> str:
    """The step's configured description (its id when it has none), for an automation log's name."""
    hierarchy = next((found for found in config.hierarchies if found.id == action.hierarchy_id), None)
    step = next((found for found in hierarchy.steps if found.id == action.step_id), None) if hierarchy else None
    return (step.description or step.id) if step is not None else action.step_id
