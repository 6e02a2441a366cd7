"""The console's interaction pages (S3): the list by stage, recording a phone request, an interaction's detail
(stage moves, the reply thread, email replies, time, links, tasks, similar requests, attachments, disputes and
promises to pay), the time and content reports, and stage membership.

Thin handlers: each asks the permission it needs, calls one use case of :mod:`dunning.app.interactions`,
:mod:`dunning.app.interaction_reports` or :mod:`dunning.app.interaction_mail`, and renders a template or
redirects (post/redirect/get, with a ``done`` notice). The stage rules (members only) are the use cases'; their
refusals become the console's 403, 404, 409 and 422 pages here.

Attachments go straight from the browser to S3: the page holds a plain HTML form posting to the presigned POST
URL, whose ``success_action_redirect`` comes back to the console, which then completes the upload (a HEAD check
of type and size). The page's Content-Security-Policy allows that one form target.

The helpers (session, page chrome, redirects) are the console's own, in :mod:`dunning.console.routes`, which
registers this router; they are imported when a page runs, not at import (routes imports this module).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote, urlencode

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from dunning.app import interaction_reports as reports
from dunning.app import interactions as uc
from dunning.app.interaction_mail import send_auto_reply, send_reply
from dunning.app.operations import InvalidRequest
from dunning.auth import Forbidden, Group, Permission, Principal
from dunning.console import charts, pages, security
from dunning.console.session import BadForm
from dunning.errors import DunningError
from dunning.interactions.domain import ALLOWED_CONTENT_TYPES, MAX_ATTACHMENT_BYTES
from dunning.models.config import InteractionsConfig
from dunning.models.interactions import ContentReport, EntryKind, Interaction, LinkKind, TimeReport, Visibility
from dunning.observability import logger

if TYPE_CHECKING:
    from types import ModuleType

    from dunning.app.interaction_mail import MailDeps
    from dunning.app.interactions import InteractionDeps

router = APIGatewayHttpRouter()
BASE = pages.BASE + "/interactions"
PAGE_SIZE = 25
AGENT_CHANNELS = ("phone", "call_centre", "direct_marketing", "agent_portal")  # what an agent records by hand
CHANNELS = (*AGENT_CHANNELS, "internet", "email", "chat")
ENTRY_KINDS = ("comment", "note", "email")  # the reply form's choices (email: a reply by mail to the customer)
THREAD_KINDS = ("comment", "note", "email_in", "email_out", "auto_reply", "system")
LINK_KINDS = ("account", "invoice", "contact", "activity", "opportunity", "application", "job")
SHARE_WITH = ("agents", "customer")
MAX_TEXT = 10000
MAX_MINUTES = 24 * 60
REPORT_DAYS = 30  # the reports' default range: the last 30 days
ACCOUNT_INTERACTIONS = 20  # how many of an account's interactions its page lists (and reads attachments of)


def _console() -> ModuleType:
    from dunning.console import routes  # the console's helpers; routes.py imports this module to register it

    return routes


def _deps() -> InteractionDeps:
    made = _console().deps().interactions
    if made is None:  # a stack without the interactions table (INTERACTIONS_TABLE empty)
        from dunning.app.queries import NotFound

        raise NotFound("interactions are not set up on this console")
    return made


def _mail() -> MailDeps:
    made = _console().deps().mail
    if made is None:  # no InboundMailDomain on this stack: nothing to sign reply addresses with
        raise InvalidRequest("email is not set up on this console: the reply was not sent")
    return made


def _auto_reply(interaction: Interaction, trigger: str) -> None:
    """The category's automatic reply for ``trigger`` (``created``, ``stage:<id>``), when mail is set up; the mail
    module records what happened (sent, or why not) in the thread."""
    made = _console().deps().mail
    if made is None:
        return
    try:
        send_auto_reply(made, interaction, trigger, _now())
    except DunningError as exc:  # the interaction stands; the automatic reply is only not sent
        logger.warning("automatic reply not sent", extra={"interaction_id": interaction.id,
                                                          "error": type(exc).__name__})


def _user(permission: Permission) -> Principal:
    c = _console()
    return c.session().require(c.deps().pool, permission)


def _page(template: str, section: str, *, status: int = 200, form_origin: str = "", **context: Any) -> Response:
    answer: Response = _console().html(template, status=status, section=section, **context)
    if form_origin:  # the upload page's form posts to the attachments bucket (its presigned POST URL)
        answer.headers["Content-Security-Policy"] = security.content_security_policy(form_origin=form_origin)
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


def _detail_url(interaction_id: str, done: str = "", anchor: str = "") -> str:
    url = f"{BASE}/{quote(interaction_id, safe='')}"
    if done:
        url += f"?done={done}"
    return url + (f"#{anchor}" if anchor else "")


# ---------------------------------------------------------------------------------------------- errors
def _error(status: int, heading_key: str, detail: str) -> Response:
    answer: Response = _console().error_page(status, heading_key, detail)
    return answer


@router.exception_handler(uc.StageForbidden)
def _stage_forbidden(exc: uc.StageForbidden) -> Response:
    msg = _console().session().messages
    return _error(403, "interactions.error.stage", msg("interactions.error.stage_detail"))


@router.exception_handler(uc.InteractionNotFound)
def _interaction_not_found(exc: uc.InteractionNotFound) -> Response:
    return _error(404, "error.not_found", str(exc))


@router.exception_handler(uc.InteractionConflict)
def _interaction_conflict(exc: uc.InteractionConflict) -> Response:
    msg = _console().session().messages
    return _error(409, "interactions.error.conflict", msg("interactions.error.conflict_detail"))


@router.exception_handler(uc.InvalidTransition)
def _invalid_transition(exc: uc.InvalidTransition) -> Response:
    return _error(422, "interactions.error.refused", str(exc))


@router.exception_handler(InvalidRequest)
def _invalid_request(exc: InvalidRequest) -> Response:
    return _error(422, "interactions.error.invalid", str(exc))


@router.exception_handler(Forbidden)
def _forbidden(exc: Forbidden) -> Response:
    msg = _console().session().messages
    return _error(403, "error.forbidden", msg("error.forbidden_detail"))


# ---------------------------------------------------------------------------------------------- view helpers
@dataclass(frozen=True)
class StageRef:
    process: str
    stage: str
    label: str

    @property
    def value(self) -> str:
        return f"{self.process}/{self.stage}"


def _config() -> InteractionsConfig:
    return _deps().config().interactions


def _is_admin(user: Principal) -> bool:
    return Group.ADMIN in user.groups


def _all_stages(cfg: InteractionsConfig) -> list[StageRef]:
    return [StageRef(p.id, s, f"{p.name} · {_stage_name(cfg, p.id, s)}") for p in cfg.processes for s in p.stage_ids]


def _stage_name(cfg: InteractionsConfig, process: str, stage: str) -> str:
    found = cfg.process(process)
    known = found.stage(stage) if found else None
    return known.name if known else stage


def _category_name(cfg: InteractionsConfig, category: str) -> str:
    found = cfg.category(category)
    return found.name if found else category


def _my_stages(user: Principal, cfg: InteractionsConfig) -> list[StageRef]:
    """The stages the user may see: an admin every stage, anyone else the stages they are a member of."""
    every = _all_stages(cfg)
    if _is_admin(user):
        return every
    mine = {(m.process, m.stage) for m in uc.stages_of(_deps(), user.username)}
    return [s for s in every if (s.process, s.stage) in mine]


def _age(created_at: Any, now: datetime) -> str:
    try:
        then = created_at if isinstance(created_at, datetime) else datetime.fromisoformat(str(created_at))
    except ValueError:
        return "-"
    if then.tzinfo is None:
        then = then.replace(tzinfo=UTC)
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"


def _label(msg: Any, prefix: str, value: str) -> str:
    key = f"{prefix}{value}"
    return str(msg(key)) if msg.has(key) else value


def _helpers(cfg: InteractionsConfig, msg: Any = None) -> dict[str, Any]:
    """The label functions the interaction templates use (names of categories and stages, channel labels...)."""
    msg = msg or _console().session().messages
    return {"category_name": lambda c: _category_name(cfg, c),
            "stage_name": lambda p, s: _stage_name(cfg, p, s),
            "channel_label": lambda c: _label(msg, "interactions.channel.", c),
            "kind_label": lambda k: _label(msg, "interactions.kind.", k),
            "link_label": lambda k: _label(msg, "interactions.link.", k),
            "age": lambda t: _age(t, _now()),
            "fmt_size": _size}


def _size(n: int | None) -> str:
    if n is None:
        return "-"
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.0f} KiB"
    return f"{n / (1024 * 1024):.1f} MiB"


def _text(values: dict[str, str], name: str, *, required: bool = True, limit: int = MAX_TEXT) -> str:
    value = values.get(name, "").strip()
    if required and not value:
        raise BadForm(f"{name} is required")
    if len(value) > limit:
        raise BadForm(f"{name} is longer than {limit} characters")
    return value


def _choice(values: dict[str, str], name: str, allowed: tuple[str, ...] | list[str]) -> str:
    value = values.get(name, "")
    if value not in allowed:
        raise BadForm(f"{name}: {value!r} is not one of the choices")
    return value


def _int(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError as exc:
        raise BadForm(f"{name} is not a whole number") from exc


def _day(value: str | None, default: date) -> date:
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise BadForm(f"not a date: {value!r}") from exc


# ---------------------------------------------------------------------------------------------- list
@router.get("/console/interactions")
def interactions_page() -> Response:
    user = _user(Permission.INTERACTIONS_READ)
    cfg = _config()
    q = _query()
    stages = _my_stages(user, cfg)
    chosen = q.get("stage", "")
    process = q.get("process") or None
    stage = None
    if chosen:
        process, _, stage = chosen.partition("/")
    category = q.get("category", "")
    channel = q.get("channel", "")
    page = uc.list_interactions(_deps(), user, process=process or None, stage=stage or None,
                                next_token=q.get("next") or None, limit=PAGE_SIZE)
    # category and channel narrow the page read (the table is indexed by stage, account and month)
    items = [i for i in page.items
             if (not category or i.category == category) and (not channel or i.channel == channel)]
    filters = {k: v for k, v in (("process", q.get("process", "")), ("stage", chosen), ("category", category),
                                 ("channel", channel)) if v}
    more = f"?{urlencode({**filters, 'next': page.next})}" if page.next else ""
    return _page("interactions.html.j2", "interactions", items=items, stages=stages,
                 processes=cfg.processes, categories=cfg.categories, channels=CHANNELS, chosen_stage=chosen,
                 chosen_process=q.get("process", ""), chosen_category=category, chosen_channel=channel,
                 next_url=more, can_write=user.can(Permission.INTERACTIONS_WRITE), **_helpers(cfg))


# ---------------------------------------------------------------------------------------------- record (phone)
@router.get("/console/interactions/new")
def new_interaction_page() -> Response:
    user = _user(Permission.INTERACTIONS_WRITE)
    cfg = _config()
    q = _query()
    account_id = q.get("account", "").strip()
    account = _account_summary(account_id) if account_id else None
    return _page("interaction_new.html.j2", "interactions", categories=cfg.categories, channels=AGENT_CHANNELS,
                 account_id=account_id, account=account, missing=bool(account_id and account is None),
                 values={"channel": q.get("channel", "phone"), "category": q.get("category", "")},
                 user_name=user.username)


@dataclass(frozen=True)
class AccountSummary:
    """The account an agent looked up: its main person (whom the request is from) and its open invoices."""

    account_id: str
    person_id: str
    name: str
    email: str
    language: str
    currency: str
    open_balance: Any
    invoices: list[Any]


def _account_summary(account_id: str) -> AccountSummary | None:
    from dunning.app import queries

    reads = _console().deps().reads
    try:
        ledger = queries.account_ledger(reads, account_id)
    except queries.NotFound:
        return None
    account = reads.ledger.account(account_id)
    person_id = account.main_person_id if account else None
    person = reads.ledger.persons([person_id]).get(person_id) if person_id else None
    return AccountSummary(account_id=account_id, person_id=person_id or "", name=person.name if person else "",
                          email=person.email if person else "", language=person.language if person else "en",
                          currency=ledger.currency or "", open_balance=ledger.open_balance,
                          invoices=[i for i in ledger.invoices if not i.is_paid])


@router.post("/console/interactions")
def record_interaction() -> Response:
    user = _user(Permission.INTERACTIONS_WRITE)
    values = _form()
    cfg = _config()
    category = _choice(values, "category", [c.id for c in cfg.categories])
    channel = _choice(values, "channel", AGENT_CHANNELS)
    account_id = _text(values, "account_id", required=False, limit=64)
    account = _account_summary(account_id) if account_id else None
    if account_id and account is None:
        return _redirect(f"{BASE}/new?{urlencode({'account': account_id})}")
    name = _text(values, "customer_name", required=False, limit=200) or (account.name if account else "")
    email = _text(values, "customer_email", required=False, limit=254) or (account.email if account else "")
    new = uc.NewInteraction(channel=channel, category=category, subject=_text(values, "subject", limit=200),
                            text=_text(values, "text"), account_id=account_id or None,
                            person_id=(account.person_id if account else "") or None, customer_name=name or None,
                            customer_email=email or None, language=account.language if account else "en")
    made = uc.record_interaction(_deps(), user, new, _now())
    _auto_reply(made, "created")
    return _redirect(_detail_url(made.id, "interaction_recorded"))


# ---------------------------------------------------------------------------------------------- detail
@router.get("/console/interactions/<interaction_id>")
def interaction_page(interaction_id: str) -> Response:
    user = _user(Permission.INTERACTIONS_READ)
    d = _deps()
    cfg = d.config().interactions
    detail = uc.get_interaction(d, user, interaction_id)
    item = detail.interaction
    similar = uc.similar_requests(d, user, interaction_id)
    account = _account_summary(item.account_id) if item.account_id else None
    holds = _holds(d, item.account_id) if account else []
    minutes = sum(t.minutes for t in detail.time)
    started = _now().replace(second=0, microsecond=0)
    return _page("interaction.html.j2", "interactions", detail=detail, item=item, moves=detail.allowed_moves,
                 similar=similar, tasks=detail.tasks, account=account, holds=holds, total_minutes=minutes,
                 can_write=user.can(Permission.INTERACTIONS_WRITE), mail=cfg.mail, entry_kinds=ENTRY_KINDS,
                 link_kinds=LINK_KINDS, share_with=SHARE_WITH, content_types=sorted(ALLOWED_CONTENT_TYPES),
                 max_size=_size(MAX_ATTACHMENT_BYTES), time_default=started.strftime("%Y-%m-%dT%H:%M"),
                 today=_now().date().isoformat(), **_helpers(cfg))


@router.post("/console/interactions/<interaction_id>/moves")
def move_interaction(interaction_id: str) -> Response:
    user = _user(Permission.INTERACTIONS_WRITE)
    values = _form()
    to_stage = _text(values, "to_stage", limit=64)
    version = _int(values.get("expected_version", ""), "expected_version")
    moved = uc.move_stage(_deps(), user, interaction_id, to_stage, expected_version=version,
                          note=_text(values, "note", required=False, limit=1000), now=_now())
    _auto_reply(moved, f"stage:{to_stage}")
    return _redirect(_detail_url(interaction_id, "interaction_moved"))


@router.post("/console/interactions/<interaction_id>/entries")
def add_entry(interaction_id: str) -> Response:
    """The reply form: a comment, an internal note, or a reply by email; with "Update and send mail" (when the
    mail settings show it) a stage move and the mail in one submit."""
    user = _user(Permission.INTERACTIONS_WRITE)
    values = _form()
    d = _deps()
    text = _text(values, "text")
    send = values.get("action") == "send"
    kind = "email" if send else _choice(values, "kind", ENTRY_KINDS)
    if send and not d.config().interactions.mail.update_and_send_button:
        raise BadForm("the update-and-send button is off in the mail settings")
    to_stage = values.get("to_stage", "").strip()
    done = "entry_added"
    mail = _mail() if kind == "email" else None  # before any change: no move without its mail
    if to_stage:  # the move first: a conflict stops the mail from going out with a stale stage
        moved = uc.move_stage(d, user, interaction_id, to_stage,
                              expected_version=_int(values.get("expected_version", ""), "expected_version"),
                              now=_now())
        if mail is None:  # with the agent's own mail going out, no automatic one on top
            _auto_reply(moved, f"stage:{to_stage}")
        done = "interaction_moved"
    if mail is not None:
        try:
            send_reply(mail, user, interaction_id, text, _now())
        except DunningError as exc:  # e.g. no signing key for the reply address: said, not a crash
            logger.warning("interaction reply not sent", extra={"interaction_id": interaction_id,
                                                                "error": type(exc).__name__})
            return _error(503, "interactions.error.mail", str(exc))
        done = "updated_and_sent" if to_stage else "reply_sent"
    else:
        uc.add_entry(d, user, interaction_id, cast("EntryKind", kind), text,
                     visibility="agents" if kind == "note" else "customer", now=_now())
    return _redirect(_detail_url(interaction_id, done, "thread-heading"))


@router.post("/console/interactions/<interaction_id>/time")
def log_time(interaction_id: str) -> Response:
    user = _user(Permission.INTERACTIONS_WRITE)
    values = _form()
    minutes = _int(values.get("minutes", ""), "minutes")
    if not 1 <= minutes <= MAX_MINUTES:
        raise BadForm(f"minutes must be between 1 and {MAX_MINUTES}")
    raw = values.get("started_at", "")
    try:
        started = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise BadForm(f"not a start time: {raw!r}") from exc
    if started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    uc.log_time(_deps(), user, interaction_id, started_at=started, minutes=minutes,
                note=_text(values, "note", required=False, limit=1000), now=_now())
    return _redirect(_detail_url(interaction_id, "time_logged", "time-heading"))


@router.post("/console/interactions/<interaction_id>/links")
def add_link(interaction_id: str) -> Response:
    user = _user(Permission.INTERACTIONS_WRITE)
    values = _form()
    uc.add_link(_deps(), user, interaction_id, cast("LinkKind", _choice(values, "kind", LINK_KINDS)),
                _text(values, "ref", limit=128), _text(values, "label", required=False, limit=200))
    return _redirect(_detail_url(interaction_id, "link_added", "links-heading"))


@router.post("/console/interactions/<interaction_id>/links/remove")
def remove_link(interaction_id: str) -> Response:
    user = _user(Permission.INTERACTIONS_WRITE)
    values = _form()
    uc.remove_link(_deps(), user, interaction_id, cast("LinkKind", _choice(values, "kind", LINK_KINDS)),
                   _text(values, "ref", limit=128))
    return _redirect(_detail_url(interaction_id, "link_removed", "links-heading"))


@router.post("/console/interactions/<interaction_id>/tasks")
def add_task(interaction_id: str) -> Response:
    user = _user(Permission.INTERACTIONS_WRITE)
    values = _form()
    due = _day(values.get("due_on"), _now().date())
    uc.add_task(_deps(), user, interaction_id, title=_text(values, "title", limit=200),
                assignee=_text(values, "assignee", required=False, limit=128) or user.username, due_on=due,
                activity=values.get("activity") == "yes", now=_now())
    return _redirect(_detail_url(interaction_id, "task_added", "tasks-heading"))


@router.post("/console/interactions/<interaction_id>/tasks/<task_id>/complete")
def complete_task(interaction_id: str, task_id: str) -> Response:
    user = _user(Permission.INTERACTIONS_WRITE)
    _form()
    uc.complete_task(_deps(), user, interaction_id, task_id, now=_now())
    return _redirect(_detail_url(interaction_id, "task_completed", "tasks-heading"))


# ---------------------------------------------------------------------------------------------- attachments
@router.post("/console/interactions/<interaction_id>/attachments")
def start_upload(interaction_id: str) -> Response:
    """Step 1: the file's name, type and who may see it; the answer is the upload form (step 2), which posts the
    file straight to S3."""
    user = _user(Permission.INTERACTIONS_WRITE)
    values = _form()
    content_type = values.get("content_type", "")
    filename = _text(values, "filename", limit=200)
    shared = cast("Visibility", _choice(values, "shared_with", SHARE_WITH))
    if content_type not in ALLOWED_CONTENT_TYPES:
        return _upload_refused(interaction_id, "type", content_type)
    c = _console()
    back = c.app.current_event
    host = back.headers.get("host", "")
    # API Gateway says https (X-Forwarded-Proto); the local gateway is plain http, as its cookies say
    scheme = back.headers.get("x-forwarded-proto") or ("https" if c.settings().secure_cookies else "http")

    def redirect_to(attachment_id: str) -> str:
        return (f"{scheme}://{host}{BASE}/{quote(interaction_id, safe='')}/attachments/"
                f"{quote(attachment_id, safe='')}/complete")

    try:
        ticket = uc.start_upload(_deps(), user, interaction_id, filename, content_type, MAX_ATTACHMENT_BYTES, shared,
                                 redirect=redirect_to)
    except InvalidRequest as exc:
        return _upload_refused(interaction_id, _refusal_kind(str(exc)), str(exc))
    fields = ticket.fields  # success_action_redirect is in the signed policy
    return _page("interaction_upload.html.j2", "interactions", form_origin=security.origin_of(ticket.url),
                 interaction_id=interaction_id, ticket=ticket, fields=fields, filename=filename,
                 content_type=content_type, max_size=_size(MAX_ATTACHMENT_BYTES),
                 max_bytes=MAX_ATTACHMENT_BYTES)


def _upload_refused(interaction_id: str, reason: str, detail: str) -> Response:
    return _page("interaction_upload_refused.html.j2", "interactions", status=422, interaction_id=interaction_id,
                 reason=reason, detail=detail, content_types=sorted(ALLOWED_CONTENT_TYPES),
                 max_size=_size(MAX_ATTACHMENT_BYTES))


@router.get("/console/interactions/<interaction_id>/attachments/<attachment_id>/complete")
def complete_upload(interaction_id: str, attachment_id: str) -> Response:
    """Step 3: S3 redirected the browser back here (``success_action_redirect``); the HEAD check decides."""
    user = _user(Permission.INTERACTIONS_WRITE)
    stored = uc.complete_upload(_deps(), user, interaction_id, attachment_id)
    if stored.status != "stored":
        return _upload_refused(interaction_id, _refusal_kind(stored.refused_reason), stored.refused_reason)
    return _redirect(_detail_url(interaction_id, "attachment_stored", "attachments-heading"))


@router.get("/console/interactions/<interaction_id>/attachments/<attachment_id>")
def open_attachment(interaction_id: str, attachment_id: str) -> Response:
    user = _user(Permission.INTERACTIONS_READ)
    url = uc.attachment_url(_deps(), user, interaction_id, attachment_id)
    return Response(status_code=303, headers={"Location": url, "Cache-Control": "no-store"}, body="",
                    cookies=_console().session().set_cookies)


def _refusal_kind(reason: str) -> str:
    """Which rule refused a stored file (the use case's reason names it): ``type``, ``size`` or ``other``."""
    text = reason.lower()
    if "type" in text:
        return "type"
    if "size" in text or "empty" in text:
        return "size"
    return "other"


# ---------------------------------------------------------------------------------------------- disputes, promises
def _holds(d: InteractionDeps, account_id: str | None) -> list[Any]:
    """The account's invoices with a collection status (disputed, promised, resolved, broken) as the ledger has
    them now: a promise past its day shows as broken or kept, whatever the interaction recorded then."""
    if not account_id or d.ledger is None:
        return []
    from dunning.app.holds import holds_of

    return holds_of(d.ledger, account_id)


@router.post("/console/interactions/<interaction_id>/disputes")
def dispute_invoice(interaction_id: str) -> Response:
    user = _user(Permission.INTERACTIONS_WRITE)
    values = _form()
    uc.dispute_invoice(_deps(), user, interaction_id, _text(values, "invoice_id", limit=64),
                       note=_text(values, "note", required=False, limit=1000), now=_now())
    return _redirect(_detail_url(interaction_id, "dispute_recorded", "holds-heading"))


@router.post("/console/interactions/<interaction_id>/disputes/<invoice_id>/resolve")
def resolve_dispute(interaction_id: str, invoice_id: str) -> Response:
    user = _user(Permission.INTERACTIONS_WRITE)
    _form()
    uc.resolve_dispute(_deps(), user, interaction_id, invoice_id, now=_now())
    return _redirect(_detail_url(interaction_id, "dispute_resolved", "holds-heading"))


@router.post("/console/interactions/<interaction_id>/promises")
def promise_to_pay(interaction_id: str) -> Response:
    user = _user(Permission.INTERACTIONS_WRITE)
    values = _form()
    try:
        amount = Decimal(_text(values, "amount", limit=20))
    except InvalidOperation as exc:
        raise BadForm("the amount is not a number") from exc
    if amount <= 0:
        raise BadForm("the amount must be more than zero")
    until = _day(values.get("until"), _now().date())
    uc.promise_to_pay(_deps(), user, interaction_id, _text(values, "invoice_id", limit=64), amount=amount,
                      until=until, now=_now())
    return _redirect(_detail_url(interaction_id, "promise_recorded", "holds-heading"))


# ---------------------------------------------------------------------------------------------- reports
def _range() -> tuple[date, date]:
    q = _query()
    end = _day(q.get("end"), _now().date())
    start = _day(q.get("start"), end - timedelta(days=REPORT_DAYS - 1))
    if start > end:
        raise BadForm("the range starts after it ends")
    return start, end


def _csv(body: str, name: str) -> Response:
    return Response(status_code=200, content_type="text/csv; charset=utf-8", body=body,
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store",
                             "X-Content-Type-Options": "nosniff"}, cookies=_console().session().set_cookies)


@dataclass(frozen=True)
class ChartTable:
    id: str
    heading: str
    svg: Any
    head: list[str]
    rows: list[list[str]]


def _bars(chart_id: str, heading: str, desc: str, head: list[str], counts: dict[str, float],
          show: Any) -> ChartTable:
    bars = [charts.Bar(label=k, value=v, display=show(v)) for k, v in counts.items()]
    return ChartTable(id=chart_id, heading=heading, svg=charts.bar_chart(f"chart-{chart_id}", heading, desc, bars),
                      head=head, rows=[[b.label, b.display] for b in bars])


def time_views(report: TimeReport, cfg: InteractionsConfig, msg: Any) -> list[ChartTable]:
    """The time report's three charts (by interaction type, by agent, by day), each with its data table."""
    fmt = pages.Formats(msg.language)

    def minutes(v: float) -> str:
        return str(msg("ireports.minutes_value", n=fmt.number(v)))

    total = fmt.number(report.total_minutes)
    head = msg("ireports.minutes")
    return [
        _bars("by-category", msg("ireports.by_category"), msg("ireports.by_category_desc", n=total),
              [msg("ireports.category"), head], {_category_name(cfg, k): v for k, v in _most(report.by_category)},
              minutes),
        _bars("by-agent", msg("ireports.by_agent"), msg("ireports.by_agent_desc", n=total),
              [msg("ireports.agent"), head], dict(_most(report.by_agent)), minutes),
        _bars("by-day", msg("ireports.by_day"), msg("ireports.by_day_desc", n=total), [msg("ireports.day"), head],
              {fmt.day(k): v for k, v in sorted(report.by_day.items())}, minutes),
    ]


def _most(counts: dict[str, int]) -> list[tuple[str, int]]:
    """The largest first (ties by name), so a chart reads from its biggest bar down."""
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def content_views(report: ContentReport, cfg: InteractionsConfig, msg: Any) -> list[ChartTable]:
    """The content report's charts: interactions by category, channel and stage."""
    fmt = pages.Formats(msg.language)
    desc = msg("ireports.content_desc", n=fmt.number(report.total))
    head = msg("ireports.interactions")
    return [
        _bars("content-category", msg("ireports.content_by_category"), desc, [msg("ireports.category"), head],
              {_category_name(cfg, k): v for k, v in _most(report.by_category)}, fmt.number),
        _bars("content-channel", msg("ireports.content_by_channel"), desc, [msg("ireports.channel"), head],
              {_label(msg, "interactions.channel.", k): v for k, v in _most(report.by_channel)}, fmt.number),
        _bars("content-stage", msg("ireports.content_by_stage"), desc, [msg("ireports.stage"), head],
              {_stage_label(cfg, k): v for k, v in _most(report.by_stage)}, fmt.number),
    ]


def _stage_label(cfg: InteractionsConfig, key: str) -> str:
    """``process/stage`` as people read it: the stage's name, with the process's when there are several."""
    process, sep, stage = key.partition("/")
    if not sep:
        return key
    found = cfg.process(process)
    name = _stage_name(cfg, process, stage)
    return f"{found.name} · {name}" if found and len(cfg.processes) > 1 else name


def _report_query(start: date, end: date) -> str:
    return urlencode({"start": start.isoformat(), "end": end.isoformat(), "format": "csv"})


@router.get("/console/reports/time")
def time_report_page() -> Response:
    user = _user(Permission.INTERACTIONS_REPORTS)
    start, end = _range()
    d = _deps()
    as_csv = _query().get("format") == "csv"
    report = reports.time_report(d, user, start, end, detail=as_csv)
    if as_csv:
        return _csv(reports.time_csv(report), f"time-{start.isoformat()}-{end.isoformat()}.csv")
    cfg = d.config().interactions
    msg = _console().session().messages
    return _page("reports_time.html.j2", "reports", report=report, views=time_views(report, cfg, msg), start=start,
                 end=end, csv_url=f"{pages.BASE}/reports/time?{_report_query(start, end)}", **_helpers(cfg, msg))


@router.get("/console/reports/content")
def content_report_page() -> Response:
    user = _user(Permission.INTERACTIONS_REPORTS)
    start, end = _range()
    d = _deps()
    report = reports.content_report(d, user, start, end)
    if _query().get("format") == "csv":
        return _csv(reports.content_csv(report), f"content-{start.isoformat()}-{end.isoformat()}.csv")
    cfg = d.config().interactions
    msg = _console().session().messages
    return _page("reports_content.html.j2", "reports", report=report, views=content_views(report, cfg, msg),
                 start=start, end=end, csv_url=f"{pages.BASE}/reports/content?{_report_query(start, end)}",
                 **_helpers(cfg, msg))


# ---------------------------------------------------------------------------------------------- stage membership
@router.get("/console/interaction-stages")
def stages_page() -> Response:
    _user(Permission.INTERACTIONS_ADMIN)
    d = _deps()
    cfg = d.config().interactions
    rows = [{"ref": s, "members": sorted(uc.members(d, s.process, s.stage))}
            for s in _all_stages(cfg)]
    return _page("interaction_stages.html.j2", "stages", rows=rows)


@router.post("/console/interaction-stages")
def change_membership() -> Response:
    user = _user(Permission.INTERACTIONS_ADMIN)
    values = _form()
    d = _deps()
    refs = {s.value: s for s in _all_stages(d.config().interactions)}
    ref = refs.get(values.get("stage", ""))
    if ref is None:
        raise BadForm("unknown stage")
    username = _text(values, "username", limit=128)
    if values.get("action") == "remove":
        uc.remove_member(d, user, ref.process, ref.stage, username)
        return _redirect(f"{pages.BASE}/interaction-stages?done=member_removed")
    uc.add_member(d, user, ref.process, ref.stage, username)
    return _redirect(f"{pages.BASE}/interaction-stages?done=member_added")


# ---------------------------------------------------------------------------------------------- the account page
def account_extras(user: Principal, account_id: str) -> dict[str, Any]:
    """What the account page shows of its interactions: the newest ones and the files attached to them (the
    account's archive). Empty for a user without ``interactions:read`` or a console without interactions."""
    c = _console()
    made = c.deps().interactions
    if made is None or not user.can(Permission.INTERACTIONS_READ):
        return {"interactions": [], "archive": [], "can_interactions": False}
    page = uc.list_interactions(made, user, account_id=account_id, limit=ACCOUNT_INTERACTIONS)
    archive = uc.account_attachments(made, user, account_id)
    cfg = made.config().interactions
    return {"interactions": page.items, "archive": archive, "can_interactions": True,
            "can_record": user.can(Permission.INTERACTIONS_WRITE), **_helpers(cfg)}
