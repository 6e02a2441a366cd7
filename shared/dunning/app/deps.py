"""Builds the repositories a function needs from its settings (one place, so handlers stay thin)."""

from __future__ import annotations

from dunning.app.delivery import DeliveryDeps
from dunning.app.run import Deps
from dunning.settings import Settings
from dunning.store.blobs import Blobs
from dunning.store.contacts import ContactsRepository
from dunning.store.ledger import LedgerRepository
from dunning.store.runs import RunsRepository


def contacts_repository(settings: Settings) -> ContactsRepository:
    """The contacts table with the stack's retention (the ``ttl`` every new contact gets)."""
    return ContactsRepository(settings.contacts_table, retention_days=settings.contact_retention_days)


def delivery_deps(settings: Settings) -> DeliveryDeps:
    """What render_letter and send_email need: configuration, ledger, contacts and the letters bucket."""
    return DeliveryDeps(config=Blobs(settings.runs_bucket).config, ledger=LedgerRepository(settings.ledger_table),
                        contacts=contacts_repository(settings), letters=Blobs(settings.letters_bucket),
                        sender_identity=settings.sender_identity)


def run_deps(settings: Settings) -> Deps:
    blobs = Blobs(settings.runs_bucket)
    return Deps(
        config=blobs.config(),
        ledger=LedgerRepository(settings.ledger_table),
        contacts=contacts_repository(settings),
        runs=RunsRepository(settings.runs_table),
        blobs=blobs,
    )
