# ruff: noqa: RUF001 - multilingual sample text (Cyrillic letters, en dashes) is the point of these tests


from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from dunning.letters.context import build_letter_context, format_day, format_money, is_rtl, localize_context
from dunning.models.accounts import InvoiceView
from dunning.models.common import Address
from dunning.models.events import PremiseUpserted

from .support import ACCOUNT_ID, COMPANY, CONTACT_ID, TODAY, contact, make_context

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("language", "currency", "expected"),
    [
        ("en", "EUR", "€1,234.56"),
        ("pt-BR", "BRL", f"R${NBSP}1.234,56"),
        ("ru", "RUB", f"1{NBSP}234,56{NBSP}₽"),
        ("ar", "SAR", f"\u200f1,234.56{NBSP}ر.س.\u200f"),  # Latin digits, Arabic currency symbol
        ("de", "EUR", f"1.234,56{NBSP}€"),
    ],
)
def test_amounts_are_formatted_for_the_locale(language: str, currency: str, expected: str) -> None:
    assert format_money(Decimal("1234.56"), currency, language) == expected


@pytest.mark.parametrize(
    ("language", "long", "numeric"),
    [
        ("en", "March 5, 2026", "3/5/2026"),
        ("pt-BR", "5 de março de 2026", "05/03/2026"),
        ("ru", "5 марта 2026\u202fг.", "05.03.2026"),
        ("ar", "5 مارس 2026", "5/3/2026"),  # numeric dates: one left-to-right run, no RLM marks
    ],
)
def test_dates_are_formatted_for_the_locale(language: str, long: str, numeric: str) -> None:
    assert format_day(date(2026, 3, 5), language, "long") == long.replace(" ", NBSP)
    assert format_day(date(2026, 3, 5), language, "numeric") == numeric


def test_unknown_locales_fall_back_to_the_base_language_then_english() -> None:
    assert format_money(Decimal("1"), "EUR", "pt-XX") == format_money(Decimal("1"), "EUR", "pt")
    assert format_money(Decimal("1234.5"), "EUR", "xx") == "€1,234.50"
    assert format_money(Decimal("1234.5"), "", "en") == "1,234.50"  # no currency known
    assert is_rtl("ar") and is_rtl("ar-EG") and not is_rtl("pt-BR")


def test_context_has_formatted_and_raw_values() -> None:
    ctx = make_context("pt-BR", 10)
    assert ctx["language"] == "pt-BR" and ctx["direction"] == "ltr"
    assert ctx["reference"] == CONTACT_ID
    assert ctx["company"]["name"] == COMPANY.name
    assert ctx["person"]["name"] == "João Conceição Araújo"
    assert ctx["recipient"]["address_lines"] == ["Avenida Paulista 1578", "Bloco B, apto 92", "01310-200 São Paulo"]
    assert ctx["account"] == {"id": ACCOUNT_ID, "currency": "BRL", "unapplied_credit": f"R${NBSP}0,00"}
    assert len(ctx["invoices"]) == 10
    first = ctx["invoices"][0]
    assert first["number"] == "INV-2025-0001"
    assert first["invoice_date"] == "01/01/2025"
    assert first["amount"] == f"R${NBSP}1.234,56" and first["open"] == f"R${NBSP}1.200,00"
    assert first["overdue"] and first["days_overdue"] == (TODAY - date(2025, 1, 31)).days
    assert first["raw"]["open_amount"] == Decimal("1200.00")
    open_total = sum((Decimal("1234.56") + 100 * i - (Decimal("34.56") if i % 3 == 0 else 0) for i in range(10)),
                     Decimal(0))
    assert ctx["totals"]["raw"]["open"] == open_total
    assert ctx["totals"]["open"] == f"R${NBSP}16.707,36"
    assert ctx["totals"]["count"] == 10 and ctx["totals"]["count_overdue"] == 8
    assert ctx["totals"]["raw"]["overdue"] == open_total - sum(i["raw"]["open_amount"] for i in ctx["invoices"][8:])
    assert ctx["dates"]["today"] == f"5{NBSP}de{NBSP}março{NBSP}de{NBSP}2026"
    assert ctx["dates"]["pay_by"] == f"19{NBSP}de{NBSP}março{NBSP}de{NBSP}2026"
    assert ctx["raw"]["today"] == TODAY


def test_lead_invoice_is_the_oldest_open_one_unless_the_contact_names_one() -> None:
    assert make_context("en", 5)["lead_invoice"]["number"] == "INV-2025-0001"
    assert make_context("en", 5, invoice_id="INV-2025-0003")["lead_invoice"]["number"] == "INV-2025-0003"
    # an unknown invoice id falls back to the oldest open invoice
    assert make_context("en", 5, invoice_id="NOPE")["lead_invoice"]["number"] == "INV-2025-0001"
    assert make_context("en", 0)["lead_invoice"] is None


def test_paid_invoices_are_not_listed() -> None:
    paid = InvoiceView(invoice_id="PAID-1", invoice_date=date(2024, 1, 1), due_date=date(2024, 2, 1),
                       amount=Decimal(10), currency="EUR", open_amount=Decimal(0))
    ctx = make_context("en", 2, extra_invoices=[paid])
    assert [i["number"] for i in ctx["invoices"]] == ["INV-2025-0001", "INV-2025-0002"]


def test_invoices_in_several_currencies_are_summed_per_currency() -> None:
    usd = InvoiceView(invoice_id="USD-1", invoice_date=date(2025, 6, 1), due_date=date(2025, 7, 1),
                      amount=Decimal(50), currency="USD", open_amount=Decimal(50))
    ctx = make_context("en", 1, extra_invoices=[usd])
    assert ctx["totals"]["open"] == "€1,200.00 + $50.00"


def test_premise_address_is_used_when_the_person_has_none() -> None:
    premise = PremiseUpserted(premise_id="PR-1", address=Address(lines=["Service Road 1"], city="Porto"))
    ctx = build_letter_context(contact=contact(), person=None, account=None, premise=premise, company=COMPANY,
                               language="en", today=TODAY)
    assert ctx["recipient"] == {"name": "", "address_lines": ["Service Road 1", "Porto"]}
    assert ctx["premise"]["address_lines"] == ["Service Road 1", "Porto"]
    assert ctx["invoices"] == [] and ctx["lead_invoice"] is None
    assert ctx["totals"]["open"] == "0.00"


def test_localize_context_reformats_from_raw_values() -> None:
    ctx = make_context("en", 3)
    ru = localize_context(ctx, "ru")
    assert ru["language"] == "ru"
    assert ru["invoices"][0]["amount"] == f"1{NBSP}234,56{NBSP}€"
    assert ru["dates"]["today"].startswith(f"5{NBSP}марта")
    assert ru["raw"] is ctx["raw"]
