"""Guarantee 2 - at-least-once delivery: every demo event delivered 2-3 times, shuffled where the contract
allows (facts in any order; contact-creating events after the facts they name; third copies after the run),
gives the same ledger, contacts, letters and emails as one clean delivery."""

from __future__ import annotations

from collections import Counter

from tests.reliability.harness import differences, record_figures


def test_given_every_event_delivered_two_or_three_times_then_the_ledger_is_identical_to_one_delivery(
        clean_run, redelivered_run):
    assert redelivered_run["delivered"] >= 2 * redelivered_run["events"]
    assert differences(clean_run["snapshot"], redelivered_run["snapshot"], ["ledger"]) == {}


def test_given_every_event_delivered_two_or_three_times_then_contacts_letters_and_emails_are_identical(
        clean_run, redelivered_run):
    assert clean_run["run"]["status"] == "SUCCEEDED"
    assert clean_run["snapshot"]["contacts"], "the demo run creates contacts"
    assert differences(clean_run["snapshot"], redelivered_run["snapshot"], ["contacts", "letters", "emails"]) == {}


def test_given_redelivery_then_nothing_is_rejected_retried_or_dead_lettered(redelivered_run):
    assert redelivered_run["snapshot"]["rejected"] == []
    assert redelivered_run["ingest_failures"] == []
    assert redelivered_run["dlq_depth"] == 0
    assert redelivered_run["events_queue_depth"] == 0


def test_report_the_at_least_once_figures(clean_run, redelivered_run):
    clean_emails, emails = clean_run["emails_sent"], redelivered_run["emails_sent"]
    printed = Counter(redelivered_run["printed"])
    figures = {
        "demo_events": redelivered_run["events"], "messages_delivered": redelivered_run["delivered"],
        "duplicates_delivered": redelivered_run["delivered"] - redelivered_run["events"],
        "copies_per_event": redelivered_run["copies"],
        "ledger_items": len(redelivered_run["snapshot"]["ledger"]),
        "contacts": len(redelivered_run["snapshot"]["contacts"]), "contacts_clean_delivery": len(
            clean_run["snapshot"]["contacts"]),
        "emails_sent": emails, "emails_sent_clean_delivery": clean_emails,
        "letters_printed": len(printed), "letters_printed_clean_delivery": len(set(clean_run["printed"])),
        "duplicates_sent": max(0, emails - clean_emails) + sum(n - 1 for n in printed.values()),
        "scenario_seconds": {"clean": clean_run.get("seconds"), "redelivered": redelivered_run.get("seconds")},
    }
    record_figures("2. at-least-once delivery", figures)
    assert figures["duplicates_sent"] == 0
    assert figures["letters_printed"] == figures["letters_printed_clean_delivery"]
