"""What letter and email delivery share: the new contacts in a stream batch, the data a contact's output merges,
the result of one delivery, and failing a contact.

Both deliveries are triggered by the contacts table's stream. Side effects are guarded twice: the handler wraps
each contact in Powertools' ``idempotent_function`` (keyed on the contact id), and the status moves only from
``pending``, so a redelivered stream record never renders or sends again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from dunning.models.accounts import AccountView
from dunning.models.contacts import Contact
from dunning.models.events import PersonUpserted, PremiseUpserted
from dunning.observability import logger
from dunning.store.contacts import ContactStore, stream_image_contact
from dunning.store.ledger import LedgerStore


class DeliveryResult(BaseModel):
    """One contact's delivery. It is what the idempotency record keeps (``to_record``: no empty fields), so a
    retried record gets the first outcome back."""

    contact_id: str
    status: Literal["rendered", "sent", "failed", "suppressed"]
    s3_key: str | None = None
    pages: int | None = None
    ses_message_id: str | None = None
    reason: str | None = None
    fallback_contact_id: str | None = None

    def to_record(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


def contacts_from_stream(records: Sequence[dict[str, Any]], action: str) -> list[Contact]:
    """New contacts of ``action`` in a DynamoDB stream batch (INSERTs only: updates never re-trigger)."""
    out = []
    for rec in records:
        image = rec.get("dynamodb", {}).get("NewImage")
        if rec.get("eventName") != "INSERT" or not image:
            continue
        contact = stream_image_contact(image)
        if contact.action == action:
            out.append(contact)
    return out


@dataclass
class MergeData:
    """The person, premise and account view a letter or email merges."""

    person: PersonUpserted | None
    premise: PremiseUpserted | None
    view: AccountView | None


def load_merge_data(contact: Contact, ledger: LedgerStore) -> MergeData:
    """A contact's merge data: its creation snapshot when it has one (no reads), otherwise the current ledger (one
    BatchGet + one Query)."""
    snap = contact.snapshot_data()
    if snap is not None:
        return MergeData(
            person=PersonUpserted.model_validate(snap["person"]) if snap.get("person") else None,
            premise=PremiseUpserted.model_validate(snap["premise"]) if snap.get("premise") else None,
            view=AccountView.model_validate(snap["view"]) if snap.get("view") else None,
        )
    person, premise = ledger.person_and_premise(contact.person_id, contact.premise_id)
    return MergeData(person=person, premise=premise,
                     view=ledger.account_view(contact.account_id) if contact.account_id else None)


def fail_contact(contacts: ContactStore, contact: Contact, reason: str) -> DeliveryResult:
    contacts.set_status(contact.contact_id, "failed", reason=reason, only_from=["pending"])
    logger.warning("contact failed", extra={"contact_id": contact.contact_id, "reason": reason})
    return DeliveryResult(contact_id=contact.contact_id, status="failed", reason=reason)


def suppress_contact(contacts: ContactStore, contact: Contact, reason: str) -> DeliveryResult:
    """End a contact whose template's conditions do not hold (``requires:``, dunning.letters.conditions): nothing
    is rendered or sent, and no fallback letter is made."""
    contacts.set_status(contact.contact_id, "suppressed", reason=reason, only_from=["pending"])
    logger.info("contact suppressed", extra={"contact_id": contact.contact_id, "reason": reason})
    return DeliveryResult(contact_id=contact.contact_id, status="suppressed", reason=reason)
