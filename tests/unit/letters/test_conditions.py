"""Template conditions (``requires:``): a letter or email whose subject would be false is not produced."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError

from dunning.config_loader import load_config_dir
from dunning.letters.conditions import contact_facts, suppression_reason, unmet_condition
from dunning.models.accounts import AccountView, InvoiceView
from dunning.models.common import Address
from dunning.models.config import TEMPLATE_CONDITIONS, EmailTemplate, LetterTemplate
from dunning.models.events import AccountUpserted, PremiseUpserted
from tests.unit.letters.support import REPO_CONFIG

AS_OF = date(2026, 11, 16)


def view(*invoices: tuple[str, date, str, str], currency: str = "BRL") -> AccountView:
    """Invoices as (id, due date, amount, open amount)."""
    return AccountView(
        account_id="A-1", account=AccountUpserted(account_id="A-1", currency=currency, main_person_id="P-1"),
        invoices=[InvoiceView(invoice_id=i, invoice_date=date(2026, 9, 1), due_date=due, amount=Decimal(amount),
                              open_amount=Decimal(left), currency=currency) for i, due, amount, left in invoices])


PREMISE = PremiseUpserted(premise_id="PR-1", address=Address(lines=["Rua A 1"], city="Recife", country="BR"))


def letter(*requires: str) -> LetterTemplate:
    return LetterTemplate.model_validate({"code": "disconnect_warning", "default_language": "pt-BR",
                                          "subjects": {"pt-BR": "Aviso"}, "bodies": {"pt-BR": "Corpo"},
                                          "requires": list(requires)})


def test_given_a_paid_up_account_when_a_disconnection_warning_is_checked_then_it_is_suppressed_with_the_balance():
    paid = view(("I-1", date(2026, 10, 1), "100.00", "0"))
    reason = suppression_reason(letter("overdue_amount_positive", "premise"), view=paid, premise=PREMISE,
                                invoice_id="I-1", premise_id="PR-1", as_of=AS_OF, locale="pt-BR")
    assert reason == ("disconnect_warning requires an overdue amount above zero (open invoices past their due "
                      "date); the account's overdue balance is R$ 0,00")


def test_given_an_invoice_not_yet_due_when_an_arrears_letter_is_checked_then_the_reason_says_it_is_not_due():
    not_due = view(("I-1", date(2026, 12, 1), "80.00", "80.00"), currency="GBP")
    facts = contact_facts(view=not_due, premise=None, invoice_id="I-1", premise_id=None, as_of=AS_OF)
    reason = unmet_condition("arrears_notice", ["overdue_amount_positive"], facts, language="en-GB")
    assert reason is not None
    assert "overdue balance is £0.00 (open £80.00, not yet due)" in reason
    assert "invoice I-1 is due on 01/12/2026, not before 16/11/2026" in (
        unmet_condition("reminder", ["lead_invoice_overdue"], facts, language="en-GB") or "")


def test_given_no_premise_when_a_severance_letter_is_checked_then_it_is_suppressed():
    overdue = view(("I-1", date(2026, 10, 1), "100.00", "100.00"))
    assert suppression_reason(letter("premise"), view=overdue, premise=None, invoice_id=None, premise_id=None,
                              as_of=AS_OF, locale="pt-BR") == (
        "disconnect_warning requires a premise with an address; the contact names no premise")
    assert "premise PR-9 is not known" in (suppression_reason(
        letter("premise"), view=overdue, premise=None, invoice_id=None, premise_id="PR-9", as_of=AS_OF,
        locale="pt-BR") or "")


def test_given_every_condition_holds_when_checked_then_nothing_is_suppressed():
    overdue = view(("I-1", date(2026, 10, 1), "100.00", "60.00"))
    every = letter(*TEMPLATE_CONDITIONS)
    assert suppression_reason(every, view=overdue, premise=PREMISE, invoice_id="I-1", premise_id="PR-1",
                              as_of=AS_OF, locale="pt-BR") is None


def test_given_a_credit_balance_when_open_amount_is_required_then_it_is_suppressed():
    credit = view(("I-1", date(2026, 10, 1), "100.00", "0"))
    reason = suppression_reason(letter("open_amount_positive"), view=credit, premise=None, invoice_id=None,
                                premise_id=None, as_of=AS_OF, locale="pt-BR")
    assert reason is not None and "open balance is R$ 0,00" in reason
    assert "no account" in (suppression_reason(letter("lead_invoice"), view=None, premise=None, invoice_id=None,
                                               premise_id=None, as_of=AS_OF, locale="en") or "")


def test_given_an_unknown_condition_when_the_template_is_validated_then_the_error_names_it_and_the_known_ones():
    with pytest.raises(ValidationError) as exc:
        letter("overdue_amount_positve")
    message = str(exc.value)
    assert "letter template 'disconnect_warning': unknown condition(s) 'overdue_amount_positve'" in message
    assert "overdue_amount_positive" in message and "premise" in message
    with pytest.raises(ValidationError, match="unknown condition"):
        EmailTemplate.model_validate({"code": "e", "default_language": "en", "sender_name": "A",
                                      "sender_address": "a@b.example", "requires": ["nope"],
                                      "bodies": {"en": {"subject": "s", "html": "h"}}})


def test_the_published_templates_declare_what_their_subjects_assert():
    config = load_config_dir(REPO_CONFIG)
    letters = {t.code: set(t.requires) for t in config.letter_templates}
    assert {"overdue_amount_positive", "premise"} <= letters["disconnect_warning"]
    assert {"overdue_amount_positive", "premise"} <= letters["disconnected"]
    assert "overdue_amount_positive" in letters["arrears_notice"]
    assert "overdue_amount_positive" in letters["overdue_notice"]
    emails = {t.code: set(t.requires) for t in config.email_templates}
    assert "lead_invoice_overdue" in emails["reminder"]


def test_a_planned_step_letter_is_checked_against_its_template_as_delivery_would() -> None:
    from dunning.letters.conditions import document_suppression

    config = load_config_dir(REPO_CONFIG)
    not_due = view(("I-1", date(2026, 12, 1), "80.00", "80.00"))
    overdue = view(("I-1", date(2026, 10, 1), "80.00", "80.00"))
    assert "second_notice requires" in (document_suppression(
        config, action="letter", document="second_notice", view=not_due, invoice_id="I-1", as_of=AS_OF) or "")
    assert document_suppression(config, action="letter", document="second_notice", view=overdue,
                                invoice_id="I-1", as_of=AS_OF) is None
    assert document_suppression(config, action="activity", document="call_customer", view=not_due,
                                invoice_id="I-1", as_of=AS_OF) is None
