"""Interactions (S3): a customer's request or conversation about their account, on any channel, with its reply
thread, time entries, links, attachments, tasks and stage history. Pure pydantic models; the rules live in
:mod:`dunning.interactions.domain`, the storage in :mod:`dunning.store.interactions`."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Channel = Literal["phone", "call_centre", "direct_marketing", "internet", "agent_portal", "email", "chat"]
CHANNELS: tuple[str, ...] = ("phone", "call_centre", "direct_marketing", "internet", "agent_portal", "email", "chat")
InteractionStatus = Literal["open", "closed"]
EntryKind = Literal["comment", "note", "email_in", "email_out", "auto_reply", "system", "chat_in", "chat_out"]
Visibility = Literal["agents", "customer"]
LinkKind = Literal["opportunity", "application", "job", "account", "invoice", "contact", "activity"]
AttachmentStatus = Literal["pending", "stored", "refused"]
HoldKind = Literal["dispute", "promise"]

Subject = Annotated[str, StringConstraints(max_length=300)]
Text = Annotated[str, StringConstraints(max_length=100_000)]
Ref = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:#/\-]+$")]


class Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class HoldSummary(Model):
    """A dispute or promise-to-pay this interaction recorded on an invoice (the hold itself is in the ledger)."""

    kind: HoldKind
    invoice_id: str
    account_id: str
    state: str = "active"  # active | released | kept | broken (as dunning.app.holds reports it)
    amount: Decimal | None = None
    until: date | None = None
    at: datetime


class Interaction(Model):
    id: str
    number: str = Field(description="human-readable number, IN-{yyyy}-{seq:06d}")
    channel: Channel
    category: str
    process: str
    stage: str
    status: InteractionStatus = "open"
    subject: Subject = ""
    person_id: str | None = None
    account_id: str | None = None
    customer_email: str | None = None
    customer_name: str | None = None
    language: str = "en"
    created_at: datetime
    updated_at: datetime
    created_by: str = Field(description="username, or `web_form` / `mail` when no agent recorded it")
    version: int = 1
    links: list[str] = Field(default_factory=list, description="summary: `{kind}:{ref}` of every link")
    holds: list[HoldSummary] = Field(default_factory=list)
    time_minutes: int = 0
    time_entries: int = 0
    customer_key: str = ""
    kind_key: str = ""
    closed_at: datetime | None = None


class NewInteraction(BaseModel):
    """What recording an interaction needs (an agent in the console, the web form, an inbound mail)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    channel: Channel
    category: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    subject: Subject = ""
    text: Text = Field("", description="the first entry of the thread (the customer's request)")
    person_id: str | None = Field(None, max_length=64)
    account_id: str | None = Field(None, max_length=64)
    customer_email: str | None = Field(None, max_length=254)
    customer_name: str | None = Field(None, max_length=200)
    language: Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")] = "en"
    first_entry_kind: EntryKind = "comment"
    message_id: str | None = Field(None, max_length=998, description="an inbound mail's Message-ID (dedupe)")
    in_reply_to: str | None = Field(None, max_length=998)
    references: list[str] = Field(default_factory=list, max_length=100)


class ThreadEntry(Model):
    entry_id: str
    kind: EntryKind
    author: str
    at: datetime
    text: str = ""
    visibility: Visibility = "agents"
    message_id: str | None = None
    in_reply_to: str | None = None
    references: list[str] = Field(default_factory=list)
    subject: str = ""
    to: list[str] = Field(default_factory=list)


class TimeEntry(Model):
    entry_id: str
    agent: str
    started_at: datetime
    minutes: int
    note: str = ""
    channel: Channel | None = None
    category: str = ""
    recorded_at: datetime | None = None


class Link(Model):
    kind: LinkKind
    ref: str
    label: str = ""
    by: str = ""
    at: datetime | None = None


class Attachment(Model):
    attachment_id: str
    filename: str
    content_type: str
    size: int
    status: AttachmentStatus = "pending"
    shared_with: Visibility = "agents"
    uploaded_by: str
    at: datetime
    refused_reason: str = ""
    account_id: str | None = None
    interaction_id: str = ""


class StageRef(BaseModel):
    """A stage of a process (a member's stage)."""

    process: str
    stage: str


class UploadTicket(BaseModel):
    """A presigned POST: the browser posts ``fields`` plus the file to ``url`` before ``expires_at``."""

    attachment_id: str
    url: str
    fields: dict[str, str]
    expires_at: datetime
    max_size: int
    content_type: str


class Task(Model):
    task_id: str
    title: str
    assignee: str = ""
    due_on: date | None = None
    done: bool = False
    activity_id: str | None = Field(None, description="the collector activity (a contact) this task is, if any")
    created_by: str = ""
    created_at: datetime | None = None
    done_at: datetime | None = None
    source: Literal["interaction", "activity"] = "interaction"


class StageMove(Model):
    from_stage: str
    to_stage: str
    by: str
    at: datetime
    note: str = ""


class InteractionDetail(BaseModel):
    interaction: Interaction
    thread: list[ThreadEntry] = Field(default_factory=list)
    time: list[TimeEntry] = Field(default_factory=list)
    links: list[Link] = Field(default_factory=list)
    attachments: list[Attachment] = Field(default_factory=list)
    tasks: list[Task] = Field(default_factory=list)
    moves: list[StageMove] = Field(default_factory=list)
    similar_count: int = 0
    allowed_moves: list[str] = Field(default_factory=list, description="stages the interaction may move to now")


class InteractionPage(BaseModel):
    items: list[Interaction]
    next: str | None = None


class SimilarRequests(BaseModel):
    """How many times the same customer raised the same kind of request (see dunning.interactions.domain)."""

    count: int
    customer_key: str = ""
    kind_key: str = ""
    earlier: list[Interaction] = Field(default_factory=list)


class MessageRef(BaseModel):
    """An inbound mail already recorded: where its Message-ID went."""

    message_id_hash: str
    interaction_id: str
    entry_id: str


# ---------------------------------------------------------------------------------------------- reports
class TimeReportRow(BaseModel):
    day: date
    category: str
    agent: str
    minutes: int
    entries: int


TimeCell = tuple[str, str, str, int, int]
"""One pre-aggregated time cell: (day ``yyyy-mm-dd``, category, agent, minutes, entries)."""


class TimeReport(BaseModel):
    """Time spent by day, category (interaction type) and agent; every total is the sum of the same cells.
    ``rows`` (one per day x category x agent) is filled only when asked for (the CSV export): a long period has
    tens of thousands of cells, while the totals per day, category and agent stay small."""

    start: date
    end: date
    cells: int = Field(0, description="day x category x agent cells with time in the period (with the rows)")
    rows: list[TimeReportRow] = Field(default_factory=list)
    by_day: dict[str, int] = Field(default_factory=dict)
    by_category: dict[str, int] = Field(default_factory=dict)
    by_agent: dict[str, int] = Field(default_factory=dict)
    total_minutes: int = 0
    total_entries: int = 0


class ContentReportRow(BaseModel):
    id: str
    number: str
    created_at: datetime
    channel: str
    category: str
    process: str
    stage: str
    status: str
    account_id: str | None = None
    time_minutes: int = 0
    subject: str = ""


class ContentReport(BaseModel):
    """What the interactions of a period were about: counts per category, channel, stage, status and day."""

    start: date
    end: date
    total: int = 0
    by_category: dict[str, int] = Field(default_factory=dict)
    by_channel: dict[str, int] = Field(default_factory=dict)
    by_stage: dict[str, int] = Field(default_factory=dict)
    by_status: dict[str, int] = Field(default_factory=dict)
    by_day: dict[str, int] = Field(default_factory=dict)
    rows: list[ContentReportRow] = Field(default_factory=list)
