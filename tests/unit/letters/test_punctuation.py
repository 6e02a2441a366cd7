"""No doubled punctuation in any published letter or email, in any of its languages and the recipients' locales
(a Russian date ends with "г.", a Saudi amount with "ر.س.", a company name with "S.A.")."""

# ruff: noqa: RUF001, RUF002 - multilingual sample text is the point of these tests

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal

import pytest

from dunning.config_loader import load_config_dir
from dunning.email.compose import compose_email
from dunning.email.context import email_context
from dunning.letters.context import build_letter_context
from dunning.models.accounts import AccountView, InvoiceView
from dunning.models.common import Address
from dunning.models.events import AccountUpserted, PersonUpserted, PremiseUpserted
from dunning.templating import render, tidy_punctuation
from tests.unit.letters.support import COMPANY, REPO_CONFIG, contact

CONFIG = load_config_dir(REPO_CONFIG)
TODAY = date(2026, 11, 16)
COUNTRIES = {"en": ("GB", "US"), "pt": ("BR", "PT"), "ru": ("RU",), "ar": ("SA", "EG")}
CURRENCY = {"GB": "GBP", "US": "USD", "BR": "BRL", "PT": "EUR", "RU": "RUB", "SA": "SAR", "EG": "EGP"}
_INVISIBLE = re.compile("[\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]|<[^>]+>")
DOUBLED = re.compile(r"(?<!\.)\.\s*\.(?!\.)|[,;:]\s*[,;:.]|([!?])\s*\1")


def doubled(text: str) -> list[str]:
    plain = _INVISIBLE.sub("", text)
    return [plain[max(0, m.start() - 25):m.end() + 5] for m in DOUBLED.finditer(plain)]


def cases(bodies: Mapping[str, object]) -> list[tuple[str, str]]:
    return [(lang, country) for lang in bodies for country in COUNTRIES.get(lang.split("-")[0], ("GB",))]


def merge_data(language: str, country: str) -> tuple[PersonUpserted, AccountView, PremiseUpserted]:
    currency = CURRENCY[country]
    address = Address(lines=["Rua A 1"], city="Cidade", postal_code="1000", country=country)
    person = PersonUpserted(person_id="P-1", name="Nome Sobrenome", language=language, email="p@example.com",
                            address=address)
    account = AccountUpserted(account_id="A-1", currency=currency, main_person_id="P-1")
    view = AccountView(account_id="A-1", account=account, invoices=[
        InvoiceView(invoice_id=f"I-{i}", invoice_date=TODAY - timedelta(days=60 - i), due_date=TODAY - timedelta(
            days=30 - i), amount=Decimal("1234.50"), open_amount=Decimal("1234.50"), currency=currency)
        for i in range(3)])
    return person, view, PremiseUpserted(premise_id="PR-1", address=address)


@pytest.mark.parametrize(("code", "language", "country"), [
    (t.code, lang, country) for t in CONFIG.letter_templates for lang, country in cases(t.bodies)])
def test_letter_template_has_no_doubled_punctuation(code: str, language: str, country: str) -> None:
    template = CONFIG.letter_template(code)
    person, view, premise = merge_data(language, country)
    ctx = build_letter_context(contact=contact("I-0"), person=person, account=view, premise=premise,
                               company=COMPANY, language=language, today=TODAY)
    subject = render(template.subjects.get(language, ""), ctx)
    body = render(template.bodies[language], ctx)
    assert doubled(subject + "\n" + body) == [], f"{code} ({language}, {country})"


@pytest.mark.parametrize(("code", "language", "country"), [
    (t.code, lang, country) for t in CONFIG.email_templates for lang, country in cases(t.bodies)])
def test_email_template_has_no_doubled_punctuation(code: str, language: str, country: str) -> None:
    template = CONFIG.email_template(code)
    person, view, _ = merge_data(language, country)
    ctx = email_context(company=COMPANY, person=person, account=view.account, view=view, invoice_id="I-0",
                        as_of=TODAY, language=language)
    email = compose_email(template, ctx, language=language, to_name=person.name, to_address="p@example.com")
    assert doubled(email.subject + "\n" + email.text) == [], f"{code} ({language}, {country})"
    assert doubled(email.html) == [], f"{code} ({language}, {country})"


def test_a_value_ending_in_a_period_at_the_end_of_a_sentence_gets_one_period() -> None:
    ctx = {"when": "5 марта 2026 г.", "amount": "\u200f1,234.50 ر.س.\u200f", "company": "Aguas Claras S.A."}
    assert render("Оплатите до {{ when }}.", ctx) == "Оплатите до 5 марта 2026 г."
    assert render("المبلغ {{ amount }}.", ctx) == "المبلغ \u200f1,234.50 ر.س.\u200f"
    assert render("<p>{{ company }}</p>.", ctx, autoescape=True) == "<p>Aguas Claras S.A.</p>"
    assert tidy_punctuation("Wait... see ../a and 1.5.") == "Wait... see ../a and 1.5."
