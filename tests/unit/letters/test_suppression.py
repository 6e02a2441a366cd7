"""Delivery honours a template's conditions: a contact whose letter or email would state something false ends
``suppressed`` with the reason, and nothing is rendered, sent, or turned into a fallback letter."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from dunning.app.email_delivery import EmailDeps, send_contact_email
from dunning.app.letter_delivery import LetterDeps, render_contact_letter
from dunning.config_loader import load_config_dir
from dunning.models.accounts import AccountView, InvoiceView
from dunning.models.common import Address
from dunning.models.contacts import Contact, ContactStatus, EmailRecipient, pack_snapshot
from dunning.models.events import AccountUpserted, PersonUpserted
from tests.unit.core.fakes import FakeBlobs, FakeContacts, FakeLedger
from tests.unit.letters.support import REPO_CONFIG

AS_OF = date(2026, 11, 16)
CONFIG = load_config_dir(REPO_CONFIG)


class NoLedger(FakeLedger):
    """A ledger that fails every read: the contact's snapshot has everything delivery needs."""

    def __getattribute__(self, name: str) -> Any:
        if not name.startswith("_"):
            raise AssertionError(f"the snapshot has everything: no ledger read ({name})")
        return super().__getattribute__(name)


class Contacts(FakeContacts):
    """The in-memory contacts table, recording each status change delivery asks for (status, reason) and the
    contacts it creates."""

    def __init__(self, *stored: Contact) -> None:
        super().__init__()
        self.items.update({c.contact_id: c for c in stored})
        self.status: dict[str, tuple[str, str]] = {}
        self.created: list[Contact] = []

    def set_status(self, contact_id: str, status: ContactStatus, *, reason: str = "",
                   fields: dict[str, Any] | None = None, remove: Iterable[str] = (),
                   only_from: Iterable[ContactStatus] | None = None, now: datetime | None = None) -> bool:
        self.status[contact_id] = (status, reason)
        return super().set_status(contact_id, status, reason=reason, fields=fields, remove=remove,
                                  only_from=only_from, now=now)

    def create_new(self, contacts: Iterable[Contact]) -> list[Contact]:
        new = super().create_new(contacts)
        self.created.extend(new)
        return new


def contact(action: str, template: str, open_amount: str, due: date, *, country: str = "BR") -> Contact:
    person = PersonUpserted(person_id="P-1", name="Ana Souza", language="pt-BR", email="ana@example.com",
                            address=Address(lines=["Rua A 1"], city="Recife", country=country))
    view = AccountView(account_id="A-1", account=AccountUpserted(account_id="A-1", currency="BRL",
                                                                 main_person_id="P-1"),
                       invoices=[InvoiceView(invoice_id="I-1", invoice_date=date(2026, 9, 1), due_date=due,
                                             amount=Decimal("100.00"), open_amount=Decimal(open_amount),
                                             currency="BRL")])
    snapshot = json.dumps({"person": json.loads(person.model_dump_json()), "premise": None,
                           "view": json.loads(view.model_dump_json())})
    return Contact(contact_id=f"c-{template}", contact_class="COLLECTIONS", contact_type=action.upper(),
                   action=action, template_code=template, language="pt-BR", person_id="P-1", account_id="A-1",
                   invoice_id="I-1", source="event", source_ref="e-1", as_of=AS_OF,
                   created_at=datetime(2026, 11, 16, 6, tzinfo=UTC), snapshot=pack_snapshot(snapshot),
                   recipient=EmailRecipient(kind="customer", name="Ana Souza", address="ana@example.com")
                   if action == "email" else None)


def test_given_a_zero_balance_when_a_disconnection_warning_is_delivered_then_it_is_suppressed_not_rendered():
    warning = contact("letter", "disconnect_warning", "0", date(2026, 10, 1))
    contacts, blobs = Contacts(warning), FakeBlobs()
    deps = LetterDeps(config=lambda: CONFIG, ledger=NoLedger(), contacts=contacts, letters=blobs)
    result = render_contact_letter(warning, deps)
    assert result.status == "suppressed"
    assert blobs.objects == {}
    status, reason = contacts.status["c-disconnect_warning"]
    assert status == "suppressed" == contacts.items["c-disconnect_warning"].status
    assert reason.startswith("disconnect_warning requires an overdue amount above zero")
    assert "R$ 0,00" in reason


def test_given_an_overdue_balance_when_a_first_notice_is_delivered_then_it_is_rendered():
    notice = contact("letter", "first_notice", "100.00", date(2026, 10, 1))
    contacts, blobs = Contacts(notice), FakeBlobs()
    deps = LetterDeps(config=lambda: CONFIG, ledger=NoLedger(), contacts=contacts, letters=blobs)
    result = render_contact_letter(notice, deps)
    assert result.status == "rendered", result.reason
    assert contacts.status["c-first_notice"][0] == "rendered" == contacts.items["c-first_notice"].status
    assert len(blobs.objects) == 1


def test_given_an_invoice_not_yet_due_when_an_overdue_reminder_email_is_delivered_then_it_is_suppressed():
    reminder = contact("email", "reminder", "100.00", date(2026, 12, 1))
    contacts = Contacts(reminder)

    def no_ses() -> Any:
        raise AssertionError("a suppressed email is not sent")

    deps = EmailDeps(config=lambda: CONFIG, ledger=NoLedger(), contacts=contacts, ses=no_ses)
    result = send_contact_email(reminder, deps)
    assert result.status == "suppressed"
    status, reason = contacts.status["c-reminder"]
    assert status == "suppressed" == contacts.items["c-reminder"].status
    assert "invoice I-1 is due on 01/12/2026" in reason
    assert contacts.created == []  # no fallback letter for an email that must not go out
