"""Builds the repositories a function needs from its settings (one place, so handlers stay thin)."""

from __future__ import annotations

from dunning.run import Deps
from dunning.settings import Settings
from dunning.store.blobs import Blobs
from dunning.store.contacts import ContactsRepository
from dunning.store.ledger import LedgerRepository
from dunning.store.runs import RunsRepository


def run_deps(settings: Settings) -> Deps:
    blobs = Blobs(settings.runs_bucket)
    return Deps(
        config=blobs.config(),
        ledger=LedgerRepository(settings.ledger_table),
        contacts=ContactsRepository(settings.contacts_table),
        runs=RunsRepository(settings.runs_table),
        blobs=blobs,
    )
