"""Conversations, the agents' side (S4): team queues and my inbox, a conversation's detail (thread, the steps
its workflow took, variables, the version it runs), reply, close, assign; the sheets workflows write (CSAT...).

Each route names one permission (its guard); which conversations an agent sees (their teams', theirs) is the
use cases' rule (``dunning.app.conversations``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, ConfigDict, Field

from dunning.api import context
from dunning.api.guard import current_principal, guard
from dunning.app import conversations
from dunning.app.operations import InvalidRequest
from dunning.auth import Permission
from dunning.models.conversations import Conversation, ConversationDetail, ConversationStatus, ConversationSummary
from dunning.models.interactions import ThreadEntry

router = APIGatewayHttpRouter()
READ = guard(Permission.CONVERSATIONS_READ)
WRITE = guard(Permission.CONVERSATIONS_WRITE)
REPORTS = guard(Permission.CONVERSATIONS_REPORTS)
TAGS = ["conversations"]
JSON = "application/json"
SHEET = re.compile(r"^[a-z][a-z0-9_]{0,47}$")  # a workflow's sheet step names one so


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ConversationReplyRequest(Body):
    text: str = Field(min_length=1, max_length=4000, description="the agent's answer, shown to the customer "
                                                                  "(web chat) or sent by email (email channel)")


class CloseConversationRequest(Body):
    reason: str = Field("", max_length=500)


class AssignConversationRequest(Body):
    assignee: str | None = Field(description="a username, or null to put it back in its team's queue",
                                 max_length=128, pattern=r"^[^#\s]+$")


class SheetExport(BaseModel):
    url: str = Field(description="a short-lived presigned URL of the CSV")


def _now() -> datetime:
    return datetime.now(UTC)


@router.get("/conversations", summary="A team's queue, or my conversations (?mine=true)", tags=TAGS, **READ)
def inbox(team: Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")] = None,
          status: Annotated[ConversationStatus, Query(description="default handed_off: waiting for an agent")]
          = "handed_off",
          mine: Annotated[bool, Query(description="only the conversations assigned to me")] = False,
          ) -> list[ConversationSummary]:
    return conversations.inbox(context.conversations(), current_principal(router), team=team, status=status,
                               mine=mine)


@router.get("/conversations/<conversation_id>", summary="A conversation: its thread, the steps its workflow took, "
            "variables and the workflow version it runs", tags=TAGS, **READ)
def detail(conversation_id: str) -> ConversationDetail:
    return conversations.conversation_detail(context.conversations(), current_principal(router), conversation_id)


@router.post("/conversations/<conversation_id>/messages", summary="Answer the customer (web chat: in the chat; "
             "email: by mail)", tags=TAGS, **WRITE)
def reply(conversation_id: str, body: ConversationReplyRequest) -> Response[ThreadEntry]:
    entry = conversations.agent_reply(context.conversations(), current_principal(router), conversation_id,
                                      body.text, _now())
    return Response(status_code=201, content_type=JSON, body=entry)


@router.post("/conversations/<conversation_id>/close", summary="Close the conversation", tags=TAGS, **WRITE)
def close(conversation_id: str, body: CloseConversationRequest) -> Conversation:
    return conversations.close_conversation(context.conversations(), current_principal(router), conversation_id,
                                            _now(), reason=body.reason)


@router.post("/conversations/<conversation_id>/assign", summary="Assign the conversation to an agent (or back to "
             "its team's queue)", tags=TAGS, **WRITE)
def assign(conversation_id: str, body: AssignConversationRequest) -> Conversation:
    return conversations.assign(context.conversations(), current_principal(router), conversation_id, body.assignee,
                                _now())


@router.get("/sheets/<sheet>/export", summary="A sheet workflows write rows to (e.g. CSAT answers), as CSV: a "
            "presigned URL", tags=["conversation reports"], **REPORTS)
def export(sheet: str) -> SheetExport:
    if not SHEET.match(sheet):
        raise InvalidRequest("a sheet is named by lowercase letters, digits and _ (at most 48)")
    return SheetExport(url=conversations.export_sheet(context.conversations(), current_principal(router), sheet))
