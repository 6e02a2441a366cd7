"""Holds on invoices (S3.11): an interaction disputes an invoice or takes a promise to pay, and the collections
engine leaves the invoice alone while it holds.

* :func:`dispute_invoice` records ``disputed`` (the interaction is the reference): the invoice is held until
  :func:`release_dispute` records ``resolved``; it is then workable again, and the process resumes where it was.
* :func:`promise_to_pay` records ``promised_to_pay`` with the amount, the last day and what was open at the time.
  The engine holds the invoice up to and including that day (:meth:`InvoiceView.hold_reason`, the run's as-of
  date). After it the hold ends by itself - a hold that expires - whether or not the sweep has run.
* :func:`expire_promises` (the daily ``expire_promises`` function) makes the outcome explicit: each promise whose
  day has passed is ``kept`` (the open amount fell by at least the promised amount, or the invoice is paid:
  status ``resolved``) or ``broken`` (status ``promise_broken``). An upstream promise (an event with
  ``promised_until``) is judged the same way, against what was open before the day it was made (the fold with the
  payments received before that day: the event does not say). It finds them through the ledger's day index
  (one Query per day since its last sweep, at most ``lookback_days``), never a Scan, and is safe to re-run.
* :func:`holds_of` lists an account's invoice statuses for the interaction and account pages.

Every write is a versioned ledger fact (:func:`dunning.store.ledger.status_facts`), like an upstream
``invoice.collection_status_changed`` event: a newer status is never replaced by an older one, and recording the
same reference again changes nothing. The rules themselves are pure, on :class:`~dunning.models.accounts.InvoiceView`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any, cast
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, ValidationError

from dunning.app.operations import InvalidRequest
from dunning.models.accounts import (
    AccountView,
    InvoiceHold,
    InvoiceStatusRecord,
    InvoiceView,
    PromiseOutcome,
    PromiseOutcomeKind,
)
from dunning.models.events import CollectionStatus
from dunning.store.ledger import (
    Fact,
    LedgerStore,
    PromiseLedger,
    SweepMark,
    is_status_fact,
    items_to_view,
    open_amounts_before,
    status_facts,
    status_records,
    status_version,
    version_time,
)

__all__ = ["DEFAULT_LOOKBACK_DAYS", "MAX_PROMISE_DAYS", "ExpirePromisesDeps", "ExpirePromisesInput", "HoldNotFound",
           "InvalidHold", "InvoiceHold", "PromiseOutcome", "PromiseSweep", "dispute_invoice", "expire_promises",
           "holds_of", "promise_to_pay", "release_dispute", "sweep_promises"]

MAX_PROMISE_DAYS = 366  # a promise's last day is at most this far after it is made
DEFAULT_LOOKBACK_DAYS = 31  # days the first sweep (or one after a long pause) looks back
_REFERENCE = re.compile(r"[A-Za-z0-9_.:\-]{1,128}")


if TYPE_CHECKING:
    from dunning.app.queries import NotFound

    class HoldNotFound(NotFound):
        """The account or invoice is not in the ledger (404)."""


@cache
def _hold_not_found() -> type[HoldNotFound]:
    # dunning.app.queries (NotFound, which the API answers 404) loads the letter stack: the daily sweep, which
    # never raises this, does not import it on its cold start
    from dunning.app.queries import NotFound

    made = type("HoldNotFound", (NotFound,), {"__doc__": "The account or invoice is not in the ledger (404).",
                                              "__module__": __name__, "__qualname__": "HoldNotFound"})
    return cast("type[HoldNotFound]", made)


def __getattr__(name: str) -> Any:
    if name == "HoldNotFound":
        return _hold_not_found()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class InvalidHold(InvalidRequest):
    """The dispute, release or promise cannot be recorded as asked (422); the message says why."""


# ---------------------------------------------------------------------------------------------- recording
def dispute_invoice(ledger: LedgerStore, account_id: str, invoice_id: str, *, reference: str, note: str,
                    at: datetime) -> InvoiceHold:
    """Record that the interaction ``reference`` disputes the invoice: held until the dispute is released."""
    _check_reference(reference)
    view, records = _read(ledger, account_id)
    inv = _invoice(view, invoice_id)
    current = records.get(invoice_id)
    if current is not None and current[0].status == "disputed" and current[0].reference == reference:
        return _hold(view.account_id, inv, current[0], at.date())
    record = _new_record(account_id, invoice_id, "disputed", reference=reference, note=note, at=at)
    return _write(ledger, view, inv, record, current, at)


def release_dispute(ledger: LedgerStore, account_id: str, invoice_id: str, *, reference: str,
                    at: datetime) -> InvoiceHold:
    """Resolve the invoice's dispute (status ``resolved``): it is workable again. Raises :class:`InvalidHold`
    when the invoice is not disputed; releasing the same dispute again changes nothing."""
    _check_reference(reference)
    view, records = _read(ledger, account_id)
    inv = _invoice(view, invoice_id)
    current = records.get(invoice_id)
    if current is not None and current[0].status == "resolved" and current[0].reference == reference:
        return _hold(view.account_id, inv, current[0], at.date())
    if current is None or current[0].status != "disputed":
        state = current[0].status if current is not None else "no collection status"
        raise InvalidHold(f"invoice {invoice_id} is not disputed ({state})")
    record = _new_record(account_id, invoice_id, "resolved", reference=reference, note="dispute resolved", at=at)
    return _write(ledger, view, inv, record, current, at)


def promise_to_pay(ledger: LedgerStore, account_id: str, invoice_id: str, *, amount: Decimal, until: date,
                   reference: str, at: datetime) -> InvoiceHold:
    """Record the customer's promise to pay ``amount`` by ``until`` (inclusive): the invoice is held up to that
    day, with what is open now kept to judge the promise by. The same promise recorded again changes nothing; a
    new amount or date replaces the promise."""
    _check_reference(reference)
    view, records = _read(ledger, account_id)
    inv = _invoice(view, invoice_id)
    today = at.date()
    if inv.is_paid:
        raise InvalidHold(f"invoice {invoice_id} is paid: there is nothing to promise")
    if not Decimal(0) < amount <= inv.open_amount:
        raise InvalidHold(f"the promised amount must be more than 0 and at most the open amount "
                          f"{inv.open_amount:.2f} {inv.currency}")
    if not today <= until <= today + timedelta(days=MAX_PROMISE_DAYS):
        raise InvalidHold(f"the promise's date must be from {today.isoformat()} to "
                          f"{(today + timedelta(days=MAX_PROMISE_DAYS)).isoformat()}")
    current = records.get(invoice_id)
    if current is not None:
        stored = current[0]
        if (stored.status == "promised_to_pay" and stored.reference == reference and stored.promised_until == until
                and stored.promised_amount == amount):
            return _hold(view.account_id, inv, stored, today)
    record = _new_record(account_id, invoice_id, "promised_to_pay", reference=reference, at=at,
                         promised_amount=amount, promised_until=until, open_amount_at_promise=inv.open_amount)
    return _write(ledger, view, inv, record, current, at)


def holds_of(ledger: LedgerStore, account_id: str, *, as_of: date | None = None) -> list[InvoiceHold]:
    """Every invoice of the account that has a collection status, oldest first, with whether it is held on
    ``as_of`` (default: today, UTC)."""
    view, records = _read(ledger, account_id, must_exist=False)
    day = as_of or datetime.now(UTC).date()
    return [_hold(view.account_id, inv, records[inv.invoice_id][0], day)
            for inv in sorted(view.invoices, key=InvoiceView.age_key) if inv.invoice_id in records]


# ---------------------------------------------------------------------------------------------- the sweep
def expire_promises(ledger: PromiseLedger, today: date, *, lookback_days: int = DEFAULT_LOOKBACK_DAYS
                    ) -> list[PromiseOutcome]:
    """Close every promise whose last day is before ``today``: ``kept`` -> ``resolved``, ``broken`` ->
    ``promise_broken`` (either way the invoice is workable again). The days queried run to yesterday, from the
    day after the last sweep's days (``lookback_days`` back at most, and on the first sweep): one Query per day
    plus one per account with a promise due. A re-run for the same ``today`` goes through the same days, reports
    the same outcomes (``recorded=False``) and writes nothing. A promise replaced since (another status, a new
    date) is left alone."""
    last = ledger.last_promise_sweep()
    start = today - timedelta(days=lookback_days)
    if last is not None and last.today == today:
        start = max(start, last.first_day)
    elif last is not None and last.today < today:
        start = max(start, last.today)  # the last sweep went through the day before its own
    days = [start + timedelta(days=n) for n in range((today - start).days)]
    entries = ledger.promises_due(days) if days else []
    by_account: dict[str, list[InvoiceStatusRecord]] = defaultdict(list)
    for entry in entries:
        by_account[entry.account_id].append(entry)
    outcomes: list[PromiseOutcome] = []
    facts: list[Fact] = []
    for account_id, due in sorted(by_account.items()):
        view, records = _read(ledger, account_id, must_exist=False)
        invoices = {i.invoice_id: i for i in view.invoices}
        for entry in due:
            current, inv, until = records.get(entry.invoice_id), invoices.get(entry.invoice_id), entry.promised_until
            if current is None or inv is None or until is None or current[0].promised_until != until:
                continue  # replaced since: another status or another promise
            record, version = current
            if record.status == "promised_to_pay":
                outcome: PromiseOutcomeKind = "kept" if inv.promise_state(today) == "kept" else "broken"
                closed = record.model_copy(update={
                    "status": "resolved" if outcome == "kept" else "promise_broken", "promise_outcome": outcome,
                    "note": f"promise to pay by {until} {outcome}",
                    "recorded_at": datetime.combine(today, time.min, UTC)})
                # just after the promise's own version: whatever happened after the promise still wins
                facts.extend(status_facts(closed, f"{version}|expired"))
                outcomes.append(_outcome(inv, closed, outcome, until, recorded=True))
            elif record.promise_outcome is not None:
                outcomes.append(_outcome(inv, record, record.promise_outcome, until, recorded=False))
    if facts:
        written, _ = ledger.apply_facts(facts)
        closed_now = {f.sk[7:] + "@" + f.pk[5:] for f in written}
        outcomes = [o for o in outcomes if not o.recorded or f"{o.invoice_id}@{o.account_id}" in closed_now]
    if last is None or last.today < today:
        ledger.set_last_promise_sweep(SweepMark(today=today, first_day=start))
    return sorted(outcomes, key=lambda o: (o.promised_until, o.account_id, o.invoice_id))


class ExpirePromisesInput(BaseModel):
    """What the daily schedule (or a direct invoke) passes: a day, or the scheduled time and its time zone."""

    model_config = ConfigDict(extra="ignore")

    today: date | None = None
    scheduled_time: datetime | None = None
    timezone: str = "UTC"

    def resolve_today(self, now: datetime | None = None) -> date:
        if self.today is not None:
            return self.today
        moment = self.scheduled_time or now or datetime.now(UTC)
        return moment.astimezone(ZoneInfo(self.timezone)).date()


@dataclass(frozen=True)
class ExpirePromisesDeps:
    ledger: PromiseLedger
    lookback_days: int = DEFAULT_LOOKBACK_DAYS


class PromiseSweep(BaseModel):
    today: date
    kept: int
    broken: int
    already_recorded: int
    outcomes: list[PromiseOutcome]


def sweep_promises(deps: ExpirePromisesDeps, request: ExpirePromisesInput) -> PromiseSweep:
    """The ``expire_promises`` function's use case: :func:`expire_promises` for the scheduled day."""
    today = request.resolve_today()
    outcomes = expire_promises(deps.ledger, today, lookback_days=deps.lookback_days)
    new = [o for o in outcomes if o.recorded]
    return PromiseSweep(today=today, kept=sum(o.outcome == "kept" for o in new),
                        broken=sum(o.outcome == "broken" for o in new),
                        already_recorded=len(outcomes) - len(new), outcomes=outcomes)


# ---------------------------------------------------------------------------------------------- internals
def _read(ledger: LedgerStore, account_id: str, *, must_exist: bool = True
          ) -> tuple[AccountView, dict[str, tuple[InvoiceStatusRecord, str]]]:
    items = ledger.account_items(account_id)  # one Query: the view and the stored statuses
    if must_exist and not items:
        raise _hold_not_found()(f"account {account_id} is not in the ledger")
    view, records = items_to_view(account_id, items), status_records(items)
    # an upstream promise does not say what was open when it was made: the fold with the payments before its day
    unknown = {inv: when.date() for inv, (rec, version) in records.items()
               if rec.promised_amount is not None and rec.open_amount_at_promise is None
               and (when := version_time(version)) is not None}
    if unknown:
        before = {day: open_amounts_before(account_id, items, day) for day in set(unknown.values())}
        for invoice_id, day in unknown.items():
            record, version = records[invoice_id]
            base = before[day].get(invoice_id)
            records[invoice_id] = (record.model_copy(update={"open_amount_at_promise": base}), version)
        view = view.model_copy(update={"invoices": [
            i.model_copy(update={"promised_open_amount": before[unknown[i.invoice_id]].get(i.invoice_id)})
            if i.invoice_id in unknown else i for i in view.invoices]})
    return view, records


def _check_reference(reference: str) -> None:
    if not _REFERENCE.fullmatch(reference):
        raise InvalidHold("the reference (the interaction) must be 1 to 128 letters, digits or _ . : -")


def _invoice(view: AccountView, invoice_id: str) -> InvoiceView:
    inv = next((i for i in view.invoices if i.invoice_id == invoice_id), None)
    if inv is None:
        raise _hold_not_found()(f"invoice {invoice_id} of account {view.account_id} is not in the ledger")
    return inv


def _new_record(account_id: str, invoice_id: str, status: CollectionStatus, *, reference: str, at: datetime,
                note: str = "", promised_amount: Decimal | None = None, promised_until: date | None = None,
                open_amount_at_promise: Decimal | None = None) -> InvoiceStatusRecord:
    try:
        return InvoiceStatusRecord(invoice_id=invoice_id, account_id=account_id, status=status, note=note,
                                   reference=reference, recorded_at=at, promised_amount=promised_amount,
                                   promised_until=promised_until, open_amount_at_promise=open_amount_at_promise)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                             for e in exc.errors(include_url=False, include_input=False))
        raise InvalidHold(problems) from exc


def _write(ledger: LedgerStore, view: AccountView, inv: InvoiceView, record: InvoiceStatusRecord,
           current: tuple[InvoiceStatusRecord, str] | None, at: datetime) -> InvoiceHold:
    """Write ``record`` as a versioned fact. An agent acts on the status they see, so the new status is versioned
    after it even when ``at`` is not later (clock skew, one instant); a status stored after the read wins."""
    version = status_version(at, record.reference)
    if current is not None and version <= current[1]:
        version = current[1] + "+"
    written, _ = ledger.apply_facts(status_facts(record, version))
    if any(is_status_fact(f) for f in written):
        return _hold(view.account_id, _with_status(inv, record), record, at.date())
    view, records = _read(ledger, view.account_id)  # a newer status was stored meanwhile: report that one
    inv = _invoice(view, inv.invoice_id)
    return _hold(view.account_id, inv, records[inv.invoice_id][0], at.date())


def _with_status(inv: InvoiceView, record: InvoiceStatusRecord) -> InvoiceView:
    return inv.model_copy(update={"collection_status": record.status, "promised_amount": record.promised_amount,
                                  "promised_until": record.promised_until,
                                  "promised_open_amount": record.open_amount_at_promise})


def _reason(inv: InvoiceView, record: InvoiceStatusRecord, as_of: date) -> str:
    held = inv.hold_reason(as_of)
    if held is not None:
        return held
    if record.status == "promised_to_pay":  # past its date, not swept yet
        return f"promise to pay by {record.promised_until} {inv.promise_state(as_of)}"
    if record.status == "promise_broken":
        return f"promise to pay by {record.promised_until} broken" if record.promised_until else "promise broken"
    if record.promise_outcome == "kept":
        return f"promise to pay by {record.promised_until} kept"
    return "resolved"


def _hold(account_id: str, inv: InvoiceView, record: InvoiceStatusRecord, as_of: date) -> InvoiceHold:
    return InvoiceHold(account_id=account_id, invoice_id=inv.invoice_id, status=record.status,
                       held=inv.held_on(as_of), as_of=as_of, reason=_reason(inv, record, as_of),
                       reference=record.reference, note=record.note, recorded_at=record.recorded_at,
                       currency=inv.currency, amount=inv.amount, open_amount=inv.open_amount,
                       promised_amount=record.promised_amount, promised_until=record.promised_until,
                       open_amount_at_promise=record.open_amount_at_promise, promise_outcome=record.promise_outcome)


def _outcome(inv: InvoiceView, record: InvoiceStatusRecord, outcome: PromiseOutcomeKind, until: date, *,
             recorded: bool) -> PromiseOutcome:
    return PromiseOutcome(account_id=record.account_id, invoice_id=record.invoice_id, outcome=outcome,
                          promised_until=until, promised_amount=record.promised_amount,
                          open_amount_at_promise=record.open_amount_at_promise, open_amount=inv.open_amount,
                          reference=record.reference, recorded=recorded)
