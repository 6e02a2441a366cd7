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


# ---------------------------------------------------------------------------------------------- the schemas
def committed_schema(name: str) -> dict:
    from pathlib import Path

    return json.loads((Path(__file__).resolve().parents[3] / "events" / "schemas" / name).read_text("utf-8"))


def test_the_committed_envelope_schema_states_the_limits_ingest_enforces():
    from dunning.app.ingest import MIN_OCCURRED_AT
    from dunning.models.events import MAX_ATTRIBUTE_CHARS, MAX_CLOCK_SKEW, MAX_NESTING_DEPTH

    limits = committed_schema("envelope.json")["x-dunning-limits"]
    assert limits["max_event_bytes"] == MAX_EVENT_BYTES
    assert limits["max_nesting_depth"] == MAX_NESTING_DEPTH
    assert limits["max_attribute_value_chars"] == MAX_ATTRIBUTE_CHARS
    assert limits["max_occurred_at_after_now_hours"] * 3600 == MAX_CLOCK_SKEW.total_seconds()
    assert limits["min_occurred_at"].startswith(MIN_OCCURRED_AT.date().isoformat())
    attributes = committed_schema("account.upserted.json")["properties"]["attributes"]["additionalProperties"]
    assert {"type": "string", "maxLength": MAX_ATTRIBUTE_CHARS} in attributes["anyOf"]


AMOUNTS = ["10.00", "120.5", "0.01", "+5", "9999999999999999.99", "10.10", "1e2", "1E+2", "1e-2", "10.001",
           "0", "0.00", "-10.00", "NaN", "Infinity", " 5 ", ".5", "5.", "10,00", "12345678901234567", "1_000",
           "", "0x10", "١٢٣"]


@pytest.mark.parametrize("amount", AMOUNTS)
def test_the_committed_schema_and_ingest_agree_on_every_amount(amount):
    import jsonschema

    schema = committed_schema("invoice.posted.json")
    valid_by_schema = jsonschema.Draft202012Validator(schema).is_valid(GOOD["data"] | {"amount": amount})
    try:
        parse_event(with_data(amount=amount))
        valid_by_ingest = True
    except EventValidationError:
        valid_by_ingest = False
    assert valid_by_schema == valid_by_ingest, (amount, valid_by_schema, valid_by_ingest)


def amount_patterns(node, under_amount=False):
    """Every string pattern of a property named ``amount`` in a schema (payment applications included)."""
    if isinstance(node, dict):
        if under_amount and "pattern" in node:
            yield node["pattern"]
        for key, value in node.items():
            yield from amount_patterns(value, under_amount or key == "amount")
    elif isinstance(node, list):
        for value in node:
            yield from amount_patterns(value, under_amount)


def test_the_amount_pattern_is_anchored_so_an_exponent_does_not_pass():
    import re

    found = {name: list(amount_patterns(committed_schema(name))) for name in ("invoice.posted.json",
                                                                               "payment.received.json")}
    assert len(found["invoice.posted.json"]) == 1 and len(found["payment.received.json"]) == 2  # + applications
    for pattern in [p for patterns in found.values() for p in patterns]:
        assert pattern.startswith("^") and pattern.endswith("$"), pattern
        assert re.search(pattern, "1e2") is None and re.search(pattern, "100") and re.search(pattern, "120.50")


# ---------------------------------------------------------------------------------------------- nesting
def test_nesting_is_measured_without_parsing_and_strings_do_not_count():
    from dunning.models.events import nesting_depth

    assert nesting_depth("[" * 5000 + "]" * 5000) == 17  # stops counting past the limit
    assert nesting_depth('{"a": "' + "[" * 100 + '"}') <= 16
    assert nesting_depth('{"a": "\\"[[[[[[[[[[[[[[[[[[[[", "b": [[1]]}') <= 16
    assert nesting_depth("[" * 16 + "]" * 16 + "[" * 16 + "]" * 16) <= 16


# ---------------------------------------------------------------------------------------------- the event log
@pytest.fixture
def ledger_table(monkeypatch):
    from moto import mock_aws

    from dunning import aws as aws_module

    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    aws_module._client.cache_clear()
    with mock_aws():
        from dunning.aws import client

        client("dynamodb").create_table(
            TableName="ledger", BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk")],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}])
        yield "ledger"
    aws_module._client.cache_clear()


def test_the_event_log_keeps_digests_and_held_events_in_the_ledger_table_and_reads_them_in_one_batch(ledger_table):
    from dunning.models.events import EventRecord, Wait
    from dunning.store import dynamo
    from dunning.store.ledger import DynamoEventLog, DynamoLedgerRepository, facts_for_event

    log = DynamoEventLog(ledger_table)
    waiting = Wait(kind="account", account_id="A-1")
    log.put_records([
        EventRecord(event_id="e-1", digest="d1", event_type="person.upserted", outcome="applied",
                    recorded_at="2026-11-10T10:00:00+00:00"),
        EventRecord(event_id="e-2", digest="d2", event_type="invoice.posted", outcome="held",
                    reason="held: account A-1 is not known yet", waits=[waiting], message_id="m-2",
                    recorded_at="2026-11-10T10:00:01+00:00")])
    found = log.lookup(["e-1", "e-2", "e-3"], [waiting], ["A-1"])
    assert {e: r.digest for e, r in found.records.items()} == {"e-1": "d1", "e-2": "d2"}
    assert found.records["e-2"].waits == [waiting] and found.present == set() and found.accounts == {}
    assert [r.event_id for r in log.held()] == ["e-2"]
    items = list(dynamo.scan(ledger_table))
    assert all(isinstance(i.get("ttl"), int) for i in items) and len(items) == 3  # two records + one held entry
    assert list(DynamoLedgerRepository(ledger_table).scan_accounts()) == []  # the run never sees them

    DynamoLedgerRepository(ledger_table).apply_facts(facts_for_event(parse_event({
        "event_id": "e-4", "event_type": "account.upserted", "occurred_at": "2026-11-10T09:00:00Z", "source": "t",
        "data": {"account_id": "A-1", "currency": "EUR", "main_person_id": "P-1"}})))
    found = log.lookup([], [waiting], ["A-1", "A-2"])
    assert found.present == {waiting} and list(found.accounts) == ["A-1"] and found.accounts["A-1"].currency == "EUR"
