"""Email delivery sends where it should (issue 11, section 3b): SES's own words stay in a rejection's reason, and an
internal alert whose send fails never becomes a letter to the customer."""

from __future__ import annotations

from datetime import date
from typing import Any

from botocore.exceptions import ClientError

from dunning.app.email_delivery import EmailDeps, send_contact_email
from dunning.models.contacts import EmailRecipient
from dunning.models.events import PersonUpserted
from tests.unit.letters.test_suppression import CONFIG, Contacts, contact

AUTHORITY = ("Did not have authority to send from collections@dunning.example: the identity is not verified "
             "for this account")


class RejectingSes:
    def __init__(self, message: str) -> None:
        self.message = message

    def send_email(self, **_: Any) -> dict[str, Any]:
        raise ClientError({"Error": {"Code": "MessageRejected", "Message": self.message}}, "SendEmail")


class Ledger:
    def persons(self, ids: Any) -> dict[str, PersonUpserted]:
        return {"P-1": PersonUpserted(person_id="P-1", name="Ana Souza", language="pt-BR")}


def deps(contacts: Contacts, message: str = AUTHORITY) -> EmailDeps:
    return EmailDeps(config=lambda: CONFIG, ledger=Ledger(), contacts=contacts,  # type: ignore[arg-type]
                     ses=lambda: RejectingSes(message))


def overdue_email(**update: Any) -> Any:
    return contact("email", "reminder", "100.00", date(2026, 10, 1)).model_copy(update=update)


def test_given_ses_rejects_an_email_then_the_reason_keeps_sess_own_message():
    contacts = Contacts()
    result = send_contact_email(overdue_email(), deps(contacts))
    assert result.status == "failed"
    assert result.reason == f"SES rejected the email (MessageRejected): {AUTHORITY}"
    assert contacts.status["c-reminder"] == ("failed", result.reason)


def test_given_ses_quotes_the_recipients_address_then_the_reason_leaves_it_out():
    contacts = Contacts()
    result = send_contact_email(overdue_email(), deps(contacts, "Email address is not verified: ana@example.com"))
    assert result.reason == "SES rejected the email (MessageRejected): Email address is not verified: <recipient>"


def test_given_a_failed_customer_email_then_its_types_fallback_letter_is_created():
    contacts = Contacts()
    result = send_contact_email(overdue_email(contact_type="EMAIL"), deps(contacts))
    assert [c.action for c in contacts.created] == ["letter"]
    assert result.fallback_contact_id == contacts.created[0].contact_id


def test_given_a_failed_internal_alert_then_no_letter_goes_to_the_customer():
    contacts = Contacts()
    alert = overdue_email(contact_type="EMAIL",
                          recipient=EmailRecipient(kind="sales_group", name="Sales", address="sales@aurora.example"))
    result = send_contact_email(alert, deps(contacts))
    assert result.status == "failed" and result.fallback_contact_id is None
    assert contacts.created == []
