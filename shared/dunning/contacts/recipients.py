"""Who a collections run's email step writes to (S2.9). Pure: the account and its persons are given."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from dunning.models.common import RecipientKind
from dunning.models.contacts import EmailRecipient
from dunning.models.decisions import PlannedAction
from dunning.models.events import AccountPerson, AccountUpserted, PartyContact, PersonUpserted


@dataclass(frozen=True)
class ResolvedRecipient:
    """The outcome of :func:`resolve_email_recipient`: the contact's person, and the address to write to, or
    ``None`` when there is no address (``missing`` says why; the run then sends a letter instead)."""

    person_id: str | None
    recipient: EmailRecipient | None
    missing: str = ""
    notes: list[str] = field(default_factory=list)


def resolve_email_recipient(
    account: AccountUpserted | None, action: PlannedAction, persons: Mapping[str, PersonUpserted]
) -> ResolvedRecipient:
    """S2.9: ``customer`` -> the account person with the step's business purpose (else the main person);
    ``sales_group`` / ``collections_agent`` -> the account's party contact. The contact's person is the
    customer person for ``customer``, the main person otherwise."""
    if account is None:
        return ResolvedRecipient(None, None, missing="the account is not known yet, so there is no email address")
    if action.recipient in ("sales_group", "collections_agent"):
        return _party_recipient(account, action.recipient)
    return _customer_recipient(account, action.business_purpose, persons)


def _party_recipient(account: AccountUpserted, kind: RecipientKind) -> ResolvedRecipient:
    """The account's sales group or collections agent (``kind``); the contact stays with the main person."""
    main = account.main_person_id
    party: PartyContact | None = getattr(account, kind)
    label = kind.replace("_", " ")
    if party is None:
        missing = f"account {account.account_id} has no {label}, so no email address"
        return ResolvedRecipient(main, None, missing=missing)
    if not party.email:
        return ResolvedRecipient(
            main, None, missing=f"no email address for the {label} {party.id} of account {account.account_id}"
        )
    return ResolvedRecipient(main, EmailRecipient(kind=kind, name=party.name, address=party.email))


def _customer_recipient(
    account: AccountUpserted, business_purpose: str | None, persons: Mapping[str, PersonUpserted]
) -> ResolvedRecipient:
    """The account person with ``business_purpose`` (the main person when none has it, with a note)."""
    main = account.main_person_id
    notes: list[str] = []
    chosen: AccountPerson | None = None
    if business_purpose:
        chosen = _person_for_purpose(account, business_purpose)
        if chosen is None:
            notes.append(
                f"no person on account {account.account_id} has business purpose "
                f"{business_purpose}; using the main person {main}"
            )
    person_id = chosen.person_id if chosen is not None else main
    person = persons.get(person_id)
    if person is None or not person.email:
        return ResolvedRecipient(person_id, None, missing=f"no email address for person {person_id}", notes=notes)
    return ResolvedRecipient(
        person_id, EmailRecipient(kind="customer", name=person.name, address=person.email), notes=notes
    )


def _person_for_purpose(account: AccountUpserted, purpose: str) -> AccountPerson | None:
    """The first account person (main person first) whose business purposes include ``purpose``."""
    wanted = purpose.casefold()
    candidates = sorted(account.all_persons(), key=lambda p: not p.main)  # stable: main first, then listed order
    return next((p for p in candidates if wanted in {b.casefold() for b in p.business_purposes}), None)
