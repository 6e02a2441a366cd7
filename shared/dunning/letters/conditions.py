"""What must be true for a letter or email to go out: the ``requires:`` conditions of its template. Pure.

A template declares the facts its wording asserts, for example ``requires: [overdue_amount_positive, premise]``
for a disconnection warning that quotes the overdue balance and names the premise. A contact that fails one is
not rendered or sent; :func:`unmet_condition` returns the reason it is suppressed with, e.g.
"disconnect_warning requires an overdue amount above zero; the account's overdue balance is R$ 0,00".

The facts come from what the letter or email would merge: the account view (open invoices, due dates) at the
contact's as-of date, the contact's invoice and its premise. "Overdue" means what the letter context calls
overdue: the open amount of invoices whose due date is before the as-of date (``AccountView.aged_balance``).
The known conditions and their wording are in :data:`dunning.models.config.TEMPLATE_CONDITIONS`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from dunning.letters.context import format_day, format_money
from dunning.models.accounts import AccountView, InvoiceView
from dunning.models.config import TEMPLATE_CONDITIONS, Config
from dunning.models.events import PremiseUpserted

__all__ = ["ContactFacts", "contact_facts", "document_suppression", "suppression_reason", "unmet_condition"]


@dataclass(frozen=True)
class ContactFacts:
    """What a template's conditions are tested against."""

    as_of: date
    currency: str
    open_balance: Decimal
    overdue_balance: Decimal
    lead_invoice: InvoiceView | None  # the contact's invoice if it names one, else the oldest open one
    has_account: bool
    premise_lines: tuple[str, ...]
    premise_id: str | None


def contact_facts(*, view: AccountView | None, premise: PremiseUpserted | None, invoice_id: str | None,
                  premise_id: str | None, as_of: date) -> ContactFacts:
    lead: InvoiceView | None = None
    if view is not None:
        if invoice_id:
            lead = next((i for i in view.invoices if i.invoice_id == invoice_id), None)
        if lead is None:
            opened = view.open_invoices
            lead = opened[0] if opened else None
    return ContactFacts(
        as_of=as_of,
        currency=view.currency if view is not None else "",
        open_balance=view.open_balance if view is not None else Decimal(0),
        overdue_balance=view.aged_balance(as_of) if view is not None else Decimal(0),
        lead_invoice=lead,
        has_account=view is not None,
        premise_lines=tuple(premise.address.as_lines()) if premise is not None else (),
        premise_id=premise.premise_id if premise is not None else premise_id,
    )


def unmet_condition(template_code: str, requires: Sequence[str], facts: ContactFacts, *, language: str) -> str | None:
    """The reason the first unmet condition gives (amounts and dates formatted for ``language``), or None when
    every condition holds."""
    for condition in requires:
        why = _why_not(condition, facts, language)
        if why is not None:
            wanted = TEMPLATE_CONDITIONS.get(condition, condition)
            return f"{template_code} requires {wanted}; {why}"
    return None


def _why_not(condition: str, facts: ContactFacts, language: str) -> str | None:
    def money(amount: Decimal) -> str:
        return format_money(amount, facts.currency, language).replace("\u00a0", " ")

    if condition in ("overdue_amount_positive", "open_amount_positive", "lead_invoice", "lead_invoice_overdue") \
            and not facts.has_account:
        return "the contact has no account"
    if condition == "overdue_amount_positive":
        if facts.overdue_balance > 0:
            return None
        if facts.open_balance > 0:
            return (f"the account's overdue balance is {money(facts.overdue_balance)} "
                    f"(open {money(facts.open_balance)}, not yet due)")
        return f"the account's overdue balance is {money(facts.overdue_balance)}"
    if condition == "open_amount_positive":
        return None if facts.open_balance > 0 else f"the account's open balance is {money(facts.open_balance)}"
    lead = facts.lead_invoice
    if condition == "lead_invoice":
        return None if lead is not None and not lead.is_paid else "the account has no open invoice"
    if condition == "lead_invoice_overdue":
        if lead is None or lead.is_paid:
            return "the account has no open invoice"
        if lead.due_date >= facts.as_of:
            return (f"invoice {lead.invoice_id} is due on {format_day(lead.due_date, language, 'numeric')}, "
                    f"not before {format_day(facts.as_of, language, 'numeric')}").replace("\u00a0", " ")
        return None
    if condition == "premise":
        if facts.premise_lines:
            return None
        if facts.premise_id:
            return f"premise {facts.premise_id} is not known or has no address"
        return "the contact names no premise"
    return f"the condition {condition!r} is not known"


class _Template(Protocol):
    @property
    def code(self) -> str: ...

    @property
    def requires(self) -> Sequence[Any]: ...


def suppression_reason(template: _Template, *, view: AccountView | None, premise: PremiseUpserted | None,
                       invoice_id: str | None, premise_id: str | None, as_of: date, locale: str) -> str | None:
    """Why a letter or email of ``template`` must not go out for this contact (None: it may). ``locale`` formats
    the amounts in the reason (e.g. ``locale_tag(language, country)``)."""
    if not template.requires:
        return None
    facts = contact_facts(view=view, premise=premise, invoice_id=invoice_id, premise_id=premise_id, as_of=as_of)
    return unmet_condition(template.code, template.requires, facts, language=locale)


def document_suppression(config: Config, *, action: str, document: str | None, view: AccountView | None,
                         invoice_id: str | None, as_of: date, premise: PremiseUpserted | None = None,
                         locale: str = "en") -> str | None:
    """:func:`suppression_reason` for a planned step action (``letter``/``email`` + its template code), e.g. for a
    simulation that must not predict a letter delivery would suppress. None for other actions, unknown codes, or
    when the conditions hold. Run contacts name no premise, so a template requiring one is always suppressed."""
    templates: Sequence[_Template]
    if action == "letter":
        templates = config.letter_templates
    elif action == "email":
        templates = config.email_templates
    else:
        return None
    template = next((t for t in templates if t.code == document), None)
    if template is None:
        return None
    return suppression_reason(template, view=view, premise=premise, invoice_id=invoice_id,
                              premise_id=premise.premise_id if premise else None, as_of=as_of, locale=locale)
