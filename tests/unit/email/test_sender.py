"""An email names the same company as the letters: the From name is the company's, replies go to the address its
letters print (the From address itself must belong to the stack's SES identity)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from email import message_from_bytes
from pathlib import Path

from dunning.config_loader import load_config_dir
from dunning.email.compose import company_reply_to, compose_contact_email
from dunning.email.mime import to_mime
from dunning.models.config import Company
from dunning.models.contacts import Contact, EmailRecipient

CONFIG = load_config_dir(Path(__file__).resolve().parents[3] / "infra" / "config")


def customer_email_templates() -> set[str]:
    codes = {s.document for h in CONFIG.hierarchies for s in h.steps
             if s.action == "email" and s.recipient == "customer" and s.document}
    codes |= {t.email_template for t in CONFIG.contact_types if t.email_template}
    return codes


def test_every_customer_email_comes_from_the_company_the_letters_name() -> None:
    codes = customer_email_templates()
    assert codes >= {"reminder", "upcoming_due"}
    for code in codes:
        assert CONFIG.email_template(code).sender_name == CONFIG.company.name, code


def email_for(kind: str) -> Contact:
    return Contact(contact_id="c-1", contact_class="COLLECTIONS", contact_type="EMAIL", action="email",
                   template_code="reminder" if kind == "customer" else "sales_alert", language="en",
                   person_id="P-1", account_id="A-1", source="run", source_ref="r", as_of=date(2026, 11, 16),
                   created_at=datetime(2026, 11, 16, tzinfo=UTC),
                   recipient=EmailRecipient(kind=kind, name="Ana", address="ana@example.com"))


CTX = {"company": {"name": "Aurora Utilities", "website": "aurora.example"}, "recipient": {"name": "Ana"},
       "invoice": {"id": "I-1", "due_date_text": "1 Nov", "open_amount_text": "€1"}, "open_invoices": [],
       "totals": {"open_balance_text": "€1", "overdue_balance_text": "€1"}, "account": {"id": "A-1"}}


def test_replies_to_a_customer_email_go_to_the_address_the_letters_print() -> None:
    email = compose_contact_email(email_for("customer"), CONFIG, CTX)
    assert email.sender == f"{CONFIG.company.name} <collections@dunning.example>"
    assert email.reply_to == f"{CONFIG.company.name} <{CONFIG.company.email}>"
    message = message_from_bytes(to_mime(email, message_id="<m@x>", date=datetime(2026, 11, 16, tzinfo=UTC)))
    assert message["Reply-To"] == email.reply_to


def test_an_internal_alert_has_no_company_reply_to() -> None:
    assert compose_contact_email(email_for("sales_group"), CONFIG, CTX).reply_to == ""


def test_no_reply_to_when_the_company_has_no_address_or_sends_from_it() -> None:
    assert company_reply_to(Company(name="A"), "x@a.example") == ""
    assert company_reply_to(Company(name="A", email="X@a.example"), "x@a.example") == ""
