"""Guarantee 4 - concurrency: two runs for the same as-of date started together make exactly one set of
contacts, and a re-delivered contacts-stream record never renders or sends again (``idempotent_function``
keyed on the contact id, and status moves only from ``pending``)."""

from __future__ import annotations

import json

from tests.support.harness import differences


def test_given_two_runs_for_one_date_started_together_then_exactly_one_does_the_work(redelivered_run):
    runs = redelivered_run["runs"]
    assert [r["status"] for r in runs] == ["SUCCEEDED", "SUCCEEDED"], runs
    worked = [r for r in runs if "run_id" in r["output"] and r["output"].get("status") == "SUCCEEDED"]
    assert len(worked) == 1, [json.dumps(r["output"])[:300] for r in runs]  # the other found the run lock


def test_given_two_runs_for_one_date_started_together_then_there_is_one_set_of_contacts(clean_run, redelivered_run):
    contacts = redelivered_run["snapshot"]["contacts"]
    assert len({c["contact_id"] for c in contacts}) == len(contacts)
    assert differences(clean_run["snapshot"], redelivered_run["snapshot"], ["contacts"]) == {}


def test_given_every_stream_record_delivered_again_then_no_letter_or_email_is_produced_again(redelivered_run):
    stream = redelivered_run["stream_redelivery"]
    assert stream["letter_records"] > 0 and stream["email_records"] > 0
    assert stream["emails_sent_by_redelivery"] == 0
    before, after = redelivered_run["snapshot"], redelivered_run["snapshot_after_stream_redelivery"]
    assert after["letter_object_versions"] == before["letter_object_versions"], "a letter was rendered again"
    assert differences(before, after, ["contacts", "letters", "emails"]) == {}
    assert redelivered_run["stream_failures"] == 0

