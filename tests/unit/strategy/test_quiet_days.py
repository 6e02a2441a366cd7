"""Quiet days (S2.4): no automated contact within N days of the last one, whatever the lead invoice."""

from __future__ import annotations

from datetime import date

import pytest

from dunning.strategy import evaluate_account, next_state

from .factories import (
    after,
    config,
    day,
    hierarchy,
    invoice,
    payment,
    planned,
    predictions,
    state,
    view,
    with_state,
)

DAILY = [after(f"d{n}", n) for n in range(0, 40)]  # a step every day, so only quiet days can stop a contact


@pytest.mark.parametrize(
    ("quiet_days", "as_of", "blocked", "until"),
    [
        pytest.param(2, day(10), True, day(12), id="2-quiet-days-block-the-contact-day-itself"),
        pytest.param(2, day(11), True, day(12), id="2-quiet-days-block-the-next-day"),
        pytest.param(2, day(12), True, day(12), id="2-quiet-days-block-the-second-day"),
        pytest.param(2, day(13), False, None, id="2-quiet-days-allow-the-third-day"),
        pytest.param(0, day(10), True, day(10), id="0-quiet-days-still-block-a-second-contact-the-same-day"),
        pytest.param(0, day(11), False, None, id="0-quiet-days-allow-the-next-day"),
    ],
)
def test_no_automated_contact_while_inside_the_quiet_days(
    quiet_days: int, as_of: date, blocked: bool, until: date | None
) -> None:
    # Given the last automated contact on day 10 and a step due every day
    cfg = config(hierarchy("h", 1, DAILY, quiet_days=quiet_days))
    account = view(invoice("I1", day(0)), collection_state=state(last_contact=day(10)))
    # When a run evaluates it on as_of
    decision = evaluate_account(account, cfg, as_of)
    # Then it is contacted only once the quiet days are over, and quiet_until says until when
    assert (decision.outcome == "none") is blocked
    assert decision.quiet_until == until
    if blocked:
        step = f"d{(as_of - day(0)).days}"
        assert decision.reasons == [f"in quiet days until {until}; held back: step '{step}' for invoice I1"]


def test_quiet_days_hold_when_the_lead_invoice_was_paid_and_another_one_leads() -> None:
    # Given I1 got a reminder yesterday (3 quiet days), then was paid in full; I2 is overdue too
    cfg = config(hierarchy("h", 1, [after("r1", 7)], quiet_days=3))
    invoices = (invoice("I1", day(-10)), invoice("I2", day(-8)))
    st = state(last_contact=day(-1), done={"I1": ["r1"]})
    account = view(*invoices, payments=[payment("P1", "100.00", day(0), invoice_id="I1")], collection_state=st)
    # When the next run evaluates it
    decision = evaluate_account(account, cfg, day(0))
    # Then I2 leads but is not contacted: the account is still in its quiet days
    assert (decision.lead_invoice_id, decision.outcome, decision.quiet_until) == ("I2", "none", day(2))
    assert decision.reasons == [f"in quiet days until {day(2)}; held back: step 'r1' for invoice I2"]


def test_a_step_blocked_by_quiet_days_is_not_done_and_the_latest_due_step_runs_later() -> None:
    # Given r1 due on day 7 and r2 on day 9, 5 quiet days, last contact on day 5 (for something else)
    cfg = config(hierarchy("h", 1, [after("r1", 7), after("r2", 9)], quiet_days=5))
    account = view(invoice("I1", day(0)), collection_state=state(last_contact=day(5)))
    # When the runs of days 7..11 evaluate it, recording each decision
    outcomes = {}
    for n in range(7, 12):
        decision = evaluate_account(account, cfg, day(n))
        outcomes[n] = [a.step_id for a in decision.actions]
        account = with_state(account, next_state(account.state, decision, day(n)))
    # Then nothing runs until day 11, and r1 (missed) is not run late: r2, the latest due, runs
    assert outcomes == {7: [], 8: [], 9: [], 10: [], 11: ["r2"]}
    assert account.state.steps_done == {"I1": ["r2"]}


def test_a_blocked_tracked_step_runs_once_the_quiet_days_are_over() -> None:
    # Given a tracked strategy with 2 quiet days, last contact on day 6
    cfg = config(hierarchy("h", 1, [after("r1", 7), after("r2", 9)], quiet_days=2, track_step=True))
    account = view(invoice("I1", day(0)), collection_state=state(last_contact=day(6)))
    # When daily runs evaluate it
    performed = []
    for n in range(7, 14):
        decision = evaluate_account(account, cfg, day(n))
        performed += [(n, a.step_id) for a in decision.actions]
        account = with_state(account, next_state(account.state, decision, day(n)))
    # Then r1 runs on day 9 (first day after the quiet days), r2 three days later
    assert performed == [(9, "r1"), (12, "r2")]


def test_prediction_activities_are_not_blocked_by_quiet_days() -> None:
    # Given an account inside its quiet days with a very-late prediction on its lead invoice
    cfg = config(hierarchy("h", 1, [after("r1", 7)], quiet_days=5, predictions=predictions()))
    account = view(
        invoice("I1", day(-10)),
        predicted={"I1": ("0.2", "0.9")},
        collection_state=state(last_contact=day(-1)),
    )
    # When evaluated
    decision = evaluate_account(account, cfg, day(0))
    # Then the collector task is created, the customer contact is held back
    assert planned(decision) == [("prediction", "prediction:very_late", "activity", "I1")]
    assert decision.quiet_until == day(4)
    assert decision.reasons == [f"in quiet days until {day(4)}; held back: step 'r1' for invoice I1"]
    # And recording it does not extend the quiet days
    assert next_state(account.state, decision, day(0)).last_automated_contact_on == day(-1)



def test_the_documented_example_holds_n2_makes_d1_and_d2_quiet_and_the_next_contact_d3() -> None:
    # Given quiet_days 2, a step due every day, and the last automated contact on day D = 10
    from dunning.models.config import Hierarchy

    cfg = config(hierarchy("h", 1, DAILY, quiet_days=2))
    account = view(invoice("I1", day(0)), collection_state=state(last_contact=day(10)))
    contacted = []
    # When the runs of D+1 .. D+6 evaluate it, each decision recorded
    for n in range(1, 7):
        decision = evaluate_account(account, cfg, day(10 + n))
        if decision.actions:
            contacted.append(n)
        account = with_state(account, next_state(account.state, decision, day(10 + n)))
    # Then D+1 and D+2 are quiet, the next contact is on D+3, and the same again from there (D+6)
    assert contacted == [3, 6]
    # And the field description (and so the JSON Schema) states exactly this rule
    description = Hierarchy.model_json_schema()["properties"]["quiet_days"]["description"]
    assert "N=2: D+1 and D+2 are quiet, the next contact is on D+3" in description
