"""Composing emails from templates (S2.11): language fallback, sandboxed rendering, addresses."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from dunning.email import (
    ComposedEmail,
    EmailError,
    body_language,
    compose_contact_email,
    compose_email,
    email_context,
    format_address,
)
from dunning.models.accounts import AccountView, InvoiceView
from dunning.models.config import Company, Config, EmailTemplate
from dunning.models.contacts import Contact, EmailRecipient
from dunning.models.events import AccountUpserted, PersonUpserted
from dunning.templating import TemplateError


def template(*languages: str, default: str = "en", **overrides: object) -> EmailTemplate:
    bodies = {
        lang: {
            "subject": f"[{lang}] Invoice {{{{ invoice }}}}",
            "html": f"<p>{lang}: Dear {{{{ name }}}}</p>",
        }
        for lang in languages
    }
    data: dict[str, object] = {
        "code": "REMINDER",
        "default_language": default,
        "sender_name": "Acme Collections",
        "sender_address": "ar@acme.example",
        "bodies": bodies,
        **overrides,
    }
    return EmailTemplate.model_validate(data)


CTX = {"invoice": "INV-1", "name": "Ana"}


@pytest.mark.parametrize(
    ("available", "wanted", "used"),
    [
        (("en", "pt", "pt-BR"), "pt-BR", "pt-BR"),  # exact
        (("en", "pt-BR"), "pt-br", "pt-BR"),  # case-insensitive
        (("en", "pt"), "pt-BR", "pt"),  # base language
        (("en", "pt-PT"), "pt-BR", "pt-PT"),  # another variant of the base
        (("en", "pt-PT", "pt-AO"), "pt", "pt-AO"),  # ... the first in sorted order
        (("en", "ar"), "ru", "en"),  # the default
        (("ar", "en"), "fr-CA", "en"),
    ],
)
def test_given_template_languages_when_composing_then_body_language_falls_back(available, wanted, used):
    t = template(*available)
    assert body_language(t, wanted) == used
    email = compose_email(t, CTX, language=wanted, to_name="Ana", to_address="ana@example.com")
    assert (email.language, email.subject) == (used, f"[{used}] Invoice INV-1")


def test_given_default_other_than_english_when_language_unknown_then_template_default():
    t = template("ar", "en", default="ar")
    assert compose_email(t, CTX, language="de", to_name="", to_address="a@b.example").language == "ar"


def test_given_html_in_data_when_composing_then_body_escaped_and_subject_not():
    t = template("en")
    ctx = {"invoice": "<A&B>", "name": "<script>alert(1)</script>"}
    email = compose_email(t, ctx, language="en", to_name="Ana", to_address="ana@example.com")
    assert email.subject == "[en] Invoice <A&B>"
    assert "&lt;script&gt;" in email.html and "<script>" not in email.html
    assert email.text == "en: Dear <script>alert(1)</script>"  # the text part is plain text, not markup


def test_given_subject_rendering_line_breaks_when_composing_then_one_line():
    t = template("en", bodies={"en": {"subject": "Invoice\n{{ invoice }}\r\n  due", "html": "<p>x</p>"}})
    assert (
        compose_email(t, CTX, language="en", to_name="", to_address="a@b.example").subject
        == "Invoice INV-1 due"
    )


@pytest.mark.parametrize(
    ("subject", "html", "message"),
    [
        ("{{ missing }}", "<p>x</p>", "subject: 'missing' is undefined"),
        ("ok", "{{ ''.__class__.__mro__ }}", "not allowed"),
        ("ok", "{% if %}", "syntax error"),
    ],
)
def test_given_broken_or_unsafe_template_when_composing_then_template_error(subject, html, message):
    t = template("en", bodies={"en": {"subject": subject, "html": html}})
    with pytest.raises(TemplateError, match=message):
        compose_email(t, CTX, language="en", to_name="", to_address="a@b.example")


def test_given_subject_rendering_empty_when_composing_then_email_error():
    t = template("en", bodies={"en": {"subject": "{{ '' }}", "html": "<p>x</p>"}})
    with pytest.raises(EmailError, match="subject is empty"):
        compose_email(t, CTX, language="en", to_name="", to_address="a@b.example")


@pytest.mark.parametrize(
    ("name", "address", "formatted"),
    [
        ("Acme Collections", "ar@acme.example", "Acme Collections <ar@acme.example>"),
        ("Acme, Inc.", "ar@acme.example", '"Acme, Inc." <ar@acme.example>'),
        ("", "ar@acme.example", "ar@acme.example"),
        ("Иван Петров", "ivan@example.ru", "Иван Петров <ivan@example.ru>"),
        ("محمد", "m@example.sa", "محمد <m@example.sa>"),
        ("Line\nBreak", "a@b.example", "Line Break <a@b.example>"),
        ("Müller", "a@bücher.de", "Müller <a@xn--bcher-kva.de>"),
    ],
)
def test_given_name_and_address_when_formatted_then_name_angle_address(name, address, formatted):
    assert format_address(name, address) == formatted


@pytest.mark.parametrize(
    "address", ["", "not-an-address", "a@b", "a@b.example\r\nBcc: x@y.example", "иван@example.ru"]
)
def test_given_unusable_recipient_address_when_composing_then_email_error(address):
    with pytest.raises(EmailError):
        compose_email(template("en"), CTX, language="en", to_name="x", to_address=address)


def test_given_composed_email_when_reading_addresses_then_bare_addresses():
    email = compose_email(template("en"), CTX, language="en", to_name="Ana, B", to_address="ana@example.com")
    assert (email.sender, email.to) == ("Acme Collections <ar@acme.example>", '"Ana, B" <ana@example.com>')
    assert (email.sender_address, email.to_address) == ("ar@acme.example", "ana@example.com")


# --------------------------------------------------------------------------- contacts and merge data
COMPANY = Company(name="Acme Utilities", email="ar@acme.example", address_lines=["1 Power Rd"])


def email_contact(**fields: object) -> Contact:
    data: dict[str, object] = {
        "contact_id": "c-1",
        "contact_class": "COLLECTIONS",
        "contact_type": "EMAIL",
        "action": "email",
        "template_code": "REMINDER",
        "language": "pt-BR",
        "person_id": "P-1",
        "source": "run",
        "source_ref": "RUN-1",
        "created_at": datetime(2026, 3, 1, tzinfo=UTC),
        "recipient": EmailRecipient(name="Ana Souza", address="ana@example.com"),
        **fields,
    }
    return Contact.model_validate(data)


def test_given_email_contact_when_composed_then_its_template_language_and_recipient():
    config = Config(company=COMPANY, email_templates=[template("en", "pt")])
    email = compose_contact_email(email_contact(), config, CTX)
    assert isinstance(email, ComposedEmail)
    assert (email.language, email.to) == ("pt", "Ana Souza <ana@example.com>")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"action": "letter"}, "is a letter contact"),
        ({"recipient": None}, "no recipient address"),
        ({"template_code": "NOPE"}, "unknown email template 'NOPE'"),
    ],
)
def test_given_contact_that_cannot_be_emailed_when_composed_then_email_error(fields, message):
    config = Config(company=COMPANY, email_templates=[template("en")])
    with pytest.raises(EmailError, match=message):
        compose_contact_email(email_contact(**fields), config, CTX)


def test_given_account_view_when_building_email_context_then_documented_names_with_localised_text():
    invoices = [
        InvoiceView(
            invoice_id="I-1",
            invoice_date=date(2026, 1, 1),
            due_date=date(2026, 1, 31),
            amount=Decimal("1234.50"),
            currency="BRL",
            open_amount=Decimal("1000.00"),
        ),
        InvoiceView(
            invoice_id="I-2",
            invoice_date=date(2026, 2, 1),
            due_date=date(2026, 3, 15),
            amount=Decimal("10.00"),
            currency="BRL",
            open_amount=Decimal("10.00"),
        ),
    ]
    acct = AccountUpserted(account_id="A-1", currency="BRL", main_person_id="P-1")
    ctx = email_context(
        company=COMPANY,
        person=PersonUpserted(person_id="P-1", name="Ana Souza", email="ana@example.com", language="pt-BR"),
        account=acct,
        view=AccountView(account_id="A-1", account=acct, invoices=invoices),
        invoice_id="I-1",
        as_of=date(2026, 3, 1),
        language="pt-BR",
    )
    assert set(ctx) == {
        "company",
        "person",
        "recipient",
        "account",
        "invoice",
        "open_invoices",
        "totals",
        "as_of",
        "as_of_text",
        "language",
        "locale",
    }
    assert ctx["invoice"]["days_overdue"] == 29
    assert ctx["invoice"]["open_amount_text"] == "R$\xa01.000,00"
    assert ctx["totals"]["overdue_balance"] == Decimal("1000.00")
    assert ctx["totals"]["open_balance_text"] == "R$\xa01.010,00"
    assert ctx["recipient"] == {"name": "Ana Souza", "address": "ana@example.com"}
    t = template(
        "pt",
        bodies={
            "pt": {
                "subject": "Fatura {{ invoice.id }} vencida em {{ invoice.due_date_text }}",
                "html": "<p>Olá {{ person.name }}, saldo {{ totals.open_balance_text }}</p>",
            }
        },
        default="pt",
    )
    email = compose_email(t, ctx, language="pt-BR", to_name="Ana", to_address="ana@example.com")
    assert email.subject == "Fatura I-1 vencida em 31 de janeiro de 2026"
    assert email.text == "Olá Ana Souza, saldo R$\xa01.010,00"


def test_given_no_view_or_person_when_building_email_context_then_optional_parts_are_none():
    ctx = email_context(
        company=COMPANY,
        person=None,
        account=None,
        view=None,
        invoice_id=None,
        as_of=date(2026, 3, 1),
        language="xx-unknown",
    )
    assert (ctx["person"], ctx["account"], ctx["invoice"], ctx["open_invoices"]) == (None, None, None, [])
    assert ctx["as_of_text"] == "March 1, 2026"  # unknown language: English
