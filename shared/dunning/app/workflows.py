"""Workflow use cases (S4.6): validate, save drafts, publish immutable versions, read and diff them, "Try it"
snapshots, the interpreter's loader and the choice of the live workflow a new conversation starts on.

- A **draft** is saved even when it is invalid: its errors are stored with it and shown.
- **Publish** validates the draft (schema, graph and the configuration's teams) and refuses an invalid one with
  :class:`WorkflowInvalid`, whose ``errors`` name the step and the reason. The version number is taken by a
  conditional write of the workflow's head (``latest_version + 1``), so two concurrent publishes never get the same
  number; the version item is written once (``attribute_not_exists``) and never changed; ``live_version`` moves
  (forward only) after the version is written. Content equal to the live version (its canonical hash) makes no
  new version, nor does a concurrent publish of the content another publish is writing.
- A running conversation keeps its version: :func:`definition_for` reads ``V#{n}`` (immutable, so cached
  in-process per (workflow, version)); a draft runs from a ``TRY#{hash12}`` snapshot, keyed by its content.

``principal=None`` is the system (template installation, the runtime); a principal needs ``workflows:read``,
``workflows:write`` (drafts, "Try it") or ``workflows:publish``.

The composition root builds :class:`WorkflowDeps` from the conversations table and the configuration::

    WorkflowDeps(store=DynamoWorkflowsRepository(conversations_table), config=S3Blobs(runs_bucket).config)
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from dunning.app.operations import InvalidRequest
from dunning.app.queries import NotFound
from dunning.auth import Permission, Principal
from dunning.models.workflows import (
    Fmt,
    StepError,
    ValidationReport,
    WorkflowDefinition,
    WorkflowDetail,
    WorkflowDiff,
    WorkflowDraft,
    WorkflowSummary,
    WorkflowVersion,
)
from dunning.store.workflows import TRY_TTL_SECONDS, StoredDraft, TrySnapshot, WorkflowHead, WorkflowStore
from dunning.workflows import diff as diffing
from dunning.workflows import templates as shipped
from dunning.workflows.schema import definition_hash
from dunning.workflows.validate import detect_format, parse_source, validate_source

if TYPE_CHECKING:
    from dunning.models.config import Config

__all__ = [
    "DRAFT", "DefinitionCache", "WorkflowConflict", "WorkflowDeps", "WorkflowInvalid", "WorkflowNotFound",
    "definition_for", "diagram_svg", "diff", "get_workflow", "install_templates", "list_workflows", "live_for",
    "publish", "save_draft", "try_snapshot", "validate", "version",
]

DRAFT = "draft"
DRAFT_PREFIX = "draft-"
MAX_RACE_RETRIES = 20
CACHE_SIZE = 256
TEMPLATE_NOTE = "shipped template"
SYSTEM = "system"


# ---------------------------------------------------------------------------------------------- errors
class WorkflowNotFound(NotFound):
    """No such workflow, version or snapshot (404)."""


class WorkflowInvalid(InvalidRequest):
    """The workflow does not validate (422); ``errors`` name the step and the reason of each problem."""

    def __init__(self, wf_id: str, errors: list[StepError]) -> None:
        shown = "; ".join(f"{e.step or '(workflow)'}: {e.message}" for e in errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        super().__init__(f"workflow {wf_id} is not valid: {len(errors)} error(s): {shown}{more}")
        self.workflow_id = wf_id
        self.errors = list(errors)


class WorkflowConflict(Exception):
    """The workflow kept changing under a write for longer than its retries (409: try again)."""


# ---------------------------------------------------------------------------------------------- deps
class DefinitionCache:
    """Definitions by (workflow, version): versions and snapshots never change, so an entry never goes stale.
    Bounded (least recently used out), thread-safe."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._items: OrderedDict[tuple[str, str], WorkflowDefinition] = OrderedDict()
        self._lock = threading.Lock()
        self.size = size

    def get(self, key: tuple[str, str]) -> WorkflowDefinition | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: tuple[str, str], definition: WorkflowDefinition) -> None:
        with self._lock:
            self._items[key] = definition
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


@dataclass(frozen=True)
class WorkflowDeps:
    store: WorkflowStore
    config: Callable[[], Config]
    cache: DefinitionCache = field(default_factory=DefinitionCache, compare=False)


# ---------------------------------------------------------------------------------------------- helpers
def _require(principal: Principal | None, permission: Permission) -> None:
    if principal is not None:
        principal.require(permission)


def _by(principal: Principal | None) -> str:
    return principal.username if principal is not None else SYSTEM


def _teams(deps: WorkflowDeps) -> set[str]:
    return {t.id for t in deps.config().conversations.teams}


def _fmt(text: str, fmt: str | None) -> Fmt:
    if fmt not in (None, "yaml", "json"):
        raise InvalidRequest(f"unknown format {fmt!r}: yaml or json")
    return "json" if (fmt or detect_format(text)) == "json" else "yaml"


def _text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _check(deps: WorkflowDeps, wf_id: str, text: str, fmt: Fmt) -> ValidationReport:
    """Validate ``text`` as workflow ``wf_id``: the source's own ``id`` must be ``wf_id``."""
    report = validate_source(text, fmt, teams=_teams(deps))
    if report.ok and report.definition is not None and report.definition.id != wf_id:
        return ValidationReport(ok=False, definition=None, errors=[StepError(
            step=None, path="id", message=f"the workflow's id is {report.definition.id!r}, but it is saved as "
                                          f"{wf_id!r}: the id in the source names the workflow")])
    return report


def _valid_id(wf_id: str) -> str:
    from pydantic import TypeAdapter, ValidationError

    from dunning.models.workflows import WorkflowId

    try:
        TypeAdapter(WorkflowId).validate_python(wf_id)
    except ValidationError:
        raise InvalidRequest(f"{wf_id!r} is not a workflow id: a lowercase letter, then 1 to 47 lowercase letters, "
                             "digits or _") from None
    return wf_id


def _head(deps: WorkflowDeps, wf_id: str) -> WorkflowHead:
    head = deps.store.head(wf_id)
    if head is None:
        raise WorkflowNotFound(f"no workflow {wf_id}")
    return head


def _draft_model(wf_id: str, draft: StoredDraft) -> WorkflowDraft:
    return WorkflowDraft(workflow_id=wf_id, **draft.model_dump())


def _draft_name(text: str, fmt: Fmt, report: ValidationReport, fallback: str) -> str:
    if report.definition is not None:
        return report.definition.name
    doc, _ = parse_source(text, fmt)
    name = doc.get("name") if isinstance(doc, dict) else None
    return name.strip()[:200] if isinstance(name, str) and name.strip() else fallback


def _retrying(what: str, wf_id: str) -> range:
    """The attempts of a read-modify-write of ``wf_id``'s head (each loses only to a concurrent write)."""
    return range(MAX_RACE_RETRIES)


def _conflict(what: str, wf_id: str) -> WorkflowConflict:
    return WorkflowConflict(f"workflow {wf_id} kept changing while {what}: try again")


# ---------------------------------------------------------------------------------------------- validate, drafts
def validate(deps: WorkflowDeps, text: str, fmt: Fmt | None) -> ValidationReport:
    """Schema, graph and the configuration's teams (nothing is stored)."""
    return validate_source(text, _fmt(text, fmt), teams=_teams(deps))


def _save_draft(deps: WorkflowDeps, by: str, wf_id: str, text: str, fmt: Fmt | None,
                now: datetime) -> WorkflowDraft:
    _valid_id(wf_id)
    kind = _fmt(text, fmt)
    report = _check(deps, wf_id, text, kind)
    definition = report.definition if report.ok else None
    draft = StoredDraft(source=text, fmt=kind, hash=definition_hash(definition) if definition else _text_hash(text),
                        ok=definition is not None, errors=list(report.errors), saved_by=by, saved_at=now)
    for _ in _retrying("saving its draft", wf_id):
        head = deps.store.head(wf_id)
        if head is None:
            new = WorkflowHead(id=wf_id, name=_draft_name(text, kind, report, wf_id), draft=draft, rev=1)
            if definition is not None:
                new = new.model_copy(update={"priority": definition.priority, "trigger": definition.trigger})
        else:
            update: dict[str, Any] = {"draft": draft, "rev": head.rev + 1}
            if head.live_version is None:  # nothing live: the list shows the draft's name, priority and trigger
                update["name"] = _draft_name(text, kind, report, head.name)
                if definition is not None:
                    update.update(priority=definition.priority, trigger=definition.trigger)
            new = head.model_copy(update=update)
        if deps.store.put_head(new, expected_rev=head.rev if head is not None else None):
            return _draft_model(wf_id, draft)
    raise _conflict("saving its draft", wf_id)


def save_draft(deps: WorkflowDeps, principal: Principal | None, wf_id: str, text: str, fmt: Fmt | None,
               now: datetime) -> WorkflowDraft:
    """Keep ``text`` as the workflow's draft (creating the workflow), valid or not: ``errors`` say what is wrong."""
    _require(principal, Permission.WORKFLOWS_WRITE)
    return _save_draft(deps, _by(principal), wf_id, text, fmt, now)


# ---------------------------------------------------------------------------------------------- publish
def _make_live(deps: WorkflowDeps, version: WorkflowVersion) -> None:
    """``live_version`` := ``version.n`` unless a newer version is live already (it only moves forward)."""
    wf_id, d = version.workflow_id, version.definition
    for _ in _retrying("making a version live", wf_id):
        head = _head(deps, wf_id)
        if head.live_version is not None and head.live_version >= version.n:
            return
        new = head.model_copy(update={"live_version": version.n, "live_hash": version.hash, "name": d.name,
                                      "priority": d.priority, "trigger": d.trigger, "rev": head.rev + 1})
        if deps.store.put_head(new, expected_rev=head.rev):
            return
    raise _conflict("making a version live", wf_id)


def _publish_source(deps: WorkflowDeps, by: str, wf_id: str, source: str, fmt: Fmt, now: datetime,
                    note: str) -> WorkflowVersion:
    report = _check(deps, wf_id, source, fmt)
    if not report.ok or report.definition is None:
        raise WorkflowInvalid(wf_id, list(report.errors))
    definition = report.definition
    digest = definition_hash(definition)
    for _ in _retrying("publishing", wf_id):
        head = _head(deps, wf_id)
        if head.live_version is not None and head.live_hash == digest:  # the same content is live: no new version
            live = deps.store.version(wf_id, head.live_version)
            if live is not None:
                return live
        if head.latest_hash == digest and head.latest_version > (head.live_version or 0):
            n = head.latest_version  # a publish of this content took this number: finish it (it may have stopped)
        else:
            n = head.latest_version + 1
            taken = head.model_copy(update={"latest_version": n, "latest_hash": digest, "rev": head.rev + 1})
            if not deps.store.put_head(taken, expected_rev=head.rev):
                continue  # another write came first: read again
        made = WorkflowVersion(workflow_id=wf_id, n=n, hash=digest, published_by=by, published_at=now,
                               note=note, source=source, fmt=fmt, definition=definition)
        if not deps.store.put_version(made):
            existing = deps.store.version(wf_id, n)
            if existing is None or existing.hash != digest:
                continue
            made = existing
        deps.cache.put((wf_id, str(n)), made.definition)
        _make_live(deps, made)
        return made
    raise _conflict("publishing", wf_id)


def publish(deps: WorkflowDeps, principal: Principal | None, wf_id: str, now: datetime, *, note: str = "",
            text: str | None = None, fmt: Fmt | None = None) -> WorkflowVersion:
    """Publish the draft (``text``: saved as the draft first, and published as given) as the next immutable
    version and make it live. :class:`WorkflowInvalid` when it does not validate; content equal to the live
    version returns that version."""
    _require(principal, Permission.WORKFLOWS_PUBLISH)
    by = _by(principal)
    if text is not None:  # this text, even if another draft is saved meanwhile
        saved = _save_draft(deps, by, wf_id, text, fmt, now)
        source, kind = saved.source, saved.fmt
    else:
        draft = _head(deps, wf_id).draft
        if draft is None:
            raise InvalidRequest(f"workflow {wf_id} has no draft to publish: save one first")
        source, kind = draft.source, draft.fmt
    return _publish_source(deps, by, wf_id, source, kind, now, note.strip()[:500])


# ---------------------------------------------------------------------------------------------- reads
def list_workflows(deps: WorkflowDeps, principal: Principal | None) -> list[WorkflowSummary]:
    _require(principal, Permission.WORKFLOWS_READ)
    return sorted(deps.store.summaries(), key=lambda s: s.id)


def _draft_definition(draft: StoredDraft) -> WorkflowDefinition | None:
    return validate_source(draft.source, draft.fmt).definition if draft.ok else None


def get_workflow(deps: WorkflowDeps, principal: Principal | None, wf_id: str) -> WorkflowDetail:
    """The summary, the draft (with its errors), the versions (oldest first) and the live (else the valid draft's)
    definition."""
    _require(principal, Permission.WORKFLOWS_READ)
    head = _head(deps, wf_id)
    definition = None
    if head.live_version is not None:
        definition = definition_for(deps, wf_id, str(head.live_version))
    elif head.draft is not None:
        definition = _draft_definition(head.draft)
    return WorkflowDetail(summary=head.summary(), draft=_draft_model(wf_id, head.draft) if head.draft else None,
                          versions=deps.store.versions(wf_id), definition=definition)


def version(deps: WorkflowDeps, principal: Principal | None, wf_id: str, n: int) -> WorkflowVersion:
    _require(principal, Permission.WORKFLOWS_READ)
    found = deps.store.version(wf_id, n)
    if found is None:
        raise WorkflowNotFound(f"no version {n} of workflow {wf_id}")
    return found


def _side(deps: WorkflowDeps, wf_id: str, which: str) -> tuple[str, WorkflowDefinition | None, str]:
    """(source, definition or None, label) of ``which``: a version number or "draft"."""
    if which == DRAFT:
        draft = _head(deps, wf_id).draft
        if draft is None:
            raise WorkflowNotFound(f"workflow {wf_id} has no draft")
        return draft.source, _draft_definition(draft), f"{wf_id} draft"
    if not which.isdigit():
        raise InvalidRequest(f"{which!r} is neither a version number nor 'draft'")
    found = deps.store.version(wf_id, int(which))
    if found is None:
        raise WorkflowNotFound(f"no version {which} of workflow {wf_id}")
    return found.source, found.definition, f"{wf_id} v{found.n}"


def diff(deps: WorkflowDeps, principal: Principal | None, wf_id: str, a: str, b: str) -> WorkflowDiff:
    """``a`` -> ``b`` (version numbers or "draft"): a unified diff of the canonical YAML and the steps added,
    removed and changed. ``a``/``b`` of the result are as asked."""
    _require(principal, Permission.WORKFLOWS_READ)
    a, b = a.strip().lower(), b.strip().lower()
    a_text, a_def, a_label = _side(deps, wf_id, a)
    b_text, b_def, b_label = _side(deps, wf_id, b)
    made = diffing.diff(a_text, b_text, a_def, b_def, a_label=a_label, b_label=b_label)
    return made.model_copy(update={"a": a, "b": b})


def diagram_svg(deps: WorkflowDeps, principal: Principal | None, wf_id: str, which: str | None = None) -> str:
    """The workflow drawn as SVG: ``which`` a version number or "draft" (None: the live version, else the draft).
    An invalid draft has no diagram (:class:`WorkflowInvalid` with its errors)."""
    from dunning.workflows.diagram import render_svg

    _require(principal, Permission.WORKFLOWS_READ)
    if which is None:
        head = _head(deps, wf_id)
        which = str(head.live_version) if head.live_version is not None else DRAFT
    if which == DRAFT:
        draft = _head(deps, wf_id).draft
        if draft is None:
            raise WorkflowNotFound(f"workflow {wf_id} has no draft")
        definition = _draft_definition(draft)
        if definition is None:
            raise WorkflowInvalid(wf_id, list(draft.errors))
    else:
        definition = version(deps, principal, wf_id, int(which)).definition if which.isdigit() else None
        if definition is None:
            raise InvalidRequest(f"{which!r} is neither a version number nor 'draft'")
    return render_svg(definition)


# ---------------------------------------------------------------------------------------------- running
def try_snapshot(deps: WorkflowDeps, principal: Principal | None, wf_id: str, now: datetime) -> str:
    """Snapshot the draft for "Try it": the version a test conversation runs, ``draft-<hash12>``. Refused
    (:class:`WorkflowInvalid`) when the draft does not validate."""
    _require(principal, Permission.WORKFLOWS_WRITE)
    draft = _head(deps, wf_id).draft
    if draft is None:
        raise InvalidRequest(f"workflow {wf_id} has no draft to try: save one first")
    report = _check(deps, wf_id, draft.source, draft.fmt)
    if not report.ok or report.definition is None:
        raise WorkflowInvalid(wf_id, list(report.errors))
    digest = definition_hash(report.definition)
    deps.store.put_try(TrySnapshot(workflow_id=wf_id, hash=digest, source=draft.source, fmt=draft.fmt,
                                   definition=report.definition, created_by=_by(principal), created_at=now),
                       int(now.timestamp()) + TRY_TTL_SECONDS)
    name = f"{DRAFT_PREFIX}{digest[:12]}"
    deps.cache.put((wf_id, name), report.definition)
    return name


def definition_for(deps: WorkflowDeps, wf_id: str, version: str) -> WorkflowDefinition:
    """The definition a conversation runs: version ``"3"`` (``V#000003``, forever) or ``"draft-<hash12>"`` (its
    snapshot). Cached per (workflow, version): neither ever changes."""
    key = (wf_id, version)
    cached = deps.cache.get(key)
    if cached is not None:
        return cached
    found: WorkflowDefinition | None = None
    if version.isdigit():
        v = deps.store.version(wf_id, int(version))
        found = v.definition if v is not None else None
    elif version.startswith(DRAFT_PREFIX):
        snap = deps.store.try_snapshot(wf_id, version[len(DRAFT_PREFIX):])
        found = snap.definition if snap is not None else None
    if found is None:
        raise WorkflowNotFound(f"no version {version} of workflow {wf_id}")
    deps.cache.put(key, found)
    return found


def _matches(s: WorkflowSummary, channel: str, returning: bool, category: str | None) -> bool:
    t = s.trigger
    if t.event != "conversation_opened" or channel not in t.channels:
        return False
    if (t.contacts == "new" and returning) or (t.contacts == "returning" and not returning):
        return False
    # a trigger limited to categories takes only a conversation of one of them (an email's interaction category;
    # a chat has none, so it never starts a category-limited workflow by itself)
    return not t.categories or category in t.categories


def live_for(deps: WorkflowDeps, channel: str, returning: bool,
             category: str | None) -> tuple[WorkflowDefinition, str] | None:
    """The live workflow a new conversation starts on: of those whose trigger matches the channel, the contact
    (new or returning) and, if the trigger names categories, the conversation's category: the highest priority
    (ties: the lowest id), with the version it is on. None when none matches."""
    live = [s for s in deps.store.summaries()
            if s.live_version is not None and _matches(s, channel, returning, category)]
    if not live:
        return None
    best = min(live, key=lambda s: (-s.priority, s.id))
    n = str(best.live_version)
    return definition_for(deps, best.id, n), n


def install_templates(deps: WorkflowDeps, principal: Principal | None, now: datetime, *,
                      publish: bool = True) -> list[str]:
    """Each shipped template as a workflow (its draft = the template's source) and, with ``publish``, live as
    v1. Idempotent: an existing workflow keeps its draft, and one that is live already is left as it is.
    Returns the shipped templates' ids."""
    _require(principal, Permission.WORKFLOWS_PUBLISH if publish else Permission.WORKFLOWS_WRITE)
    by = _by(principal)
    out = []
    for template_id in shipped.TEMPLATE_IDS:
        source = shipped.load_template(template_id)
        head = deps.store.head(template_id)
        if head is None or head.draft is None:
            _save_draft(deps, by, template_id, source, "yaml", now)
            head = deps.store.head(template_id)
        if publish and head is not None and head.live_version is None:
            _publish_source(deps, by, template_id, source, "yaml", now, TEMPLATE_NOTE)
        out.append(template_id)
    return out
