"""The console's routes (Powertools ``APIGatewayHttpResolver``, payload 2.0), behind the stack's HttpApi without
its JWT authorizer: the browser sends a cookie, which :class:`~dunning.console.session.RequestSession` verifies
with :mod:`dunning.auth` (signature, issuer, audience, expiry, groups). Each page asks the group permission it
needs; the same table decides for the API, so the two cannot disagree.

Data come from the application layer only (:mod:`dunning.app.queries`, :mod:`dunning.app.activities`,
:mod:`dunning.app.accounts`, :mod:`dunning.app.run_report`), built by :func:`dunning.app.deps.console_deps`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response

from dunning.app import accounts, queries
from dunning.app.activities import ActivityConflict, complete_activity, my_open_activities
from dunning.app.deps import ConsoleDeps, console_deps
from dunning.app.letter_retrieval import LetterError
from dunning.app.run_report import run_report
from dunning.app.sessions import SignInFailed, sign_in
from dunning.auth import Permission
from dunning.console import pages, security
from dunning.console.conversation_routes import router as conversation_router
from dunning.console.interaction_routes import account_extras
from dunning.console.interaction_routes import router as interaction_router
from dunning.console.session import (
    BadForm,
    NotAllowed,
    RequestSession,
    SignInRequired,
    parse_form,
    query_of,
    sign_in_location,
)
from dunning.console.workflow_routes import router as workflow_router
from dunning.observability import logger
from dunning.settings import ConsoleSettings

app = APIGatewayHttpResolver()
app.include_router(interaction_router)  # the interaction pages (dunning.console.interaction_routes)
app.include_router(workflow_router)  # workflows: list, diagram, versions, editor, "Try it" (workflow_routes)
app.include_router(conversation_router)  # the inbox and a conversation's page (conversation_routes)
OUTCOMES = ("promise_to_pay", "paid", "dispute", "no_answer", "wrong_contact", "other")
WORKLIST_PAGE = 20
TIMELINE_LIMIT = 50
HISTORY_LIMIT = 8


def settings() -> ConsoleSettings:
    """The function's settings, which the handler reads and passes to :func:`resolve`."""
    value = app.context.get("settings")
    if not isinstance(value, ConsoleSettings):
        raise RuntimeError("console routes run through resolve(event, context, settings)")
    return value


def deps() -> ConsoleDeps:
    """The use cases' repositories, built once per request from the settings."""
    current = app.context.get("deps")
    if isinstance(current, ConsoleDeps):
        return current
    made = console_deps(settings())
    app.append_context(deps=made)
    return made


def session() -> RequestSession:
    """This request's session (one per request, kept in the resolver's per-request context)."""
    current = app.context.get("session")
    if isinstance(current, RequestSession):
        return current
    event = app.current_event
    made = RequestSession(policy=security.CookiePolicy(secure=settings().secure_cookies),
                          cookies=security.parse_cookies(event.cookies, event.headers.get("cookie")),
                          query=query_of(event.query_string_parameters), path=event.path,
                          accept_language=event.headers.get("accept-language"))
    app.append_context(session=made)
    return made


# ---------------------------------------------------------------------------------------------- responses
def html(template: str, status: int = 200, frame_origin: str = "", **context: Any) -> Response:
    s = session()
    msg = s.messages
    chrome = pages.Chrome(msg=msg, user=s.principal, csrf=s.csrf, path=s.path,
                          notice=_notice(msg, s.query.get("done")), notice_kind="ok")
    body = pages.render(template, chrome, **context)
    return Response(status_code=status, content_type="text/html; charset=utf-8",
                    headers=security.page_headers(frame_origin), body=body, cookies=s.set_cookies)


def redirect(location: str) -> Response:
    return Response(status_code=303, headers={"Location": location, "Cache-Control": "no-store"}, body="",
                    cookies=session().set_cookies)


def error_page(status: int, heading_key: str, detail: str) -> Response:
    msg = session().messages
    return html("error.html.j2", status=status, heading=msg(heading_key), detail=detail)


def _notice(msg: Any, done: str | None) -> str:
    key = f"done.{done}"
    return msg(key) if done and msg.has(key) else ""


def form() -> dict[str, str]:
    values = parse_form(app.current_event.decoded_body)
    session().check_csrf(values)
    return values


# ---------------------------------------------------------------------------------------------- errors
@app.exception_handler(SignInRequired)
def _sign_in_required(exc: SignInRequired) -> Response:
    return redirect(sign_in_location(exc.next_path))


@app.exception_handler(NotAllowed)
def _not_allowed(exc: NotAllowed) -> Response:
    return error_page(403, "error.forbidden", session().messages("error.forbidden_detail"))


@app.exception_handler(BadForm)
def _bad_form(exc: BadForm) -> Response:
    return error_page(400, "error.bad_form", session().messages("error.bad_form_detail"))


@app.exception_handler(queries.NotFound)
def _not_found(exc: queries.NotFound) -> Response:
    return error_page(404, "error.not_found", str(exc))


@app.exception_handler(LetterError)
def _letter_error(exc: LetterError) -> Response:
    return error_page(404, "error.letter", str(exc))


@app.exception_handler(ActivityConflict)
def _conflict(exc: ActivityConflict) -> Response:
    return error_page(409, "error.conflict", str(exc))


@app.exception_handler(accounts.UnknownHierarchy)
def _unknown_hierarchy(exc: accounts.UnknownHierarchy) -> Response:
    return error_page(400, "error.bad_form", str(exc))


@app.not_found
def _no_route(exc: Exception) -> Response:
    return error_page(404, "error.not_found", session().messages("error.no_page"))


# ---------------------------------------------------------------------------------------------- sign-in
@app.get("/")
def root() -> Response:
    return redirect(pages.BASE)  # "/console": its own route (a greedy "/console/{proxy+}" needs a segment)


@app.get("/console")
@app.get("/console/")
def home() -> Response:
    user = session().user(deps().pool)
    if user.can(Permission.RUNS_READ):
        return redirect(pages.BASE + "/runs")
    if user.can(Permission.ACTIVITIES_OWN):
        return redirect(pages.BASE + "/worklist")
    return redirect(pages.BASE + "/accounts")


@app.get("/console/sign-in")
def sign_in_page() -> Response:
    s = session()
    return html("sign_in.html.j2", error="", email="", next_url=security.safe_next(s.query.get("next")))


@app.post("/console/sign-in")
def sign_in_submit() -> Response:
    s = session()
    values = form()
    email = values.get("email", "").strip()
    target = security.safe_next(values.get("next"))
    try:
        tokens = sign_in(deps().pool, email, values.get("password", ""))
    except SignInFailed:
        logger.info("console sign-in refused")  # no user name in the log
        return html("sign_in.html.j2", status=401, error=s.messages("sign_in.failed"), email=email,
                    next_url=target)
    s.start(tokens)
    return redirect(target)


@app.post("/console/sign-out")
def sign_out() -> Response:
    form()
    session().end()
    return redirect(security.SIGN_IN_PATH)


# ---------------------------------------------------------------------------------------------- runs
@app.get("/console/runs")
def runs_page() -> Response:
    s = session()
    s.require(deps().pool, Permission.RUNS_READ)
    page = queries.list_runs(deps().reads, limit=50, token=s.query.get("next"))
    runs = sorted(page.items, key=lambda r: (r.as_of, r.started_at or ""), reverse=True)
    return html("runs.html.j2", runs=runs, next_page=page.next)


@app.get("/console/runs/<run_id>")
def run_page(run_id: str) -> Response:
    s = session()
    s.require(deps().pool, Permission.RUNS_READ)
    report = run_report(deps().reads, run_id)
    return html("run.html.j2", report=report, charts=pages.run_charts(report, s.messages), links=True)


# ---------------------------------------------------------------------------------------------- accounts
@app.get("/console/accounts")
def account_search() -> Response:
    s = session()
    s.require(deps().pool, Permission.ACCOUNTS_READ)
    account = s.query.get("account", "").strip()
    if account:
        return redirect(f"{pages.BASE}/accounts/{quote(account, safe='')}")
    return html("accounts.html.j2", missing=s.query.get("missing", ""))


@app.get("/console/accounts/<account_id>")
def account_page(account_id: str) -> Response:
    s = session()
    user = s.require(deps().pool, Permission.ACCOUNTS_READ)
    reads = deps().reads
    as_of = _date(s.query.get("as_of")) or datetime.now(UTC).date()
    try:
        ledger = queries.account_ledger(reads, account_id)
    except queries.NotFound:
        return redirect(f"{pages.BASE}/accounts?missing={quote(account_id, safe='')}")
    decision = queries.account_decision(reads, account_id, as_of)
    money = accounts.account_payments(reads, account_id)
    contacts = queries.account_contacts(reads, account_id, limit=TIMELINE_LIMIT).items if user.can(
        Permission.CONTACTS_READ) else []
    can_assign = user.can(Permission.ASSIGNMENT_WRITE)
    msg = s.messages
    fmt = pages.Formats(msg.language)
    summary = msg("account.summary", balance=fmt.money(ledger.open_balance, ledger.currency) if ledger.currency
                  else fmt.number(ledger.open_balance), n=len(ledger.invoices))
    return html("account.html.j2", account_id=account_id, as_of=as_of, decision=decision, invoices=ledger.invoices,
                payments=money.payments, manual=money.manual, contacts=_newest_first(contacts),
                can_assign=can_assign, hierarchies=accounts.hierarchies(reads) if can_assign else [],
                summary_line=summary, **account_extras(user, account_id))


@app.post("/console/accounts/<account_id>/assignment")
def account_assignment(account_id: str) -> Response:
    s = session()
    user = s.require(deps().pool, Permission.ASSIGNMENT_WRITE)
    values = form()
    accounts.set_manual_assignment(deps().reads, user, account_id, values.get("hierarchy") or None,
                                   values.get("note", ""))
    return redirect(f"{pages.BASE}/accounts/{quote(account_id, safe='')}?done=assignment")


@app.get("/console/letters/<contact_id>")
def letter_page(contact_id: str) -> Response:
    s = session()
    s.require(deps().pool, Permission.LETTERS_READ)
    reads = deps().reads
    contact = queries.get_contact(reads, contact_id)
    link = queries.letter_link(reads, contact.contact_id)
    return html("letter.html.j2", frame_origin=security.origin_of(link.url), contact=contact, letter_url=link.url,
                expires_minutes=max(1, link.expires_in // 60))


# ---------------------------------------------------------------------------------------------- worklist
@app.get("/console/worklist")
def worklist_page() -> Response:
    s = session()
    d = deps()
    user = s.require(d.pool, Permission.ACTIVITIES_OWN)
    page = my_open_activities(d.activities, user, limit=WORKLIST_PAGE, token=s.query.get("next"))
    today = datetime.now(UTC).date()
    items = []
    for activity in page.items:
        account_id = activity.account_id or ""
        lead = queries.lead_invoice(d.reads, account_id, today) if account_id else None
        history = queries.account_contacts(d.reads, account_id, limit=HISTORY_LIMIT).items if account_id else []
        items.append({"contact": activity, "activity": activity.activity,
                      "lead_invoice": lead.invoice if lead else None,
                      "history": _newest_first([h for h in history if h.contact_id != activity.contact_id])})
    return html("worklist.html.j2", items=items, outcomes=OUTCOMES)


@app.post("/console/activities/<contact_id>/complete")
def complete_page(contact_id: str) -> Response:
    s = session()
    d = deps()
    user = s.require(d.pool, Permission.ACTIVITIES_OWN)
    values = form()
    outcome = values.get("outcome", "")
    if outcome not in OUTCOMES:
        raise BadForm(f"unknown outcome {outcome!r}")
    complete_activity(d.activities, user, contact_id, outcome, values.get("note", ""))
    return redirect(f"{pages.BASE}/worklist?done=completed")


# ---------------------------------------------------------------------------------------------- rejected events
@app.get("/console/rejected")
def rejected_page() -> Response:
    s = session()
    s.require(deps().pool, Permission.REJECTED_READ)
    page = queries.rejected_events(deps().reads, limit=50, token=s.query.get("next"))
    return html("rejected.html.j2", events=page.items, next_page=page.next)


# ---------------------------------------------------------------------------------------------- static assets
CONTENT_TYPES = {"css": "text/css; charset=utf-8", "svg": "image/svg+xml",  # text assets only
                 "js": "text/javascript; charset=utf-8"}


@app.get("/static/<name>")
def static(name: str) -> Response:
    body = pages.static_file(name)
    kind = CONTENT_TYPES.get(name.rsplit(".", 1)[-1])
    if body is None or kind is None:
        return Response(status_code=404, content_type="text/plain", body="not found",
                        headers={"X-Content-Type-Options": "nosniff"})
    return Response(status_code=200, content_type=kind, body=body.decode("utf-8"),
                    headers={"Cache-Control": "public, max-age=31536000, immutable",
                             "X-Content-Type-Options": "nosniff"})


# ---------------------------------------------------------------------------------------------- helpers
def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError as exc:
        raise BadForm(f"not a date: {value!r}") from exc


def _newest_first(contacts: list[queries.ContactOut]) -> list[queries.ContactOut]:
    return sorted(contacts, key=lambda c: c.created_at, reverse=True)


def resolve(event: dict[str, Any], context: Any, settings: ConsoleSettings) -> dict[str, Any]:
    """Run one payload 2.0 event through the routes (the handler's one call)."""
    app.append_context(settings=settings)
    return app.resolve(event, context)
