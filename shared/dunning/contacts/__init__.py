"""Customer contacts: the one creation path and the sources that feed it.

- :mod:`.prepare`: a :class:`~dunning.models.contacts.ContactDraft` from any source becomes a contact
  (:func:`prepare_contact`), or is rejected with a readable reason;
- :mod:`.run_drafts`: the collections run's planned actions become drafts (:func:`run_contact_drafts`);
- :mod:`.recipients`: who a run's email step writes to (:func:`resolve_email_recipient`);
- :mod:`.rules`, :mod:`.plugins`, :mod:`.context`: the event rules and plug-ins, and the facts they read.

Pure domain code: no boto3. The handlers load facts through a :class:`Lookup`, call
:func:`drafts_for_event` / :func:`run_contact_drafts`, then :func:`prepare_contact` for each draft, and
store the result with a conditional put on its deterministic ``contact_id``.
"""

from dunning.contacts.context import (
    EventContext,
    EventNeeds,
    InMemoryLookup,
    Lookup,
    NoContact,
    build_context,
    event_draft,
    needs_for_event,
)
from dunning.contacts.plugins import ENTRY_POINT_GROUP, ContactRulePlugin, PluginError, PluginRegistry
from dunning.contacts.prepare import ContactRejected, Prepared, activity_details, prepare_contact, prepare_contacts
from dunning.contacts.recipients import ResolvedRecipient, resolve_email_recipient
from dunning.contacts.rules import EventOutcome, Skipped, drafts_for_event, evaluate_event
from dunning.contacts.run_drafts import RunDrafts, SkippedAction, plan_run_contacts, run_contact_drafts, run_identity

__all__ = [
    "ENTRY_POINT_GROUP",
    "ContactRejected",
    "ContactRulePlugin",
    "EventContext",
    "EventNeeds",
    "EventOutcome",
    "InMemoryLookup",
    "Lookup",
    "NoContact",
    "PluginError",
    "PluginRegistry",
    "Prepared",
    "ResolvedRecipient",
    "RunDrafts",
    "Skipped",
    "SkippedAction",
    "activity_details",
    "build_context",
    "drafts_for_event",
    "evaluate_event",
    "event_draft",
    "needs_for_event",
    "plan_run_contacts",
    "prepare_contact",
    "prepare_contacts",
    "resolve_email_recipient",
    "run_contact_drafts",
    "run_identity",
]
