"""The ledger fold: payments, applications, held money, oldest-first application of unapplied money."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

import pytest

from dunning.account_view import build_account_view
from dunning.models.events import InvoicePosted, PaymentApplication, PaymentReceived


def inv(i: str, due: str, amount: str, invoice_date: str | None = None) -> InvoicePosted:
    d = date.fromisoformat(due)
    return InvoicePosted(invoice_id=i, account_id="A", invoice_date=date.fromisoformat(invoice_date) if invoice_date
                         else date(d.year, d.month, 1), due_date=d, amount=Decimal(amount), currency="EUR")


def pay(p: str, amount: str, on: str = "2026-03-01", apps: dict[str, str] | None = None) -> PaymentReceived:
    return PaymentReceived(payment_id=p, account_id="A", amount=Decimal(amount), currency="EUR",
                           received_on=date.fromisoformat(on),
                           applications=[PaymentApplication(invoice_id=k, amount=Decimal(v))
                                         for k, v in (apps or {}).items()])


def open_amounts(view):
    return {i.invoice_id: i.open_amount for i in view.invoices}


def test_given_unapplied_money_when_folded_then_it_pays_the_oldest_invoice_first():
    view = build_account_view("A", invoices=[inv("new", "2026-03-10", "50"), inv("old", "2026-02-10", "30")],
                              payments=[pay("p", "40")])
    assert open_amounts(view) == {"old": Decimal(0), "new": Decimal(40)}
    assert [i.invoice_id for i in view.open_invoices] == ["new"]


def test_given_an_application_when_folded_then_the_named_invoice_is_paid_not_the_oldest():
    view = build_account_view("A", invoices=[inv("old", "2026-02-10", "30"), inv("new", "2026-03-10", "50")],
                              payments=[pay("p", "50", apps={"new": "50"})])
    assert open_amounts(view) == {"old": Decimal(30), "new": Decimal(0)}


def test_given_a_payment_for_an_invoice_not_yet_posted_then_the_money_is_held_and_applied_when_it_arrives():
    early = pay("p", "20", apps={"later": "20"})
    before = build_account_view("A", invoices=[inv("old", "2026-02-10", "30")], payments=[early])
    assert open_amounts(before) == {"old": Decimal(30)}
    assert before.held_for_unknown_invoices == {"later": Decimal(20)}
    after = build_account_view("A", invoices=[inv("old", "2026-02-10", "30"), inv("later", "2026-04-10", "20")],
                               payments=[early])
    assert open_amounts(after) == {"old": Decimal(30), "later": Decimal(0)}
    assert after.held_for_unknown_invoices == {}


def test_given_an_overpayment_then_the_rest_goes_oldest_first_and_then_to_credit():
    view = build_account_view("A", invoices=[inv("a", "2026-02-10", "30"), inv("b", "2026-03-10", "10")],
                              payments=[pay("p", "100", apps={"b": "60"})])
    assert open_amounts(view) == {"a": Decimal(0), "b": Decimal(0)}
    assert view.unapplied_credit == Decimal(60)


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_the_result_does_not_depend_on_the_order_events_arrived_in(order):
    invoices = [inv("a", "2026-02-10", "30"), inv("b", "2026-03-10", "45"), inv("c", "2026-04-10", "12.5")]
    payments = [pay("p1", "10"), pay("p2", "40", apps={"b": "40"}), pay("p3", "5", on="2026-01-01")]
    baseline = open_amounts(build_account_view("A", invoices=invoices, payments=payments))
    shuffled = build_account_view("A", invoices=[invoices[i] for i in order], payments=[payments[i] for i in order])
    assert open_amounts(shuffled) == baseline


def test_aged_balance_counts_only_what_is_past_due():
    view = build_account_view("A", invoices=[inv("a", "2026-02-10", "30"), inv("b", "2026-03-10", "45")])
    assert view.aged_balance(date(2026, 3, 1)) == Decimal(30)
    assert view.open_balance == Decimal(75)
