"""Guarantee 2 - at-least-once delivery: every demo event delivered 2-3 times, shuffled where the contract
allows (facts in any order; contact-creating events after the facts they name; third copies after the run),
gives the same ledger, contacts, letters and emails as one clean delivery."""

from __future__ import annotations

from collections import Counter

from tests.support.harness import differences


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


def test_given_redelivery_then_no_email_or_letter_goes_twice(clean_run, redelivered_run):
    printed = Counter(redelivered_run["printed"])
    assert redelivered_run["emails_sent"] == clean_run["emails_sent"]
    assert [letter for letter, copies in printed.items() if copies > 1] == []
    assert set(printed) == set(clean_run["printed"])
