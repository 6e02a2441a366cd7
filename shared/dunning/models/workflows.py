"""Conversation workflows (S4): the definition a business user writes (YAML or JSON), its validation report,
the interpreter's run state, events, actions and results, and the version/draft/diff results of the use cases.

Pure pydantic models. The JSON Schema of :class:`WorkflowDefinition` is generated from these models
(:mod:`dunning.workflows.schema`); the published copy is ``infra/workflows/workflow.schema.json``.
The rules live in :mod:`dunning.workflows` (validate, interpreter), the storage in
:mod:`dunning.store.workflows`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

# ---------------------------------------------------------------- value types

WorkflowId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,47}$")]
StepId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$")]
VarName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]
# what a condition reads: contact.<field>, vars.<name>, conversation.channel|id|number
FieldRef = Annotated[str, StringConstraints(
    pattern=r"^(contact\.[A-Za-z_][A-Za-z0-9_]{0,63}|vars\.[A-Za-z_][A-Za-z0-9_]{0,63}|conversation\.(channel|id|number))$")]
# what a step writes: contact.<field> or vars.<name>
Target = Annotated[str, StringConstraints(pattern=r"^(contact|vars)\.[A-Za-z_][A-Za-z0-9_]{0,63}$")]
TeamId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_\-]{0,47}$")]
SheetId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,47}$")]
ColumnName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]
TemplateText = Annotated[str, StringConstraints(max_length=4000)]
MessageText = Annotated[str, StringConstraints(max_length=4000)]
Scalar = str | int | float | bool | None

Fmt = Literal["yaml", "json"]
ConversationChannel = Literal["web_chat", "email", "test"]
CHANNELS: tuple[str, ...] = ("web_chat", "email", "test")
ConditionOp = Literal["exists", "not_exists", "equals", "not_equals", "in", "not_in", "contains", "regex",
                      "gt", "gte", "lt", "lte"]
AnswerKind = Literal["text", "email", "phone", "number", "date", "choice"]
RouteRule = Literal["round_robin", "least_open"]
HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
StepType = Literal["branch", "http", "ask", "send", "update", "close", "route", "jump", "sheet", "promise"]
STEP_TYPES: tuple[str, ...] = ("branch", "http", "ask", "send", "update", "close", "route", "jump", "sheet",
                               "promise")


class Definition(BaseModel):
    """Base of every part of a workflow definition: unknown keys are refused, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# ---------------------------------------------------------------- conditions

class Condition(Definition):
    """``{field, op, value?}``: ``equals`` is case-insensitive for strings, ``in``/``not_in`` take a list,
    ``regex`` is ``re.search``, ``gt``/``gte``/``lt``/``lte`` compare numbers (or ISO dates)."""

    field: FieldRef
    op: ConditionOp
    value: Scalar | list[Scalar] = None

    @model_validator(mode="after")
    def _value_fits_op(self) -> Condition:
        if self.op in ("in", "not_in") and not isinstance(self.value, list):
            raise ValueError(f"op {self.op} needs a list value")
        if self.op in ("exists", "not_exists") and self.value is not None:
            raise ValueError(f"op {self.op} takes no value")
        if self.op not in ("in", "not_in", "exists", "not_exists") and isinstance(self.value, list):
            raise ValueError(f"op {self.op} takes a single value, not a list")
        if self.op == "regex" and not isinstance(self.value, str):
            raise ValueError("op regex needs a pattern string as its value")
        return self


class AllOf(Definition):
    all: list[Cond] = Field(min_length=1, max_length=50)


class AnyOf(Definition):
    any: list[Cond] = Field(min_length=1, max_length=50)


class NotOf(Definition):
    not_: Cond = Field(alias="not")


Cond = Condition | AllOf | AnyOf | NotOf


# ---------------------------------------------------------------- trigger

def _all_channels() -> list[ConversationChannel]:
    return ["web_chat", "email", "test"]


class Trigger(Definition):
    event: Literal["conversation_opened"] = "conversation_opened"
    contacts: Literal["any", "new", "returning"] = "any"
    channels: list[ConversationChannel] = Field(default_factory=_all_channels, min_length=1)
    categories: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = Field(
        default_factory=list, description=(
            "if given, only a conversation of one of these interaction categories (an inbound email's) starts it"))


# ---------------------------------------------------------------- steps

class StepBase(Definition):
    id: StepId


class Branch(Definition):
    when: Cond
    next: StepId


class BranchStep(StepBase):
    """First matching branch wins; otherwise ``else``."""

    type: Literal["branch"]
    branches: list[Branch] = Field(min_length=1, max_length=50)
    else_: StepId = Field(alias="else")


class HttpStep(StepBase):
    type: Literal["http"]
    method: HttpMethod = "GET"
    url: TemplateText = Field(min_length=1)
    headers: dict[Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9\-]{1,64}$")], TemplateText] = Field(
        default_factory=dict)
    body: TemplateText | None = None
    timeout_seconds: int = Field(default=10, ge=1, le=30)
    retries: int = Field(default=2, ge=0, le=5)
    mapping: dict[VarName, Annotated[str, StringConstraints(min_length=1, max_length=500)]] = Field(
        default_factory=dict)
    next: StepId | None = None
    on_failure: StepId | None = None


class Choice(Definition):
    value: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    label: Annotated[str, StringConstraints(max_length=200)] = ""


class AskStep(StepBase):
    type: Literal["ask"]
    kind: AnswerKind = "text"
    text: MessageText = Field(min_length=1)
    choices: list[Choice] = Field(default_factory=list, max_length=50)
    min: str | int | float | None = None
    max: str | int | float | None = None
    pattern: Annotated[str, StringConstraints(max_length=500)] | None = None
    save_as: Target | None = None
    retries: int = Field(default=3, ge=0, le=5)
    retry_text: MessageText = ""
    timeout_seconds: int = Field(default=3600, ge=10, le=604800)
    next: StepId | None = None
    on_invalid: StepId | None = None
    on_timeout: StepId | None = None

    @model_validator(mode="after")
    def _options_fit_kind(self) -> AskStep:
        if self.kind == "choice" and not self.choices:
            raise ValueError("a choice question needs choices")
        if self.kind != "choice" and self.choices:
            raise ValueError(f"choices are for choice questions, not {self.kind}")
        if self.pattern is not None and self.kind != "text":
            raise ValueError("pattern is for text questions")
        if (self.min is not None or self.max is not None) and self.kind not in ("number", "date"):
            raise ValueError("min/max are for number and date questions")
        return self


class SendStep(StepBase):
    type: Literal["send"]
    text: MessageText = Field(min_length=1)
    next: StepId | None = None


class UpdateStep(StepBase):
    type: Literal["update"]
    field: Target
    value: TemplateText
    next: StepId | None = None


class CloseStep(StepBase):
    type: Literal["close"]
    message: MessageText = ""


class RouteStep(StepBase):
    type: Literal["route"]
    team: TeamId
    rule: RouteRule | None = None  # None: the team's own rule
    skill: Annotated[str, StringConstraints(max_length=64)] = ""
    message: MessageText = ""


class JumpStep(StepBase):
    type: Literal["jump"]
    to: StepId
    max: int = Field(default=10, ge=1, le=20)


class SheetStep(StepBase):
    type: Literal["sheet"]
    sheet: SheetId
    columns: dict[ColumnName, TemplateText] = Field(min_length=1, max_length=50)
    next: StepId | None = None


class PromiseStep(StepBase):
    type: Literal["promise"]
    invoice: TemplateText = "{{ contact.lead_invoice }}"
    amount: TemplateText = "{{ contact.lead_invoice_amount }}"
    until: TemplateText = Field(min_length=1)
    next: StepId | None = None
    on_failure: StepId | None = None


Step = Annotated[BranchStep | HttpStep | AskStep | SendStep | UpdateStep | CloseStep | RouteStep | JumpStep
                 | SheetStep | PromiseStep, Field(discriminator="type")]


class WorkflowDefinition(Definition):
    """A workflow as the business user writes it (``infra/workflows/workflow.schema.json``)."""

    id: WorkflowId
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    description: Annotated[str, StringConstraints(max_length=2000)] = ""
    trigger: Trigger = Field(default_factory=Trigger)
    priority: int = Field(default=0, ge=0, le=1000)
    start: StepId
    variables: dict[VarName, Scalar] = Field(default_factory=dict)
    steps: list[Step] = Field(min_length=1, max_length=200)

    def step(self, step_id: str) -> StepModel | None:
        for s in self.steps:
            if s.id == step_id:
                return s
        return None


StepModel = (BranchStep | HttpStep | AskStep | SendStep | UpdateStep | CloseStep | RouteStep | JumpStep | SheetStep
             | PromiseStep)


# ---------------------------------------------------------------- validation report

class StepError(BaseModel):
    """One problem: ``step`` is the step id it is in (None: the whole workflow), ``path`` a JSON-path-like
    location (``steps[3].retries``), ``message`` readable by a business user."""

    model_config = ConfigDict(frozen=True)

    step: str | None
    path: str
    message: str


class ValidationReport(BaseModel):
    ok: bool
    errors: list[StepError] = Field(default_factory=list)
    definition: WorkflowDefinition | None = None


# ---------------------------------------------------------------- interpreter

RunStatus = Literal["running", "waiting_answer", "waiting_http", "handed_off", "closed", "failed"]
Wait = Literal["answer", "http", "promise", "end"]


class RunState(BaseModel):
    """Where a conversation is in its workflow. ``version`` is "3" or "draft-<hash12>"; ``attempts`` counts
    ask retries used and jumps taken (keys ``ask:<step>``, ``jump:<step>``); ``seq`` increments once per
    :func:`dunning.workflows.interpreter.advance` call; ``transitions`` counts steps taken.
    ``conversation`` (id, channel, number) and ``settings`` (``Config.conversations.settings``) are the
    template context the runtime sets at the start."""

    model_config = ConfigDict(extra="forbid")

    workflow_id: str
    version: str
    step: str | None = None
    variables: dict[str, Any] = Field(default_factory=dict)
    contact: dict[str, Any] = Field(default_factory=dict)
    conversation: dict[str, Any] = Field(default_factory=dict)
    settings: dict[str, Any] = Field(default_factory=dict)
    attempts: dict[str, int] = Field(default_factory=dict)
    seq: int = 0
    transitions: int = 0
    status: RunStatus = "running"
    error: str = ""


class HttpResult(BaseModel):
    ok: bool
    status: int | None = None
    body: Any = None
    error: str = ""


class Event(BaseModel):
    """What resumes a run: ``start``; an ``answer`` (``text``); a ``timeout``; an ``http_result`` (``http``);
    a ``promise_result`` (``ok``). ``today`` is the business date relative date bounds use (default: UTC today)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["start", "answer", "timeout", "http_result", "promise_result"]
    text: str = ""
    http: HttpResult | None = None
    ok: bool = False
    today: date | None = None


class SendMessage(BaseModel):
    action: Literal["send"] = "send"
    text: str


class AskPrompt(BaseModel):
    """A question to put to the customer; ``attempt`` is 0 for the first asking, n for the n-th re-ask
    (``text`` is then the step's ``retry_text`` when it has one)."""

    action: Literal["ask"] = "ask"
    step: str
    text: str
    kind: AnswerKind
    choices: list[Choice] = Field(default_factory=list)
    timeout_seconds: int
    attempt: int = 0


class HttpCall(BaseModel):
    """An HTTP request to make; ``url``/``headers``/``body`` may hold ``«secret:NAME»`` placeholders the HTTP
    Lambda resolves."""

    action: Literal["http"] = "http"
    step: str
    method: HttpMethod
    url: str
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = None
    timeout_seconds: int
    retries: int


class RouteTo(BaseModel):
    action: Literal["route"] = "route"
    step: str
    team: str
    rule: RouteRule | None = None
    skill: str = ""
    message: str = ""


class UpdateField(BaseModel):
    """A contact field to store on the contact profile (``field`` without the ``contact.`` prefix)."""

    action: Literal["update"] = "update"
    field: str
    value: Any


class SaveRow(BaseModel):
    action: Literal["sheet"] = "sheet"
    sheet: str
    columns: dict[str, str]


class RecordPromise(BaseModel):
    action: Literal["promise"] = "promise"
    step: str
    invoice: str
    amount: str
    until: str  # ISO date


class CloseConversation(BaseModel):
    action: Literal["close"] = "close"
    message: str = ""


Action = Annotated[SendMessage | AskPrompt | HttpCall | RouteTo | UpdateField | SaveRow | RecordPromise
                   | CloseConversation, Field(discriminator="action")]


class StepTaken(BaseModel):
    step: str
    type: str
    outcome: str
    at_transition: int
    variables: dict[str, Any] = Field(default_factory=dict)


class Advance(BaseModel):
    state: RunState
    actions: list[Action] = Field(default_factory=list)
    wait: Wait
    steps: list[StepTaken] = Field(default_factory=list)


# ---------------------------------------------------------------- versions, drafts, diffs (dunning.app.workflows)

DraftState = Literal["none", "same", "changed", "invalid"]


class WorkflowVersionInfo(BaseModel):
    n: int
    hash: str
    published_by: str = ""
    published_at: datetime
    note: str = ""


class WorkflowVersion(WorkflowVersionInfo):
    """An immutable published version."""

    workflow_id: str
    source: str
    fmt: Fmt
    definition: WorkflowDefinition


class WorkflowSummary(BaseModel):
    id: str
    name: str
    live_version: int | None = None
    latest_version: int = 0
    draft_state: DraftState = "none"
    priority: int = 0
    trigger: Trigger = Field(default_factory=Trigger)


class WorkflowDraft(BaseModel):
    """A saved draft, kept even when invalid (``errors``)."""

    workflow_id: str
    source: str
    fmt: Fmt
    hash: str
    ok: bool
    errors: list[StepError] = Field(default_factory=list)
    saved_by: str = ""
    saved_at: datetime


class WorkflowDetail(BaseModel):
    summary: WorkflowSummary
    draft: WorkflowDraft | None = None
    versions: list[WorkflowVersionInfo] = Field(default_factory=list)
    definition: WorkflowDefinition | None = None  # the live version's (else the draft's, when valid)


class WorkflowDiff(BaseModel):
    a: str
    b: str
    unified: str
    added: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)
    changed: list[str] = Field(default_factory=list)


class TemplateInfo(BaseModel):
    id: str
    name: str
    description: str = ""
    fmt: Fmt = "yaml"


AllOf.model_rebuild()
AnyOf.model_rebuild()
NotOf.model_rebuild()
Branch.model_rebuild()
