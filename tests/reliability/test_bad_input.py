"""Guarantee 1 - bad input: every event ends applied exactly once, held (stored, waiting for its account or
invoice, and listed) or rejected with a readable reason, and a bad event never holds back a good one. The
committed corpus (tests/support/corpus, made by ``generate.py``) goes through the real events queue mixed with
good demo events."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from typing import Any

from dunning.app.ingest import CONTACT_EVENTS, facts_for_event, waits_of
from dunning.models.events import MAX_EVENT_BYTES, EventValidationError, parse_event

MIN_CASES = 200


def source_ref(event) -> str:
    """What a contact created from ``event`` refers back to (a user request's id, otherwise the event's)."""
    return str(getattr(event.payload, "request_id", None) or event.event_id)


def _parse(body: str):
    try:
        return parse_event(body)
    except EventValidationError:
        return None


def outcomes(run: dict[str, Any]) -> dict[str, Any]:
    """Where each message ended: matched against the rejected store, the ledger and the contacts."""
    rejected_by_body: dict[str, list[str]] = defaultdict(list)
    for r in run["rejected"]:
        rejected_by_body[r["body"]].append(r["reason"])

    def rejections(body: str) -> list[str]:
        if body in rejected_by_body:
            return rejected_by_body[body]
        if len(body.encode("utf-8", "surrogatepass")) > MAX_EVENT_BYTES:  # the store keeps the first 2 KiB
            return [reason for stored, reasons in rejected_by_body.items() if body.startswith(stored)
                    for reason in reasons]
        return []

    # the newest version of every ledger key among the events that are valid (the corpus' and the good ones)
    messages = [(c["body"], c["expect"]) for c in run["cases"]] + [(b, "apply") for b in run["good"]]
    newest: dict[tuple[str, str], str] = {}
    for body, expect in messages:
        if expect in ("apply", "hold") and (event := _parse(body)) is not None:
            for f in facts_for_event(event):
                newest[f.key] = max(newest.get(f.key, ""), f.version)
    ledger = {(i["pk"], i["sk"]): i["v"] for i in run["ledger"]}
    contacts_by_ref = Counter(c["source_ref"] for c in run["contacts"])
    return {"rejections": rejections, "newest": newest, "ledger": ledger, "contacts_by_ref": contacts_by_ref,
            "held": still_held(run)}


def still_held(run: dict[str, Any]) -> set[str]:
    """The bodies ingest recorded as held (the ``HELD`` items of the ledger table) that still wait for something
    in the final ledger: what ``dunning events held`` lists."""
    keys = {(i["pk"], i["sk"]) for i in run["ledger"]}
    accounts = {pk[5:] for pk, sk in keys if pk.startswith("ACCT#") and sk == "PROFILE"}
    invoices = {(pk[5:], sk[4:]) for pk, sk in keys if pk.startswith("ACCT#") and sk.startswith("INV#")}
    held_ids = {sk for pk, sk in keys if pk == "HELD"}
    out = set()
    for body in [c["body"] for c in run["cases"]] + list(run["good"]):
        event = _parse(body)
        if event is not None and event.event_id in held_ids and waits_of(event, accounts, invoices):
            out.add(body)
    return out


def test_given_the_corpus_then_it_holds_at_least_200_generated_bad_or_unusual_events(corpus_run):
    cases = corpus_run["cases"]
    categories = Counter(c["category"] for c in cases)
    assert len(cases) >= MIN_CASES
    for needed in ("invalid_json", "envelope", "payload", "unknown_type", "huge", "i18n", "money", "dates",
                   "references", "duplicates", "out_of_order", "conflicts"):
        assert categories[needed] >= 5, needed
    names = {c["case"] for c in cases}
    for needed in ("i18n/arabic-name", "i18n/russian-name", "i18n/portuguese-name", "i18n/emoji-name",
                   "i18n/control-nul", "money/negative-invoice", "money/zero-invoice",
                   "money/currency-mismatch-invoice", "dates/occurred-1900", "dates/occurred-2999",
                   "references/payment-for-unknown-invoice", "references/invoice-for-unknown-account", "huge/250kb",
                   "huge/nested-5000-arrays-10kb", "references/process-event-without-matching-rule",
                   "money/amount-exponent-lower-case", "conflicts/same-id-other-entity",
                   "conflicts/same-id-same-entity-other-body"):
        assert needed in names, needed


def test_the_committed_corpus_is_what_the_generator_writes():
    from tests.support.corpus.generate import OUT, build

    committed = [json.loads(line) for line in OUT.read_text(encoding="utf-8").split("\n") if line]
    assert committed == build(), "run: python -m tests.support.corpus.generate"


def test_given_bad_events_among_good_ones_when_they_go_through_the_queue_then_each_is_applied_once_or_rejected(
        corpus_run):
    o = outcomes(corpus_run)
    wrong: list[str] = []
    for case in corpus_run["cases"]:
        body, name = case["body"], case["case"]
        reasons = o["rejections"](body)
        if case["expect"] == "reject":
            if not reasons:
                wrong.append(f"{name}: expected a rejection, none stored")
            elif not any(re.search(case["reason"], r) for r in reasons):
                wrong.append(f"{name}: reason {reasons[0]!r} does not match {case['reason']!r}")
            continue
        if reasons:
            wrong.append(f"{name}: expected to be {case['expect']}ed, rejected: {reasons[0]!r}")
            continue
        if (body in o["held"]) != (case["expect"] == "hold"):
            wrong.append(f"{name}: expected {case['expect']}, {'held' if body in o['held'] else 'not held'}")
        event = parse_event(body)
        for f in facts_for_event(event):
            if o["ledger"].get(f.key) != o["newest"][f.key]:
                wrong.append(f"{name}: ledger {f.key} at {o['ledger'].get(f.key)!r}, newest is {o['newest'][f.key]!r}")
    assert not wrong, "\n".join(wrong)


def test_given_a_rejected_event_then_its_reason_is_readable_and_never_echoes_the_payload(corpus_run):
    for r in corpus_run["rejected"]:
        reason = r["reason"]
        assert 10 <= len(reason) <= 1000, reason
        assert reason.isprintable(), repr(reason)
        if len(r["body"]) > 200:
            assert r["body"][:200] not in reason


def test_given_bad_events_in_a_batch_then_no_good_event_is_held_back(corpus_run):
    o = outcomes(corpus_run)
    held_back = []
    for body in corpus_run["good"]:
        event = parse_event(body)
        if o["rejections"](body):
            held_back.append(f"{event.event_id}: rejected")
        if body in o["held"]:
            held_back.append(f"{event.event_id}: still held")
        for f in facts_for_event(event):
            if o["ledger"].get(f.key) != o["newest"][f.key]:
                held_back.append(f"{event.event_id}: {f.key} not applied")
        if event.event_type in CONTACT_EVENTS and source_ref(event) not in o["contacts_by_ref"]:
            held_back.append(f"{event.event_id}: no contact")
    assert not held_back, held_back
    # nothing was retried, nothing is left over, nothing went to the dead-letter queue
    assert corpus_run["ingest_failures"] == []
    assert corpus_run["events_queue_depth"] == 0
    assert corpus_run["dlq_depth"] == 0


def test_given_duplicates_and_out_of_order_versions_then_each_is_applied_once_and_the_newest_wins(corpus_run):
    o = outcomes(corpus_run)
    dup = [c for c in corpus_run["cases"] if c["category"] == "duplicates"]
    by_body = Counter(c["body"] for c in dup)
    assert max(by_body.values()) >= 3
    for body in by_body:
        event = parse_event(body)
        if event.event_type in CONTACT_EVENTS:
            assert o["contacts_by_ref"][source_ref(event)] == 1, f"{event.event_id}: one contact, whatever the copies"
        for f in facts_for_event(event):
            assert o["ledger"][f.key] == f.version
    chains = [c for c in corpus_run["cases"] if c["category"] == "out_of_order"]
    for case in chains:
        for f in facts_for_event(parse_event(case["body"])):
            assert o["ledger"][f.key] == o["newest"][f.key]  # the newest version, whatever the arrival order


def test_ingest_reads_and_writes_the_ledger_in_batches(corpus_run, clean_run):
    figures = {}
    for name, run, events in (("corpus_mix", corpus_run, corpus_run["sent"]), ("demo", clean_run, clean_run["events"])):
        calls = [c for c in run["calls"] if c["function"] == "IngestFunction" and c["service"] == "dynamodb"]
        figures[name] = {"events": events, "dynamodb_calls": len(calls),
                         "per_1000_events": round(1000 * len(calls) / events, 1),
                         "by_operation": dict(Counter(c["operation"] for c in calls))}
    for name, f in figures.items():
        assert f["per_1000_events"] <= 200, (name, f)


# Valid events that leave nothing in the tables by design: accepted (not rejected), with nothing to apply. None
# any more: a process event or remark no rule acts on is rejected ("no rule matched"), so it leaves a trace.
NO_EFFECT: dict[str, str] = {}


def applied_in_tables(body: str, o: dict[str, Any]) -> bool:
    """What the tables show of a message: a contact-creating event has a contact that refers to it; any other
    event has every one of its facts in the ledger, at its version or a newer one (the newest wins)."""
    event = _parse(body)
    if event is None:
        return False
    if event.event_type in CONTACT_EVENTS:
        return source_ref(event) in o["contacts_by_ref"]
    facts = facts_for_event(event)
    return bool(facts) and all(o["ledger"].get(f.key, "") >= f.version for f in facts)


def test_given_the_corpus_then_the_applied_and_the_rejected_counted_apart_are_each_what_the_cases_expect(
        corpus_run):
    o = outcomes(corpus_run)
    cases = corpus_run["cases"]
    held = [c["case"] for c in cases if c["body"] in o["held"]]  # from the held list
    rejected = [c["case"] for c in cases if o["rejections"](c["body"])]  # from the rejected/ objects
    # from the tables; a body rejected as a conflict names facts its event_id's first body wrote (same version)
    applied = [c["case"] for c in cases if applied_in_tables(c["body"], o) and c["case"] not in held + rejected]
    neither = [c["case"] for c in cases if c["case"] not in applied + held + rejected]
    assert applied == [c["case"] for c in cases if c["expect"] == "apply" and c["case"] not in NO_EFFECT]
    assert held == [c["case"] for c in cases if c["expect"] == "hold"]
    assert rejected == [c["case"] for c in cases if c["expect"] == "reject"]
    assert sorted(neither) == sorted(NO_EFFECT)
    assert all(c["expect"] == "apply" for c in cases if c["case"] in NO_EFFECT)
    assert not set(held) & set(rejected)
    assert len(corpus_run["rejected"]) == len(rejected)  # one rejected/ object per rejected message, none for good ones
