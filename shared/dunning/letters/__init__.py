"""Letters: the template context, the A4 PDF layout and the print extract.

Public API (imported lazily: fpdf2 alone takes ~0.4 s to import)::

    from dunning.letters import build_letter_context, letter_language, render_letter, build_print_extract

    lang = letter_language(template, person.language)          # body language after fallback
    context = build_letter_context(contact=..., person=..., account=..., premise=..., company=...,
                                   language=lang, today=as_of)
    letter = render_letter(template, context, language=lang)     # RenderedLetter(pdf, pages, language, subject)
    files = build_print_extract([PrintItem(...), ...])          # [ExtractFile(name, content, content_type)]

Language fallback: the recipient's language ("pt-BR"), then its base language ("pt"), then a regional
variant of it, then the template's ``default_language``. Amounts and dates are formatted with babel for
that language *in the recipient's country* (``locale_tag``: an English letter to London is en-GB, "5 March 2026",
"£1,234.50"; a Portuguese one to Lisbon pt-PT); digits are always Latin (also in Arabic, see
:mod:`dunning.letters.context`).

Conditions: a template's ``requires:`` (e.g. ``[overdue_amount_positive, premise]``) says what must be true for it
to go out; delivery checks them with :func:`dunning.letters.conditions.suppression_reason` first and ends a contact
that fails one ``suppressed``, with the reason. Scripts: Latin, Cyrillic, Greek, Arabic, Hebrew, Devanagari, Thai,
CJK and (monochrome) emoji print with Noto faces chosen per character (:mod:`dunning.letters.fontcache`); a
character none of them has fails the letter with a ``TemplateError`` naming it.

Templates (``LetterTemplate.subjects`` / ``bodies``) are Jinja2, rendered in the sandbox of
:mod:`dunning.templating`; a failing template raises ``TemplateError``. A body is **plain prose**: blank lines
separate paragraphs, single newlines are kept. Line markup: ``**a whole line**`` is bold, a line starting
with ``- `` is a bullet point. The letterhead, address window, date/reference block, subject line, the
invoice table and the "Page x of y" footer are drawn by the layout, not by the template.

The invoice table is placed where the body has ``{{ invoice_table }}`` on a line of its own; without it the
table follows the body; ``{{ no_invoice_table }}`` anywhere leaves it out (e.g. a form-request letter).

Template variables (strings are already formatted for the letter's language)::

    language, locale (formatting locale, e.g. en_GB), country, direction ("ltr"/"rtl"), today (long date),
    reference (= contact id)
    company.name, company.address_lines, company.phone, company.email, company.website
    person.id, person.name, person.language, person.email, person.phone, person.address_lines
    recipient.name, recipient.address_lines      # what the window shows (person's address, else premise's)
    account.id, account.currency, account.unapplied_credit
    premise.id, premise.address_lines
    contact.id, contact.type, contact.template_code, contact.note
    lead_invoice                                 # None when the account has no open invoice
    lead_invoice.number, .invoice_date, .due_date (numeric), .due_date_long, .amount, .open,
        .currency, .days_overdue, .overdue, .status, .on_hold, .raw.{amount, open_amount, due_date, ...}
    invoices  (open invoices, oldest first; same fields as lead_invoice)
    totals.open, totals.overdue, totals.count, totals.count_overdue, totals.raw.{open, overdue}
    dates.today, dates.today_numeric, dates.as_of, dates.pay_by, dates.pay_by_numeric
    invoice_table, no_invoice_table              # layout markers, see above
    raw                                          # every value unformatted (Decimal, date)

Example body::

    Dear {{ person.name }},

    our records show that {{ totals.count }} invoices are still open; the oldest,
    {{ lead_invoice.number }}, was due on {{ lead_invoice.due_date_long }}.

    {{ invoice_table }}

    Please pay {{ totals.open }} by {{ dates.pay_by }}.

    Kind regards,
    {{ company.name }}
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dunning.letters.context import build_letter_context
    from dunning.letters.extract import ExtractFile, PrintItem, build_print_extract
    from dunning.letters.render import RenderedLetter, letter_language, render_letter

__all__ = [
    "ExtractFile",
    "PrintItem",
    "RenderedLetter",
    "build_letter_context",
    "build_print_extract",
    "letter_language",
    "render_letter",
]

_EXPORTS = {
    "build_letter_context": "dunning.letters.context",
    "ExtractFile": "dunning.letters.extract",
    "PrintItem": "dunning.letters.extract",
    "build_print_extract": "dunning.letters.extract",
    "RenderedLetter": "dunning.letters.render",
    "letter_language": "dunning.letters.render",
    "render_letter": "dunning.letters.render",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'dunning.letters' has no attribute {name!r}")
    return getattr(import_module(module), name)
