"""The collections run, per batch (CreateContactsFunction): create the contacts the batch's acting decisions
call for, through the one contact-creation path, and record each account's new collection state."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from dunning.app.run_models import ActionNotSent, BatchInput, SetAsideAccount, decisions_key
from dunning.contacts import ContactRejected, plan_run_contacts, prepare_contact
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
    # accounts set aside (no contact, state untouched) and actions that made no contact: counted here, listed with
    # their reasons only in the stored batch result (``runs show``), never in the state machine's payload
    set_aside: int = 0
    not_sent: int = 0


@dataclass
class RunContacts:
    """What a batch's acting decisions become: the contacts to create, the accounts set aside (with the reason
    none of their contacts can be made) and the actions that make no contact."""

    contacts: list[Contact]
    set_aside: list[SetAsideAccount]
    not_sent: list[ActionNotSent]

    @property
    def set_aside_ids(self) -> set[str]:
        return {s.account_id for s in self.set_aside}


def create_contacts_batch(payload: BatchInput, deps: CreateContactsDeps, now: datetime | None = None) -> BatchResult:
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    rows = deps.blobs.get_json(payload.decisions_key or decisions_key(payload.manifest_prefix, payload.batch))
    acting = [(AccountView.model_validate(r["view"]), AccountDecision.model_validate(r["decision"])) for r in rows]
    persons = deps.ledger.persons(persons_needed(acting)) if acting else {}
    planned = build_run_contacts(acting, deps.config, persons, payload.run_id, now)
    contacts = _for_print_run(planned.contacts, deps.config, payload.run_id)
    letter_ids = [c.contact_id for c in contacts if c.print_run == payload.run_id]
    created = deps.contacts.create_new(contacts)
    aside = planned.set_aside_ids  # their state stays as it was: the next run takes them again
    states = {v.account_id: s for v, d in acting
              if v.account_id not in aside and (s := next_state(v.state, d, payload.as_of)) != v.state}
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
        set_aside=len(planned.set_aside),
        not_sent=len(planned.not_sent),
    )
    deps.runs.put_batch_result(payload.run_id, payload.batch, {
        **result.model_dump(mode="json"), "letter_ids": letter_ids,
        "set_aside_accounts": [a.model_copy(update={"batch": payload.batch}).model_dump(mode="json")
                               for a in planned.set_aside],
        "not_sent_actions": [a.model_copy(update={"batch": payload.batch}).model_dump(mode="json")
                             for a in planned.not_sent]})
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
                       persons: dict[str, Any], run_id: str, now: datetime) -> RunContacts:
    """Contacts for the acting decisions, through the one contact-creation path (pure). An account none of whose
    contacts can be made is set aside with the reason; the others go on."""
    out = RunContacts(contacts=[], set_aside=[], not_sent=[])
    for view, decision in acting:
        try:
            contacts, not_sent = _account_contacts(view, decision, config, persons, run_id, now)
        except AccountSetAside as exc:
            out.set_aside.append(SetAsideAccount(account_id=view.account_id, reason=exc.reason))
            continue
        out.contacts.extend(contacts)
        out.not_sent.extend(not_sent)
    return out


class AccountSetAside(Exception):
    """One account's contacts cannot be made; ``reason`` names the account and says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def set_aside_reason(view: AccountView, decision: AccountDecision, persons: Mapping[str, Any] | None
                     ) -> str | None:
    """Why the run cannot send this account's letters or emails at all (None: it can try). Pure; the simulation
    asks the same question (``persons`` None: the person records are not checked)."""
    if not any(a.action in ("letter", "email") for a in decision.actions if a.origin != "automation_log"):
        return None
    account = view.account
    if account is None:
        return (f"account {view.account_id}: no person on the account, so a letter can't be sent "
                "(no account record has been received for it)")
    if persons is not None and account.main_person_id not in persons:
        return (f"account {view.account_id}: person {account.main_person_id} is not known (its record was never "
                "received or was rejected), so a letter can't be sent")
    return None


def _account_contacts(view: AccountView, decision: AccountDecision, config: Config, persons: dict[str, Any],
                      run_id: str, now: datetime) -> tuple[list[Contact], list[ActionNotSent]]:
    """One account's contacts and the actions that make none; raises :class:`AccountSetAside`."""
    why = set_aside_reason(view, decision, persons)
    if why is not None:
        raise AccountSetAside(why)
    plan = plan_run_contacts(decision, view, config, persons, run_id)
    out: list[Contact] = []
    open_view: str | None = None
    for draft in plan.drafts:
        person = persons.get(draft.person_id or "")
        try:
            contact = prepare_contact(draft, config, person=person, now=now)
        except ContactRejected as exc:
            raise AccountSetAside(f"account {view.account_id}: {exc.reason}") from exc
        if contact.action in ("letter", "email"):
            if person is None:
                raise AccountSetAside(f"account {view.account_id}: person {contact.person_id} is not known, so a "
                                      f"{contact.action} can't be sent")
            open_view = open_view or _open_view_json(view)
            contact = contact.model_copy(update={"snapshot": pack_snapshot(snapshot_json(person, None, open_view))})
        out.append(contact)
    not_sent = [ActionNotSent(account_id=s.account_id, hierarchy_id=s.hierarchy_id, step_id=s.step_id,
                              reason=s.reason) for s in plan.skipped]
    return out, not_sent


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
