"""Collector activities: my open ones, everyone's (supervisors), complete with an outcome, reassign."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from dunning.api import context
from dunning.api.guard import current_principal, guard
from dunning.api.models import CompleteActivityRequest, ReassignActivityRequest
from dunning.api.params import Limit, NextToken
from dunning.app import activities
from dunning.app.queries import ContactOut, Page
from dunning.auth import Permission

router = APIGatewayHttpRouter()


@router.get("/activities/mine", summary="My open activities, in due order", tags=["activities"],
            **guard(Permission.ACTIVITIES_OWN))
def mine(limit: Limit = None, next_token: NextToken = None) -> Page[ContactOut]:
    return activities.my_open_activities(context.activities(), current_principal(router), limit, next_token)


@router.get("/activities", summary="Open activities of everyone (or of one collector; '-' = unassigned)",
            tags=["activities"], **guard(Permission.ACTIVITIES_ALL))
def everyone(assignee: Annotated[str | None, Query(max_length=128)] = None, limit: Limit = None,
             next_token: NextToken = None) -> Page[ContactOut]:
    return activities.open_activities(context.activities(), current_principal(router), assignee, limit, next_token)


@router.post("/activities/<contact_id>/complete", summary="Complete an open activity with its outcome",
             tags=["activities"], **guard(Permission.ACTIVITIES_OWN))
def complete(contact_id: str, body: CompleteActivityRequest) -> activities.Completion:
    return activities.complete_activity(context.activities(), current_principal(router), contact_id, body.outcome,
                                        body.note)


@router.post("/activities/<contact_id>/reassign", summary="Give an open activity to another collector",
             tags=["activities"], **guard(Permission.ACTIVITIES_REASSIGN))
def reassign(contact_id: str, body: ReassignActivityRequest) -> activities.Reassignment:
    return activities.reassign_activity(context.activities(), current_principal(router), contact_id, body.assignee)
