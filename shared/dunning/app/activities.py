"""Collector activities for users: my open activities, everyone's (supervisors), complete one with an outcome,
reassign one. Who may do what comes from the :class:`~dunning.auth.Principal`'s permissions."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, Field

from dunning.app.queries import ContactOut, NotFound, Page, page_size
from dunning.auth import Forbidden, Permission, Principal
from dunning.store.activities import ActivitiesRepository, ActivityNotOpen
from dunning.store.contacts import ContactStore

MAX_NOTE = 2000


class ActivityConflict(Exception):
    """The activity is not open (already completed), or not the asker's own."""


@dataclass
class ActivityDeps:
    activities: ActivitiesRepository
    contacts: ContactStore


class Completion(BaseModel):
    contact_id: str
    status: str = "closed"
    outcome: str


class Reassignment(BaseModel):
    contact_id: str
    assigned_to: str = Field(description="the collector's user name")


def my_open_activities(deps: ActivityDeps, principal: Principal, limit: int | None = None,
                       token: str | None = None) -> Page[ContactOut]:
    principal.require(Permission.ACTIVITIES_OWN)
    page = deps.activities.open_activities(principal.username, page_size(limit), token)
    return Page[ContactOut](items=[ContactOut.of(c) for c in page.contacts], next=page.next)


def open_activities(deps: ActivityDeps, principal: Principal, assignee: str | None = None, limit: int | None = None,
                    token: str | None = None) -> Page[ContactOut]:
    """Everyone's open activities (or one collector's; ``-`` for unassigned ones), in due order."""
    principal.require(Permission.ACTIVITIES_ALL)
    page = deps.activities.open_activities(assignee, page_size(limit), token)
    return Page[ContactOut](items=[ContactOut.of(c) for c in page.contacts], next=page.next)


def complete_activity(deps: ActivityDeps, principal: Principal, contact_id: str, outcome: str,
                      note: str = "") -> Completion:
    """Close an open activity with its outcome. A collector completes only activities assigned to them; a
    supervisor (ACTIVITIES_ALL) any open one."""
    if not (principal.can(Permission.ACTIVITIES_ALL) or principal.can(Permission.ACTIVITIES_OWN)):
        raise Forbidden(Permission.ACTIVITIES_OWN)
    contact = deps.contacts.get(contact_id)
    if contact is None or contact.action != "activity":
        raise NotFound(f"no activity {contact_id}")
    only = None if principal.can(Permission.ACTIVITIES_ALL) else principal.username
    try:
        deps.activities.complete(contact_id, outcome=outcome, note=note[:MAX_NOTE], by=principal.username,
                                 only_assignee=only)
    except ActivityNotOpen as exc:
        raise ActivityConflict(f"activity {contact_id} is not open" + ("" if only is None else
                                                                       " or not assigned to you")) from exc
    return Completion(contact_id=contact_id, outcome=outcome)


def reassign_activity(deps: ActivityDeps, principal: Principal, contact_id: str, assignee: str) -> Reassignment:
    principal.require(Permission.ACTIVITIES_REASSIGN)
    contact = deps.contacts.get(contact_id)
    if contact is None or contact.action != "activity" or contact.activity is None:
        raise NotFound(f"no activity {contact_id}")
    try:
        deps.activities.reassign(contact_id, assignee=assignee, due_on=contact.activity.due_on.isoformat())
    except ActivityNotOpen as exc:
        raise ActivityConflict(f"activity {contact_id} is not open") from exc
    return Reassignment(contact_id=contact_id, assigned_to=assignee)
