"""What a collections run does to one account on one date, and why (S2.2, S2.4-S2.8, S2.15). Pure; no AWS.

:func:`evaluate_account` is the whole strategy engine; :func:`next_state` is what the run records once the
decision's contacts exist. The simulation (S2.15) is simply :func:`evaluate_account` without
:func:`next_state`.

Order of the checks, and the interpretation chosen wherever the issue left room:

1. **Assignment** (:func:`dunning.strategy.assignment.assign` unless one is given).
2. **No balance first**: an account with no unpaid invoice gets ``no_balance`` even when it is also
   unassigned, so the "unassigned" list only shows accounts that owe money. ``hierarchy_id`` and
   ``assignment_reason`` are still filled in.
3. **Unassigned**: no hierarchy (or one the configuration does not define) gives ``unassigned``.
4. **Lead invoice**: the oldest unpaid invoice by ``(due date, invoice date, id)``, skipping invoices that
   are on hold on ``as_of`` (:meth:`InvoiceView.hold_reason`: ``disputed``, or ``promised_to_pay`` up to and
   including the promise's date; a promise without a date holds until another status arrives) and, with
   ``exclude_invoice_after_last_step``, invoices whose last regular step (timeline order) is done.
   ``resolved`` and ``promise_broken`` invoices, and promises past their date, are workable again: the
   process resumes where it was (the steps done stay done). Every skipped invoice older than the lead is
   named in ``reasons``.
5. **Exclusion** (per currency; no threshold for a currency means no exclusion) applies to the *whole
   account* for this run: no regular step, no pre-dunning, no prediction activity. The aged balance
   (:meth:`AccountView.aged_balance`, past-due open amounts, on-hold invoices included) is compared in the
   account currency; the invoice amount is the lead invoice's *original* ``amount`` (not what is still
   open, so a part payment does not drop an invoice out of the process), in the invoice's currency. The
   test is strictly "below". Note the consequence: with an aged-balance threshold, an account with nothing
   past due is excluded and so gets no pre-dunning either. The hierarchy's ``exclusion.scope`` says what a
   small invoice does: ``account`` (the default) excludes the whole account while the lead is small, as
   above; ``invoice`` only leaves the small invoices out: they are skipped like on-hold invoices (no lead,
   no pre-dunning, named in ``reasons``), the next qualifying invoice leads, and an account with no lead
   left for that reason is ``excluded``. The aged balance still counts the small invoices.
6. **Quiet days**: with ``quiet_days = N`` and the last automated contact on day ``D``, no automated
   contact is made while ``as_of <= D + N`` (so N=2 blocks D, D+1 and D+2; the next contact is D+3 at the
   earliest). ``quiet_days = 0`` still blocks a second automated contact on the same day, which makes
   re-runs of a day harmless. It holds whatever happened to the lead invoice in between (S2.4). Several
   actions decided in one run (the regular step and pre-dunning notices) are one contact occasion and go
   out together. A blocked step is *not* marked done; the step rule is simply applied again on a later
   run. ``quiet_until`` is set whenever the account is inside its quiet days.
7. **Regular step** for the lead invoice, with ``days_from_due = as_of - due date`` in days:

   - without ``track_step``: the latest step whose offset is ``<= days_from_due``. Earlier steps that were missed
     are not run retroactively. When several steps share that latest date, the first of them (declared
     order) that is not done yet runs, so tied steps are performed on successive runs instead of being
     silently dropped. If they are all done: ``"step 'X' already done for invoice Y"``.
   - with ``track_step``: the first step in timeline order that is not done for the invoice, if its date
     has been reached. One step per run.
   - nothing due yet: ``"no step due before YYYY-MM-DD"`` and ``next_step_on``.

   Every step action, an ``activity`` step included, is ``automated`` (it counts for quiet days).
8. **Pre-dunning** runs for every unpaid invoice that is not on hold (the lead included, independently of
   the regular step), once per invoice, from its date (due date + offset) **up to and including the due
   date**: a "due today" notice is still a before-due notice, and this makes a "0 days before" pre-dunning
   step usable. A pre-dunning step configured *after* the due date therefore never runs. Pre-dunning
   notices are automated contacts: blocked by quiet days like everything else (a notice whose window
   closes during quiet days is not sent late) and they set ``last_automated_contact_on``.
9. **Predictions** are evaluated on the lead invoice only. Very late first, then late; the first kind that
   has an activity template configured and whose probability reaches the benchmark
   (``probability * 100 >= benchmark_percent``) decides. If that kind's activity was already created for
   the invoice nothing is created (there is no fall-back to "late" once "very late" was flagged). At most
   one prediction activity per account per day (``state.last_prediction_activity_on``), and none on a day
   the account already had an automated contact recorded: re-running a day never adds anything, even when
   the first run changed which invoice leads. Prediction activities are tasks for collectors, not
   customer contacts: ``automated=False``, so quiet days neither block them nor are extended by them.
   When none is created, ``reasons`` says why ("no prediction activity: ..."): already one today, an
   automated contact today, no prediction for the lead, or the probabilities below the benchmark.
10. **Automation log**: with ``create_activities_for_automations``, every performed non-activity step
    (regular or pre-dunning) is followed by an ``automation_log`` activity (``automated=False``, no
    document, same step id) so collectors see every automated step.

The outcome is ``act`` whenever there is at least one action, else ``none`` (or ``excluded``,
``unassigned``, ``no_balance``); ``reasons`` always says why nothing (more) happened.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Collection
from datetime import date
from decimal import Decimal

from dunning.models.accounts import AccountView, CollectionState, InvoiceView
from dunning.models.config import Config
from dunning.models.decisions import AccountDecision, ActionOrigin, Assignment, Outcome, PlannedAction
from dunning.strategy.assignment import resolve
from dunning.strategy.compiled import CompiledHierarchy, CompiledStep, compiled
from dunning.strategy.trusted import trusted

_ZERO = Decimal(0)
# Every field is passed, from validated inputs; see dunning.strategy.trusted.
_new_decision = trusted(AccountDecision)
_new_action = trusted(PlannedAction)


def evaluate_account(
    view: AccountView, config: Config, as_of: date, assignment: Assignment | None = None
) -> AccountDecision:
    """Decide what the run on ``as_of`` does for ``view`` (see the module docstring for the rules)."""
    strategies = compiled(config)
    if assignment is None:
        hierarchy_id, _, assignment_reason = resolve(view, strategies)
    else:
        hierarchy_id, assignment_reason = assignment.hierarchy_id, assignment.reason
    hierarchy = strategies.hierarchies.get(hierarchy_id) if hierarchy_id is not None else None
    account_id = view.account_id
    if hierarchy is None:
        return _without_strategy(view, as_of, assignment_reason, hierarchy_id)

    currency = view.currency
    scan = _scan_invoices(view, hierarchy, as_of, currency)
    if scan is None:
        return _decision(account_id, as_of, assignment_reason, "no_balance", ["no open balance"], hierarchy.id)
    lead, aged_balance, skipped, pre_dunning_due = scan
    reasons = _skipped_reasons(skipped, lead) if skipped else []
    if lead is None:
        lead_id = days_from_due = None
        reasons.append("no invoice to work: every open invoice is skipped")
    else:
        lead_id, days_from_due = lead.invoice_id, (as_of - lead.due_date).days

    excluded = _exclusion_reasons(hierarchy, currency, aged_balance, lead) if hierarchy.excludes else None
    if lead is None and hierarchy.small_invoice_below is not None and not excluded:
        excluded = _all_small(skipped)
    if excluded:
        return _decision(
            account_id,
            as_of,
            assignment_reason,
            "excluded",
            reasons + excluded,
            hierarchy.id,
            lead_invoice_id=lead_id,
            days_from_due=days_from_due,
        )

    actions, quiet_until, next_step_on = _plan_actions(
        hierarchy, view.state, as_of, lead, days_from_due, pre_dunning_due, reasons
    )
    return _new_decision(
        account_id=account_id,
        as_of=as_of,
        hierarchy_id=hierarchy.id,
        assignment_reason=assignment_reason,
        outcome="act" if actions else "none",
        lead_invoice_id=lead_id,
        days_from_due=days_from_due,
        actions=actions,
        reasons=reasons,
        quiet_until=quiet_until,
        next_step_on=next_step_on,
    )


def next_state(state: CollectionState, decision: AccountDecision, as_of: date) -> CollectionState:
    """The account's state once the contacts for ``decision`` exist. Pure and idempotent.

    - ``last_automated_contact_on`` becomes ``as_of`` when any action is ``automated`` (it never moves
      backwards: re-applying an older run keeps the later date);
    - ``step`` and ``prediction`` actions add their step id to ``steps_done[invoice_id]``;
    - ``pre_dunning`` actions add the invoice to ``predunning_done``;
    - ``prediction`` actions set ``last_prediction_activity_on``;
    - ``automation_log`` actions record nothing (they mirror a step that is already recorded).
    """
    steps_done = {invoice_id: list(ids) for invoice_id, ids in state.steps_done.items()}
    predunning_done = list(state.predunning_done)
    last_contact = state.last_automated_contact_on
    last_prediction = state.last_prediction_activity_on
    for action in decision.actions:
        if action.automated and (last_contact is None or last_contact < as_of):
            last_contact = as_of
        if action.origin in ("step", "prediction"):
            ids = steps_done.setdefault(action.invoice_id, [])
            if action.step_id not in ids:
                ids.append(action.step_id)
        elif action.origin == "pre_dunning" and action.invoice_id not in predunning_done:
            predunning_done.append(action.invoice_id)
        if action.origin == "prediction" and (last_prediction is None or last_prediction < as_of):
            last_prediction = as_of
    return CollectionState(
        last_automated_contact_on=last_contact,
        steps_done=steps_done,
        predunning_done=predunning_done,
        last_prediction_activity_on=last_prediction,
    )


# --------------------------------------------------------------------------------------------- helpers
def _decision(
    account_id: str,
    as_of: date,
    assignment_reason: str,
    outcome: Outcome,
    reasons: list[str],
    hierarchy_id: str | None,
    *,
    lead_invoice_id: str | None = None,
    days_from_due: int | None = None,
    actions: list[PlannedAction] | None = None,
    quiet_until: date | None = None,
    next_step_on: date | None = None,
) -> AccountDecision:
    return _new_decision(
        account_id=account_id,
        as_of=as_of,
        hierarchy_id=hierarchy_id,
        assignment_reason=assignment_reason,
        outcome=outcome,
        lead_invoice_id=lead_invoice_id,
        days_from_due=days_from_due,
        actions=actions if actions is not None else [],
        reasons=reasons,
        quiet_until=quiet_until,
        next_step_on=next_step_on,
    )


# What one pass over an account's open invoices finds (rules 4, 5 and 8 of the module docstring), see
# _scan_invoices: (lead, aged balance, skipped invoices with the reason, invoices due for pre-dunning). A plain
# tuple: this is the engine's hot path, and a named tuple costs a few per cent of an evaluation.
_InvoiceScan = tuple[InvoiceView | None, Decimal, list[tuple[InvoiceView, str]], list[InvoiceView]]


def _without_strategy(
    view: AccountView, as_of: date, assignment_reason: str, hierarchy_id: str | None
) -> AccountDecision:
    """No (known) hierarchy: ``no_balance`` when nothing is owed, else ``unassigned`` (rules 2 and 3)."""
    if not any(inv.open_amount > _ZERO for inv in view.invoices):
        return _decision(view.account_id, as_of, assignment_reason, "no_balance", ["no open balance"], hierarchy_id)
    reason = assignment_reason
    if hierarchy_id is not None:
        reason = f"{reason}; hierarchy '{hierarchy_id}' is not in the configuration"
    return _decision(view.account_id, as_of, assignment_reason, "unassigned", [reason], None)


def _scan_invoices(view: AccountView, hierarchy: CompiledHierarchy, as_of: date, currency: str) -> _InvoiceScan | None:
    """One pass over the open invoices: the lead (the oldest workable invoice), the aged balance (past-due open
    amounts, only summed when the currency has an aged-balance threshold), the invoices that cannot lead and why,
    and the invoices inside their pre-dunning window not notified yet. ``None`` when the account has no open
    invoice. One loop on purpose: this is the engine's hot path."""
    state = view.state
    steps_done = state.steps_done
    finished_step = hierarchy.last_step_id if hierarchy.exclude_after_last_step else None
    pre = hierarchy.pre_dunning
    pre_done = state.predunning_done
    pre_until = as_of - pre.delta if pre is not None else as_of  # due + offset <= as_of  <=>  due <= this
    sum_aged = currency in hierarchy.aged_balance_below  # the aged balance is only summed when needed
    small_below = hierarchy.small_invoice_below  # exclusion scope 'invoice' (rule 5), else None
    lead: InvoiceView | None = None
    lead_due = as_of
    has_open = False
    aged = _ZERO
    skipped: list[tuple[InvoiceView, str]] = []
    pre_due: list[InvoiceView] = []
    for inv in view.invoices:
        amount = inv.open_amount
        if amount <= _ZERO:
            continue
        has_open = True
        due = inv.due_date
        if sum_aged and due < as_of:
            aged += amount
        if inv.collection_status is not None and (held := inv.hold_reason(as_of)) is not None:
            skipped.append((inv, held))
            continue
        if small_below is not None:
            limit = small_below.get(inv.currency)
            if limit is not None and inv.amount < limit:
                skipped.append((inv, f"amount {inv.amount:.2f} {inv.currency} below {limit:.2f}"))
                continue
        if pre is not None and as_of <= due <= pre_until and inv.invoice_id not in pre_done:
            pre_due.append(inv)
        if finished_step is not None and finished_step in steps_done.get(inv.invoice_id, ()):
            skipped.append((inv, f"last step '{finished_step}' already done"))
            continue
        if (
            lead is None
            or due < lead_due
            or (due == lead_due and (inv.invoice_date, inv.invoice_id) < (lead.invoice_date, lead.invoice_id))
        ):
            lead, lead_due = inv, due
    if not has_open:
        return None
    return lead, aged, skipped, pre_due


def _skipped_reasons(skipped: list[tuple[InvoiceView, str]], lead: InvoiceView | None) -> list[str]:
    """A reason for every skipped invoice older than the lead (all of them when there is no lead), oldest first."""
    lead_key = lead.age_key() if lead is not None else None
    skipped.sort(key=lambda s: s[0].age_key())
    return [
        f"invoice {inv.invoice_id} skipped: {skip_reason}"
        for inv, skip_reason in skipped
        if lead_key is None or inv.age_key() < lead_key
    ]


def _exclusion_reasons(
    hierarchy: CompiledHierarchy, currency: str, aged_balance: Decimal, lead: InvoiceView | None
) -> list[str]:
    """Why the whole account is excluded from this run (S2.5, rule 5); empty when it is not."""
    excluded: list[str] = []
    aged_limit = hierarchy.aged_balance_below.get(currency)
    if aged_limit is not None and aged_balance < aged_limit:
        excluded.append(f"aged balance {aged_balance:.2f} {currency} below {aged_limit:.2f}")
    if lead is not None:
        limit = hierarchy.invoice_amount_below.get(lead.currency)
        if limit is not None and lead.amount < limit:
            excluded.append(f"invoice {lead.invoice_id} amount {lead.amount:.2f} {lead.currency} below {limit:.2f}")
    return excluded


def _all_small(skipped: list[tuple[InvoiceView, str]]) -> list[str]:
    """With exclusion scope 'invoice' and no lead: the account is excluded when at least one open invoice is too
    small and the others are on hold or finished (rule 5); the skipped reasons already name each invoice."""
    if any(reason.startswith("amount ") for _, reason in skipped):
        return ["every workable open invoice is below the invoice amount threshold"]
    return []


def _quiet_until(state: CollectionState, hierarchy: CompiledHierarchy, as_of: date) -> date | None:
    """The last day of the quiet days the account is in on ``as_of`` (S2.4, rule 6), else ``None``."""
    last = state.last_automated_contact_on
    if last is None:
        return None
    until = last + hierarchy.quiet_delta
    return until if as_of <= until else None


def _pre_dunning(
    actions: list[PlannedAction],
    held_back: list[str],
    hierarchy: CompiledHierarchy,
    pre_dunning_due: list[InvoiceView],
    quiet_until: date | None,
) -> None:
    """A pre-dunning notice for every invoice in its window, oldest first, unless in quiet days (S2.8, rule 8)."""
    pre = hierarchy.pre_dunning
    assert pre is not None  # an invoice is only due for pre-dunning when the hierarchy has the step
    if len(pre_dunning_due) > 1:
        pre_dunning_due.sort(key=InvoiceView.age_key)
    for inv in pre_dunning_due:
        if quiet_until is not None:
            held_back.append(f"pre-dunning '{pre.id}' for invoice {inv.invoice_id}")
        else:
            _perform(actions, hierarchy, pre, "pre_dunning", inv, "invoice")


def _plan_actions(
    hierarchy: CompiledHierarchy,
    state: CollectionState,
    as_of: date,
    lead: InvoiceView | None,
    days_from_due: int | None,
    pre_dunning_due: list[InvoiceView],
    reasons: list[str],
) -> tuple[list[PlannedAction], date | None, date | None]:
    """The actions of an account that is worked (rules 6-10): the lead's regular step and the pre-dunning
    notices unless in quiet days, then predictions. Adds to ``reasons`` why nothing (more) happened.
    Returns ``(actions, quiet_until, next_step_on)``."""
    quiet_until = _quiet_until(state, hierarchy, as_of) if state.last_automated_contact_on is not None else None
    actions: list[PlannedAction] = []
    held_back: list[str] = []
    next_step_on: date | None = None
    if lead is not None and days_from_due is not None:  # the lead invoice's regular step (S2.2, S2.7)
        done = state.steps_done.get(lead.invoice_id, ())
        step, not_due, next_step_on = _select_step(hierarchy, days_from_due, done, lead)
        if step is None:
            if not_due:
                reasons.append(not_due)
        elif quiet_until is not None:
            held_back.append(f"step '{step.id}' for invoice {lead.invoice_id}")
        else:
            _perform(actions, hierarchy, step, "step", lead, "lead invoice")
    if pre_dunning_due:
        _pre_dunning(actions, held_back, hierarchy, pre_dunning_due, quiet_until)
    if held_back:
        reasons.append(f"in quiet days until {quiet_until}; held back: {', '.join(held_back)}")
    if lead is not None and hierarchy.prediction_kinds:
        _predict(actions, reasons, hierarchy, lead, state, as_of)
    return actions, quiet_until, next_step_on


def _select_step(
    hierarchy: CompiledHierarchy, days_from_due: int, done: Collection[str], lead: InvoiceView
) -> tuple[CompiledStep | None, str | None, date | None]:
    """(step to perform, or why none, the next step's date when known)."""
    steps = hierarchy.steps
    if not steps:
        return None, f"hierarchy '{hierarchy.id}' has no regular steps", None
    due = lead.due_date
    if hierarchy.track_step:
        for step in steps:
            if step.id in done:
                continue
            if step.offset <= days_from_due:
                return step, None, None
            on = due + step.delta
            return None, f"no step due before {on} (next: step '{step.id}' for invoice {lead.invoice_id})", on
        return None, f"all steps done for invoice {lead.invoice_id}", None
    offsets = hierarchy.offsets
    latest = bisect_right(offsets, days_from_due) - 1
    if latest < 0:
        first = steps[0]
        on = due + first.delta
        return None, f"no step due before {on} (next: step '{first.id}' for invoice {lead.invoice_id})", on
    for index in range(bisect_left(offsets, offsets[latest]), latest + 1):
        if steps[index].id not in done:
            return steps[index], None, None
    why = f"step '{steps[latest].id}' already done for invoice {lead.invoice_id}"
    if latest + 1 < len(steps):
        next_step = steps[latest + 1]
        on = due + next_step.delta
        return None, f"{why} (next: step '{next_step.id}' on {on})", on
    return None, why, None


def _perform(
    actions: list[PlannedAction],
    hierarchy: CompiledHierarchy,
    step: CompiledStep,
    origin: ActionOrigin,
    inv: InvoiceView,
    role: str,
) -> None:
    on = inv.due_date + step.delta
    actions.append(
        _new_action(
            origin=origin,
            hierarchy_id=hierarchy.id,
            step_id=step.id,
            action=step.action,
            document=step.document,
            invoice_id=inv.invoice_id,
            step_date=on,
            recipient=step.recipient,
            business_purpose=step.business_purpose,
            automated=True,
            reason=f"{step.label}: {on}) for {role} {inv.invoice_id}",
        )
    )
    if hierarchy.log_automations and step.action != "activity":
        actions.append(
            _new_action(
                origin="automation_log",
                hierarchy_id=hierarchy.id,
                step_id=step.id,
                action="activity",
                document=None,
                invoice_id=inv.invoice_id,
                step_date=on,
                recipient="customer",
                business_purpose=None,
                automated=False,
                reason=f"log of automated {step.action} '{step.id}' for invoice {inv.invoice_id}",
            )
        )


def _predict(
    actions: list[PlannedAction],
    reasons: list[str],
    hierarchy: CompiledHierarchy,
    lead: InvoiceView,
    state: CollectionState,
    as_of: date,
) -> None:
    # One prediction activity per account per day, and none in a re-run of a day the account was already
    # contacted on: a first run can change the lead (e.g. it finished the old lead's last step), and a
    # re-run of the same day must not act on the new lead.
    last = state.last_prediction_activity_on
    if last is not None and last >= as_of:
        reasons.append(f"no prediction activity: one was already created on {last}")
        return
    last = state.last_automated_contact_on
    if last is not None and last >= as_of:
        reasons.append(f"no prediction activity: the account already had an automated contact on {last}")
        return
    threshold = hierarchy.prediction_threshold
    assert threshold is not None  # set whenever prediction_kinds is non-empty
    below: list[str] = []
    for kind in hierarchy.prediction_kinds:
        probability = lead.very_late_probability if kind.kind == "very_late" else lead.late_probability
        if probability is None or probability < threshold:
            if probability is not None:
                below.append(f"{kind.kind.replace('_', ' ')} {probability * 100:.0f}%")
            continue
        label = kind.kind.replace("_", " ")
        if kind.step_id in state.steps_done.get(lead.invoice_id, ()):
            reasons.append(f"{label} prediction activity already created for invoice {lead.invoice_id}")
            return
        actions.append(
            _new_action(
                origin="prediction",
                hierarchy_id=hierarchy.id,
                step_id=kind.step_id,
                action="activity",
                document=kind.template,
                invoice_id=lead.invoice_id,
                step_date=None,
                recipient="customer",
                business_purpose=None,
                automated=False,
                reason=f"{label} payment probability {probability * 100:.0f}% reaches the benchmark "
                f"{hierarchy.prediction_benchmark}% for invoice {lead.invoice_id}",
            )
        )
        return
    if below:
        reasons.append(f"no prediction activity: {' and '.join(below)} below the benchmark "
                       f"{hierarchy.prediction_benchmark}% for invoice {lead.invoice_id}")
    else:
        reasons.append(f"no prediction activity: no payment prediction for invoice {lead.invoice_id}")
