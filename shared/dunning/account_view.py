"""Pure fold of an account's stored facts into its ledger view.

Payments are applied in two passes, so the result does not depend on the order events arrived in:

1. every payment's explicit applications go to the invoices they name (capped at what is open);
   money named for an invoice that is not known yet is *held* for it, never lost and never spent
   elsewhere, and is applied as soon as the invoice is posted;
2. all remaining money (unapplied amounts and overpayments) is applied oldest-first to what is
   still open; anything left is account credit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from dunning.models.accounts import AccountView, CollectionState, InvoiceStatusRecord, InvoiceView, ManualAssignment
from dunning.models.events import (
    AccountUpserted,
    CollectionStatus,
    InvoiceCollectionStatusChanged,
    InvoicePosted,
    PaymentPredictionUpdated,
    PaymentReceived,
)

ZERO = Decimal(0)


def build_account_view(
    account_id: str,
    *,
    account: AccountUpserted | None = None,
    invoices: Iterable[InvoicePosted] = (),
    payments: Iterable[PaymentReceived] = (),
    statuses: Mapping[str, CollectionStatus | InvoiceCollectionStatusChanged] | None = None,
    predictions: Mapping[str, PaymentPredictionUpdated] | None = None,
    state: CollectionState | None = None,
    manual_assignment: ManualAssignment | None = None,
) -> AccountView:
    """The account's ledger view: its invoices oldest first with what is still open after the payments (see
    the module docstring), their collection status (with a promise's amount and date when ``statuses`` holds the
    stored status records, not just the status names) and payment predictions, and the account credit."""
    statuses = statuses or {}
    predictions = predictions or {}
    posted = sorted(invoices, key=lambda i: (i.due_date, i.invoice_date, i.invoice_id))
    open_amount, held, credit = _apply_payments(posted, payments)
    views = []
    for invoice in posted:
        prediction = predictions.get(invoice.invoice_id)
        record = statuses.get(invoice.invoice_id)
        promise: dict[str, Any] = {}
        status: CollectionStatus | None
        if record is None or isinstance(record, str):
            status = record
        else:
            status = record.status
            if record.promised_amount is not None or record.promised_until is not None:
                promise = {"promised_amount": record.promised_amount, "promised_until": record.promised_until,
                           "promised_open_amount": record.open_amount_at_promise
                           if isinstance(record, InvoiceStatusRecord) else None}
        views.append(
            InvoiceView(
                invoice_id=invoice.invoice_id,
                invoice_date=invoice.invoice_date,
                due_date=invoice.due_date,
                amount=invoice.amount,
                currency=invoice.currency,
                open_amount=open_amount[invoice.invoice_id],
                collection_status=status,
                late_probability=prediction.late_probability if prediction else None,
                very_late_probability=prediction.very_late_probability if prediction else None,
                **promise,
            )
        )
    return AccountView(
        account_id=account_id,
        account=account,
        invoices=views,
        unapplied_credit=credit,
        held_for_unknown_invoices=held,
        state=state or CollectionState(),
        manual_assignment=manual_assignment,
    )


def _apply_payments(
    posted: list[InvoicePosted], payments: Iterable[PaymentReceived]
) -> tuple[dict[str, Decimal], dict[str, Decimal], Decimal]:
    """The two passes of the module docstring over ``posted`` (oldest first): ``(open amount per invoice,
    money held per unknown invoice, account credit)``."""
    open_amount: dict[str, Decimal] = {i.invoice_id: i.amount for i in posted}
    held: dict[str, Decimal] = {}
    pool = ZERO
    for payment in sorted(payments, key=lambda p: (p.received_on, p.payment_id)):
        remaining = payment.amount
        for application in payment.applications:
            if application.invoice_id not in open_amount:
                held[application.invoice_id] = held.get(application.invoice_id, ZERO) + application.amount
                remaining -= application.amount
                continue
            applied = min(application.amount, open_amount[application.invoice_id])
            open_amount[application.invoice_id] -= applied
            remaining -= applied
        pool += remaining

    for invoice in posted:  # oldest first
        if pool <= 0:
            break
        applied = min(pool, open_amount[invoice.invoice_id])
        open_amount[invoice.invoice_id] -= applied
        pool -= applied
    return open_amount, held, pool
