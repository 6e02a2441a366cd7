"""The console's workflow pages (S4.6, S4.7): the list of workflows (and new ones from the shipped templates), a
workflow with its diagram (SVG drawn on the server), its versions and a diff between any two of them, the editor
(validate, save a draft, publish; the errors listed by step and linked to the step's box in the diagram), and
"Try it": a test-channel conversation against the draft, played from the browser.

Thin handlers: each asks the permission it needs, calls one use case of :mod:`dunning.app.workflows` (or, for
"Try it", :mod:`dunning.app.conversations`), and renders a template or redirects (post/redirect/get with a ``done``
notice). The helpers (session, page chrome, redirects) are the console's own, in :mod:`dunning.console.routes`,
which registers this router; they are imported when a page runs (routes imports this module).

"Try it" plays the customer: the conversation's customer token is kept in an HttpOnly cookie (the latest test
conversation of this browser), never in a URL.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, cast
from urllib.parse import quote, unquote

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from markupsafe import Markup
from pydantic import ValidationError

from dunning.app import conversations as conv
from dunning.app import workflows as wf
from dunning.app.queries import NotFound
from dunning.auth import Forbidden, Permission, Principal
from dunning.console import pages
from dunning.console.session import BadForm
from dunning.models.conversations import NewConversation
from dunning.models.workflows import StepError, WorkflowDefinition
from dunning.workflows import templates as shipped
from dunning.workflows.diagram import render_svg
from dunning.workflows.validate import parse_source

if TYPE_CHECKING:
    from types import ModuleType

    from dunning.app.conversations import ConversationDeps
    from dunning.app.workflows import WorkflowDeps

router = APIGatewayHttpRouter()
BASE = pages.BASE + "/workflows"
SECTION = "workflows"
MAX_SOURCE = 200_000  # characters of YAML/JSON the editor takes
MAX_MESSAGE = 4000
# this browser's latest test chat: "<workflow id>|<conversation id>|<customer token>", each part %-quoted
TRY_COOKIE = "dunning_try"
TRY_HOURS = 8
FORMATS: tuple[str, ...] = ("yaml", "json")


def _console() -> ModuleType:
    from dunning.console import routes  # the console's helpers; routes.py imports this module to register it

    return routes


def _deps() -> WorkflowDeps:
    made: WorkflowDeps | None = _console().deps().workflows
    if made is None:  # a stack without the conversations table (CONVERSATIONS_TABLE empty)
        raise NotFound("workflows are not set up on this console")
    return made


def _conversations() -> ConversationDeps:
    made: ConversationDeps | None = _console().deps().conversations
    if made is None:
        raise NotFound("conversations are not set up on this console")
    return made


def _user(permission: Permission) -> Principal:
    c = _console()
    principal: Principal = c.session().require(c.deps().pool, permission)
    return principal


def _page(template: str, *, status: int = 200, **context: Any) -> Response:
    answer: Response = _console().html(template, status=status, section=SECTION, **context)
    return answer


def _redirect(location: str) -> Response:
    answer: Response = _console().redirect(location)
    return answer


def _form() -> dict[str, str]:
    values: dict[str, str] = _console().form()
    return values


def _query() -> dict[str, str]:
    query: dict[str, str] = _console().session().query
    return query


def _now() -> datetime:
    return datetime.now(UTC)


def workflow_url(wf_id: str, tail: str = "", done: str = "") -> str:
    url = f"{BASE}/{quote(wf_id, safe='')}{tail}"
    return url + (f"?done={done}" if done else "")


# ---------------------------------------------------------------------------------------------- errors
def _error(status: int, heading_key: str, detail: str) -> Response:
    answer: Response = _console().error_page(status, heading_key, detail)
    return answer


@router.exception_handler(wf.WorkflowNotFound)
def _workflow_not_found(exc: wf.WorkflowNotFound) -> Response:
    return _error(404, "error.not_found", str(exc))


@router.exception_handler(wf.WorkflowConflict)
def _workflow_conflict(exc: wf.WorkflowConflict) -> Response:
    return _error(409, "error.conflict", str(exc))


@router.exception_handler(wf.WorkflowInvalid)
def _workflow_invalid(exc: wf.WorkflowInvalid) -> Response:
    """Outside the editor (which shows the errors by step): "Try it" of a draft that does not validate."""
    return _error(422, "workflows.error.invalid", str(exc))


# ---------------------------------------------------------------------------------------------- view helpers
@dataclass(frozen=True)
class ErrorGroup:
    """The errors of one step (``step`` None: of the whole workflow), in the order the editor lists them;
    ``anchor`` is the step's box in the diagram (``#step-<id>``) when the diagram shows that step."""

    step: str | None
    anchor: str
    errors: list[StepError] = field(default_factory=list)


def group_errors(errors: list[StepError], definition: WorkflowDefinition | None) -> list[ErrorGroup]:
    """Whole-workflow errors first, then each step's in the order of the steps in the definition (steps the
    diagram does not show, such as one the schema refused, in the order of the errors, without a link)."""
    order = {s.id: i for i, s in enumerate(definition.steps)} if definition else {}
    by_step: dict[str | None, list[StepError]] = {}
    for e in errors:
        by_step.setdefault(e.step, []).append(e)
    seen = list(by_step)
    keys = sorted(seen, key=lambda k: (k is not None, order.get(k, len(order)) if k else -1, seen.index(k)))
    return [ErrorGroup(step=k, anchor=f"step-{k}" if k is not None and k in order else "", errors=by_step[k])
            for k in keys]


@dataclass(frozen=True)
class DiffLine:
    kind: Literal["file", "hunk", "add", "remove", "same"]
    sign: str
    text: str


def diff_lines(unified: str) -> list[DiffLine]:
    """A unified diff as lines the page marks with a sign and a word (added, removed), not with colour only."""
    out: list[DiffLine] = []
    for line in unified.splitlines():
        if line.startswith(("+++", "---")):
            out.append(DiffLine("file", "", line))
        elif line.startswith("@@"):
            out.append(DiffLine("hunk", "", line))
        elif line.startswith("+"):
            out.append(DiffLine("add", "+", line[1:]))
        elif line.startswith("-"):
            out.append(DiffLine("remove", "\u2212", line[1:]))
        else:
            out.append(DiffLine("same", "", line[1:] if line.startswith(" ") else line))
    return out


def detect_format(text: str) -> str:
    return "json" if text.lstrip().startswith(("{", "[")) else "yaml"


def _fmt(values: dict[str, str], text: str) -> str:
    chosen = values.get("fmt", "auto")
    if chosen in FORMATS:
        return chosen
    if chosen not in ("auto", ""):
        raise BadForm(f"fmt: {chosen!r} is not yaml, json or auto")
    return detect_format(text)


def _source(values: dict[str, str]) -> str:
    text = values.get("source", "").replace("\r\n", "\n")
    if not text.strip():
        raise BadForm("the workflow is empty")
    if len(text) > MAX_SOURCE:
        raise BadForm(f"the workflow is longer than {MAX_SOURCE} characters")
    return text


def diagram(definition: WorkflowDefinition | None, *, highlight: list[str] | None = None,
            errors: list[StepError] | None = None) -> Markup | None:
    """The diagram drawn on the server (every text in it escaped by :mod:`dunning.workflows.diagram`)."""
    if definition is None:
        return None
    svg = render_svg(definition, highlight=highlight or [], errors=errors or [])
    return Markup(svg)  # noqa: S704 - our own renderer's SVG, its texts escaped there


def drawable(text: str, fmt: str) -> WorkflowDefinition | None:
    """The definition as written, when it parses and fits the model though the graph checks fail (a missing
    target, a loop without a question...): the diagram of what the user wrote, with the steps in error outlined.
    None when it does not even parse."""
    doc, problem = parse_source(text, fmt)
    if problem is not None:
        return None
    try:
        return WorkflowDefinition.model_validate(doc)
    except ValidationError:
        return None


def _can(user: Principal) -> dict[str, bool]:
    return {"can_write": user.can(Permission.WORKFLOWS_WRITE), "can_publish": user.can(Permission.WORKFLOWS_PUBLISH)}


# ---------------------------------------------------------------------------------------------- list
@router.get("/console/workflows")
def workflows_page() -> Response:
    user = _user(Permission.WORKFLOWS_READ)
    items = wf.list_workflows(_deps(), user)
    templates = shipped.list_templates() if user.can(Permission.WORKFLOWS_WRITE) else []
    known = {w.id for w in items}
    return _page("workflows.html.j2", items=items, templates=templates, known=known, **_can(user))


@router.post("/console/workflows")
def new_workflow() -> Response:
    """A new workflow from a shipped template: its draft, saved under the template's id (a workflow's id is in
    its source); the editor opens on it."""
    user = _user(Permission.WORKFLOWS_WRITE)
    values = _form()
    choices = {t.id: t for t in shipped.list_templates()}
    template = choices.get(values.get("template", ""))
    if template is None:
        raise BadForm("unknown template")
    d = _deps()
    try:
        wf.get_workflow(d, user, template.id)
    except wf.WorkflowNotFound:
        pass
    else:  # it exists: open it rather than overwrite its draft
        return _redirect(workflow_url(template.id, "/edit", "workflow_exists"))
    wf.save_draft(d, user, template.id, shipped.load_template(template.id), template.fmt, _now())
    return _redirect(workflow_url(template.id, "/edit", "draft_created"))


# ---------------------------------------------------------------------------------------------- one workflow
@router.get("/console/workflows/<wf_id>")
def workflow_page(wf_id: str) -> Response:
    user = _user(Permission.WORKFLOWS_READ)
    d = _deps()
    detail = wf.get_workflow(d, user, wf_id)
    q = _query()
    choices = ["draft"] * (detail.draft is not None) + [str(v.n) for v in reversed(detail.versions)]
    newest = str(detail.versions[-1].n) if detail.versions else ""
    a = q.get("from", "")
    b = q.get("to", "")
    diff = None
    if a and b:
        if a not in choices or b not in choices:
            raise BadForm("unknown version to compare")
        diff = wf.diff(d, user, wf_id, a, b)
    else:  # the default pair: the version before the newest and the newest (or the newest and the draft)
        b = "draft" if detail.draft is not None and detail.summary.draft_state == "changed" else newest
        a = newest if b == "draft" else (str(detail.versions[-2].n) if len(detail.versions) > 1 else newest)
    return _page("workflow.html.j2", detail=detail, summary=detail.summary, diagram=diagram(detail.definition),
                 choices=choices, diff_from=a, diff_to=b, diff=diff,
                 lines=diff_lines(diff.unified) if diff else [], **_can(user))


@router.get("/console/workflows/<wf_id>/versions/<n>")
def version_page(wf_id: str, n: str) -> Response:
    user = _user(Permission.WORKFLOWS_READ)
    if not n.isdigit():
        raise NotFound(f"no version {n} of {wf_id}")
    d = _deps()
    version = wf.version(d, user, wf_id, int(n))
    detail = wf.get_workflow(d, user, wf_id)
    highlight = [s for s in _query().get("steps", "").split(",") if s][:200]
    return _page("workflow_version.html.j2", summary=detail.summary, version=version,
                 diagram=diagram(version.definition, highlight=highlight))


# ---------------------------------------------------------------------------------------------- editor
def _editor(user: Principal, wf_id: str, *, status: int = 200, source: str | None = None, fmt: str | None = None,
            errors: list[StepError] | None = None, definition: WorkflowDefinition | None = None,
            checked: str = "", note: str = "") -> Response:
    """The editor page. ``checked``: what was just done with the text (``validated``, ``refused``), whose result
    the page shows; otherwise the saved draft's errors."""
    d = _deps()
    detail = wf.get_workflow(d, user, wf_id)
    draft = detail.draft
    if source is None:
        if draft is not None:
            source, fmt, errors = draft.source, draft.fmt, list(draft.errors)
            definition = definition or (drawable(source, fmt) if errors else None)
        elif detail.versions:
            live = wf.version(d, user, wf_id, detail.versions[-1].n)
            source, fmt, errors = live.source, live.fmt, []
        else:
            source, fmt, errors = "", "yaml", []
    errors = errors or []
    # the diagram: of the text as written when it parses, else of the last good one (live, or the valid draft)
    shown = definition or detail.definition
    return _page("workflow_edit.html.j2", status=status, summary=detail.summary, detail=detail, source=source,
                 fmt=fmt or detect_format(source), formats=FORMATS, errors=errors,
                 groups=group_errors(errors, shown), diagram=diagram(shown, errors=errors), checked=checked,
                 note=note, draft=draft, **_can(user))


@router.get("/console/workflows/<wf_id>/edit")
def edit_page(wf_id: str) -> Response:
    user = _user(Permission.WORKFLOWS_READ)
    return _editor(user, wf_id)


@router.post("/console/workflows/<wf_id>/edit")
def edit_submit(wf_id: str) -> Response:
    values = _form()
    action = values.get("action", "")
    if action not in ("validate", "save", "publish"):
        raise BadForm("unknown action")
    user = _user(Permission.WORKFLOWS_PUBLISH if action == "publish" else Permission.WORKFLOWS_WRITE)
    text = _source(values)
    fmt = _fmt(values, text)
    note = values.get("note", "").strip()[:500]
    d = _deps()
    if action == "validate":
        report = wf.validate(d, text, cast("Any", fmt))
        return _editor(user, wf_id, status=200 if report.ok else 422, source=text, fmt=fmt,
                       errors=list(report.errors), definition=report.definition or drawable(text, fmt),
                       checked="validated", note=note)
    if action == "save":
        wf.save_draft(d, user, wf_id, text, cast("Any", fmt), _now())
        return _redirect(workflow_url(wf_id, "/edit", "draft_saved"))
    before = wf.get_workflow(d, user, wf_id).summary.latest_version
    try:
        published = wf.publish(d, user, wf_id, _now(), note=note, text=text, fmt=cast("Any", fmt))
    except wf.WorkflowInvalid as exc:  # the text's diagram, its steps in error outlined
        return _editor(user, wf_id, status=422, source=text, fmt=fmt, errors=list(exc.errors),
                       definition=drawable(text, fmt), checked="refused", note=note)
    done = "workflow_published" if published.n > before else "workflow_unchanged"
    return _redirect(workflow_url(wf_id, "", done) + "#versions-heading")


# ---------------------------------------------------------------------------------------------- try it
def _try_cookie() -> tuple[str, str, str] | None:
    s = _console().session()
    value = s.cookie(TRY_COOKIE) or ""
    parts = [unquote(p) for p in value.split("|")]
    if len(parts) != 3 or not all(parts):
        return None
    return parts[0], parts[1], parts[2]


def _token_for(wf_id: str, conversation_id: str) -> str | None:
    kept = _try_cookie()
    if kept and kept[0] == wf_id and kept[1] == conversation_id:
        return kept[2]
    return None


@router.get("/console/workflows/<wf_id>/try")
def try_page(wf_id: str) -> Response:
    user = _user(Permission.WORKFLOWS_WRITE)
    detail = wf.get_workflow(_deps(), user, wf_id)
    kept = _try_cookie()
    current = kept[1] if kept and kept[0] == wf_id else ""
    return _page("workflow_try.html.j2", summary=detail.summary, detail=detail, draft=detail.draft, current=current,
                 conversation=None, view=None, history=None, token=False, client_message_id="")


@router.post("/console/workflows/<wf_id>/try")
def try_start(wf_id: str) -> Response:
    """A try snapshot of the draft, and a test-channel conversation on it; the chat page opens."""
    user = _user(Permission.WORKFLOWS_WRITE)
    values = _form()
    version = wf.try_snapshot(_deps(), user, wf_id, _now())
    s = _console().session()
    new = NewConversation(channel="test", name=values.get("name", "").strip()[:200] or None,
                               email=values.get("email", "").strip()[:320] or None,
                               phone=values.get("phone", "").strip()[:40] or None,
                               language=s.messages.language, text=values.get("text", "").strip()[:MAX_MESSAGE] or None,
                               fields={})
    opened = conv.open_conversation(_conversations(), new, _now(), principal=user, workflow=(wf_id, version))
    conversation_id = opened.conversation.id
    kept = "|".join(quote(part, safe="") for part in (wf_id, conversation_id, opened.token))
    s.set_cookies.append(s.policy.set(TRY_COOKIE, kept, max_age=TRY_HOURS * 3600))
    return _redirect(workflow_url(wf_id, f"/try/{quote(conversation_id, safe='')}"))


@router.get("/console/workflows/<wf_id>/try/<conversation_id>")
def try_chat(wf_id: str, conversation_id: str) -> Response:
    user = _user(Permission.WORKFLOWS_WRITE)
    d = _conversations()
    detail = wf.get_workflow(_deps(), user, wf_id)
    token = _token_for(wf_id, conversation_id)
    view = conv.customer_view(d, conversation_id, token, None) if token else None
    try:
        history = conv.conversation_detail(d, user, conversation_id)
    except Forbidden:
        history = None
    started_on = history.conversation.workflow_id if history is not None else None
    if started_on is not None and started_on != wf_id:  # None: the workflow has not started yet
        raise NotFound(f"no test conversation {conversation_id} of {wf_id}")
    return _page("workflow_try.html.j2", summary=detail.summary, detail=detail, draft=detail.draft,
                 current=conversation_id, conversation_id=conversation_id, view=view, history=history,
                 token=bool(token), client_message_id=secrets.token_hex(8),
                 diagram=diagram(_run_definition(user, wf_id, history), highlight=_taken(history)))


def _run_definition(user: Principal, wf_id: str, history: Any) -> WorkflowDefinition | None:
    """The definition the test conversation runs (its draft snapshot), for the diagram with its steps taken."""
    if history is None:
        return None
    try:
        return wf.definition_for(_deps(), wf_id, str(history.conversation.version))
    except (wf.WorkflowNotFound, NotFound):
        return None


def _taken(history: Any) -> list[str]:
    return list(dict.fromkeys(s.step for s in history.steps)) if history is not None else []


@router.post("/console/workflows/<wf_id>/try/<conversation_id>/messages")
def try_message(wf_id: str, conversation_id: str) -> Response:
    _user(Permission.WORKFLOWS_WRITE)
    values = _form()
    token = _token_for(wf_id, conversation_id)
    if token is None:
        raise BadForm("this browser did not start that test conversation: start a new one")
    text = values.get("text", "").strip()
    if not text:
        raise BadForm("the message is empty")
    if len(text) > MAX_MESSAGE:
        raise BadForm(f"the message is longer than {MAX_MESSAGE} characters")
    client_id = values.get("client_message_id", "")[:64] or secrets.token_hex(8)
    conv.accept_message(_conversations(), conversation_id, token, text, client_id, _now())
    return _redirect(workflow_url(wf_id, f"/try/{quote(conversation_id, safe='')}", "message_sent") + "#chat-log")
