"""The collections run's steps, one function per state of the state machine.

``start_run`` (assign) -> ``evaluate_batch`` -> ``create_contacts_batch`` (per manifest item) -> ``summarize_run``.
The run never touches one account with its own execution or its own query: accounts travel in
pre-batched manifest files, read once by a Scan.
"""

from __future__ import annotations

import contextvars
import hashlib
import itertools
import threading
import uuid
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dunning.models.accounts import AccountView
from dunning.models.config import Config
from dunning.models.contacts import Contact, pack_snapshot
from dunning.models.decisions import AccountDecision, Assignment
from dunning.store.blobs import Blobs
from dunning.store.contacts import ContactsRepository
from dunning.store.ledger import LedgerRepository, items_to_view
from dunning.store.runs import RunsRepository
from dunning.strategy.assignment import assign
from dunning.strategy.evaluation import evaluate_account, next_state


# ---------------------------------------------------------------------------------------------- inputs
class StartRunInput(BaseModel):
    """What the schedule or the CLI passes: an as-of date, or the scheduled time."""

    model_config = ConfigDict(extra="ignore")

    as_of: date | None = None
    scheduled_time: datetime | None = None
    timezone: str = "UTC"
    execution_id: str | None = None  # the state machine execution: a retried Assign resumes its own run

    @model_validator(mode="before")
    @classmethod
    def _unwrap(cls, data: Any) -> Any:
        """The state machine passes ``{"input": <execution input>, "execution_id": ...}``; a direct invoke or
        ``sam local invoke -e events/assign.json`` passes the input itself."""
        if isinstance(data, dict) and isinstance(data.get("input"), dict):
            return {**data["input"], "execution_id": data.get("execution_id")}
        return data

    def resolve_as_of(self, now: datetime | None = None) -> date:
        if self.as_of:
            return self.as_of
        moment = self.scheduled_time or now or datetime.now(UTC)
        return moment.astimezone(ZoneInfo(self.timezone)).date()


class BatchInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    run_id: str
    as_of: date
    manifest_prefix: str
    batch: int = Field(ge=0)
    decisions_key: str | None = None
    outcomes: dict[str, int] = Field(default_factory=dict)  # from evaluate, carried into the batch result
    with_open_balance: int = 0


class SummarizeInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    run_id: str
    as_of: date
    batch_count: int = 0
    status: str = "SUCCEEDED"
    error: dict[str, Any] | None = None


@dataclass
class Deps:
    config: Config
    ledger: LedgerRepository
    contacts: ContactsRepository
    runs: RunsRepository
    blobs: Blobs


def batch_key(prefix: str, batch: int) -> str:
    return f"{prefix}/batch-{batch:06d}.json"


def decisions_key(prefix: str, batch: int) -> str:
    return f"{prefix}/decisions-{batch:06d}.json"


# ---------------------------------------------------------------------------------------------- assign
SCAN_SEGMENTS = 8  # parallel Scan segments in assign (I/O bound: threads overlap the round trips)


def start_run(payload: StartRunInput, deps: Deps, batch_size: int, now: datetime | None = None,
              segments: int = SCAN_SEGMENTS) -> dict[str, Any]:
    """Take the run lock and write the pre-batched manifest: each account's raw ledger items, read by a
    parallel Scan. Parsing, assignment and evaluation happen per batch in ``evaluate_batch`` (40 at once),
    so this step stays I/O-bound: no per-account models here."""
    now = now or datetime.now(UTC)
    as_of = payload.resolve_as_of(now)
    # one execution is one run: a retry of this step (after a timeout, say) finds its own lock and redoes
    # the manifest, which overwrites the same keys
    suffix = (hashlib.sha256(payload.execution_id.encode()).hexdigest()[:8] if payload.execution_id
              else uuid.uuid4().hex[:8])
    run_id = f"run-{as_of.isoformat()}-{suffix}"
    deps.runs.acquire(as_of, run_id, now)
    prefix = f"runs/{as_of.isoformat()}/{run_id}"
    numbers = itertools.count()
    lock = threading.Lock()

    def next_batch() -> int:
        with lock:
            return next(numbers)

    def write_segment(segment: int) -> tuple[list[int], Counter[str]]:
        written: list[int] = []
        counts: Counter[str] = Counter()
        rows: list[dict[str, Any]] = []
        for account_id, items in deps.ledger.scan_account_items(segment, segments):
            counts["accounts_scanned"] += 1
            if not any(i["sk"].startswith("INV#") for i in items):
                counts["no_invoices"] += 1
                continue
            rows.append({"account_id": account_id, "items": items})
            if len(rows) == batch_size:
                n = next_batch()
                deps.blobs.put_json(batch_key(prefix, n), rows)
                written.append(n)
                rows = []
        if rows:
            n = next_batch()
            deps.blobs.put_json(batch_key(prefix, n), rows)
            written.append(n)
        counts["accounts"] += counts["accounts_scanned"] - counts["no_invoices"]
        return written, counts

    batches: list[int] = []
    counts: Counter[str] = Counter()
    with ThreadPoolExecutor(max_workers=segments) as pool:
        # each segment runs in the caller's context (tracing and call attribution follow the handler)
        futures = [pool.submit(contextvars.copy_context().run, write_segment, s) for s in range(segments)]
        for written, c in (f.result() for f in futures):
            batches.extend(written)
            counts.update(c)
    batches.sort()
    summary_counts = {k: counts.get(k, 0) for k in ("accounts_scanned", "no_invoices", "accounts")}
    deps.runs.put_run(run_id, {"run_id": run_id, "as_of": as_of.isoformat(), "status": "RUNNING",
                               "started_at": now.isoformat(), "batch_count": len(batches),
                               "config_version": deps.config.version, **summary_counts})
    return {"run_id": run_id, "as_of": as_of.isoformat(), "manifest_prefix": prefix,
            "batches": batches, "batch_count": len(batches), **summary_counts}


# ---------------------------------------------------------------------------------------------- evaluate
def decide(views_and_assignments: Iterable[tuple[AccountView, Assignment]], config: Config, as_of: date
           ) -> list[tuple[AccountView, AccountDecision]]:
    return [(v, evaluate_account(v, config, as_of, a)) for v, a in views_and_assignments]


def history_entry(decision: AccountDecision) -> dict[str, Any]:
    return {
        "account_id": decision.account_id,
        "outcome": decision.outcome,
        "lead_invoice_id": decision.lead_invoice_id,
        "days_from_due": decision.days_from_due,
        "actions": [f"{a.origin}:{a.step_id}:{a.action}" for a in decision.actions],
        "reasons": decision.reasons,
        "assignment": decision.assignment_reason,
    }


def evaluate_batch(payload: BatchInput, deps: Deps, retention_default: int) -> dict[str, Any]:
    rows = deps.blobs.get_json(batch_key(payload.manifest_prefix, payload.batch))
    views = [items_to_view(r["account_id"], r["items"]) for r in rows]
    with_balance = [v for v in views if v.open_balance > 0]  # the run works accounts with an open balance
    pairs = [(v, assign(v, deps.config)) for v in with_balance]
    decided = decide(pairs, deps.config, payload.as_of)
    by_hierarchy: dict[str, list[dict[str, Any]]] = {}
    for _, d in decided:
        by_hierarchy.setdefault(d.hierarchy_id or "(unassigned)", []).append(history_entry(d))
    retention = {h.id: h.history_retention_days for h in deps.config.hierarchies}
    retention.setdefault("(unassigned)", retention_default)
    deps.runs.put_history(payload.run_id, payload.as_of, payload.batch, by_hierarchy, retention)
    acting = [(v, d) for v, d in decided if d.actions]
    key = decisions_key(payload.manifest_prefix, payload.batch)
    deps.blobs.put_json(key, [{"view": v.model_dump(mode="json"), "decision": d.model_dump(mode="json")}
                              for v, d in acting])
    outcomes = Counter(d.outcome for _, d in decided)
    return {**payload.model_dump(mode="json"), "decisions_key": key, "evaluated": len(decided),
            "with_open_balance": len(with_balance), "outcomes": dict(outcomes)}


# ---------------------------------------------------------------------------------------------- contacts
def build_run_contacts(acting: list[tuple[AccountView, AccountDecision]], config: Config,
                       persons: dict[str, Any], run_id: str, now: datetime) -> list[Contact]:
    """Contacts for the acting decisions, through the one contact-creation path (pure)."""
    from dunning.contacts.create import prepare_contact, run_contact_drafts

    out: list[Contact] = []
    for view, decision in acting:
        open_view: str | None = None
        for draft in run_contact_drafts(decision, view, config, persons, run_id):
            person = persons.get(draft.person_id or "")
            contact = prepare_contact(draft, config, person=person, now=now)
            if contact.action in ("letter", "email"):
                open_view = open_view or _open_view_json(view)
                contact = contact.model_copy(update={"snapshot": pack_snapshot(snapshot_json(person, None, open_view))})
            out.append(contact)
    return out


def _open_view_json(view: AccountView) -> str:
    """The account view with paid invoices left out: what a letter or email shows."""
    open_view = view.model_copy(update={"invoices": [i for i in view.invoices if not i.is_paid]})
    return open_view.model_dump_json(exclude_defaults=True)  # defaults come back on load; the item stays small


def snapshot_json(person: Any, premise: Any, view_json: str | None) -> str:
    parts = [f'"person":{person.model_dump_json(exclude_defaults=True) if person is not None else "null"}',
             f'"premise":{premise.model_dump_json(exclude_defaults=True) if premise is not None else "null"}',
             f'"view":{view_json or "null"}']
    return "{" + ",".join(parts) + "}"


def persons_needed(acting: list[tuple[AccountView, AccountDecision]]) -> set[str]:
    ids: set[str] = set()
    for view, _ in acting:
        if view.account:
            ids.update(p.person_id for p in view.account.all_persons())
    return ids


def create_contacts_batch(payload: BatchInput, deps: Deps, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    rows = deps.blobs.get_json(payload.decisions_key or decisions_key(payload.manifest_prefix, payload.batch))
    acting = [(AccountView.model_validate(r["view"]), AccountDecision.model_validate(r["decision"])) for r in rows]
    persons = deps.ledger.persons(persons_needed(acting)) if acting else {}
    contacts = build_run_contacts(acting, deps.config, persons, payload.run_id, now)
    # the run's printed letters go into the run's own print extract, found through this batch result (ids are
    # deterministic: a letter created by an earlier attempt has the same id); other letters use the print queue
    printed = {t.code for t in deps.config.letter_templates if t.production in ("print", "print_and_online")}
    contacts = [c.model_copy(update={"print_run": payload.run_id})
                if c.action == "letter" and c.template_code in printed else c for c in contacts]
    letter_ids = [c.contact_id for c in contacts if c.print_run == payload.run_id]
    created = deps.contacts.create_new(contacts)
    states = {v.account_id: s for v, d in acting if (s := next_state(v.state, d, payload.as_of)) != v.state}
    if states:
        deps.ledger.put_states(states)
    result = {
        "batch": payload.batch,
        "acting_accounts": len(acting),
        "contacts_planned": len(contacts),
        "contacts_created": len(created),
        "by_action": dict(Counter(c.action for c in created)),
        "fallbacks": sum(1 for c in created if c.action == "letter" and "sent as letter" in c.reason),
        "outcomes": payload.outcomes,
        "with_open_balance": payload.with_open_balance,
    }
    deps.runs.put_batch_result(payload.run_id, payload.batch, {**result, "letter_ids": letter_ids})
    return result  # the ids stay out of the state machine's payload


# ---------------------------------------------------------------------------------------------- summary
def summarize_run(payload: SummarizeInput, deps: Deps, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    results = deps.runs.batch_results(payload.run_id)
    run = deps.runs.get_run(payload.run_id) or {}
    totals: Counter[str] = Counter(dict.fromkeys(("acting_accounts", "contacts_planned", "contacts_created",
                                                  "fallbacks", "with_open_balance"), 0))
    by_action: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    for r in results:
        outcomes.update(r.get("outcomes", {}))
        for k in ("acting_accounts", "contacts_planned", "contacts_created", "fallbacks", "with_open_balance"):
            totals[k] += int(r.get(k, 0))
        by_action.update(r.get("by_action", {}))
    summary = {
        "run_id": payload.run_id,
        "as_of": payload.as_of.isoformat(),
        "status": payload.status,
        "started_at": run.get("started_at"),
        "finished_at": now.isoformat(),
        "accounts_scanned": run.get("accounts_scanned", 0),
        "batch_count": payload.batch_count,
        "batches_done": len(results),
        **totals,
        "contacts_by_action": dict(by_action),
        "outcomes": dict(outcomes),
        "explanations": f"dunning history --hierarchy ID --since {payload.as_of.isoformat()}",
        "error": payload.error,
    }
    deps.runs.put_run(payload.run_id, summary)
    deps.blobs.put_json(f"runs/{payload.as_of.isoformat()}/{payload.run_id}/summary.json", summary)
    deps.runs.release(payload.as_of, payload.run_id, payload.status)
    return summary
