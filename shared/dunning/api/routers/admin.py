"""Rejected events, configuration (validate / publish: admin only), and who am I."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from dunning.api import context
from dunning.api.guard import current_principal, guard
from dunning.api.models import ConfigDocument, Me
from dunning.api.params import Limit, NextToken
from dunning.app import operations, queries
from dunning.auth import Permission

router = APIGatewayHttpRouter()


@router.get("/rejected-events", summary="Events rejected at ingest, with their reasons", tags=["events"],
            **guard(Permission.REJECTED_READ))
def rejected(limit: Limit = None, next_token: NextToken = None) -> queries.Page[queries.RejectedEvent]:
    return queries.rejected_events(context.reads(), limit, next_token)


@router.post("/config/validate", summary="Check a configuration document; stores nothing", tags=["configuration"],
             **guard(Permission.CONFIG_WRITE))
def validate(body: ConfigDocument) -> operations.ConfigCheck:
    return operations.validate_config(body.config)


@router.post("/config/publish", summary="Validate and publish a configuration document", tags=["configuration"],
             **guard(Permission.CONFIG_WRITE))
def publish(body: ConfigDocument) -> operations.ConfigPublished:
    return operations.publish_config(context.operations(), body.config)


@router.get("/me", summary="The signed-in user: groups and permissions", tags=["auth"], **guard(None))
def me() -> Me:
    p = current_principal(router)
    return Me(user_id=p.user_id, username=p.username, groups=sorted(p.groups), permissions=sorted(p.permissions))
