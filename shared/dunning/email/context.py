"""The merge data an email template sees. Pure; no AWS.

Names (all plain dicts/lists of str, Decimal and date, so the sandbox needs no object access):

``company``  name, email, phone, website, address_lines
``person``   id, name, email, language                                  (``None``: no person)
``recipient`` name, address                                             (who the email goes to)
``account``  id, currency                                               (``None``: not known)
``invoice``  the lead/linked invoice: id, invoice_date, due_date, amount, open_amount, currency,
             days_overdue (negative: not due yet), and ``*_text`` forms of the amounts and dates
             formatted for the language                                 (``None``: no invoice)
``totals``   open_balance, overdue_balance, open_invoice_count, currency, ``*_text`` forms
``open_invoices`` every open invoice, oldest first, same keys as ``invoice``
``as_of``, ``as_of_text``, ``language``, ``locale`` (the language in the person's country, e.g. ``en-GB``:
the ``*_text`` forms are written in it)

Templates render with StrictUndefined: test optional parts with ``{% if invoice %}``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from babel import Locale
from babel.core import UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_currency

from dunning.models.accounts import AccountView, InvoiceView
from dunning.models.config import Company
from dunning.models.contacts import EmailRecipient
from dunning.models.events import AccountUpserted, PersonUpserted
from dunning.templating import locale_tag


def locale_for(language: str) -> Locale:
    """The Babel locale for a language tag (``pt-BR`` -> ``pt_BR``); English when Babel does not know it."""
    try:
        return Locale.parse(language.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return Locale("en")


def email_locale(language: str, person: PersonUpserted | None) -> str:
    """The locale amounts and dates are written in: the email's language in the person's country, as in
    letters (``en`` to a London address -> ``en-GB``; see :func:`dunning.templating.locale_tag`)."""
    return locale_tag(language, person.address.country if person is not None else "")


def money_text(amount: Decimal, currency: str, language: str) -> str:
    """``1.234,56 R$``-style amounts in the reader's language."""
    if not currency:
        return f"{amount:.2f}"
    return format_currency(amount, currency, locale=locale_for(language))


def date_text(value: date, language: str) -> str:
    return format_date(value, format="long", locale=locale_for(language))


def invoice_data(invoice: InvoiceView, *, as_of: date, language: str) -> dict[str, Any]:
    return {
        "id": invoice.invoice_id,
        "invoice_date": invoice.invoice_date,
        "due_date": invoice.due_date,
        "amount": invoice.amount,
        "open_amount": invoice.open_amount,
        "currency": invoice.currency,
        "days_overdue": (as_of - invoice.due_date).days,
        "invoice_date_text": date_text(invoice.invoice_date, language),
        "due_date_text": date_text(invoice.due_date, language),
        "amount_text": money_text(invoice.amount, invoice.currency, language),
        "open_amount_text": money_text(invoice.open_amount, invoice.currency, language),
    }


def email_context(
    *,
    company: Company,
    person: PersonUpserted | None,
    account: AccountUpserted | None,
    view: AccountView | None,
    invoice_id: str | None,
    as_of: date,
    language: str,
    recipient: EmailRecipient | None = None,
) -> dict[str, Any]:
    """Build the merge data (see the module docs for the names). ``invoice_id`` is the contact's linked
    (lead) invoice; ``view`` gives the invoices and totals and may be ``None`` for non-collections emails.
    ``language`` is the reader's; amounts and dates follow it in the person's country (:func:`email_locale`)."""
    locale = email_locale(language, person)
    currency = account.currency if account is not None else (view.currency if view is not None else "")
    open_invoices = view.open_invoices if view is not None else []
    linked = next((i for i in (view.invoices if view else []) if i.invoice_id == invoice_id), None)
    return {
        "company": _company_data(company),
        "person": None if person is None else _person_data(person),
        "recipient": {
            "name": recipient.name if recipient else (person.name if person else ""),
            "address": recipient.address if recipient else (person.email if person else ""),
        },
        "account": None if account is None else {"id": account.account_id, "currency": account.currency},
        "invoice": None if linked is None else invoice_data(linked, as_of=as_of, language=locale),
        "open_invoices": [invoice_data(i, as_of=as_of, language=locale) for i in open_invoices],
        "totals": _totals_data(view, len(open_invoices), currency, as_of=as_of, language=locale),
        "as_of": as_of,
        "as_of_text": date_text(as_of, locale),
        "language": language,
        "locale": locale,
    }


def _company_data(company: Company) -> dict[str, Any]:
    return {
        "name": company.name,
        "email": company.email,
        "phone": company.phone,
        "website": company.website,
        "address_lines": list(company.address_lines),
    }


def _person_data(person: PersonUpserted) -> dict[str, Any]:
    return {
        "id": person.person_id,
        "name": person.name,
        "email": person.email,
        "language": person.language,
    }


def _totals_data(view: AccountView | None, open_count: int, currency: str, *, as_of: date,
                 language: str) -> dict[str, Any]:
    """``totals``: the open and overdue balances, written in ``language`` (the formatting locale)."""
    open_balance = view.open_balance if view is not None else Decimal(0)
    overdue = view.aged_balance(as_of) if view is not None else Decimal(0)
    return {
        "open_balance": open_balance,
        "overdue_balance": overdue,
        "open_invoice_count": open_count,
        "currency": currency,
        "open_balance_text": money_text(open_balance, currency, language),
        "overdue_balance_text": money_text(overdue, currency, language),
    }
