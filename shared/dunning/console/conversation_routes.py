"""The agent side of conversations (S4.5, S4.6): the inbox (conversations assigned to me, and one queue per team I
sit in) and a conversation's page: the thread with who wrote each message (customer, bot, agent), the reply box,
"Assign to me", "Close", and the execution history: the steps the workflow took, its variables and the version
it runs on (a link to that version).

Thin handlers over :mod:`dunning.app.conversations`: each asks the permission it needs, calls one use case and
renders a template or redirects (post/redirect/get with a ``done`` notice). The teams an agent sits in are
configuration (``conversations.agents``); the use cases decide who may see and answer what.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from dunning.app import conversations as conv
from dunning.app.queries import NotFound
from dunning.auth import Group, Permission, Principal
from dunning.console import pages
from dunning.console.session import BadForm

if TYPE_CHECKING:
    from types import ModuleType

    from dunning.app.conversations import ConversationDeps
    from dunning.models.config import Config

router = APIGatewayHttpRouter()
INBOX = pages.BASE + "/inbox"
BASE = pages.BASE + "/conversations"
SECTION = "inbox"
MAX_REPLY = 4000
STATUSES: tuple[str, ...] = ("handed_off", "closed")  # the inbox's status filter: waiting for an agent, closed


def _console() -> ModuleType:
    from dunning.console import routes  # the console's helpers; routes.py imports this module to register it

    return routes


def _deps() -> ConversationDeps:
    made: ConversationDeps | None = _console().deps().conversations
    if made is None:  # a stack without the conversations table (CONVERSATIONS_TABLE empty)
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


def _now() -> datetime:
    return datetime.now(UTC)


def conversation_url(conversation_id: str, done: str = "", anchor: str = "") -> str:
    url = f"{BASE}/{quote(conversation_id, safe='')}"
    return url + (f"?done={done}" if done else "") + (f"#{anchor}" if anchor else "")


@router.exception_handler(conv.ConversationNotFound)
def _not_found(exc: conv.ConversationNotFound) -> Response:
    answer: Response = _console().error_page(404, "error.not_found", str(exc))
    return answer


@router.exception_handler(conv.ConversationConflict)
def _conflict(exc: conv.ConversationConflict) -> Response:
    answer: Response = _console().error_page(409, "error.conflict", str(exc))
    return answer


@router.exception_handler(conv.ConversationClosed)
def _closed(exc: conv.ConversationClosed) -> Response:
    msg = _console().session().messages
    answer: Response = _console().error_page(409, "conversations.error.closed",
                                             msg("conversations.error.closed_detail"))
    return answer


# ---------------------------------------------------------------------------------------------- view helpers
@dataclass(frozen=True)
class Tab:
    key: str  # "mine" or "team:<id>"
    label: str
    href: str
    current: bool


def my_teams(config: Config, user: Principal) -> list[tuple[str, str]]:
    """(team id, name) of the teams whose queues the user sees: the teams the configuration seats an agent in;
    an admin or a supervisor sees every team's (the teams they sit in first)."""
    cfg = config.conversations
    names = {t.id: t.name for t in cfg.teams}
    found = cfg.agent(user.username)
    seated = [t for t in (found.teams if found else []) if t in names]
    if user.groups & {Group.ADMIN, Group.SUPERVISOR}:
        seated += [t.id for t in cfg.teams if t.id not in seated]
    return [(t, names[t]) for t in seated]


def tabs(teams: list[tuple[str, str]], chosen: str, status: str, mine_label: str) -> list[Tab]:
    def href(key: str) -> str:
        query = {"queue": key, **({"status": status} if status != STATUSES[0] else {})}
        return f"{INBOX}?{urlencode(query)}"

    keys = [("mine", mine_label)] + [(f"team:{t}", name) for t, name in teams]
    return [Tab(key=k, label=label, href=href(k), current=k == chosen) for k, label in keys]


# a thread entry as the agent reads it: who wrote it (its role) and whether the customer sees it
ROLE_OF_KIND = {"chat_in": "customer", "email_in": "customer", "chat_out": "bot", "auto_reply": "bot",
                "email_out": "agent", "note": "note", "system": "system"}


def role_of(entry: Any) -> str:
    kind = str(entry.kind)
    if kind == "comment":
        return "agent" if entry.visibility == "customer" else "note"
    return ROLE_OF_KIND.get(kind, "system")


# ---------------------------------------------------------------------------------------------- inbox
@router.get("/console/inbox")
def inbox_page() -> Response:
    user = _user(Permission.CONVERSATIONS_READ)
    d = _deps()
    msg = _console().session().messages
    q = _console().session().query
    teams = my_teams(d.config(), user)
    status = q.get("status", STATUSES[0])
    if status not in STATUSES:
        raise BadForm(f"status: {status!r} is not one of {', '.join(STATUSES)}")
    chosen = q.get("queue", "mine")
    if chosen != "mine" and chosen.removeprefix("team:") not in {t for t, _ in teams}:
        raise BadForm("not one of your team queues")
    if chosen == "mine":
        items = conv.inbox(d, user, status=status, mine=True)
    else:
        items = conv.inbox(d, user, team=chosen.removeprefix("team:"), status=status)
    names = dict(teams) | {t.id: t.name for t in d.config().conversations.teams}
    return _page("inbox.html.j2", items=items, tabs=tabs(teams, chosen, status, msg("inbox.mine")),
                 chosen=chosen, chosen_status=status, statuses=STATUSES,
                 team_name=lambda t: names.get(t or "", t or ""), me=user.username)


# ---------------------------------------------------------------------------------------------- one conversation
@router.get("/console/conversations/<conversation_id>")
def conversation_page(conversation_id: str) -> Response:
    user = _user(Permission.CONVERSATIONS_READ)
    d = _deps()
    detail = conv.conversation_detail(d, user, conversation_id)
    names = {t.id: t.name for t in d.config().conversations.teams}
    version = str(detail.conversation.version or "")
    return _page("conversation.html.j2", detail=detail, item=detail.conversation, role_of=role_of,
                 team_name=lambda t: names.get(t or "", t or ""), version=version,
                 version_url=_version_url(detail.conversation.workflow_id, version),
                 can_write=user.can(Permission.CONVERSATIONS_WRITE), me=user.username,
                 can_workflows=user.can(Permission.WORKFLOWS_READ),
                 can_interactions=user.can(Permission.INTERACTIONS_READ))


def _version_url(workflow_id: str | None, version: str) -> str:
    """The version a conversation runs on: a published version's page; a draft snapshot ("Try it") has none,
    so its workflow's page."""
    if not workflow_id:
        return ""
    base = f"{pages.BASE}/workflows/{quote(workflow_id, safe='')}"
    return f"{base}/versions/{version}" if version.isdigit() else base


@router.post("/console/conversations/<conversation_id>/reply")
def reply(conversation_id: str) -> Response:
    user = _user(Permission.CONVERSATIONS_WRITE)
    values: dict[str, str] = _console().form()
    text = values.get("text", "").strip()
    if not text:
        raise BadForm("the reply is empty")
    if len(text) > MAX_REPLY:
        raise BadForm(f"the reply is longer than {MAX_REPLY} characters")
    conv.agent_reply(_deps(), user, conversation_id, text, _now())
    return _redirect(conversation_url(conversation_id, "conversation_reply_sent", "thread-heading"))


@router.post("/console/conversations/<conversation_id>/assign")
def assign_to_me(conversation_id: str) -> Response:
    user = _user(Permission.CONVERSATIONS_WRITE)
    values: dict[str, str] = _console().form()
    to = user.username if values.get("to", "me") == "me" else None
    conv.assign(_deps(), user, conversation_id, to, _now())
    return _redirect(conversation_url(conversation_id, "assigned" if to else "unassigned"))


@router.post("/console/conversations/<conversation_id>/close")
def close(conversation_id: str) -> Response:
    user = _user(Permission.CONVERSATIONS_WRITE)
    values: dict[str, str] = _console().form()
    conv.close_conversation(_deps(), user, conversation_id, _now(), reason=values.get("reason", "").strip()[:500])
    return _redirect(conversation_url(conversation_id, "conversation_closed"))
