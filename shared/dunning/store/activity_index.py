"""The sparse ``open_activities`` index of the contacts table: only open collector activities carry its keys.

``activity_queue`` is ``OPEN`` and ``activity_key`` is ``{assignee}#{due_on}#{contact_id}`` (``-`` for nobody),
so one Query gives a collector's worklist in due order and another every open activity. Completing an
activity removes both attributes, which takes it out of the index.
"""

from __future__ import annotations

from typing import Any

OPEN_ACTIVITIES_INDEX = "open_activities"
OPEN = "OPEN"
UNASSIGNED = "-"


def activity_key(assignee: str, due_on: str, contact_id: str) -> str:
    return f"{assignee or UNASSIGNED}#{due_on}#{contact_id}"


def activity_index_fields(contact: Any) -> dict[str, str]:
    """The index attributes of a contact's stored item (none unless it is an open activity)."""
    activity = getattr(contact, "activity", None)
    if contact.action != "activity" or contact.status != "open" or activity is None:
        return {}
    return {"activity_queue": OPEN,
            "activity_key": activity_key(activity.assigned_to, activity.due_on.isoformat(), contact.contact_id)}
