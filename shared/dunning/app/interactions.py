"""Interaction use cases (S3): record, read, list, move through stages, thread entries, time, links, similar
requests, tasks (with collector activities), attachments, stage membership, disputes and promises to pay.

Who may do what: the principal's permissions (``interactions:read`` / ``write`` / ``admin``) and the **stage
rule**: a non-admin sees and acts on an interaction only as a member of its current stage, and records a new
one only as a member of its process's ``registered`` stage (:class:`StageForbidden`). ``principal=None`` is the
system acting for a customer (the web form, an inbound mail): no stage rule applies.

A stage move is a conditional write on the interaction's ``version`` and current stage: of two concurrent
moves one wins and the other gets :class:`InteractionConflict` (409), never a lost update. Closing (moving to
a stage with ``closes``) is refused while the category requires time and none is logged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from pydantic import BaseModel

from dunning.app.operations import InvalidRequest
from dunning.app.queries import NotFound
from dunning.auth import Forbidden, Permission, Principal
from dunning.interactions.domain import (
    ALLOWED_CONTENT_TYPES,
    CUSTOMER_LINK_SECONDS,
    DOWNLOAD_SECONDS,
    MAIL_AUTHOR,
    MAX_ATTACHMENT_BYTES,
    UPLOAD_SECONDS,
    WEB_FORM_AUTHOR,
    BadLink,
    allowed_moves,
    attachment_key,
    auto_reply_template,
    close_refusal,
    closes,
    customer_key,
    format_number,
    kind_key,
    may_act,
    move_refusal,
    new_id,
    render_reply,
    reply_context,
    safe_filename,
    sign_link,
    stored_refusal,
    subject_with_number,
    time_entry_id,
    time_refusal,
    upload_refusal,
    verify_link,
)
from dunning.models.config import REGISTERED_STAGE, Config, InteractionProcess, InteractionsConfig
from dunning.models.interactions import (
    Attachment,
    EntryKind,
    HoldSummary,
    Interaction,
    InteractionDetail,
    InteractionPage,
    Link,
    LinkKind,
    MessageRef,
    NewInteraction,
    SimilarRequests,
    StageRef,
    Task,
    ThreadEntry,
    TimeEntry,
    UploadTicket,
    Visibility,
)
from dunning.store.interactions import DuplicateMessage, InteractionStore, WriteConflict

if TYPE_CHECKING:
    from dunning.store.activities import ActivitiesRepository
    from dunning.store.attachments import AttachmentStore
    from dunning.store.contacts import ContactStore
    from dunning.store.ledger import LedgerStore

__all__ = [
    "ALLOWED_CONTENT_TYPES", "ATTACHMENT_URL_SECONDS", "MAX_ATTACHMENT_BYTES", "DuplicateMessage",
    "InteractionConflict", "InteractionDeps", "InteractionNotFound", "InvalidTransition", "NewInteraction",
    "ReplyDraft", "StageForbidden", "TimeRequired", "account_attachments", "add_entry", "add_link", "add_member",
    "add_task", "attachment_url", "auto_reply_for", "complete_task", "complete_upload", "customer_link",
    "dispute_invoice", "find_by_message_ids", "find_by_number", "get_interaction", "list_interactions", "log_time",
    "members", "move_stage", "open_customer_link", "promise_to_pay", "record_interaction", "related_tasks",
    "remove_link", "remove_member", "resolve_dispute", "similar_requests", "stages_of", "start_upload",
]

ATTACHMENT_URL_SECONDS = DOWNLOAD_SECONDS
LIST_MONTHS = 24  # the all-stages list looks this many months back
MAX_LIMIT = 200


@dataclass(frozen=True)
class InteractionDeps:
    store: InteractionStore
    attachments: AttachmentStore
    config: Callable[[], Config]
    ledger: LedgerStore | None
    contacts: ContactStore | None
    signing_key: Callable[[], bytes]
    activities: ActivitiesRepository | None = None  # completing / reassigning linked collector activities


# ---------------------------------------------------------------------------------------------- errors
class InteractionNotFound(NotFound):
    """No such interaction (or attachment, task) (404)."""


class InteractionConflict(Exception):
    """The interaction changed since it was read, e.g. someone else moved it first (409)."""


class InvalidTransition(InvalidRequest):
    """The move is not one of the process's allowed transitions (422)."""


class TimeRequired(InvalidTransition):
    """The category requires time spent before the interaction can close (422)."""


class StageForbidden(Forbidden):
    """The stage rule: not a member of the interaction's stage (403)."""

    def __init__(self, process: str, stage: str) -> None:
        Exception.__init__(self, f"you are not a member of stage {stage!r} of process {process!r}")
        self.permission = None
        self.process, self.stage = process, stage


class ReplyDraft(BaseModel):
    """An automatic reply chosen and rendered for an interaction (the mail module sends it)."""

    template: str
    trigger: str
    language: str
    subject: str
    text: str
    to: str | None = None


# ---------------------------------------------------------------------------------------------- helpers
def _cfg(deps: InteractionDeps) -> InteractionsConfig:
    return deps.config().interactions


def _process(deps: InteractionDeps, process_id: str) -> InteractionProcess:
    process = _cfg(deps).process(process_id)
    if process is None:
        raise InvalidTransition(f"process {process_id!r} is not configured")
    return process


def _is_admin(principal: Principal | None) -> bool:
    return principal is None or principal.can(Permission.INTERACTIONS_ADMIN)


def _author(principal: Principal | None, default: str = WEB_FORM_AUTHOR) -> str:
    return principal.username if principal is not None else default


def _stages(deps: InteractionDeps, principal: Principal) -> list[tuple[str, str]]:
    return deps.store.member_stages(principal.username)


def _check_stage(deps: InteractionDeps, principal: Principal | None, process: str, stage: str) -> None:
    if _is_admin(principal):
        return
    assert principal is not None
    if not may_act(False, _stages(deps, principal), process, stage):
        raise StageForbidden(process, stage)


def _load(deps: InteractionDeps, principal: Principal | None, interaction_id: str,
          permission: Permission = Permission.INTERACTIONS_READ) -> Interaction:
    if principal is not None:
        principal.require(permission)
    found = deps.store.get(interaction_id)
    if found is None:
        raise InteractionNotFound(f"no interaction {interaction_id}")
    _check_stage(deps, principal, found.process, found.stage)
    return found


def _limit(limit: int | None) -> int:
    return max(1, min(limit or 50, MAX_LIMIT))


def _months_back(now: datetime, count: int) -> list[str]:
    out, y, m = [], now.year, now.month
    for _ in range(count):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    return out


def _system_entry(deps: InteractionDeps, interaction_id: str, author: str, text: str, at: datetime) -> None:
    deps.store.add_entry(interaction_id, ThreadEntry(entry_id=new_id(), kind="system", author=author, at=at,
                                                     text=text, visibility="agents"))


# ---------------------------------------------------------------------------------------------- record / read
def record_interaction(deps: InteractionDeps, principal: Principal | None, new: NewInteraction,
                       now: datetime) -> Interaction:
    """Record a new interaction in its process's ``registered`` stage with the next number of the year.
    :class:`DuplicateMessage` when ``new.message_id`` is already recorded (an inbound mail seen twice)."""
    cfg = _cfg(deps)
    if principal is not None:
        principal.require(Permission.INTERACTIONS_WRITE)
    category = cfg.category(new.category)
    if category is None:
        raise InvalidRequest(f"unknown interaction category {new.category!r}")
    process = _process(deps, category.process)
    _check_stage(deps, principal, process.id, REGISTERED_STAGE)
    if new.account_id and deps.ledger is not None and deps.ledger.account(new.account_id) is None:
        raise InvalidRequest(f"no account {new.account_id}")
    author = _author(principal, MAIL_AUTHOR if new.message_id else WEB_FORM_AUTHOR)
    number = format_number(now.year, deps.store.next_seq(now.year))
    interaction = Interaction(
        id=new_id(), number=number, channel=new.channel, category=category.id, process=process.id,
        stage=REGISTERED_STAGE, status="open", subject=new.subject, person_id=new.person_id,
        account_id=new.account_id, customer_email=new.customer_email, customer_name=new.customer_name,
        language=new.language, created_at=now, updated_at=now, created_by=author, version=1,
        customer_key=customer_key(new.person_id, new.account_id, new.customer_email),
        kind_key=kind_key(category.id, new.subject))
    first = None
    if new.text or new.message_id:
        first = ThreadEntry(entry_id=new_id(), kind=new.first_entry_kind, author=author, at=now, text=new.text,
                            visibility="customer" if principal is None else "agents", message_id=new.message_id,
                            in_reply_to=new.in_reply_to, references=list(new.references), subject=new.subject)
    return deps.store.create(interaction, first)


def get_interaction(deps: InteractionDeps, principal: Principal, interaction_id: str) -> InteractionDetail:
    principal.require(Permission.INTERACTIONS_READ)
    record = deps.store.record(interaction_id)
    if record is None:
        raise InteractionNotFound(f"no interaction {interaction_id}")
    interaction = record.interaction
    _check_stage(deps, principal, interaction.process, interaction.stage)
    process = _cfg(deps).process(interaction.process)
    earlier = _earlier(deps, interaction)
    return InteractionDetail(
        interaction=interaction, thread=sorted(record.thread, key=lambda e: (e.at, e.entry_id)),
        time=sorted(record.time, key=lambda t: (t.started_at, t.entry_id)), links=record.links,
        attachments=sorted(record.attachments, key=lambda a: a.at), tasks=_refreshed_tasks(deps, record.tasks),
        moves=sorted(record.moves, key=lambda m: m.at), similar_count=len(earlier),
        allowed_moves=allowed_moves(process, interaction.stage) if process else [])


def list_interactions(deps: InteractionDeps, principal: Principal, *, process: str | None = None,
                      stage: str | None = None, account_id: str | None = None, next_token: str | None = None,
                      limit: int = 50) -> InteractionPage:
    """Newest first: an account's, a stage's (newest update first), or everything one may see."""
    principal.require(Permission.INTERACTIONS_READ)
    admin = _is_admin(principal)
    mine = None if admin else set(_stages(deps, principal))
    size = _limit(limit)
    if account_id:
        page = deps.store.list_account(account_id, size, next_token)
        if mine is not None:
            page.items = [i for i in page.items if (i.process, i.stage) in mine]
        return page
    if stage:
        if not process:
            owners = [p.id for p in _cfg(deps).processes if p.stage(stage) is not None]
            if len(owners) != 1:
                raise InvalidRequest(f"name the process of stage {stage!r}")
            process = owners[0]
        if mine is not None and (process, stage) not in mine:
            raise StageForbidden(process, stage)
        return deps.store.list_stage(process, stage, size, next_token)
    stages = None if mine is None else sorted(s for s in mine if process is None or s[0] == process)
    return deps.store.list_recent(_months_back(datetime.now(UTC), LIST_MONTHS), size, next_token, process=process,
                                  stages=stages)


def find_by_number(deps: InteractionDeps, number: str) -> Interaction | None:
    """The interaction with this number (``IN-2026-000123``), for matching mail by subject."""
    found = deps.store.id_for_number(number.strip().upper())
    return deps.store.get(found) if found else None


def find_by_message_ids(deps: InteractionDeps, message_ids: Iterable[str]) -> dict[str, MessageRef]:
    """Message-ID -> where it is recorded (In-Reply-To / References matching, duplicate detection)."""
    return deps.store.message_refs(message_ids)


# ---------------------------------------------------------------------------------------------- stages
def move_stage(deps: InteractionDeps, principal: Principal, interaction_id: str, to_stage: str, *,
               expected_version: int, note: str = "", now: datetime) -> Interaction:
    interaction = _load(deps, principal, interaction_id, Permission.INTERACTIONS_WRITE)
    process = _process(deps, interaction.process)
    refusal = move_refusal(process, interaction.stage, to_stage)
    if refusal:
        raise InvalidTransition(refusal)
    closing = closes(process, to_stage)
    category = _cfg(deps).category(interaction.category)
    if closing:
        why = close_refusal(category, interaction.time_entries)
        if why:
            raise TimeRequired(why)
    if interaction.version != expected_version:
        raise InteractionConflict(f"interaction {interaction.number} is at version {interaction.version}, not "
                                  f"{expected_version}: reload it")
    try:
        return deps.store.move(interaction, to_stage, expected_version=expected_version, by=principal.username,
                               at=now, note=note[:2000], status="closed" if closing else "open",
                               require_time=bool(closing and category and category.time_required))
    except WriteConflict as exc:
        raise InteractionConflict(f"interaction {interaction.number} was changed by someone else: reload it"
                                  ) from exc


def members(deps: InteractionDeps, process: str, stage: str) -> list[str]:
    return deps.store.members(process, stage)


def _stage_exists(deps: InteractionDeps, process: str, stage: str) -> None:
    found = _cfg(deps).process(process)
    if found is None or found.stage(stage) is None:
        raise InvalidRequest(f"no stage {stage!r} in process {process!r}")


def add_member(deps: InteractionDeps, principal: Principal, process: str, stage: str, username: str, *,
               now: datetime | None = None) -> None:
    principal.require(Permission.INTERACTIONS_ADMIN)
    _stage_exists(deps, process, stage)
    if not username or "#" in username:
        raise InvalidRequest("a user name is needed (without '#')")
    deps.store.add_member(process, stage, username, now or datetime.now(UTC))


def remove_member(deps: InteractionDeps, principal: Principal, process: str, stage: str, username: str) -> None:
    principal.require(Permission.INTERACTIONS_ADMIN)
    _stage_exists(deps, process, stage)
    deps.store.remove_member(process, stage, username)


def stages_of(deps: InteractionDeps, username: str) -> list[StageRef]:
    return [StageRef(process=p, stage=s) for p, s in deps.store.member_stages(username)]


# ---------------------------------------------------------------------------------------------- thread
def add_entry(deps: InteractionDeps, principal: Principal | None, interaction_id: str, kind: EntryKind, text: str,
              *, visibility: Visibility, now: datetime, message_id: str | None = None,
              in_reply_to: str | None = None, references: Iterable[str] = (), subject: str = "",
              author: str | None = None, to: Iterable[str] = ()) -> ThreadEntry:
    """A comment or note (an agent), or a mail in / out / auto reply (the mail module). A note is always for
    agents only. :class:`DuplicateMessage` when the Message-ID is recorded already."""
    interaction = _load(deps, principal, interaction_id, Permission.INTERACTIONS_WRITE)
    if principal is not None and kind not in ("comment", "note", "email_out"):
        raise InvalidRequest(f"an agent adds comments and notes, not {kind}")
    entry = ThreadEntry(entry_id=new_id(), kind=kind, author=author or _author(principal, MAIL_AUTHOR), at=now,
                        text=text, visibility="agents" if kind == "note" else visibility, message_id=message_id,
                        in_reply_to=in_reply_to, references=list(references), subject=subject, to=list(to))
    try:
        return deps.store.add_entry(interaction.id, entry)
    except WriteConflict as exc:
        raise InteractionNotFound(f"no interaction {interaction_id}") from exc


# ---------------------------------------------------------------------------------------------- time
def log_time(deps: InteractionDeps, principal: Principal, interaction_id: str, *, started_at: datetime,
             minutes: int, note: str, now: datetime, idempotency_key: str | None = None) -> TimeEntry:
    """Time spent by the agent (any channel). With ``idempotency_key`` a retried request writes nothing twice:
    the entry and its day's aggregate are one transaction keyed by it."""
    interaction = _load(deps, principal, interaction_id, Permission.INTERACTIONS_WRITE)
    refusal = time_refusal(started_at, minutes, now)
    if refusal:
        raise InvalidRequest(refusal)
    entry = TimeEntry(entry_id=time_entry_id(interaction.id, principal.username, idempotency_key),
                      agent=principal.username, started_at=started_at.astimezone(UTC), minutes=minutes,
                      note=note[:2000], channel=interaction.channel, category=interaction.category, recorded_at=now)
    try:
        stored, _ = deps.store.add_time(interaction, entry)
    except WriteConflict as exc:
        raise InteractionNotFound(f"no interaction {interaction_id}") from exc
    return stored


# ---------------------------------------------------------------------------------------------- links
def _check_link(deps: InteractionDeps, interaction: Interaction, kind: str, ref: str) -> None:
    if kind == "account" and deps.ledger is not None and deps.ledger.account(ref) is None:
        raise InvalidRequest(f"no account {ref}")
    if kind in ("contact", "activity") and deps.contacts is not None:
        contact = deps.contacts.get(ref)
        if contact is None or (kind == "activity" and contact.action != "activity"):
            raise InvalidRequest(f"no {kind} {ref}")
    if kind == "invoice" and deps.ledger is not None and interaction.account_id:
        view = deps.ledger.account_view(interaction.account_id)
        if not any(inv.invoice_id == ref for inv in view.invoices):
            raise InvalidRequest(f"no invoice {ref} on account {interaction.account_id}")


def add_link(deps: InteractionDeps, principal: Principal, interaction_id: str, kind: LinkKind, ref: str,
             label: str = "", *, now: datetime | None = None) -> Link:
    interaction = _load(deps, principal, interaction_id, Permission.INTERACTIONS_WRITE)
    _check_link(deps, interaction, kind, ref)
    link = Link(kind=kind, ref=ref, label=label[:200], by=principal.username, at=now or datetime.now(UTC))
    try:
        deps.store.put_link(interaction.id, link)
    except WriteConflict as exc:
        raise InteractionNotFound(f"no interaction {interaction_id}") from exc
    return link


def remove_link(deps: InteractionDeps, principal: Principal, interaction_id: str, kind: LinkKind, ref: str) -> bool:
    interaction = _load(deps, principal, interaction_id, Permission.INTERACTIONS_WRITE)
    if not deps.store.delete_link(interaction.id, kind, ref):
        raise NotFound(f"no {kind} link {ref} on interaction {interaction.number}")
    return True


# ---------------------------------------------------------------------------------------------- similar
def _earlier(deps: InteractionDeps, interaction: Interaction) -> list[Interaction]:
    if not interaction.customer_key:
        return []
    me = (interaction.created_at, interaction.id)
    return [i for i in deps.store.similar(interaction.customer_key, interaction.kind_key)
            if i.id != interaction.id and (i.created_at, i.id) < me]


def similar_requests(deps: InteractionDeps, principal: Principal, interaction_id: str) -> SimilarRequests:
    """How many times the same customer raised the same kind of request before this one (the definition is in
    :mod:`dunning.interactions.domain`); the earlier ones listed are those the principal may see."""
    interaction = _load(deps, principal, interaction_id)
    earlier = _earlier(deps, interaction)
    if not _is_admin(principal):
        mine = set(_stages(deps, principal))
        visible = [i for i in earlier if (i.process, i.stage) in mine]
    else:
        visible = earlier
    return SimilarRequests(count=len(earlier), customer_key=interaction.customer_key,
                           kind_key=interaction.kind_key, earlier=visible)


# ---------------------------------------------------------------------------------------------- tasks
ACTIVITY_TASK_PREFIX = "activity-"


def _refreshed_tasks(deps: InteractionDeps, tasks: list[Task]) -> list[Task]:
    """Tasks with the open/done state of their collector activity as the contacts table has it now."""
    ids = [t.activity_id for t in tasks if t.activity_id]
    if not ids or deps.contacts is None:
        return sorted(tasks, key=lambda t: (t.done, t.due_on or date.max, t.task_id))
    states = {c.contact_id: c for c in deps.contacts.get_many(ids)}
    out = []
    for t in tasks:
        c = states.get(t.activity_id or "")
        if c is not None:
            t = t.model_copy(update={"done": t.done or c.status == "closed" or bool(c.activity and c.activity.closed)})
        out.append(t)
    return sorted(out, key=lambda t: (t.done, t.due_on or date.max, t.task_id))


def related_tasks(deps: InteractionDeps, principal: Principal, interaction_id: str) -> list[Task]:
    """The interaction's tasks and the collector activities linked to it, open first, with their state read
    from the contacts table."""
    interaction = _load(deps, principal, interaction_id)
    record = deps.store.record(interaction.id)
    if record is None:
        raise InteractionNotFound(f"no interaction {interaction_id}")
    tasks = list(record.tasks)
    covered = {t.activity_id for t in tasks if t.activity_id}
    linked = [lk.ref for lk in record.links if lk.kind in ("activity", "contact") and lk.ref not in covered]
    if linked and deps.contacts is not None:
        for c in deps.contacts.get_many(linked):
            if c.action != "activity" or c.activity is None:
                continue
            tasks.append(Task(task_id=f"{ACTIVITY_TASK_PREFIX}{c.contact_id}", title=c.activity.name,
                              assignee=c.activity.assigned_to, due_on=c.activity.due_on,
                              done=c.status == "closed" or c.activity.closed, activity_id=c.contact_id,
                              created_at=c.created_at, source="activity"))
    return _refreshed_tasks(deps, tasks)


def add_task(deps: InteractionDeps, principal: Principal, interaction_id: str, *, title: str, assignee: str = "",
             due_on: date | None = None, activity: bool = False, now: datetime) -> Task:
    """A task on the interaction. ``activity``: also a collector activity on the interaction's account, made by
    the contact-creation path (a ``contact.requested`` of the collections activity contact type) and linked."""
    interaction = _load(deps, principal, interaction_id, Permission.INTERACTIONS_WRITE)
    if not title.strip():
        raise InvalidRequest("a task needs a title")
    task_id = new_id()
    activity_id = None
    if activity:
        activity_id = _create_activity(deps, interaction, task_id, title, now)
        if assignee and deps.activities is not None and deps.contacts is not None:
            contact = deps.contacts.get(activity_id)
            if contact is not None and contact.activity is not None:
                from dunning.store.activities import ActivityNotOpen

                with suppress(ActivityNotOpen):  # completed already: nothing to assign
                    deps.activities.reassign(activity_id, assignee=assignee,
                                             due_on=(due_on or contact.activity.due_on).isoformat(), now=now)
        deps.store.put_link(interaction.id, Link(kind="activity", ref=activity_id, label=title[:200],
                                                 by=principal.username, at=now))
    task = Task(task_id=task_id, title=title.strip()[:300], assignee=assignee, due_on=due_on, activity_id=activity_id,
                created_by=principal.username, created_at=now)
    deps.store.put_task(interaction.id, task)
    return task


def _create_activity(deps: InteractionDeps, interaction: Interaction, task_id: str, title: str,
                     now: datetime) -> str:
    if not interaction.account_id:
        raise InvalidRequest("a collector activity needs the interaction to name an account")
    if deps.ledger is None or deps.contacts is None:
        raise InvalidRequest("collector activities are not available here")
    from dunning.app.event_contacts import create_contacts_for_event
    from dunning.models.events import EventValidationError, parse_event

    config = deps.config()
    contact_class, contact_type = config.collections_contact_types.activity.split("/", 1)
    request_id = f"interaction-task-{task_id}"  # at most 64 characters; the task id is unique
    data = {"request_id": request_id, "contact_class": contact_class, "contact_type": contact_type,
            "account_id": interaction.account_id, "note": f"{interaction.number}: {title}"[:4000]}
    if interaction.person_id:
        data["person_id"] = interaction.person_id
    try:
        event = parse_event({"event_id": request_id, "event_type": "contact.requested",
                             "occurred_at": now.isoformat(), "source": "interactions", "data": data})
    except EventValidationError as exc:
        raise InvalidRequest(str(exc)) from exc
    outcome = create_contacts_for_event(event, config, deps.ledger, deps.contacts, now=now)
    if outcome.rejected_reason or not outcome.contact_ids:
        raise InvalidRequest(outcome.rejected_reason or "no activity was created")
    return outcome.contact_ids[0]


def complete_task(deps: InteractionDeps, principal: Principal, interaction_id: str, task_id: str, *,
                  note: str = "", outcome: str = "", now: datetime) -> Task:
    """Complete a task (and its collector activity), or a linked activity (``activity-{contact_id}``).
    Completing a done task again changes nothing."""
    interaction = _load(deps, principal, interaction_id, Permission.INTERACTIONS_WRITE)
    if task_id.startswith(ACTIVITY_TASK_PREFIX):
        contact_id = task_id[len(ACTIVITY_TASK_PREFIX):]
        tasks = [t for t in related_tasks(deps, principal, interaction.id) if t.task_id == task_id]
        if not tasks:
            raise InteractionNotFound(f"no task {task_id}")
        _complete_activity(deps, principal, contact_id, outcome, note, now)
        return tasks[0].model_copy(update={"done": True, "done_at": now})
    task = deps.store.get_task(interaction.id, task_id)
    if task is None:
        raise InteractionNotFound(f"no task {task_id}")
    if task.activity_id:
        _complete_activity(deps, principal, task.activity_id, outcome, note, now)
    done = deps.store.complete_task(interaction.id, task_id, now)
    return done or task


def _complete_activity(deps: InteractionDeps, principal: Principal, contact_id: str, outcome: str, note: str,
                       now: datetime) -> None:
    if deps.activities is None:
        raise InvalidRequest("collector activities are not available here")
    from dunning.store.activities import ActivityNotOpen

    contact = deps.contacts.get(contact_id) if deps.contacts is not None else None
    if contact is None or contact.activity is None:
        raise InteractionNotFound(f"no activity {contact_id}")
    with suppress(ActivityNotOpen):  # completed already (from the worklist or an earlier click)
        # conditional on its current assignee (ActivitiesRepository.complete names #t whether or not it is used)
        deps.activities.complete(contact_id, outcome=outcome or "completed", note=note[:2000], by=principal.username,
                                 only_assignee=contact.activity.assigned_to, now=now)


# ---------------------------------------------------------------------------------------------- attachments
def start_upload(deps: InteractionDeps, principal: Principal | None, interaction_id: str, filename: str,
                 content_type: str, size: int, shared_with: Visibility, *,
                 redirect: Callable[[str], str] | None = None) -> UploadTicket:
    """A presigned POST for one file: the Content-Type fixed, the size 1 byte to ``size`` (at most 10 MiB);
    ``redirect``: attachment id -> where S3 sends the browser after the upload (the console's completion page),
    signed into the POST policy."""
    interaction = _load(deps, principal, interaction_id, Permission.INTERACTIONS_WRITE)
    refusal = upload_refusal(filename, content_type, size)
    if refusal:
        raise InvalidRequest(f"the attachment is refused: {refusal}")
    now = datetime.now(UTC)
    attachment = Attachment(attachment_id=new_id(), filename=safe_filename(filename), content_type=content_type,
                            size=size, status="pending", shared_with="customer" if principal is None else shared_with,
                            uploaded_by=_author(principal, "customer"), at=now, account_id=interaction.account_id,
                            interaction_id=interaction.id)
    deps.store.put_attachment(interaction.id, attachment)
    post = deps.attachments.presigned_post(attachment_key(interaction.id, attachment.attachment_id), content_type,
                                           size, UPLOAD_SECONDS,
                                           redirect=redirect(attachment.attachment_id) if redirect else None)
    return UploadTicket(attachment_id=attachment.attachment_id, url=post.url, fields=post.fields,
                        expires_at=now + timedelta(seconds=UPLOAD_SECONDS), max_size=size, content_type=content_type)


def complete_upload(deps: InteractionDeps, principal: Principal | None, interaction_id: str,
                    attachment_id: str) -> Attachment:
    """Check the uploaded object (HEAD): its type must be the declared one and its size within the limit, else
    it is deleted and the attachment ends ``refused`` with the reason. Completing again changes nothing."""
    interaction = _load(deps, principal, interaction_id, Permission.INTERACTIONS_WRITE)
    attachment = deps.store.get_attachment(interaction.id, attachment_id)
    if attachment is None:
        raise InteractionNotFound(f"no attachment {attachment_id}")
    if attachment.status != "pending":
        return attachment
    key = attachment_key(interaction.id, attachment_id)
    head = deps.attachments.head(key)
    if head is None:
        raise InvalidRequest("the file has not been uploaded yet")
    refusal = stored_refusal(attachment.content_type, attachment.size, head.content_type, head.size)
    if refusal:
        deps.attachments.delete(key)
        settled = deps.store.settle_attachment(interaction.id, attachment_id, "refused", refusal)
    else:
        settled = deps.store.settle_attachment(interaction.id, attachment_id, "stored", size=head.size)
    return settled or deps.store.get_attachment(interaction.id, attachment_id) or attachment


def _stored(deps: InteractionDeps, interaction_id: str, attachment_id: str) -> Attachment:
    attachment = deps.store.get_attachment(interaction_id, attachment_id)
    if attachment is None or attachment.status != "stored":
        raise InteractionNotFound(f"no stored attachment {attachment_id}")
    return attachment


def attachment_url(deps: InteractionDeps, principal: Principal, interaction_id: str, attachment_id: str) -> str:
    """A presigned GET of a stored attachment, valid :data:`ATTACHMENT_URL_SECONDS`."""
    interaction = _load(deps, principal, interaction_id)
    attachment = _stored(deps, interaction.id, attachment_id)
    return deps.attachments.presigned_get(attachment_key(interaction.id, attachment_id), ATTACHMENT_URL_SECONDS,
                                          attachment.filename, attachment.content_type)


def customer_link(deps: InteractionDeps, interaction_id: str, attachment_id: str, *,
                  now: datetime | None = None) -> str:
    """The signed token of a customer's link to an attachment shared with them (``/public/attachments/{token}``)."""
    attachment = _stored(deps, interaction_id, attachment_id)
    if attachment.shared_with != "customer":
        raise InvalidRequest("the attachment is not shared with the customer")
    expires = int((now or datetime.now(UTC)).timestamp()) + CUSTOMER_LINK_SECONDS
    return sign_link(deps.signing_key(), interaction_id, attachment_id, expires)


def open_customer_link(deps: InteractionDeps, token: str, *, now: datetime | None = None) -> str:
    """The presigned GET behind a customer's link: only a valid, unexpired token, and only for an attachment
    still shared with the customer. Anything else is :class:`InteractionNotFound` (nothing is revealed)."""
    try:
        interaction_id, attachment_id = verify_link(deps.signing_key(), token,
                                                    int((now or datetime.now(UTC)).timestamp()))
    except BadLink as exc:
        raise InteractionNotFound("no such link") from exc
    attachment = _stored(deps, interaction_id, attachment_id)
    if attachment.shared_with != "customer":
        raise InteractionNotFound("no such link")
    return deps.attachments.presigned_get(attachment_key(interaction_id, attachment_id), ATTACHMENT_URL_SECONDS,
                                          attachment.filename, attachment.content_type)


def account_attachments(deps: InteractionDeps, principal: Principal, account_id: str) -> list[Attachment]:
    """The stored files of an account's interactions (the account's archive), newest first, those the principal
    may see."""
    principal.require(Permission.INTERACTIONS_READ)
    page = deps.store.list_account(account_id, MAX_LIMIT, None)
    visible = page.items
    if not _is_admin(principal):
        mine = set(_stages(deps, principal))
        visible = [i for i in visible if (i.process, i.stage) in mine]
    out: list[Attachment] = []
    for interaction in visible:
        record = deps.store.record(interaction.id)
        if record is not None:
            out.extend(a for a in record.attachments if a.status == "stored")
    return sorted(out, key=lambda a: a.at, reverse=True)


# ---------------------------------------------------------------------------------------------- holds
def _upsert_hold(deps: InteractionDeps, interaction: Interaction, summary: HoldSummary, at: datetime) -> None:
    holds = [h for h in interaction.holds if not (h.kind == summary.kind and h.invoice_id == summary.invoice_id)]
    deps.store.set_holds(interaction.id, [*holds, summary], at)


def _hold_target(deps: InteractionDeps, principal: Principal, interaction_id: str) -> tuple[Interaction, str,
                                                                                              LedgerStore]:
    interaction = _load(deps, principal, interaction_id, Permission.INTERACTIONS_WRITE)
    if not interaction.account_id:
        raise InvalidRequest("the interaction names no account")
    if deps.ledger is None:
        raise InvalidRequest("the ledger is not available here")
    return interaction, interaction.account_id, deps.ledger


def _link_invoice(deps: InteractionDeps, interaction: Interaction, invoice_id: str, by: str, at: datetime) -> None:
    if f"invoice:{invoice_id}" not in interaction.links:
        deps.store.put_link(interaction.id, Link(kind="invoice", ref=invoice_id, by=by, at=at))


def dispute_invoice(deps: InteractionDeps, principal: Principal, interaction_id: str, invoice_id: str, *,
                    note: str = "", now: datetime) -> HoldSummary:
    """The interaction disputes an invoice: the collections run holds it until the dispute is resolved."""
    from dunning.app import holds

    interaction, account_id, ledger = _hold_target(deps, principal, interaction_id)
    hold = holds.dispute_invoice(ledger, account_id, invoice_id, reference=interaction.number, note=note[:2000],
                                 at=now)
    summary = HoldSummary(kind="dispute", invoice_id=invoice_id, account_id=account_id, state=str(hold.status),
                          at=now)
    _upsert_hold(deps, interaction, summary, now)
    _link_invoice(deps, interaction, invoice_id, principal.username, now)
    _system_entry(deps, interaction.id, principal.username, f"Invoice {invoice_id} disputed: the collections run "
                  "holds it." + (f" {note[:2000]}" if note else ""), now)
    return summary


def resolve_dispute(deps: InteractionDeps, principal: Principal, interaction_id: str, invoice_id: str, *,
                    note: str = "", now: datetime) -> HoldSummary:
    """Resolve the interaction's dispute of an invoice: its hold is released and the process resumes."""
    from dunning.app import holds

    interaction, account_id, ledger = _hold_target(deps, principal, interaction_id)
    hold = holds.release_dispute(ledger, account_id, invoice_id, reference=interaction.number, at=now)
    summary = HoldSummary(kind="dispute", invoice_id=invoice_id, account_id=account_id, state=str(hold.status),
                          at=now)
    _upsert_hold(deps, interaction, summary, now)
    _system_entry(deps, interaction.id, principal.username, f"Dispute of invoice {invoice_id} resolved: the hold is "
                  "released." + (f" {note[:2000]}" if note else ""), now)
    return summary


def promise_to_pay(deps: InteractionDeps, principal: Principal, interaction_id: str, invoice_id: str, *,
                   amount: Decimal, until: date, note: str = "", now: datetime) -> HoldSummary:
    """The customer promises to pay ``amount`` by ``until``: the invoice is held until then (a hold that
    expires; broken if the money has not come)."""
    from dunning.app import holds

    interaction, account_id, ledger = _hold_target(deps, principal, interaction_id)
    hold = holds.promise_to_pay(ledger, account_id, invoice_id, amount=amount, until=until,
                                reference=interaction.number, at=now)
    summary = HoldSummary(kind="promise", invoice_id=invoice_id, account_id=account_id, state=str(hold.status),
                          amount=amount, until=until, at=now)
    _upsert_hold(deps, interaction, summary, now)
    _link_invoice(deps, interaction, invoice_id, principal.username, now)
    _system_entry(deps, interaction.id, principal.username, f"Promise to pay {amount} on invoice {invoice_id} by "
                  f"{until.isoformat()}." + (f" {note[:2000]}" if note else ""), now)
    return summary


# ---------------------------------------------------------------------------------------------- auto replies
def auto_reply_for(deps: InteractionDeps, interaction: Interaction, trigger: str) -> ReplyDraft | None:
    """The automatic reply for ``trigger`` (``created`` or ``stage:<id>``) chosen by the interaction's category,
    rendered in its language (else the template's default), or None. The mail module decides whether to send
    (never to automatic mail) and sends it."""
    cfg = _cfg(deps)
    template = auto_reply_template(cfg, interaction.category, trigger)
    if template is None:
        return None
    language, subject, text = render_reply(template, interaction.language, reply_context(interaction))
    if cfg.mail.number_in_subject:
        subject = subject_with_number(subject, interaction.number)
    return ReplyDraft(template=template.code, trigger=trigger, language=language, subject=subject, text=text,
                      to=interaction.customer_email)
