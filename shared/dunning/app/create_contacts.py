"""The collections run, per batch (CreateContactsFunction): create the contacts the batch's acting decisions
call for, through the one contact-creation path, and record each account's new collection state."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from dunning.app.run_models import BatchInput, decisions_key
from dunning.contacts import prepare_contact, run_contact_drafts
from dunning.models.accounts import AccountView
from dunning.models.config import Config
from dunning.models.contacts import Contact, pack_snapshot
from dunning.models.decisions import AccountDecision
from dunning.store.blobs import BlobStore
from dunning.store.contacts import ContactStore
from dunning.store.ledger import LedgerStore
from dunning.store.runs import RunStore
from dunning.strategy.evaluation import next_state


@dataclass
class CreateContactsDeps:
    config: Config
    ledger: LedgerStore  # persons in, collection states out
    contacts: ContactStore
    runs: RunStore  # the batch result
    blobs: BlobStore  # the runs bucket: the batch's decisions


class BatchResult(BaseModel):
    """What one batch created: kept in the runs table (with the run's printed letter ids) for the summary and the
    print extract, and returned to the state machine (without the ids)."""

    batch: int
    acting_accounts: int
    contacts_planned: int
    contacts_created: int
    by_action: dict[str, int]
    fallbacks: int
    outcomes: dict[str, int] = Field(default_factory=dict)
    with_open_balance: int = 0
    # for the console's run report: contacts by language, planned actions per hierarchy and step, the batch's times
    by_language: dict[str, int] = Field(default_factory=dict)
    by_step: dict[str, dict[str, int]] = Field(default_factory=dict)
    evaluate_ms: float | None = None
    contacts_ms: float | None = None


def create_contacts_batch(payload: BatchInput, deps: CreateContactsDeps, now: datetime | None = None) -> BatchResult:
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    rows = deps.blobs.get_json(payload.decisions_key or decisions_key(payload.manifest_prefix, payload.batch))
    acting = [(AccountView.model_validate(r["view"]), AccountDecision.model_validate(r["decision"])) for r in rows]
    persons = deps.ledger.persons(persons_needed(acting)) if acting else {}
    contacts = _for_print_run(build_run_contacts(acting, deps.config, persons, payload.run_id, now), deps.config,
                              payload.run_id)
    letter_ids = [c.contact_id for c in contacts if c.print_run == payload.run_id]
    created = deps.contacts.create_new(contacts)
    states = {v.account_id: s for v, d in acting if (s := next_state(v.state, d, payload.as_of)) != v.state}
    if states:
        deps.ledger.put_states(states)
    result = BatchResult(
        batch=payload.batch,
        acting_accounts=len(acting),
        contacts_planned=len(contacts),
        contacts_created=len(created),
        by_action=dict(Counter(c.action for c in created)),
        fallbacks=sum(1 for c in created if c.action == "letter" and "sent as letter" in c.reason),
        outcomes=payload.outcomes,
        with_open_balance=payload.with_open_balance,
        by_language=dict(Counter(c.language for c in created)),
        by_step=_steps_by_hierarchy(acting),
        evaluate_ms=payload.evaluate_ms,
        contacts_ms=round((time.perf_counter() - started) * 1000, 1),
    )
    deps.runs.put_batch_result(payload.run_id, payload.batch, {**result.model_dump(mode="json"),
                                                               "letter_ids": letter_ids})
    return result  # the ids stay out of the state machine's payload


def _steps_by_hierarchy(acting: list[tuple[AccountView, AccountDecision]]) -> dict[str, dict[str, int]]:
    counts: dict[str, Counter[str]] = {}
    for _, decision in acting:
        for action in decision.actions:
            counts.setdefault(action.hierarchy_id, Counter())[action.step_id] += 1
    return {h: dict(c) for h, c in counts.items()}


def _for_print_run(contacts: list[Contact], config: Config, run_id: str) -> list[Contact]:
    """The run's printed letters go into the run's own print extract, found through this batch result (ids are
    deterministic: a letter created by an earlier attempt has the same id); other letters use the print queue."""
    printed = {t.code for t in config.letter_templates if t.production in ("print", "print_and_online")}
    return [c.model_copy(update={"print_run": run_id}) if c.action == "letter" and c.template_code in printed
            else c for c in contacts]


def build_run_contacts(acting: list[tuple[AccountView, AccountDecision]], config: Config,
                       persons: dict[str, Any], run_id: str, now: datetime) -> list[Contact]:
    """Contacts for the acting decisions, through the one contact-creation path (pure)."""
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
