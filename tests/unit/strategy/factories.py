"""Small builders for collections tests: configs that validate, and account views built from events.

Dates are written relative to :data:`D0` with :func:`day` so a table reads as a timeline.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from dunning.account_view import build_account_view
from dunning.models.accounts import AccountView, CollectionState, ManualAssignment
from dunning.models.config import (
    ActivityTemplate,
    Company,
    Config,
    ContactType,
    Criteria,
    Criterion,
    EmailBody,
    EmailTemplate,
    Exclusion,
    Hierarchy,
    LetterTemplate,
    Pool,
    Predictions,
    Step,
)
from dunning.models.events import (
    AccountUpserted,
    CollectionStatus,
    InvoicePosted,
    PartyContact,
    PaymentApplication,
    PaymentPredictionUpdated,
    PaymentReceived,
)

D0 = date(2026, 3, 1)
ACCOUNT = "A1"


def day(n: int) -> date:
    """``D0 + n`` days (negative: before D0)."""
    return D0 + timedelta(days=n)


# --------------------------------------------------------------------------- config
def step(
    step_id: str,
    action: str = "letter",
    when: str = "after",
    days: int = 0,
    *,
    document: str | None = None,
    pre_dunning: bool = False,
    **extra: Any,
) -> Step:
    if document is None and action in ("email", "activity"):
        document = f"{action}_{step_id}"
    return Step(id=step_id, action=action, when=when, days=days, document=document, pre_dunning=pre_dunning, **extra)


def after(step_id: str, days: int, action: str = "letter", **extra: Any) -> Step:
    return step(step_id, action, "after", days, **extra)


def before(step_id: str, days: int, action: str = "letter", **extra: Any) -> Step:
    return step(step_id, action, "before", days, **extra)


def crit(field: str, **op: Any) -> Criterion:
    if "in_" in op:
        op["in"] = op.pop("in_")
    return Criterion.model_validate({"field": field, **op})


def pool(pool_id: str, *criteria: Criterion | Criteria, any_of: bool = False) -> Pool:
    """A pool; with no criteria it matches every account (an empty ``all``)."""
    expr = Criteria(any=list(criteria)) if any_of else Criteria(all=list(criteria))
    return Pool(id=pool_id, criteria=expr)


def hierarchy(
    hierarchy_id: str = "standard",
    rank: int = 1,
    steps: Sequence[Step] | None = None,
    *,
    pools: Sequence[str] | None = None,
    aged_balance_below: Mapping[str, str] | None = None,
    invoice_amount_below: Mapping[str, str] | None = None,
    predictions: Predictions | None = None,
    exclusion_scope: str = "account",
    **extra: Any,
) -> Hierarchy:
    return Hierarchy(
        id=hierarchy_id,
        rank=rank,
        pools=list(pools if pools is not None else [f"{hierarchy_id}_pool"]),
        steps=list(steps if steps is not None else [after("reminder", 7)]),
        exclusion=Exclusion(
            aged_balance_below={k: Decimal(v) for k, v in (aged_balance_below or {}).items()},
            invoice_amount_below={k: Decimal(v) for k, v in (invoice_amount_below or {}).items()},
            scope=exclusion_scope,
        ),
        predictions=predictions,
        **extra,
    )


def predictions(benchmark: str = "60", late: str | None = "act_late", very_late: str | None = "act_very_late"):
    return Predictions(benchmark_percent=Decimal(benchmark), late_activity=late, very_late_activity=very_late)


def config(*hierarchies: Hierarchy, pools: Iterable[Pool] = (), auto_pools: bool = True) -> Config:
    """A valid config. Pools a hierarchy names but ``pools`` lacks match every account (unless
    ``auto_pools`` is off); every template code the steps and predictions use is created."""
    pool_list = list(pools)
    known = {p.id for p in pool_list}
    for h in hierarchies if auto_pools else ():
        for pid in h.pools:
            if pid not in known:
                pool_list.append(pool(pid))
                known.add(pid)
    docs: dict[str, set[str]] = {"activity": set(), "email": set(), "letter": set()}
    for h in hierarchies:
        for s in h.steps:
            if s.document:
                docs[s.action].add(s.document)
        if h.predictions:
            docs["activity"].update(c for c in (h.predictions.late_activity, h.predictions.very_late_activity) if c)
    return Config(
        company=Company(name="Acme Utilities"),
        pools=pool_list,
        hierarchies=list(hierarchies),
        activity_templates=[ActivityTemplate(code=c, name=c, type="call") for c in sorted(docs["activity"])],
        email_templates=[
            EmailTemplate(
                code=c,
                default_language="en",
                sender_name="Acme",
                sender_address="ar@example.com",
                bodies={"en": EmailBody(subject="Reminder", html="<p>Please pay</p>")},
            )
            for c in sorted(docs["email"])
        ],
        letter_templates=[
            LetterTemplate(code=c, default_language="en", subjects={"en": "Reminder"}, bodies={"en": "Pay"})
            for c in sorted(docs["letter"])
        ],
        contact_types=[
            ContactType(contact_class="COLLECTIONS", contact_type=t) for t in ("LETTER", "EMAIL", "ACTIVITY")
        ]
        + [ContactType(contact_class="COLLECTIONS", contact_type="AUTOMATION_LOG")],
    )


# --------------------------------------------------------------------------- ledger
def invoice(
    invoice_id: str,
    due: date,
    amount: str = "100.00",
    *,
    invoice_date: date | None = None,
    currency: str = "EUR",
    account_id: str = ACCOUNT,
) -> InvoicePosted:
    return InvoicePosted(
        invoice_id=invoice_id,
        account_id=account_id,
        invoice_date=invoice_date or min(due, due - timedelta(days=14)),
        due_date=due,
        amount=Decimal(amount),
        currency=currency,
    )


def payment(
    payment_id: str, amount: str, on: date, *, invoice_id: str | None = None, account_id: str = ACCOUNT
) -> PaymentReceived:
    apps = [PaymentApplication(invoice_id=invoice_id, amount=Decimal(amount))] if invoice_id else []
    return PaymentReceived(
        payment_id=payment_id,
        account_id=account_id,
        amount=Decimal(amount),
        currency="EUR",
        received_on=on,
        applications=apps,
    )


def state(
    last_contact: date | None = None,
    done: Mapping[str, Sequence[str]] | None = None,
    predunning: Sequence[str] = (),
    last_prediction: date | None = None,
) -> CollectionState:
    return CollectionState(
        last_automated_contact_on=last_contact,
        steps_done={k: list(v) for k, v in (done or {}).items()},
        predunning_done=list(predunning),
        last_prediction_activity_on=last_prediction,
    )


def view(
    *invoices: InvoicePosted,
    account_id: str = ACCOUNT,
    currency: str = "EUR",
    attributes: Mapping[str, Any] | None = None,
    with_account: bool = True,
    agent: str | None = None,
    payments: Iterable[PaymentReceived] = (),
    statuses: Mapping[str, CollectionStatus] | None = None,
    predicted: Mapping[str, tuple[str, str]] | None = None,
    collection_state: CollectionState | None = None,
    manual: str | None = None,
) -> AccountView:
    """An account view built with :func:`build_account_view`.

    ``predicted`` maps an invoice id to ``(late, very_late)`` probabilities.
    """
    account = (
        AccountUpserted(
            account_id=account_id,
            currency=currency,
            main_person_id="P1",
            attributes=dict(attributes or {}),
            collections_agent=PartyContact(id=agent) if agent else None,
        )
        if with_account
        else None
    )
    return build_account_view(
        account_id,
        account=account,
        invoices=invoices,
        payments=payments,
        statuses=statuses,
        predictions={
            inv: PaymentPredictionUpdated(
                account_id=account_id,
                invoice_id=inv,
                late_probability=Decimal(late),
                very_late_probability=Decimal(very_late),
            )
            for inv, (late, very_late) in (predicted or {}).items()
        },
        state=collection_state,
        manual_assignment=ManualAssignment(hierarchy_id=manual) if manual else None,
    )


def with_state(v: AccountView, s: CollectionState) -> AccountView:
    return v.model_copy(update={"state": s})


def planned(decision: Any) -> list[tuple[str, str, str, str]]:
    """A decision's actions as ``(origin, step_id, action, invoice_id)`` tuples, for compact assertions."""
    return [(a.origin, a.step_id, a.action, a.invoice_id) for a in decision.actions]
