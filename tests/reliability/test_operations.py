"""Guarantees 3 (permanent SES failures) and 5 (redrive): the operator paths on the local stack.

* A broken deploy stops ingest from writing: good events are retried and land in the dead-letter queue,
  bad ones go to the rejected store. After the fix, ``dunning events redrive`` moves them back and they are
  applied; ``dunning events rejected --json`` lists the rejected ones with their reasons.
* SES refusing a recipient for good (``MessageRejected``) marks the email contact failed with the reason,
  and a letter goes instead when the contact type names a fallback letter - only then.
* A short SES outage the client does not retry fails the stream record; the stream retries it and the email
  goes exactly once.
"""

from __future__ import annotations


def contact(run, ref):
    (found,) = [c for c in run["email"]["contacts"] if c["source_ref"] == ref and c["action"] == "email"]
    return found


def emails_to(run, address):
    return sum(1 for to in run["email"]["sent_to"] if any(address in a for a in (to if isinstance(to, list) else [to])))


def test_given_ingest_cannot_write_then_good_events_go_to_the_dead_letter_queue_and_bad_ones_are_rejected(
        operations_run):
    outage = operations_run["outage"]
    assert outage["denied_attempts"] == 5  # one per receive: maxReceiveCount is 5
    assert outage["dlq_depth"] == 6 and outage["queue_depth"] == 0


def test_given_the_fix_when_events_redrive_runs_then_the_dead_lettered_events_are_applied(operations_run):
    redrive = operations_run["redrive"]
    assert redrive["exit_code"] == 0 and redrive["output"] == {"moved": 6}
    assert redrive["dlq_depth"] == 0
    assert redrive["applied"] == [f"ops-inv-{i}" for i in range(6)]


def test_events_rejected_json_lists_the_rejected_events_with_their_reasons(operations_run):
    rejected = operations_run["rejected"]
    assert rejected["exit_code"] == 0
    by_event = {("ops-bad-1" if "ops-bad-1" in r["body"] else "ops-bad-2"): r for r in rejected["rows"]}
    assert set(by_event) == {"ops-bad-1", "ops-bad-2"}
    assert by_event["ops-bad-1"]["reason"].startswith("not valid JSON")
    assert "unknown event_type 'invoice.voided'" in by_event["ops-bad-2"]["reason"]
    assert all(r["message_id"] and r["rejected_at"] for r in rejected["rows"])


def test_given_ses_rejects_an_email_for_good_then_the_contact_fails_with_the_reason_and_a_letter_goes_instead(
        operations_run):
    email = contact(operations_run, "ops-mail-1")
    assert email["status"] == "failed"
    assert email["reason"] == "SES rejected the email (MessageRejected): Email address is not verified: <recipient>"
    fallbacks = [c for c in operations_run["email"]["contacts"] if email["contact_id"] in c.get("reason", "")
                 and c["action"] == "letter"]
    assert len(fallbacks) == 1, fallbacks
    letter = fallbacks[0]
    assert letter["status"] in ("rendered", "printed") and letter["s3_key"] in operations_run["letters"]
    assert letter["person_id"] == email["person_id"] and letter["template_code"] == "autopay_form"


def test_given_ses_rejects_an_email_and_the_type_names_no_fallback_then_no_letter_goes(operations_run):
    email = contact(operations_run, "ops-mail-2")
    assert email["status"] == "failed"
    assert email["reason"] == "SES rejected the email (MessageRejected): Email address is not verified: <recipient>"
    assert not [c for c in operations_run["email"]["contacts"] if email["contact_id"] in c.get("reason", "")
                and c["contact_id"] != email["contact_id"]]


def test_given_a_short_ses_outage_then_the_stream_retries_and_the_email_goes_exactly_once(operations_run):
    run = operations_run
    assert run["email"]["outage_attempts"] == 1
    email = contact(run, "ops-mail-3")
    assert email["status"] == "sent" and email["ses_message_id"]
    assert emails_to(run, run["email"]["addresses"]["outage"]) == 1
    assert emails_to(run, run["email"]["addresses"]["fallback"]) == 0
    assert run["stream_failures"] == 0


def test_given_a_letter_pdf_cannot_be_stored_once_then_the_stream_retries_and_it_is_rendered_once(operations_run):
    run = operations_run
    assert run["letter_store_failures"] == 1
    (letter,) = [c for c in run["email"]["contacts"] if c["source_ref"] == "ops-letter-1"]
    assert letter["status"] == "rendered" and letter["history"][-1]["status"] == "rendered"
    assert [h["status"] for h in letter["history"]] == ["pending", "rendered"]
    assert letter["s3_key"] in run["letters"]


def test_given_ses_accepted_an_email_but_its_status_write_failed_then_the_retry_does_not_send_it_again(
        operations_run):
    run = operations_run
    assert run["email"]["status_write_failures"] == 1
    assert emails_to(run, run["email"]["addresses"]["status_write_fails"]) == 1


def test_given_a_run_step_write_fails_beyond_the_client_retries_then_the_state_machine_retries_it(operations_run):
    step = operations_run["run_step_failure"]
    assert step["failed_writes"] == 1
    assert step["status"] == "SUCCEEDED", step


def test_given_step_functions_retries_assign_after_it_ran_then_the_run_still_does_its_work(operations_run):
    retried = operations_run["assign_retried_after_it_ran"]
    assert retried["applied"] == 1
    assert retried["status"] == "SUCCEEDED"
    assert retried["summary_status"] == "SUCCEEDED", retried["output"]


def test_a_letter_not_rendered_by_the_last_polling_attempt_goes_to_the_print_queue(operations_run):
    late = operations_run["late_letter"]
    assert late["store_failures"] >= 2 and late["stream_failures_added"] == 1  # retried, then given up
    assert late["status"] == "pending" and late["in_print_queue"], late
    assert late["result"].get("ready") is True and late["result"].get("pending_letters") == 1, late["result"]


def test_a_letter_that_is_never_printed_is_kept_with_the_online_letters_and_not_queued_for_print(operations_run):
    (online,) = [c for c in operations_run["email"]["contacts"] if c["source_ref"] == "ops-online-1"]
    assert online["status"] == "rendered" and online["s3_key"].startswith("online-letters/"), online.get("reason")
    assert not online.get("print_queue") and not online.get("print_file")
