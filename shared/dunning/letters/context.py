"""The data merged into a letter template, pre-formatted for the recipient's locale.

:func:`build_letter_context` gathers the sender (company), recipient (person), account, premise, the lead
invoice and the table of open invoices into one plain ``dict``. Amounts and dates are formatted with babel
for the letter's language; the raw values (``Decimal`` / ``date``) sit beside them under ``raw``.

Numbers always use **Latin digits** (babel numbering system ``latn``), also for Arabic: that is what babel
does by default for ``ar``, it is common on Arabic invoices and statements, and it keeps amounts and invoice
numbers searchable and machine-extractable from the PDF. Arabic month names and the Arabic currency symbol
(e.g. ``ر.س.``) are still used.

See :mod:`dunning.letters` for the list of template variables.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from functools import lru_cache
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_skeleton
from babel.numbers import format_currency, format_decimal

from dunning.models.accounts import AccountView, InvoiceView
from dunning.models.config import Company
from dunning.models.contacts import Contact
from dunning.models.events import PersonUpserted, PremiseUpserted
from dunning.templating import locale_tag

# Markers a template writes on a line of its own; the layout replaces them (see dunning.letters.render).
INVOICE_TABLE_MARKER = "[[dunning:invoice-table]]"
NO_INVOICE_TABLE_MARKER = "[[dunning:no-invoice-table]]"

DEFAULT_PAY_WITHIN_DAYS = 14
NUMBERING_SYSTEM = "latn"  # Latin digits in every language, see the module docstring
_BIDI_MARKS = str.maketrans("", "", "\u200e\u200f\u061c")
_TABLE_DATE_SKELETON = "yMMdd"  # numeric, 4-digit year, in the locale's order: 05/03/2026, 05.03.2026, 03/05/2026


# --------------------------------------------------------------------------- locale helpers
@lru_cache(maxsize=64)
def locale_for(language: str) -> Locale:
    """The babel locale for a BCP-47-ish language tag ("pt-BR" -> pt_BR); unknown tags fall back to the base
    language, then English."""
    tag = (language or "").strip().replace("_", "-")
    candidates = [tag, tag.split("-")[0]] if tag else []
    for candidate in candidates:
        try:
            return Locale.parse(candidate, sep="-")
        except (UnknownLocaleError, ValueError, TypeError):
            continue
    return Locale.parse("en")


def is_rtl(language: str) -> bool:
    return locale_for(language).character_order == "right-to-left"


def format_money(amount: Decimal, currency: str, language: str) -> str:
    """``R$ 1.234,56`` (pt-BR), ``1 234,56 ₽`` (ru), ``‏1,234.56 ر.س.‏`` (ar), ``$1,234.56`` (en)."""
    loc = locale_for(language)
    if not currency:
        return format_decimal(amount, format="#,##0.00", locale=loc, numbering_system=NUMBERING_SYSTEM)
    return format_currency(amount, currency, locale=loc, numbering_system=NUMBERING_SYSTEM)


@lru_cache(maxsize=4096)  # a letter formats ~25 dates, mostly the same few days: babel takes ~0.1 ms each
def format_day(day: _dt.date, language: str, style: str = "long") -> str:
    """``long``: "5 de março de 2026"; ``medium``: the locale's medium format; ``numeric``: 05/03/2026.

    Spaces are no-break spaces (as babel already uses inside amounts), so a date never wraps in a letter."""
    loc = locale_for(language)
    if style == "numeric":
        # CLDR marks Arabic numeric dates with RLM so they read right to left (y/M/d on the page); we write
        # them as one left-to-right run (5/3/2026), as Gulf invoices with Latin digits usually do
        text = format_skeleton(_TABLE_DATE_SKELETON, day, locale=loc).translate(_BIDI_MARKS)
    else:
        text = format_date(day, format=style, locale=loc)
    return text.replace(" ", "\u00a0")


# --------------------------------------------------------------------------- the context
def build_letter_context(
    *,
    contact: Contact,
    person: PersonUpserted | None,
    account: AccountView | None,
    premise: PremiseUpserted | None,
    company: Company,
    language: str,
    today: _dt.date,
    pay_within_days: int = DEFAULT_PAY_WITHIN_DAYS,
) -> dict[str, Any]:
    """Everything a letter template (and the layout) needs, formatted for ``language``.

    ``language`` should be the language the letter is written in: call
    :func:`dunning.letters.render.letter_language` with the template and the recipient's language first.
    (If it differs, :func:`~dunning.letters.render.render_letter` re-formats the context from its raw values.)
    """
    invoices = account.open_invoices if account is not None else []
    lead = _lead_invoice(contact, account)
    person_lines = person.address.as_lines() if person is not None else []
    premise_lines = premise.address.as_lines() if premise is not None else []
    raw: dict[str, Any] = {
        # the country of the address the letter goes to decides date and amount formats (see locale_tag)
        "country": recipient_country(person, premise),
        "company": _raw_company(company),
        "person": _raw_person(person, contact, person_lines),
        "recipient": {
            "name": person.name if person else "",
            # the mailing address is the person's; a premise (service address) only when the person has none
            "address_lines": person_lines or premise_lines,
        },
        "account": _raw_account(account, contact),
        "premise": {
            "id": premise.premise_id if premise else (contact.premise_id or ""),
            "address_lines": premise_lines,
        },
        "contact": _raw_contact(contact),
        "lead_invoice": _raw_invoice(lead, today) if lead is not None else None,
        "invoices": [_raw_invoice(inv, today) for inv in invoices],
        "today": today,
        "as_of": contact.as_of or today,
        "pay_by": today + _dt.timedelta(days=pay_within_days),
    }
    return localize_context(raw, language)


def recipient_country(person: PersonUpserted | None, premise: PremiseUpserted | None) -> str:
    """The country of the address a letter is sent to: the person's, else the premise's (as the window)."""
    if person is not None and person.address.as_lines():
        return person.address.country
    if premise is not None and premise.address.as_lines():
        return premise.address.country
    return person.address.country if person is not None else ""


def localize_context(data: Mapping[str, Any], language: str) -> dict[str, Any]:
    """(Re-)format a context for ``language``. Accepts the raw bundle built by :func:`build_letter_context`
    or a context it returned (whose raw values sit under ``raw``). Amounts and dates use ``language`` in the
    recipient's country (:func:`locale_tag`); ``locale`` in the result names it."""
    raw: Mapping[str, Any] = data["raw"] if "raw" in data and "company" in data["raw"] else data
    fmt = locale_tag(language, raw.get("country", ""))  # the formatting locale; labels follow ``language``
    loc = locale_for(fmt)
    currency: str = raw["account"]["currency"]
    invoices = [_format_invoice(inv, fmt) for inv in raw["invoices"]]
    lead = _format_invoice(raw["lead_invoice"], fmt) if raw["lead_invoice"] is not None else None
    return {
        "language": language,
        "locale": str(loc),
        "country": raw.get("country", ""),
        "direction": "rtl" if loc.character_order == "right-to-left" else "ltr",
        "company": dict(raw["company"], address_lines=list(raw["company"]["address_lines"])),
        "person": dict(raw["person"], address_lines=list(raw["person"]["address_lines"])),
        "recipient": dict(raw["recipient"], address_lines=list(raw["recipient"]["address_lines"])),
        "account": {
            "id": raw["account"]["id"],
            "currency": currency,
            "unapplied_credit": format_money(raw["account"]["unapplied_credit"], currency, fmt),
        },
        "premise": dict(raw["premise"], address_lines=list(raw["premise"]["address_lines"])),
        "contact": dict(raw["contact"]),
        "reference": raw["contact"]["id"],
        "lead_invoice": lead,
        "invoices": invoices,
        "totals": _totals(raw["invoices"], currency, fmt),
        "dates": _dates(raw, fmt),
        "today": format_day(raw["today"], fmt, "long"),
        "invoice_table": INVOICE_TABLE_MARKER,
        "no_invoice_table": NO_INVOICE_TABLE_MARKER,
        "raw": raw,
    }


def _totals(raw_invoices: Sequence[Mapping[str, Any]], currency: str, fmt: str) -> dict[str, Any]:
    """``totals``: the open and overdue sums (formatted, and raw per currency) and the invoice counts."""
    open_sums = _sum_by_currency((inv["currency"], inv["open_amount"]) for inv in raw_invoices)
    overdue_sums = _sum_by_currency(
        (inv["currency"], inv["open_amount"]) for inv in raw_invoices if inv["days_overdue"] > 0
    )
    return {
        "open": _join_sums(open_sums, currency, fmt),
        "overdue": _join_sums(overdue_sums, currency, fmt),
        "count": len(raw_invoices),
        "count_overdue": sum(1 for inv in raw_invoices if inv["days_overdue"] > 0),
        "raw": {
            "open": sum(open_sums.values(), Decimal(0)),
            "overdue": sum(overdue_sums.values(), Decimal(0)),
            "by_currency": {cur: {"open": amount, "overdue": overdue_sums.get(cur, Decimal(0))}
                            for cur, amount in open_sums.items()},
        },
    }


def _dates(raw: Mapping[str, Any], fmt: str) -> dict[str, str]:
    today: _dt.date = raw["today"]
    return {
        "today": format_day(today, fmt, "long"),
        "today_numeric": format_day(today, fmt, "numeric"),
        "as_of": format_day(raw["as_of"], fmt, "long"),
        "pay_by": format_day(raw["pay_by"], fmt, "long"),
        "pay_by_numeric": format_day(raw["pay_by"], fmt, "numeric"),
    }


# --------------------------------------------------------------------------- helpers
def _raw_company(company: Company) -> dict[str, Any]:
    return {
        "name": company.name,
        "address_lines": list(company.address_lines),
        "phone": company.phone,
        "email": company.email,
        "website": company.website,
    }


def _raw_person(person: PersonUpserted | None, contact: Contact, address_lines: list[str]) -> dict[str, Any]:
    return {
        "id": person.person_id if person else (contact.person_id or ""),
        "name": person.name if person else "",
        "language": person.language if person else "",
        "email": person.email if person else "",
        "phone": person.phone if person else "",
        "address_lines": address_lines,
    }


def _raw_account(account: AccountView | None, contact: Contact) -> dict[str, Any]:
    return {
        "id": account.account_id if account else (contact.account_id or ""),
        "currency": account.currency if account is not None else "",
        "unapplied_credit": account.unapplied_credit if account else Decimal(0),
    }


def _raw_contact(contact: Contact) -> dict[str, Any]:
    return {
        "id": contact.contact_id,
        "type": contact.type_key,
        "template_code": contact.template_code or "",
        "note": contact.note,
    }


def _lead_invoice(contact: Contact, account: AccountView | None) -> InvoiceView | None:
    """The contact's invoice when it names one (paid or not), otherwise the oldest open invoice (S2.2)."""
    if account is None:
        return None
    if contact.invoice_id:
        named = next((i for i in account.invoices if i.invoice_id == contact.invoice_id), None)
        if named is not None:
            return named
    opened = account.open_invoices
    return opened[0] if opened else None


def _raw_invoice(inv: InvoiceView, today: _dt.date) -> dict[str, Any]:
    return {
        "number": inv.invoice_id,
        "invoice_date": inv.invoice_date,
        "due_date": inv.due_date,
        "amount": inv.amount,
        "open_amount": inv.open_amount,
        "currency": inv.currency,
        "status": inv.collection_status or "",
        "on_hold": inv.held_on(today),  # a promise's hold ends after its date
        "days_overdue": max(0, (today - inv.due_date).days),
    }


def _format_invoice(raw: Mapping[str, Any], language: str) -> dict[str, Any]:
    return {
        "number": raw["number"],
        "invoice_date": format_day(raw["invoice_date"], language, "numeric"),
        "due_date": format_day(raw["due_date"], language, "numeric"),
        "due_date_long": format_day(raw["due_date"], language, "long"),
        "amount": format_money(raw["amount"], raw["currency"], language),
        "open": format_money(raw["open_amount"], raw["currency"], language),
        "currency": raw["currency"],
        "status": raw["status"],
        "on_hold": raw["on_hold"],
        "days_overdue": raw["days_overdue"],
        "overdue": raw["days_overdue"] > 0,
        "raw": dict(raw),
    }


def _sum_by_currency(pairs: Iterable[tuple[str, Decimal]]) -> dict[str, Decimal]:
    sums: dict[str, Decimal] = {}
    for cur, amount in pairs:
        sums[cur] = sums.get(cur, Decimal(0)) + amount
    return sums


def _join_sums(sums: Mapping[str, Decimal], account_currency: str, language: str) -> str:
    """One formatted amount; several joined with " + " in the rare case of invoices in several currencies."""
    if not sums:
        return format_money(Decimal(0), account_currency, language)
    ordered = sorted(sums.items(), key=lambda kv: (kv[0] != account_currency, kv[0]))
    return " + ".join(format_money(amount, cur, language) for cur, amount in ordered)
