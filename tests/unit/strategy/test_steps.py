"""Step timing and selection (S2.2, S2.7): which regular step a run performs for the lead invoice."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from dunning.strategy import evaluate_account, next_state

from .factories import after, before, config, day, hierarchy, invoice, planned, state, view, with_state

DUE = day(0)
STEPS = [after("r1", 7, "email"), after("r2", 21), after("final", 45, "activity")]
LATEST = config(hierarchy("h", 1, STEPS))
TRACKED = config(hierarchy("h", 1, STEPS, track_step=True))


@pytest.mark.parametrize(
    ("when", "days", "as_of", "runs"),
    [
        pytest.param("before", 3, day(-3), True, id="3-days-before-runs-3-days-before-due"),
        pytest.param("before", 3, day(-4), False, id="3-days-before-does-not-run-4-days-before-due"),
        pytest.param("after", 0, day(0), True, id="0-days-after-runs-on-the-due-date"),
        pytest.param("after", 7, day(7), True, id="7-days-after-runs-7-days-after-due"),
        pytest.param("after", 7, day(6), False, id="7-days-after-does-not-run-6-days-after-due"),
    ],
)
def test_a_step_date_is_the_lead_due_date_plus_its_offset(when: str, days: int, as_of: date, runs: bool) -> None:
    # Given a hierarchy with one step N days before/after the due date
    step = before("s", days) if when == "before" else after("s", days)
    cfg = config(hierarchy("h", 1, [step]))
    # When the lead invoice is evaluated on as_of
    decision = evaluate_account(view(invoice("I1", DUE)), cfg, as_of)
    # Then the step runs exactly from its date, and the action carries that date
    assert (decision.outcome == "act") is runs
    if runs:
        assert decision.actions[0].step_date == DUE + timedelta(days=step.offset_days) == as_of
    assert decision.days_from_due == (as_of - DUE).days


@pytest.mark.parametrize(
    ("as_of", "done", "step", "reason", "next_on"),
    [
        pytest.param(
            day(6),
            [],
            None,
            f"no step due before {day(7)} (next: step 'r1' for invoice I1)",
            day(7),
            id="nothing-due-yet-says-when-the-first-step-is-due",
        ),
        pytest.param(day(7), [], "r1", None, None, id="the-step-due-today-runs"),
        pytest.param(day(30), [], "r2", None, None, id="the-latest-due-step-runs-and-earlier-ones-are-not-run-late"),
        pytest.param(day(30), ["r1"], "r2", None, None, id="the-latest-due-step-runs-after-an-earlier-one"),
        pytest.param(
            day(30),
            ["r2"],
            None,
            f"step 'r2' already done for invoice I1 (next: step 'final' on {day(45)})",
            day(45),
            id="the-latest-due-step-already-done-does-nothing",
        ),
        pytest.param(
            day(100),
            ["final"],
            None,
            "step 'final' already done for invoice I1",
            None,
            id="the-last-step-already-done-does-nothing",
        ),
    ],
)
def test_without_track_step_the_latest_due_step_runs_once(
    as_of: date, done: list[str], step: str | None, reason: str | None, next_on: date | None
) -> None:
    # Given an overdue lead invoice with some steps done
    account = view(invoice("I1", DUE), collection_state=state(done={"I1": done}))
    # When a run evaluates it
    decision = evaluate_account(account, LATEST, as_of)
    # Then the latest step due runs, or the reason says why not
    assert [a.step_id for a in decision.actions] == ([step] if step else [])
    assert decision.reasons == ([reason] if reason else [])
    assert decision.next_step_on == next_on


@pytest.mark.parametrize(
    ("as_of", "done", "step", "reason", "next_on"),
    [
        pytest.param(day(30), [], "r1", None, None, id="the-first-step-runs-first-even-when-later-ones-are-due"),
        pytest.param(day(30), ["r1"], "r2", None, None, id="then-the-next-step-in-order"),
        pytest.param(
            day(10),
            ["r1"],
            None,
            f"no step due before {day(21)} (next: step 'r2' for invoice I1)",
            day(21),
            id="the-next-step-waits-for-its-date",
        ),
        pytest.param(
            day(200),
            ["r1", "r2", "final"],
            None,
            "all steps done for invoice I1",
            None,
            id="nothing-after-the-last-step",
        ),
        pytest.param(
            day(3),
            [],
            None,
            f"no step due before {day(7)} (next: step 'r1' for invoice I1)",
            day(7),
            id="nothing-before-the-first-step-date",
        ),
    ],
)
def test_with_track_step_steps_run_in_order_one_per_run(
    as_of: date, done: list[str], step: str | None, reason: str | None, next_on: date | None
) -> None:
    # Given a tracked hierarchy and an overdue lead invoice with some steps done
    account = view(invoice("I1", DUE), collection_state=state(done={"I1": done}))
    # When a run evaluates it
    decision = evaluate_account(account, TRACKED, as_of)
    # Then the first step not yet done runs if its date is reached, else the reason says when
    assert [a.step_id for a in decision.actions] == ([step] if step else [])
    assert decision.reasons == ([reason] if reason else [])
    assert decision.next_step_on == next_on


@pytest.mark.parametrize(
    ("done", "step"),
    [
        pytest.param([], "call", id="tied-steps-first-declared-runs-first"),
        pytest.param(["call"], "letter", id="tied-steps-the-other-runs-on-a-later-run"),
        pytest.param(["call", "letter"], None, id="tied-steps-both-done-does-nothing"),
    ],
)
def test_steps_sharing_the_latest_date_all_run_on_successive_runs(done: list[str], step: str | None) -> None:
    # Given two steps on the same date (declared: call, then letter)
    cfg = config(hierarchy("h", 1, [after("call", 10, "activity"), after("letter", 10)]))
    account = view(invoice("I1", DUE), collection_state=state(done={"I1": done}))
    # When evaluated after that date
    decision = evaluate_account(account, cfg, day(12))
    # Then one of them runs per run, in declared order, none is dropped
    assert [a.step_id for a in decision.actions] == ([step] if step else [])


def test_track_step_resumes_where_it_stopped_after_a_dispute_is_resolved() -> None:
    # Given a tracked strategy; I1 got r1 and was then disputed, I2 is also overdue
    invoices = (invoice("I1", day(0)), invoice("I2", day(5)))
    st = state(done={"I1": ["r1"]})
    # When it runs while I1 is disputed
    disputed = evaluate_account(view(*invoices, statuses={"I1": "disputed"}, collection_state=st), TRACKED, day(30))
    # Then I2 leads and gets its own first step
    assert disputed.lead_invoice_id == "I2"
    assert planned(disputed) == [("step", "r1", "email", "I2")]
    assert disputed.reasons == ["invoice I1 skipped: disputed"]
    # When the dispute is resolved and the next run (past the quiet days) evaluates it
    st = next_state(st, disputed, day(30))
    resolved = evaluate_account(view(*invoices, statuses={"I1": "resolved"}, collection_state=st), TRACKED, day(40))
    # Then I1 leads again and continues with r2, not r1 again
    assert resolved.lead_invoice_id == "I1"
    assert planned(resolved) == [("step", "r2", "letter", "I1")]


def test_without_track_step_a_resolved_dispute_gets_the_latest_due_step() -> None:
    # Given I1 got r1, then was disputed for a long time, then resolved
    account = view(invoice("I1", day(0)), statuses={"I1": "resolved"}, collection_state=state(done={"I1": ["r1"]}))
    # When a run evaluates it 50 days after due
    decision = evaluate_account(account, LATEST, day(50))
    # Then the latest due step runs (r2 is not run late)
    assert planned(decision) == [("step", "final", "activity", "I1")]


def test_step_action_carries_document_recipient_and_business_purpose() -> None:
    # Given an email step to the collections agent, for the billing contact
    email = after(
        "mail", 1, "email", document="dunning_mail", recipient="collections_agent", business_purpose="billing"
    )
    cfg = config(hierarchy("h", 1, [email]))
    # When it runs
    [action] = evaluate_account(view(invoice("I1", DUE)), cfg, day(1)).actions
    # Then the action tells contact creation everything it needs
    assert action.model_dump() == {
        "origin": "step",
        "hierarchy_id": "h",
        "step_id": "mail",
        "action": "email",
        "document": "dunning_mail",
        "invoice_id": "I1",
        "step_date": day(1),
        "recipient": "collections_agent",
        "business_purpose": "billing",
        "automated": True,
        "reason": f"step 'mail' (1 day after due: {day(1)}) for lead invoice I1",
    }


def test_a_letter_step_has_no_document_of_its_own() -> None:
    # Given a letter step without a template (S2.12: the letter is produced per customer)
    [action] = evaluate_account(view(invoice("I1", DUE)), LATEST, day(21)).actions
    # Then the action has no document and is an automated contact
    assert (action.action, action.document, action.automated) == ("letter", None, True)


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        pytest.param(
            day(7),
            [("step", "r1", "email", "I1"), ("automation_log", "r1", "activity", "I1")],
            id="an-email-step-gets-a-log-activity",
        ),
        pytest.param(
            day(21),
            [("step", "r2", "letter", "I1"), ("automation_log", "r2", "activity", "I1")],
            id="a-letter-step-gets-a-log-activity",
        ),
        pytest.param(day(45), [("step", "final", "activity", "I1")], id="an-activity-step-gets-no-extra-log"),
    ],
)
def test_create_activities_for_automations_logs_every_automated_step(
    as_of: date, expected: list[tuple[str, str, str, str]]
) -> None:
    # Given the hierarchy asks for an activity for every automated step
    cfg = config(hierarchy("h", 1, STEPS, create_activities_for_automations=True))
    # When a step runs
    decision = evaluate_account(view(invoice("I1", DUE)), cfg, as_of)
    # Then the log activity follows it, with no document and not counting as a contact
    assert planned(decision) == expected
    for log in decision.actions[1:]:
        assert (log.document, log.automated, log.step_date) == (None, False, decision.actions[0].step_date)


def test_one_step_per_day_even_when_track_step_has_more_due() -> None:
    # Given a tracked strategy with r1 and r2 both overdue
    account = view(invoice("I1", DUE))
    first = evaluate_account(account, TRACKED, day(30))
    # When the same day is run again after recording the first run
    again = evaluate_account(with_state(account, next_state(account.state, first, day(30))), TRACKED, day(30))
    # Then the second run does not perform r2 on the same day
    assert [a.step_id for a in first.actions] == ["r1"]
    assert again.actions == []
    assert again.reasons == [f"in quiet days until {day(30)}; held back: step 'r2' for invoice I1"]
