"""Which ledger items an event writes, and how versions order them."""

from __future__ import annotations

from dunning.app.ingest import CONTACT_EVENTS, facts_for_event
from dunning.models.events import parse_event


def event(event_type, data, at="2026-11-01T09:00:00Z", eid="e-1"):
    return parse_event({"event_id": eid, "event_type": event_type, "occurred_at": at, "source": "t", "data": data})


def test_invoice_and_payment_facts_live_under_their_account():
    f = facts_for_event(event("invoice.posted", {"invoice_id": "I", "account_id": "A", "invoice_date": "2026-10-01",
                                                 "due_date": "2026-10-15", "amount": "10", "currency": "EUR"}))
    assert [(x.pk, x.sk) for x in f] == [("ACCT#A", "INV#I")]


def test_a_service_agreement_links_each_service_point():
    f = facts_for_event(event("service_agreement.upserted", {"service_agreement_id": "SA", "account_id": "A",
                                                             "service_point_ids": ["SP1", "SP2"]}))
    assert {(x.pk, x.sk) for x in f} == {("SA#SA", "PROFILE"), ("SP#SP1", "SA"), ("SP#SP2", "SA")}


def test_a_later_event_has_a_higher_version_whatever_the_offset():
    data = {"person_id": "P", "name": "N"}
    early = facts_for_event(event("person.upserted", data, at="2026-11-01T10:00:00+02:00", eid="b"))[0]
    late = facts_for_event(event("person.upserted", data, at="2026-11-01T09:30:00Z", eid="a"))[0]
    assert late.version > early.version


def test_contact_events_write_no_ledger_facts():
    for t in CONTACT_EVENTS:
        assert t.count(".") == 1
    assert facts_for_event(event("collection.event", {"event_code": "X", "account_id": "A"})) == []
