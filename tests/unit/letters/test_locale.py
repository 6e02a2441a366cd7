"""Amounts and dates follow the letter's language *in the recipient's country*: a London address gets en-GB."""

# ruff: noqa: RUF001 - multilingual sample text is the point of these tests

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from dunning.email.context import email_context
from dunning.letters.context import build_letter_context, locale_tag
from dunning.models.accounts import AccountView, InvoiceView
from dunning.models.common import Address
from dunning.models.events import AccountUpserted, PersonUpserted, PremiseUpserted
from tests.unit.letters.support import COMPANY, contact

TODAY = date(2026, 3, 5)
NBSP, NNBSP, RLM = "\u00a0", "\u202f", "\u200f"

# (letter language, country, currency) -> (locale, long date, numeric date, 1234.50 in the currency)
CASES = {
    ("pt-BR", "BR", "BRL"): ("pt-BR", "5 de março de 2026", "05/03/2026", "R$ 1.234,50"),
    ("pt-BR", "PT", "EUR"): ("pt-PT", "5 de março de 2026", "05/03/2026", "1 234,50 €"),
    ("ru", "RU", "RUB"): ("ru-RU", f"5 марта 2026{NNBSP}г.", "05.03.2026", "1 234,50 ₽"),
    ("ar", "EG", "EGP"): ("ar-EG", "5 مارس 2026", "5/3/2026", f"{RLM}1,234.50 ج.م.{RLM}"),
    ("ar", "SA", "SAR"): ("ar-SA", "5 مارس 2026", "5/3/2026", f"{RLM}1,234.50 ر.س.{RLM}"),
    ("en", "US", "USD"): ("en-US", "March 5, 2026", "3/5/2026", "$1,234.50"),
    ("en", "GB", "GBP"): ("en-GB", "5 March 2026", "05/03/2026", "£1,234.50"),
}


def nbsp(text: str) -> str:
    return text.replace(NBSP, " ")


def letter_context(language: str, country: str, currency: str, *, on: str = "person") -> dict:
    address = Address(lines=["1 High Street"], city="Somewhere", country=country)
    person = PersonUpserted(person_id="P-1", name="A. Person", language=language,
                            address=address if on == "person" else Address())
    premise = PremiseUpserted(premise_id="PR-1", address=address) if on == "premise" else None
    account = AccountView(account_id="A-1", account=AccountUpserted(account_id="A-1", currency=currency,
                                                                    main_person_id="P-1"),
                          invoices=[InvoiceView(invoice_id="I-1", invoice_date=date(2026, 2, 1),
                                                due_date=TODAY, amount=Decimal("1234.50"),
                                                open_amount=Decimal("1234.50"), currency=currency)])
    return build_letter_context(contact=contact("I-1"), person=person, account=account, premise=premise,
                                company=COMPANY, language=language, today=TODAY)


@pytest.mark.parametrize(("language", "country", "currency"), list(CASES))
def test_given_a_recipient_in_a_country_when_the_letter_context_is_built_then_dates_and_amounts_use_its_locale(
        language: str, country: str, currency: str) -> None:
    locale, long_date, numeric, amount = CASES[(language, country, currency)]
    ctx = letter_context(language, country, currency)
    assert locale_tag(language, country) == locale
    assert nbsp(ctx["dates"]["today"]) == long_date
    assert ctx["lead_invoice"]["due_date"] == numeric
    assert nbsp(ctx["lead_invoice"]["amount"]) == amount
    assert nbsp(ctx["totals"]["open"]) == amount
    assert ctx["language"] == language  # the body and the layout's labels stay in the letter's language


def test_given_a_london_address_when_an_english_letter_is_built_then_it_is_not_us_formatted() -> None:
    ctx = letter_context("en", "GB", "GBP")
    assert nbsp(ctx["dates"]["pay_by"]) == "19 March 2026"
    assert ctx["dates"]["today_numeric"] == "05/03/2026"
    assert ctx["locale"] == "en_GB"


def test_given_no_mailing_address_when_the_premise_is_in_portugal_then_its_country_decides() -> None:
    ctx = letter_context("pt-BR", "PT", "EUR", on="premise")
    assert nbsp(ctx["totals"]["open"]) == "1 234,50 €"


@pytest.mark.parametrize(("language", "country", "expected"), [
    ("en", "BR", "en-001"),  # babel has no en-BR: international English (day month year)
    ("en", "RU", "en-001"),
    ("ru", "GB", "ru"),  # babel has no ru-GB: the language alone
    ("en", "", "en"),
    ("pt_BR", "pt", "pt-PT"),  # case and separators normalised
    ("ar", "XX", "ar"),
])
def test_locale_falls_back_to_the_language_when_the_country_has_no_locale(language: str, country: str,
                                                                           expected: str) -> None:
    assert locale_tag(language, country) == expected


@pytest.mark.parametrize(("language", "country", "currency"), list(CASES))
def test_given_a_person_in_a_country_when_the_email_context_is_built_then_its_texts_use_that_locale(
        language: str, country: str, currency: str) -> None:
    locale, long_date, _, amount = CASES[(language, country, currency)]
    account = AccountUpserted(account_id="A-1", currency=currency, main_person_id="P-1")
    view = AccountView(account_id="A-1", account=account, invoices=[
        InvoiceView(invoice_id="I-1", invoice_date=date(2026, 2, 1), due_date=TODAY, amount=Decimal("1234.50"),
                    open_amount=Decimal("1234.50"), currency=currency)])
    person = PersonUpserted(person_id="P-1", name="A. Person", language=language, email="a@example.com",
                            address=Address(lines=["1 High Street"], country=country))
    ctx = email_context(company=COMPANY, person=person, account=account, view=view, invoice_id="I-1",
                        as_of=TODAY, language=language)
    assert ctx["locale"] == locale
    assert nbsp(ctx["invoice"]["due_date_text"]) == long_date
    assert nbsp(ctx["invoice"]["amount_text"]) == amount
