"""The store protocols are what the use cases depend on: each DynamoDB/S3 implementation and each in-memory fake
offers exactly the protocol's members, with the same parameters (mypy checks the types; this checks that no
member is missing on either side and that no public method is left outside the protocol)."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from dunning.store.blobs import BlobStore, S3Blobs
from dunning.store.contacts import ContactStore, DynamoContactsRepository
from dunning.store.ledger import DynamoLedgerRepository, LedgerStore
from dunning.store.runs import DynamoRunsRepository, RunStore
from tests.unit.core.fakes import FakeBlobs, FakeContacts, FakeLedger, FakeRuns

# statically: the fakes are accepted wherever a use case asks for the protocol (mypy, no ignores)
FAKES: tuple[LedgerStore, ContactStore, RunStore, BlobStore] = (FakeLedger(), FakeContacts(), FakeRuns(), FakeBlobs())
REAL: tuple[LedgerStore, ContactStore, RunStore, BlobStore] = (
    DynamoLedgerRepository("ledger"), DynamoContactsRepository("contacts"), DynamoRunsRepository("runs"),
    S3Blobs("bucket"))

CASES = [(LedgerStore, DynamoLedgerRepository, FakeLedger), (ContactStore, DynamoContactsRepository, FakeContacts),
         (RunStore, DynamoRunsRepository, FakeRuns), (BlobStore, S3Blobs, FakeBlobs)]


def methods(cls: type) -> dict[str, Any]:
    return {n: v for n, v in vars(cls).items() if not n.startswith("_") and callable(v)}


def parameters(fn: Any) -> list[tuple[str, Any]]:
    return [(p.name, p.kind) for p in inspect.signature(fn).parameters.values()]


@pytest.mark.parametrize(("protocol", "real", "fake"), CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_implementation_and_fake_offer_exactly_the_protocol(protocol, real, fake):
    wanted = methods(protocol)
    assert set(methods(real)) == set(wanted), "every public method of the store is part of its protocol"
    for name, member in wanted.items():
        assert parameters(getattr(real, name)) == parameters(member), name
        assert parameters(getattr(fake, name)) == parameters(member), name


def test_the_blob_store_names_its_bucket():
    assert all(hasattr(b, "bucket") for b in (FakeBlobs(), S3Blobs("letters")))
