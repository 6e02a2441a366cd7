"""Guarantee 1 - bad input: every event ends applied exactly once or rejected with a readable reason, and a
bad event never holds back a good one. The committed corpus (tests/reliability/corpus, made by
``generate.py``) goes through the real events queue mixed with good demo events."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from typing import Any

from dunning.app.ingest import CONTACT_EVENTS, facts_for_event
from dunning.models.events import MAX_EVENT_BYTES, EventValidationError, parse_event
from tests.reliability.harness import record_figures

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
        if expect == "apply" and (event := _parse(body)) is not None:
            for f in facts_for_event(event):
                newest[f.key] = max(newest.get(f.key, ""), f.version)
    ledger = {(i["pk"], i["sk"]): i["v"] for i in run["ledger"]}
    contacts_by_ref = Counter(c["source_ref"] for c in run["contacts"])
    return {"rejections": rejections, "newest": newest, "ledger": ledger, "contacts_by_ref": contacts_by_ref}


def test_given_the_corpus_then_it_holds_at_least_200_generated_bad_or_unusual_events(corpus_run):
    cases = corpus_run["cases"]
    categories = Counter(c["category"] for c in cases)
    assert len(cases) >= MIN_CASES
    for needed in ("invalid_json", "envelope", "payload", "unknown_type", "huge", "i18n", "money", "dates",
                   "references", "duplicates", "out_of_order"):
        assert categories[needed] >= 5, needed
    names = {c["case"] for c in cases}
    for needed in ("i18n/arabic-name", "i18n/russian-name", "i18n/portuguese-name", "i18n/emoji-name",
                   "i18n/control-nul", "money/negative-invoice", "money/zero-invoice",
                   "money/currency-mismatch-invoice", "dates/occurred-1900", "dates/occurred-2999",
                   "references/payment-for-unknown-invoice", "references/invoice-for-unknown-account", "huge/250kb"):
        assert needed in names, needed


def test_the_committed_corpus_is_what_the_generator_writes():
    from tests.reliability.corpus.generate import OUT, build

    committed = [json.loads(line) for line in OUT.read_text(encoding="utf-8").split("\n") if line]
    assert committed == build(), "run: python -m tests.reliability.corpus.generate"


def test_given_bad_events_among_good_ones_when_they_go_through_the_queue_then_each_is_applied_once_or_rejected(
        corpus_run):
    o = outcomes(corpus_run)
    wrong: list[str] = []
    tally: Counter[str] = Counter()
    for case in corpus_run["cases"]:
        body, name = case["body"], case["case"]
        reasons = o["rejections"](body)
        if case["expect"] == "reject":
            if not reasons:
                wrong.append(f"{name}: expected a rejection, none stored")
            elif not any(re.search(case["reason"], r) for r in reasons):
                wrong.append(f"{name}: reason {reasons[0]!r} does not match {case['reason']!r}")
            tally["rejected"] += 1
            continue
        if reasons:
            wrong.append(f"{name}: expected to be applied, rejected: {reasons[0]!r}")
            continue
        event = parse_event(body)
        for f in facts_for_event(event):
            if o["ledger"].get(f.key) != o["newest"][f.key]:
                wrong.append(f"{name}: ledger {f.key} at {o['ledger'].get(f.key)!r}, newest is {o['newest'][f.key]!r}")
        tally["applied"] += 1
    assert not wrong, "\n".join(wrong)
    assert tally["rejected"] + tally["applied"] == len(corpus_run["cases"])


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
    record_figures("1. ingest DynamoDB calls (target <= 200 per 1000 events)", figures)
    for name, f in figures.items():
        assert f["per_1000_events"] <= 200, (name, f)


def test_report_the_bad_input_figures(corpus_run):
    o = outcomes(corpus_run)
    cases = corpus_run["cases"]
    rejected = sum(len(o["rejections"](c["body"])) > 0 for c in cases)
    duplicates = sum(n - 1 for n in Counter(c["body"] for c in cases if c["expect"] == "apply").values())
    figures = {
        "events_in": corpus_run["sent"], "corpus_events": len(cases), "good_events": len(corpus_run["good"]),
        "corpus_applied": len(cases) - rejected, "corpus_rejected": rejected,
        "good_applied": len(corpus_run["good"]), "rejected_store_entries": len(corpus_run["rejected"]),
        "duplicates_delivered": duplicates,
        "by_category": {k: dict(v) for k, v in sorted(_by_category(cases, o).items())},
        "good_events_held_back": 0 if not corpus_run["ingest_failures"] else len(corpus_run["ingest_failures"]),
        "dlq_depth": corpus_run["dlq_depth"], "ingest_invocations": corpus_run["ingest_invocations"],
        "scenario_seconds": corpus_run.get("seconds"),
    }
    record_figures("1. bad input", figures)
    assert figures["corpus_applied"] + figures["corpus_rejected"] == len(cases)
    assert figures["rejected_store_entries"] == rejected
    json.dumps(figures)


def _by_category(cases: list[dict[str, Any]], o: dict[str, Any]) -> dict[str, Counter[str]]:
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for c in cases:
        out[c["category"]]["rejected" if o["rejections"](c["body"]) else "applied"] += 1
    return out
