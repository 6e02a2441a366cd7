"""The event contract: every invalid event is refused with a reason a person can act on."""

from __future__ import annotations

import json

import pytest

from dunning.models.events import MAX_EVENT_BYTES, EventValidationError, parse_event

GOOD = {"event_id": "e-1", "event_type": "invoice.posted", "occurred_at": "2026-11-01T09:00:00Z", "source": "billing",
        "data": {"invoice_id": "I-1", "account_id": "A-1", "invoice_date": "2026-10-20", "due_date": "2026-11-03",
                 "amount": "120.50", "currency": "EUR"}}


def with_data(**changes):
    return {**GOOD, "data": {**GOOD["data"], **changes}}


def test_a_valid_event_parses_to_its_typed_payload():
    event = parse_event(json.dumps(GOOD))
    assert event.event_type == "invoice.posted"
    assert str(event.payload.amount) == "120.50"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        (json.dumps({**GOOD, "event_type": "invoice.deleted"}), "unknown event_type"),
        (json.dumps({k: v for k, v in GOOD.items() if k != "event_id"}), "event_id"),
        (json.dumps({**GOOD, "occurred_at": "2026-11-01T09:00:00"}), "timezone"),
        (json.dumps(with_data(amount="-5")), "amount"),
        (json.dumps(with_data(amount="0")), "amount"),
        (json.dumps(with_data(amount="1.234")), "amount"),
        (json.dumps(with_data(currency="euro")), "currency"),
        (json.dumps(with_data(due_date="2026-10-01")), "due_date is before invoice_date"),
        (json.dumps(with_data(invoice_date="0203-01-01")), "outside"),
        (json.dumps(with_data(invoice_id="../../etc")), "invoice_id"),
        (json.dumps(with_data(extra_field=1)), "extra_field"),
        ("x" * (MAX_EVENT_BYTES + 1), "limit"),
    ],
    ids=["not-json", "not-object", "unknown-type", "missing-id", "naive-time", "negative-amount", "zero-amount",
         "sub-cent", "bad-currency", "due-before-invoice", "date-out-of-range", "path-like-id", "unknown-field",
         "too-large"],
)
def test_an_invalid_event_is_refused_with_a_readable_reason(raw, reason):
    with pytest.raises(EventValidationError) as exc:
        parse_event(raw)
    assert reason in str(exc.value)


def test_payment_applications_cannot_exceed_the_payment():
    raw = {"event_id": "p", "event_type": "payment.received", "occurred_at": "2026-11-01T09:00:00Z", "source": "b",
           "data": {"payment_id": "P", "account_id": "A", "amount": "10", "currency": "EUR",
                    "received_on": "2026-11-01", "applications": [{"invoice_id": "I", "amount": "11"}]}}
    with pytest.raises(EventValidationError, match="more than the payment"):
        parse_event(raw)


def test_unicode_names_are_accepted():
    raw = {"event_id": "p", "event_type": "person.upserted", "occurred_at": "2026-11-01T09:00:00+03:00",
           "source": "crm", "data": {"person_id": "P-1", "name": "محمد الأحمد 🙂", "language": "ar"}}
    assert parse_event(raw).payload.name == "محمد الأحمد 🙂"
