"""Conversations (S4): a customer's chat (web chat, email, the test channel) that a workflow runs and an agent
may take over. Pure pydantic models; the use cases are :mod:`dunning.app.conversations`, the storage
:mod:`dunning.store.conversations` (``ConversationsTable``). A conversation's messages are not here: they are
the thread entries of its interaction (``chat_in`` / ``chat_out`` / agents' ``comment`` visible to the customer).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from dunning.models.interactions import Interaction, ThreadEntry
from dunning.models.workflows import AskPrompt, Choice, Event, HttpCall, RunState, StepTaken, Wait

ConversationChannel = Literal["web_chat", "email", "test"]
ConversationStatus = Literal["opening", "bot", "handed_off", "closed"]
CONVERSATION_STATUSES: tuple[str, ...] = ("opening", "bot", "handed_off", "closed")
InboundKind = Literal["open", "message"]
Outcome = Literal["started", "handed_off", "delivered", "pending", "queued", "duplicate", "continued", "ignored"]

MessageText = Annotated[str, StringConstraints(min_length=1, max_length=4000)]
ClientMessageId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]


class Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Waiting(Model):
    """The question a conversation's execution waits on: the task token the answer resumes."""

    step: str
    token: str
    kind: str = "text"
    choices: list[Choice] = Field(default_factory=list)
    asked_at: datetime


class PendingMessage(Model):
    """A customer message that arrived while the bot was busy (no question open): the next question takes it."""

    message_id: str
    text: str
    at: datetime


class Conversation(Model):
    id: str
    number: str = Field("", description="the interaction's number (IN-yyyy-nnnnnn)")
    status: ConversationStatus = "opening"
    channel: ConversationChannel
    language: str = "en"
    workflow_id: str | None = None
    version: str | None = Field(None, description="the workflow version it runs on: `3` or `draft-<hash12>`")
    execution_name: str | None = None
    interaction_id: str
    contact_key: str
    contact_name: str = ""
    returning: bool = False
    contact: dict[str, Any] = Field(default_factory=dict, description="the contact fields the run starts with")
    team: str | None = None
    assignee: str | None = None
    waiting: Waiting | None = None
    pending: list[PendingMessage] = Field(default_factory=list)
    handled: list[str] = Field(default_factory=list, description=(
        "customer messages delivered as an answer or kept as pending (a redelivery knows they were)"))
    variables: dict[str, Any] = Field(default_factory=dict)
    last_step: str | None = None
    version_no: int = Field(1, description="bumped by every write of the conversation")
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
    continued_in: str | None = Field(None, description="the conversation a message after close opened")
    continued_from: str | None = None


class ConversationSummary(Model):
    """A line of an inbox or team queue."""

    id: str
    number: str = ""
    status: ConversationStatus
    channel: ConversationChannel
    team: str | None = None
    assignee: str | None = None
    contact_name: str = ""
    workflow_id: str | None = None
    version: str | None = None
    last_step: str | None = None
    interaction_id: str
    created_at: datetime
    updated_at: datetime


class StepRecord(StepTaken):
    """A step of the execution history (``STEP#{at_transition:06d}``)."""

    at: datetime
    seq: int = 0


class ContactProfile(Model):
    """What is known of a contact across conversations (``CONTACT#{key}`` / ``PROFILE``)."""

    contact_key: str
    fields: dict[str, Any] = Field(default_factory=dict)
    conversations: int = 0
    first_seen: datetime | None = None
    last_conversation_id: str | None = None


class ConversationDetail(BaseModel):
    conversation: Conversation
    interaction: Interaction | None = None
    thread: list[ThreadEntry] = Field(default_factory=list)
    steps: list[StepRecord] = Field(default_factory=list)
    variables: dict[str, Any] = Field(default_factory=dict)
    version: str | None = None
    workflow_name: str = ""


class NewConversation(BaseModel):
    """What opening a conversation needs (the web chat, the test channel, an inbound mail)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    channel: ConversationChannel
    name: str | None = Field(None, max_length=200)
    email: str | None = Field(None, max_length=254)
    phone: str | None = Field(None, max_length=40)
    account_id: str | None = Field(None, max_length=64)
    language: Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")] = "en"
    text: str | None = Field(None, max_length=4000, description="the customer's first message, if any")
    fields: dict[str, Any] = Field(default_factory=dict, description="further contact fields")
    interaction_id: str | None = Field(None, max_length=64, description=(
        "email: the interaction the inbound mail recorded already (no second one is recorded)"))
    category: str | None = Field(None, max_length=64, description="email: that interaction's category (trigger)")


class OpenedConversation(BaseModel):
    conversation: Conversation
    token: str


class AcceptedMessage(BaseModel):
    conversation_id: str
    client_message_id: str
    message_id: str = Field(description="the thread's message id `chat:{conversation}:{client id}`")
    dedupe_id: str


class CustomerMessage(BaseModel):
    """A message as the customer sees it (no agent names beyond `agent`)."""

    cursor: str
    role: Literal["customer", "bot", "agent"]
    text: str
    at: datetime


class Prompt(BaseModel):
    step: str
    kind: str
    choices: list[Choice] = Field(default_factory=list)


class CustomerView(BaseModel):
    conversation_id: str
    status: ConversationStatus
    messages: list[CustomerMessage] = Field(default_factory=list)
    cursor: str | None = Field(None, description="pass as `after` to get only newer messages")
    prompt: Prompt | None = None
    continued_in: str | None = None
    continued_token: str | None = Field(None, description="the token of `continued_in` (the same customer)")


class InboundEnvelope(BaseModel):
    """One message of the inbound FIFO queue (group = conversation id, dedupe id = ``dedupe_id``)."""

    kind: InboundKind
    conversation_id: str
    message_id: str = Field("", description="message: the client's message id")
    text: str = ""
    at: datetime
    channel: ConversationChannel = "web_chat"
    dedupe_id: str
    workflow: tuple[str, str] | None = Field(None, description="open: a forced (workflow id, version)")


class InboundOutcome(BaseModel):
    conversation_id: str
    outcome: Outcome
    execution_arn: str | None = None
    new_conversation_id: str | None = None


class StepInput(BaseModel):
    """The ConversationStepFunction's ``advance`` action."""

    action: Literal["advance"] = "advance"
    conversation_id: str
    state: RunState
    event: Event


class StepOutput(BaseModel):
    """What the state machine branches on (``$.wait``); ``ask``/``http`` for the next task."""

    action: Literal["advance"] = "advance"
    conversation_id: str
    state: RunState
    wait: Wait
    ask: AskPrompt | None = Field(None, description="wait answer: the question, timeout_seconds capped")
    http: HttpCall | None = None


class ParkInput(BaseModel):
    """The ConversationStepFunction's ``park`` action (``.waitForTaskToken``)."""

    action: Literal["park"] = "park"
    conversation_id: str
    token: str
    state: RunState
    ask: AskPrompt


class FailInput(BaseModel):
    """The ConversationStepFunction's ``fail`` action (the state machine's Catch)."""

    action: Literal["fail"] = "fail"
    conversation_id: str
    error: str = ""


class SheetRow(BaseModel):
    sheet: str
    sk: str = Field(description="`{at_iso}#{conversation_id}#{seq}`")
    conversation_id: str
    seq: int
    at: datetime
    columns: dict[str, str] = Field(default_factory=dict)
