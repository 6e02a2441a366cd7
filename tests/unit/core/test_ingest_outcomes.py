"""Every event accounted for: each one ends applied, held (with what it waits for) or rejected (with the reason),
and what happened to it can be looked up by the one who sent it. The ingest use case runs over in-memory stores."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from dunning.app.ingest import Ingestor, event_statuses, held_events, sent_event
from dunning.config_loader import load_config_dir
from dunning.models.events import EventRecord, Wait
from dunning.store.ledger import EventLookup
from tests.unit.core.fakes import FakeBlobs, FakeContacts, FakeLedger

ROOT = Path(__file__).resolve().parents[3]
NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
CONFIG = load_config_dir(ROOT / "infra" / "config")


class FakeEventLog:
    """The event log over the same in-memory table as the ledger (EVENT# and HELD items), counting writes."""

    def __init__(self, ledger: FakeLedger) -> None:
        self.ledger = ledger
        self.records: dict[str, EventRecord] = {}
        self.writes = 0

    def lookup(self, event_ids: Iterable[str], waits: Iterable[Wait] = (), accounts: Iterable[str] = ()
               ) -> EventLookup:
        table = self.ledger.table
        present = {w for w in waits if (f"ACCT#{w.account_id}",
                                        "PROFILE" if w.kind == "account" else f"INV#{w.invoice_id}") in table}
        return EventLookup(records={e: self.records[e] for e in event_ids if e in self.records}, present=present,
                           accounts=self.ledger.accounts(accounts))

    def put_records(self, records: list[EventRecord]) -> int:
        self.writes += len(records)
        self.records.update({r.event_id: r for r in records})
        return len(records)

    def held(self) -> list[EventRecord]:
        return [r for r in self.records.values() if r.outcome == "held"]


class World:
    def __init__(self) -> None:
        self.ledger = FakeLedger()
        self.contacts = FakeContacts()
        self.blobs = FakeBlobs()
        self.events = FakeEventLog(self.ledger)
        self.sent = 0

    def ingest(self, *bodies: str | dict[str, Any]) -> tuple[Ingestor, list[str]]:
        """One SQS batch of ``bodies``; returns the ingestor (its result) and the message ids used."""
        ingestor = Ingestor(self.ledger, self.contacts, self.blobs, lambda: CONFIG, events=self.events,
                            now=lambda: NOW)
        ids = []
        for body in bodies:
            self.sent += 1
            ids.append(f"m-{self.sent}")
            ingestor.stage(ids[-1], body if isinstance(body, str) else json.dumps(body))
        ingestor.flush()
        return ingestor, ids

    def rejected(self) -> dict[str, str]:
        """message id -> reason, from the rejected-events store."""
        return {k.rsplit("/", 1)[-1].removesuffix(".json"): self.blobs.get_json(k)["reason"]
                for k in self.blobs.keys("rejected/")}

    def status(self, message_id: str, body: str | dict[str, Any]):
        text = body if isinstance(body, str) else json.dumps(body)
        return event_statuses(self.events, self.blobs, [sent_event(message_id, text)], [NOW.date()]).events[0]


def envelope(eid: str, etype: str, data: dict[str, Any], at: str = "2026-11-01T09:00:00Z") -> dict[str, Any]:
    return {"event_id": eid, "event_type": etype, "occurred_at": at, "source": "test", "data": data}


def account(eid: str = "e-acct", account_id: str = "A-1", at: str = "2026-11-01T08:00:00Z") -> dict[str, Any]:
    return envelope(eid, "account.upserted", {"account_id": account_id, "currency": "EUR",
                                              "main_person_id": "P-1"}, at)


def invoice(eid: str = "e-inv", invoice_id: str = "INV-1", account_id: str = "A-1",
            amount: str = "10.00") -> dict[str, Any]:
    return envelope(eid, "invoice.posted", {"invoice_id": invoice_id, "account_id": account_id,
                                            "invoice_date": "2026-10-20", "due_date": "2026-11-03",
                                            "amount": amount, "currency": "EUR"})


def payment(eid: str = "e-pay", applied_to: str = "INV-9") -> dict[str, Any]:
    return envelope(eid, "payment.received", {"payment_id": "PAY-1", "account_id": "A-1", "amount": "5.00",
                                              "currency": "EUR", "received_on": "2026-11-02",
                                              "applications": [{"invoice_id": applied_to, "amount": "5.00"}]})


# ---------------------------------------------------------------------------------------------- no rule matched
def test_given_a_collection_event_no_rule_knows_then_it_is_rejected_with_the_reason_not_dropped():
    w = World()
    w.ingest(account())
    ingestor, (mid,) = w.ingest(envelope("e-col", "collection.event", {"event_code": "UNUSED_CODE",
                                                                       "account_id": "A-1"}))
    assert ingestor.result.rejected == 1 and ingestor.result.applied == 0
    assert "no rule matched" in w.rejected()[mid] and "collection.event with code UNUSED_CODE" in w.rejected()[mid]
    assert w.contacts.items == {}


# ---------------------------------------------------------------------------------------------- nesting depth
@pytest.mark.parametrize("body", ['{"a":' * 5000 + "1" + "}" * 5000, "[" * 5000 + "]" * 5000],
                         ids=["objects", "arrays-10kb"])
def test_given_5000_levels_of_nesting_then_the_event_is_rejected_at_the_edge_not_retried(body):
    w = World()
    ingestor, (mid,) = w.ingest(body)  # a RecursionError here would fail the message, 5 times, into the DLQ
    assert ingestor.result.rejected == 1 and not ingestor.result.failed_message_ids
    assert w.rejected()[mid] == "event nests objects and arrays more than 16 levels deep; the limit is 16"


def test_given_many_brackets_inside_strings_then_they_are_text_not_nesting():
    w = World()
    ingestor, _ = w.ingest(envelope("e-p", "person.upserted", {"person_id": "P-1", "name": "[[[[[[[[[[" * 3}))
    assert ingestor.result.applied == 1 and ingestor.result.rejected == 0


# ---------------------------------------------------------------------------------------------- held
def test_given_an_invoice_for_an_unknown_account_then_it_is_held_listed_and_applied_when_the_account_arrives():
    w = World()
    ingestor, (mid,) = w.ingest(invoice())
    assert ingestor.result.held == 1 and ingestor.result.applied == 0 and ingestor.result.rejected == 0
    assert [(h.event_id, h.reason) for h in held_events(w.events)] == [
        ("e-inv", "held: account A-1 is not known yet")]
    assert w.status(mid, invoice()).outcome == "held"
    assert ("ACCT#A-1", "INV#INV-1") in w.ledger.table  # stored, so the account view takes it in later

    w.ingest(account(at="2026-11-02T08:00:00Z"))
    assert held_events(w.events) == []
    status = w.status(mid, invoice())
    assert (status.outcome, status.reason) == ("applied", "applied: held until account A-1 arrived")
    assert [i.invoice_id for i in w.ledger.account_view("A-1").invoices] == ["INV-1"]


def test_given_an_invoice_with_its_account_in_the_same_batch_then_it_is_applied_not_held():
    w = World()
    ingestor, _ = w.ingest(invoice(), account())
    assert (ingestor.result.applied, ingestor.result.held) == (2, 0)


def test_given_a_payment_for_an_invoice_not_posted_yet_then_it_is_held_until_the_invoice_arrives():
    w = World()
    w.ingest(account())
    ingestor, (mid,) = w.ingest(payment(applied_to="INV-9"))
    assert ingestor.result.held == 1
    assert [h.reason for h in held_events(w.events)] == ["held: invoice INV-9 of account A-1 is not posted yet"]
    w.ingest(invoice("e-inv9", "INV-9"))
    assert held_events(w.events) == []
    assert w.status(mid, payment(applied_to="INV-9")).outcome == "applied"


# ---------------------------------------------------------------------------------------------- event_id conflicts
def test_given_an_event_id_reused_for_another_entity_then_the_second_is_rejected_as_a_conflict_and_not_applied():
    w = World()
    w.ingest(account(), invoice("e-1", "INV-1"))
    ingestor, (mid,) = w.ingest(invoice("e-1", "INV-2"))
    assert ingestor.result.rejected == 1 and ingestor.result.applied == 0
    assert w.rejected()[mid].startswith("event_id e-1 was already received with a different body (first received")
    assert ("ACCT#A-1", "INV#INV-2") not in w.ledger.table


def test_given_an_event_id_reused_for_the_same_entity_with_another_body_then_it_is_rejected_not_dropped_silently():
    w = World()
    w.ingest(account(), invoice("e-1", "INV-1", amount="10.00"))
    _, (mid,) = w.ingest(invoice("e-1", "INV-1", amount="99.00"))
    assert "already received with a different body" in w.rejected()[mid]
    assert w.ledger.account_view("A-1").invoices[0].amount == 10
    assert w.status(mid, invoice("e-1", "INV-1", amount="99.00")).outcome == "rejected"


def test_given_two_bodies_with_one_event_id_in_one_batch_then_the_second_is_a_conflict():
    w = World()
    _, (_, _, second) = w.ingest(account(), invoice("e-1", "INV-1"), invoice("e-1", "INV-2"))
    assert "already received with a different body in the same batch" in w.rejected()[second]
    assert ("ACCT#A-1", "INV#INV-2") not in w.ledger.table


def test_given_the_same_body_again_then_it_is_a_harmless_duplicate_with_no_new_record():
    w = World()
    w.ingest(account(), invoice())
    writes = w.events.writes
    same_content_other_order = dict(reversed(list(invoice().items())))
    ingestor, (mid,) = w.ingest(same_content_other_order)
    assert (ingestor.result.duplicates, ingestor.result.rejected) == (1, 0)
    assert w.events.writes == writes
    assert w.status(mid, same_content_other_order).outcome == "applied"


# ---------------------------------------------------------------------------------------------- occurred_at
@pytest.mark.parametrize(("ahead", "rejected"), [(timedelta(hours=23), False), (timedelta(hours=25), True)])
def test_given_occurred_at_more_than_a_day_ahead_then_the_event_is_rejected(ahead, rejected):
    w = World()
    at = (NOW + ahead).isoformat()
    _, (mid,) = w.ingest(envelope("e-p", "person.upserted", {"person_id": "P-1", "name": "N"}, at=at))
    assert (mid in w.rejected()) is rejected
    if rejected:
        assert "is in the future (more than 24h after" in w.rejected()[mid]


# ---------------------------------------------------------------------------------------------- statuses
def test_given_events_not_processed_yet_then_their_status_is_pending_and_a_rejected_one_is_found_by_message_id():
    w = World()
    _, (bad,) = w.ingest("{not json")
    report = event_statuses(w.events, w.blobs, [sent_event(bad, "{not json"), sent_event("m-x", json.dumps(
        invoice("e-later")))], [NOW.date(), NOW.date() + timedelta(days=1)])
    assert [(s.outcome, s.event_id) for s in report.events] == [("rejected", None), ("pending", "e-later")]
    assert (report.rejected, report.pending, report.settled) == (1, 1, False)
    assert report.reasons[0].reason.startswith("not valid JSON")


def test_given_rejections_filed_on_another_day_then_they_are_found_only_when_that_day_is_asked():
    w = World()
    w.blobs.put_rejected("m-old", "{}", "event must be a JSON object", now=datetime(2026, 11, 9, tzinfo=UTC))
    sent = [sent_event("m-old", "{}")]
    assert event_statuses(w.events, w.blobs, sent, [date(2026, 11, 10)]).pending == 1
    assert event_statuses(w.events, w.blobs, sent, [date(2026, 11, 9), date(2026, 11, 10)]).rejected == 1
