"""Customer contacts: the one creation path (:mod:`.create`) and the event rules / plug-ins that feed it.

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
from dunning.contacts.create import (
    ContactRejected,
    Prepared,
    ResolvedRecipient,
    prepare_contact,
    prepare_contacts,
    resolve_email_recipient,
    run_contact_drafts,
)
from dunning.contacts.plugins import ENTRY_POINT_GROUP, ContactRulePlugin, PluginError, PluginRegistry
from dunning.contacts.rules import EventOutcome, Skipped, drafts_for_event, evaluate_event

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
    "Skipped",
    "build_context",
    "drafts_for_event",
    "evaluate_event",
    "event_draft",
    "needs_for_event",
    "prepare_contact",
    "prepare_contacts",
    "resolve_email_recipient",
    "run_contact_drafts",
]
