"""Read use cases behind the HTTP API and the console: runs, accounts (ledger, lead invoice, the decision and
its reasons, the contacts timeline), contacts, letters (a presigned link), rejected events, simulation.

Every function takes its repositories as a :class:`ReadDeps` and returns pydantic models; lists come a page
at a time with an opaque ``next`` token. Nothing here writes, except :func:`letter_link` keeping a copy of a
letter cut out of its print file (what ``dunning letters url`` does).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from dunning.app.letter_retrieval import letter_link as presigned_letter_link
from dunning.app.simulation import SimulatedAccount, simulate_account
from dunning.models.accounts import AccountView, InvoiceView
from dunning.models.config import Config
from dunning.models.contacts import ActivityDetails, Contact, ContactStatus, StatusChange
from dunning.store.blobs import BlobStore
from dunning.store.contacts import ContactStore
from dunning.store.ledger import LedgerStore, items_to_view
from dunning.store.pages import PagedReads
from dunning.store.runs import RunStore

T = TypeVar("T")
MAX_PAGE = 200
LETTER_LINK_SECONDS = 300  # a letter link is short-lived: the console opens it at once


class NotFound(LookupError):
    """The account, run or contact asked for does not exist."""


class Page(BaseModel, Generic[T]):
    items: list[T]
    next: str | None = Field(default=None, description="opaque token of the next page; absent on the last page")


# ---------------------------------------------------------------------------------------------- models
class RunSummary(BaseModel):
    """A run record as the run writes it (while running, then its summary). Fields the run adds later (e.g.
    set-aside accounts) pass through."""

    model_config = ConfigDict(extra="allow")

    run_id: str
    as_of: str
    status: str
    started_at: str | None = None
    finished_at: str | None = None
    accounts_scanned: int = 0
    with_open_balance: int = 0
    acting_accounts: int = 0
    batch_count: int = 0
    batches_done: int = 0
    contacts_planned: int = 0
    contacts_created: int = 0
    fallbacks: int = 0
    contacts_by_action: dict[str, int] = Field(default_factory=dict)
    outcomes: dict[str, int] = Field(default_factory=dict)
    # a failed run records the state machine's error object ({"Error": ..., "Cause": ...}); older records a string
    error: dict[str, Any] | str | None = None


class BatchSummary(BaseModel):
    model_config = ConfigDict(extra="allow")

    batch: int
    acting_accounts: int = 0
    contacts_planned: int = 0
    contacts_created: int = 0
    by_action: dict[str, int] = Field(default_factory=dict)
    outcomes: dict[str, int] = Field(default_factory=dict)


class RunDetail(BaseModel):
    run: RunSummary
    batches: list[BatchSummary]
    set_aside: list[dict[str, Any]] = Field(
        default_factory=list, description="accounts the run set aside, when the run records them")


class AccountLedger(BaseModel):
    account_id: str
    currency: str
    open_balance: Decimal
    unapplied_credit: Decimal
    invoices: list[InvoiceView]
    hierarchy_id: str | None = Field(default=None, description="manual assignment, when there is one")
    last_automated_contact_on: date | None = None
    steps_done: dict[str, list[str]] = Field(default_factory=dict)


class LeadInvoice(BaseModel):
    account_id: str
    as_of: date
    hierarchy_id: str | None
    invoice: InvoiceView | None
    days_from_due: int | None = None
    reason: str = ""


class Decision(BaseModel):
    """What a run on ``as_of`` would do for the account, and why (the simulation: writes nothing)."""

    account_id: str
    as_of: date
    hierarchy_id: str | None
    assignment: str
    outcome: str
    lead_invoice_id: str | None
    days_from_due: int | None
    would: list[str]
    reasons: list[str]
    quiet_until: date | None = None
    next_step_on: date | None = None


class ContactOut(BaseModel):
    """A contact as users see it: no merge snapshot, no addresses (the letter or email itself has those)."""

    contact_id: str
    type: str
    action: str
    status: ContactStatus
    source: str
    created_at: str
    account_id: str | None = None
    person_id: str | None = None
    premise_id: str | None = None
    invoice_id: str | None = None
    as_of: date | None = None
    template_code: str | None = None
    language: str = "en"
    hierarchy_id: str | None = None
    step_id: str | None = None
    reason: str = ""
    note: str = ""
    pages: int | None = None
    has_letter: bool = False
    activity: ActivityDetails | None = None
    history: list[StatusChange] = Field(default_factory=list)

    @classmethod
    def of(cls, c: Contact) -> ContactOut:
        return cls(contact_id=c.contact_id, type=c.type_key, action=c.action, status=c.status, source=c.source,
                   created_at=c.created_at.isoformat(), account_id=c.account_id, person_id=c.person_id,
                   premise_id=c.premise_id, invoice_id=c.invoice_id, as_of=c.as_of, template_code=c.template_code,
                   language=c.language, hierarchy_id=c.hierarchy_id, step_id=c.step_id, reason=c.reason,
                   note=c.note, pages=c.pages, has_letter=bool(c.action == "letter" and (c.s3_key or c.print_file)),
                   activity=c.activity, history=c.history)


class LetterLink(BaseModel):
    contact_id: str
    url: str = Field(description="presigned GET URL of the PDF")
    expires_in: int = Field(description="seconds the URL is valid")
    source: str = Field(description="letter (its own PDF) or print (a copy cut out of its print file)")


class RejectedEvent(BaseModel):
    message_id: str
    rejected_at: str
    reason: str


# ---------------------------------------------------------------------------------------------- deps
@dataclass
class ReadDeps:
    ledger: LedgerStore
    contacts: ContactStore
    runs: RunStore
    blobs: BlobStore  # runs bucket: configuration, rejected events, archive
    letters: BlobStore
    pages: PagedReads
    config: Callable[[], Config]


def page_size(limit: int | None, default: int = 50) -> int:
    return max(1, min(MAX_PAGE, limit or default))


# ---------------------------------------------------------------------------------------------- runs
def list_runs(deps: ReadDeps, limit: int | None = None, token: str | None = None) -> Page[RunSummary]:
    page = deps.pages.runs(page_size(limit), token)
    return Page[RunSummary](items=[RunSummary.model_validate(r) for r in page.items], next=page.next)


def get_run(deps: ReadDeps, run_id: str) -> RunDetail:
    record = deps.runs.get_run(run_id)
    if record is None:
        raise NotFound(f"no run {run_id}")
    batches = sorted((BatchSummary.model_validate(b) for b in deps.runs.batch_results(run_id)),
                     key=lambda b: b.batch)
    set_aside = record.get("set_aside") if isinstance(record.get("set_aside"), list) else []
    return RunDetail(run=RunSummary.model_validate(record), batches=batches, set_aside=set_aside or [])


# ---------------------------------------------------------------------------------------------- accounts
def _view(deps: ReadDeps, account_id: str) -> AccountView:
    items = deps.ledger.account_items(account_id)
    if not items:
        raise NotFound(f"no account {account_id}")
    return items_to_view(account_id, items)


def account_ledger(deps: ReadDeps, account_id: str) -> AccountLedger:
    v = _view(deps, account_id)
    return AccountLedger(account_id=v.account_id, currency=v.currency, open_balance=v.open_balance,
                         unapplied_credit=v.unapplied_credit,
                         invoices=sorted(v.invoices, key=InvoiceView.age_key),
                         hierarchy_id=v.manual_assignment.hierarchy_id if v.manual_assignment else None,
                         last_automated_contact_on=v.state.last_automated_contact_on,
                         steps_done=v.state.steps_done)


def account_decision(deps: ReadDeps, account_id: str, as_of: date) -> Decision:
    return _decision(simulate_account(_view(deps, account_id), deps.config(), as_of), as_of)


def _decision(row: SimulatedAccount, as_of: date) -> Decision:
    return Decision(account_id=row.account_id, as_of=as_of, hierarchy_id=row.hierarchy if row.hierarchy != "-"
                    else None, assignment=row.assignment, outcome=row.outcome,
                    lead_invoice_id=row.lead_invoice or None, days_from_due=row.days_from_due, would=row.would,
                    reasons=row.why, quiet_until=row.quiet_until, next_step_on=row.next_step_on)


def lead_invoice(deps: ReadDeps, account_id: str, as_of: date) -> LeadInvoice:
    """The invoice the account's strategy works on ``as_of`` (the oldest open one not on hold)."""
    view = _view(deps, account_id)
    row = simulate_account(view, deps.config(), as_of)
    lead = next((i for i in view.invoices if i.invoice_id == row.lead_invoice), None)
    return LeadInvoice(account_id=account_id, as_of=as_of, hierarchy_id=row.hierarchy if row.hierarchy != "-"
                       else None, invoice=lead, days_from_due=row.days_from_due,
                       reason="" if lead else "; ".join(row.why) or "no open invoice")


def account_contacts(deps: ReadDeps, account_id: str, limit: int | None = None,
                     token: str | None = None) -> Page[ContactOut]:
    page = deps.pages.account_contacts(account_id, page_size(limit), token)
    return Page[ContactOut](items=[ContactOut.of(c) for c in page.contacts], next=page.next)


class SimulationPage(BaseModel):
    as_of: date
    items: list[Decision]
    next: str | None = None


def simulate_book(deps: ReadDeps, as_of: date, limit: int | None = None, token: str | None = None) -> SimulationPage:
    """The whole book for ``as_of``, a page of accounts at a time (each page one bounded Scan of the ledger)."""
    groups, nxt = deps.pages.account_items_page(page_size(limit, 100), token)
    config = deps.config()
    out = []
    for account_id, items in groups:
        view = items_to_view(account_id, items)
        if view.open_balance > 0 or view.account is not None:
            out.append(_decision(simulate_account(view, config, as_of), as_of))
    return SimulationPage(as_of=as_of, items=out, next=nxt)


# ---------------------------------------------------------------------------------------------- contacts
def list_contacts(deps: ReadDeps, account_id: str | None = None, limit: int | None = None,
                  token: str | None = None) -> Page[ContactOut]:
    if account_id:
        return account_contacts(deps, account_id, limit, token)
    page = deps.pages.contacts(page_size(limit), token)
    return Page[ContactOut](items=[ContactOut.of(c) for c in page.contacts], next=page.next)


def get_contact(deps: ReadDeps, contact_id: str) -> ContactOut:
    contact = deps.contacts.get(contact_id)
    if contact is None:
        raise NotFound(f"no contact {contact_id}")
    return ContactOut.of(contact)


def letter_link(deps: ReadDeps, contact_id: str, seconds: int = LETTER_LINK_SECONDS) -> LetterLink:
    """A short-lived presigned URL of a letter in the contacts table (never its bytes; a contact past its
    retention is read from the archive by the operator CLI). Raises :class:`~dunning.app.letter_retrieval.LetterError`
    subclasses when there is none (or its print file needs a restore)."""
    contact = deps.contacts.get(contact_id)
    if contact is None or contact.action != "letter":
        raise NotFound(f"no letter contact {contact_id}")
    link = presigned_letter_link(contact, deps.letters, seconds)
    return LetterLink(contact_id=contact_id, url=link.url, expires_in=seconds, source=link.source)


# ---------------------------------------------------------------------------------------------- rejected
def rejected_events(deps: ReadDeps, limit: int | None = None, token: str | None = None) -> Page[RejectedEvent]:
    """Rejected events with their reasons; the event bodies stay in S3 (they may hold personal data)."""
    page = deps.pages.rejected(page_size(limit), token)
    return Page[RejectedEvent](items=[RejectedEvent.model_validate(r) for r in page.items], next=page.next)
