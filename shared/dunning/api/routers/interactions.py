"""Interactions (S3): record, list, show, move between stages, thread entries, email replies, time, links,
similar requests, tasks, attachments, disputes and promises; the content and time reports; stage membership.

Each route names one permission (its guard); the stage rules (a non-admin acts only on interactions in stages
they are a member of) are the use cases' (``dunning.app.interactions`` raises ``StageForbidden``, a 403).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal
from urllib.parse import unquote  # path parameters arrive as sent (percent-encoded)

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, ConfigDict, Field, model_validator

from dunning.api import context
from dunning.api.guard import current_principal, guard
from dunning.api.params import Limit, NextToken
from dunning.app import interaction_reports, interactions
from dunning.auth import Permission
from dunning.models.interactions import (
    Attachment,
    Channel,
    ContentReport,
    HoldSummary,
    Interaction,
    InteractionDetail,
    InteractionPage,
    Link,
    LinkKind,
    NewInteraction,
    SimilarRequests,
    Task,
    ThreadEntry,
    TimeEntry,
    TimeReport,
    UploadTicket,
    Visibility,
)

router = APIGatewayHttpRouter()
READ = guard(Permission.INTERACTIONS_READ)
WRITE = guard(Permission.INTERACTIONS_WRITE)
REPORTS = guard(Permission.INTERACTIONS_REPORTS)
ADMIN = guard(Permission.INTERACTIONS_ADMIN)
TAGS = ["interactions"]
JSON = "application/json"
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]
RefText = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:#/\-]+$")]
MAX_REPORT_DAYS = 366


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RecordInteractionRequest(Body):
    """An interaction an agent records on a customer's behalf (a phone call, a visit, a letter)."""

    channel: Channel
    category: Code
    subject: str = Field("", max_length=300)
    text: str = Field("", max_length=100_000, description="the customer's request, the thread's first entry")
    person_id: str | None = Field(None, max_length=64)
    account_id: str | None = Field(None, max_length=64)
    customer_email: str | None = Field(None, max_length=254)
    customer_name: str | None = Field(None, max_length=200)
    language: str = Field("en", pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


class MoveRequest(Body):
    to_stage: Code
    expected_version: int = Field(ge=1, description="the interaction's version the move is based on (409 if stale)")
    note: str = Field("", max_length=2000)


class EntryRequest(Body):
    kind: Literal["comment", "note"] = Field(description="comment (may be shown to the customer) or internal note")
    text: str = Field(min_length=1, max_length=100_000)
    visibility: Visibility = Field("agents", description="a note is always for agents only")

    @model_validator(mode="after")
    def _note_is_internal(self) -> EntryRequest:
        if self.kind == "note" and self.visibility != "agents":
            raise ValueError("a note is internal: its visibility is 'agents'")
        return self


class ReplyRequest(Body):
    text: str = Field(min_length=1, max_length=100_000, description="the reply (plain text)")
    subject: str | None = Field(None, max_length=300, description="default: Re: the interaction's subject")
    to: str | None = Field(None, max_length=254, description="default: the customer's address")


class TimeRequest(Body):
    started_at: datetime
    minutes: int = Field(ge=1, le=24 * 60)
    note: str = Field("", max_length=2000)
    idempotency_key: str | None = Field(None, min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$",
                                        description="a retried request with the same key is recorded once")


class LinkRequest(Body):
    kind: LinkKind
    ref: RefText
    label: str = Field("", max_length=200)


class TaskRequest(Body):
    title: str = Field(min_length=1, max_length=300)
    assignee: str = Field("", max_length=128, pattern=r"^[^#\s]*$")
    due_on: date | None = None
    activity: bool = Field(False, description="also create a collector activity on the interaction's account")


class CompleteTaskRequest(Body):
    note: str = Field("", max_length=2000)
    outcome: str = Field("", max_length=64, pattern=r"^[A-Za-z0-9_\- ]*$",
                         description="outcome code of a collector activity task")


class UploadRequest(Body):
    filename: str = Field(min_length=1, max_length=255, pattern=r"^[^/\\\x00-\x1f]+$")
    content_type: str = Field(min_length=3, max_length=100)
    size: int = Field(ge=1)
    shared_with: Visibility = "agents"


class DisputeRequest(Body):
    invoice_id: RefText
    note: str = Field("", max_length=2000)


class ResolveDisputeRequest(Body):
    note: str = Field("", max_length=2000)


class PromiseRequest(Body):
    invoice_id: RefText
    amount: Decimal = Field(gt=0, max_digits=14, decimal_places=2)
    until: date
    note: str = Field("", max_length=2000)


class AttachmentLink(BaseModel):
    url: str
    expires_in: int = Field(description="seconds")


class Members(BaseModel):
    process: str
    stage: str
    members: list[str]


class Removed(BaseModel):
    removed: bool


def _now() -> datetime:
    return datetime.now(UTC)


def _auto_reply(interaction: Interaction, trigger: str) -> None:
    """The category's automatic reply for ``trigger`` (``created``, ``stage:<id>``), if it has one; the mail
    module records in the thread what happened (sent, or why not)."""
    from dunning.app.interaction_mail import send_auto_reply

    send_auto_reply(context.interaction_mail(), interaction, trigger, _now())


def _created(body: Any) -> Response[Any]:
    return Response(status_code=201, body=body, content_type=JSON)


# ---------------------------------------------------------------------------------------------- interactions
@router.get("/interactions", summary="Interactions in the stages you are a member of, newest first", tags=TAGS,
            **READ)
def list_interactions(process: Annotated[str | None, Query(max_length=64)] = None,
                      stage: Annotated[str | None, Query(max_length=64)] = None,
                      account_id: Annotated[str | None, Query(max_length=64)] = None,
                      limit: Limit = None, next_token: NextToken = None) -> InteractionPage:
    return interactions.list_interactions(context.interactions(), current_principal(router), process=process,
                                          stage=stage, account_id=account_id, next_token=next_token,
                                          limit=limit or 50)


@router.post("/interactions", summary="Record an interaction (e.g. a phone call on the customer's behalf)",
             tags=TAGS, **WRITE)
def record(body: RecordInteractionRequest) -> Response[Interaction]:
    new = NewInteraction(**body.model_dump())
    created = interactions.record_interaction(context.interactions(), current_principal(router), new, _now())
    _auto_reply(created, "created")
    return _created(created)


@router.get("/interactions/<interaction_id>", summary="An interaction with its thread, time, links, attachments, "
            "tasks and stage history", tags=TAGS, **READ)
def get(interaction_id: str) -> InteractionDetail:
    return interactions.get_interaction(context.interactions(), current_principal(router), interaction_id)


@router.post("/interactions/<interaction_id>/moves", summary="Move to another stage (409 if someone moved it first)",
             tags=TAGS, **WRITE)
def move(interaction_id: str, body: MoveRequest) -> Interaction:
    moved = interactions.move_stage(context.interactions(), current_principal(router), interaction_id,
                                    body.to_stage, expected_version=body.expected_version, note=body.note,
                                    now=_now())
    _auto_reply(moved, f"stage:{moved.stage}")
    return moved


@router.post("/interactions/<interaction_id>/entries", summary="Add a comment or an internal note", tags=TAGS,
             **WRITE)
def add_entry(interaction_id: str, body: EntryRequest) -> Response[ThreadEntry]:
    return _created(interactions.add_entry(context.interactions(), current_principal(router), interaction_id,
                                           body.kind, body.text, visibility=body.visibility, now=_now()))


@router.post("/interactions/<interaction_id>/replies", summary="Answer the customer by email (SES)", tags=TAGS,
             **WRITE)
def reply(interaction_id: str, body: ReplyRequest) -> Response[ThreadEntry]:
    from dunning.app import interaction_mail

    return _created(interaction_mail.send_reply(context.interaction_mail(), current_principal(router),
                                                interaction_id, body.text, subject=body.subject, to=body.to,
                                                now=_now()))


@router.post("/interactions/<interaction_id>/time", summary="Log time spent on the interaction", tags=TAGS,
             **WRITE)
def log_time(interaction_id: str, body: TimeRequest) -> Response[TimeEntry]:
    return _created(interactions.log_time(context.interactions(), current_principal(router), interaction_id,
                                          started_at=body.started_at, minutes=body.minutes, note=body.note,
                                          now=_now(), idempotency_key=body.idempotency_key))


@router.post("/interactions/<interaction_id>/links", summary="Link an opportunity, application, job, account, "
             "invoice, contact or activity", tags=TAGS, **WRITE)
def add_link(interaction_id: str, body: LinkRequest) -> Response[Link]:
    return _created(interactions.add_link(context.interactions(), current_principal(router), interaction_id,
                                          body.kind, body.ref, body.label))


@router.delete("/interactions/<interaction_id>/links/<kind>/<ref>", summary="Remove a link (ref URL-encoded)",
               tags=TAGS, **WRITE)
def remove_link(interaction_id: str, kind: LinkKind, ref: str) -> Removed:
    interactions.remove_link(context.interactions(), current_principal(router), interaction_id, kind, unquote(ref))
    return Removed(removed=True)


@router.get("/interactions/<interaction_id>/similar", summary="How often the same customer raised the same kind "
            "of request, with the earlier ones", tags=TAGS, **READ)
def similar(interaction_id: str) -> SimilarRequests:
    return interactions.similar_requests(context.interactions(), current_principal(router), interaction_id)


@router.get("/interactions/<interaction_id>/tasks", summary="Tasks of the interaction, with linked collector "
            "activities and their state", tags=TAGS, **READ)
def tasks(interaction_id: str) -> list[Task]:
    return interactions.related_tasks(context.interactions(), current_principal(router), interaction_id)


@router.post("/interactions/<interaction_id>/tasks", summary="Add a task (optionally a collector activity)",
             tags=TAGS, **WRITE)
def add_task(interaction_id: str, body: TaskRequest) -> Response[Task]:
    return _created(interactions.add_task(context.interactions(), current_principal(router), interaction_id,
                                          title=body.title, assignee=body.assignee, due_on=body.due_on,
                                          activity=body.activity, now=_now()))


@router.post("/interactions/<interaction_id>/tasks/<task_id>/complete", summary="Complete a task", tags=TAGS,
             **WRITE)
def complete_task(interaction_id: str, task_id: str, body: CompleteTaskRequest) -> Task:
    return interactions.complete_task(context.interactions(), current_principal(router), interaction_id, task_id,
                                      note=body.note, outcome=body.outcome, now=_now())


@router.post("/interactions/<interaction_id>/attachments", summary="Start an upload: a presigned POST with the "
             "type and size fixed", tags=TAGS, **WRITE)
def start_upload(interaction_id: str, body: UploadRequest) -> Response[UploadTicket]:
    return _created(interactions.start_upload(context.interactions(), current_principal(router), interaction_id,
                                              body.filename, body.content_type, body.size, body.shared_with))


@router.post("/interactions/<interaction_id>/attachments/<attachment_id>/complete", summary="Finish an upload: "
             "the object is checked (type, size) and stored or refused", tags=TAGS, **WRITE)
def complete_upload(interaction_id: str, attachment_id: str) -> Attachment:
    return interactions.complete_upload(context.interactions(), current_principal(router), interaction_id,
                                        attachment_id)


@router.get("/interactions/<interaction_id>/attachments/<attachment_id>", summary="A short-lived presigned URL "
            "of an attachment", tags=TAGS, **READ)
def attachment_url(interaction_id: str, attachment_id: str) -> AttachmentLink:
    url = interactions.attachment_url(context.interactions(), current_principal(router), interaction_id,
                                      attachment_id)
    return AttachmentLink(url=url, expires_in=interactions.ATTACHMENT_URL_SECONDS)


@router.post("/interactions/<interaction_id>/disputes", summary="Dispute an invoice: the collections run holds it",
             tags=TAGS, **WRITE)
def dispute(interaction_id: str, body: DisputeRequest) -> Response[HoldSummary]:
    return _created(interactions.dispute_invoice(context.interactions(), current_principal(router), interaction_id,
                                                 body.invoice_id, note=body.note, now=_now()))


@router.post("/interactions/<interaction_id>/disputes/<invoice_id>/resolve", summary="Resolve a dispute: the "
             "invoice's hold is released", tags=TAGS, **WRITE)
def resolve_dispute(interaction_id: str, invoice_id: str, body: ResolveDisputeRequest) -> HoldSummary:
    return interactions.resolve_dispute(context.interactions(), current_principal(router), interaction_id,
                                        invoice_id, note=body.note, now=_now())


@router.post("/interactions/<interaction_id>/promises", summary="Record a promise to pay: the invoice is held "
             "until the date", tags=TAGS, **WRITE)
def promise(interaction_id: str, body: PromiseRequest) -> Response[HoldSummary]:
    return _created(interactions.promise_to_pay(context.interactions(), current_principal(router), interaction_id,
                                                body.invoice_id, amount=body.amount, until=body.until,
                                                note=body.note, now=_now()))


@router.get("/accounts/<account_id>/interactions", summary="An account's interactions, newest first", tags=TAGS,
            **READ)
def account_interactions(account_id: str, limit: Limit = None, next_token: NextToken = None) -> InteractionPage:
    return interactions.list_interactions(context.interactions(), current_principal(router), account_id=account_id,
                                          next_token=next_token, limit=limit or 50)


# ---------------------------------------------------------------------------------------------- reports
Start = Annotated[date | None, Query(description="first day (default: the first of this month, UTC)")]
End = Annotated[date | None, Query(description="last day, included (default: today, UTC)")]
Format = Annotated[Literal["json", "csv"], Query(description="csv: a CSV file to download")]


def _csv_doc(model: type[BaseModel]) -> dict[int, Any]:
    return {200: {"description": "The report (JSON), or with ?format=csv a CSV file to download",
                  "content": {JSON: {"model": model}, "text/csv": {"schema": {"type": "string"}}}}}


def _period(start: date | None, end: date | None) -> tuple[date, date]:
    from dunning.app.operations import InvalidRequest

    last = end or context.today()
    first = start or last.replace(day=1)
    if first > last:
        raise InvalidRequest("start is after end")
    if last - first > timedelta(days=MAX_REPORT_DAYS):
        raise InvalidRequest(f"a report covers at most {MAX_REPORT_DAYS} days")
    return first, last


def _csv(text: str, name: str, first: date, last: date) -> Response[Any]:
    return Response(status_code=200, content_type="text/csv; charset=utf-8", body=text,
                    headers={"Content-Disposition": f'attachment; filename="{name}-{first}-{last}.csv"'})


@router.get("/interaction-reports/time", summary="Time spent by day, interaction type and agent (totals add up)",
            tags=["interaction reports"], responses=_csv_doc(TimeReport), **REPORTS)
def time_report(start: Start = None, end: End = None, format: Format = "json") -> Response[Any]:
    first, last = _period(start, end)
    report = interaction_reports.time_report(context.interactions(), current_principal(router), first, last,
                                             detail=format == "csv")
    if format == "csv":
        return _csv(interaction_reports.time_csv(report), "interaction-time", first, last)
    return Response(status_code=200, body=report, content_type=JSON)


@router.get("/interaction-reports/content", summary="What the interactions of a period were about",
            tags=["interaction reports"], responses=_csv_doc(ContentReport), **REPORTS)
def content_report(start: Start = None, end: End = None, format: Format = "json") -> Response[Any]:
    first, last = _period(start, end)
    report = interaction_reports.content_report(context.interactions(), current_principal(router), first, last)
    if format == "csv":
        return _csv(interaction_reports.content_csv(report), "interaction-content", first, last)
    return Response(status_code=200, body=report, content_type=JSON)


# ---------------------------------------------------------------------------------------------- stage membership
MEMBERS = "/interaction-processes/<process>/stages/<stage>/members"


@router.get(MEMBERS, summary="The members of a stage", tags=["interaction stages"], **READ)
def members(process: str, stage: str) -> Members:
    return Members(process=process, stage=stage,
                   members=interactions.members(context.interactions(), process, stage))


@router.put(MEMBERS + "/<username>", summary="Make a user a member of a stage", tags=["interaction stages"],
            **ADMIN)
def add_member(process: str, stage: str, username: str) -> Members:
    deps = context.interactions()
    interactions.add_member(deps, current_principal(router), process, stage, unquote(username))
    return Members(process=process, stage=stage, members=interactions.members(deps, process, stage))


@router.delete(MEMBERS + "/<username>", summary="Take a user out of a stage", tags=["interaction stages"], **ADMIN)
def remove_member(process: str, stage: str, username: str) -> Members:
    deps = context.interactions()
    interactions.remove_member(deps, current_principal(router), process, stage, unquote(username))
    return Members(process=process, stage=stage, members=interactions.members(deps, process, stage))

