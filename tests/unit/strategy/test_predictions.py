"""Payment predictions (S2.6): collector activities from the lead invoice's late / very-late probabilities."""

from __future__ import annotations

from typing import Any

import pytest

from dunning.strategy import PREDICTION_LATE, PREDICTION_VERY_LATE, evaluate_account, next_state

from .factories import after, config, day, hierarchy, invoice, predictions, state, view

# The step is far in the future, so only predictions can act.
CFG = config(hierarchy("h", 1, [after("r1", 90)], predictions=predictions(benchmark="60")))


@pytest.mark.parametrize(
    ("late", "very_late", "expected"),
    [
        pytest.param("0.10", "0.60", PREDICTION_VERY_LATE, id="very-late-at-the-benchmark-acts"),
        pytest.param("0.70", "0.59", PREDICTION_LATE, id="late-above-the-benchmark-acts-when-very-late-does-not"),
        pytest.param("0.90", "0.90", PREDICTION_VERY_LATE, id="very-late-is-evaluated-first-and-only-one-is-created"),
        pytest.param("0.59", "0.10", None, id="below-the-benchmark-nothing"),
    ],
)
def test_prediction_above_the_benchmark_creates_one_activity(late: str, very_late: str, expected: str | None) -> None:
    # Given a lead invoice with these probabilities and a 60 % benchmark
    account = view(invoice("I1", day(-5)), predicted={"I1": (late, very_late)})
    # When evaluated
    decision = evaluate_account(account, CFG, day(0))
    # Then at most one activity, very late first
    assert [a.step_id for a in decision.actions] == ([expected] if expected else [])


def test_prediction_activity_is_a_collector_task_from_the_configured_template() -> None:
    account = view(invoice("I1", day(-5)), predicted={"I1": ("0.1", "0.8")})
    [action] = evaluate_account(account, CFG, day(0)).actions
    assert action.model_dump() == {
        "origin": "prediction",
        "hierarchy_id": "h",
        "step_id": "prediction:very_late",
        "action": "activity",
        "document": "act_very_late",
        "invoice_id": "I1",
        "step_date": None,
        "recipient": "customer",
        "business_purpose": None,
        "automated": False,
        "reason": "very late payment probability 80% reaches the benchmark 60% for invoice I1",
    }


@pytest.mark.parametrize(
    ("probabilities", "st", "expected", "reasons"),
    [
        pytest.param(
            ("0.9", "0.9"),
            state(done={"I1": [PREDICTION_VERY_LATE]}),
            None,
            ["very late prediction activity already created for invoice I1"],
            id="not-repeated-for-the-same-invoice-and-kind-and-no-fall-back-to-late",
        ),
        pytest.param(
            ("0.9", "0.9"),
            state(done={"I1": [PREDICTION_LATE]}),
            PREDICTION_VERY_LATE,
            [],
            id="escalates-from-late-to-very-late",
        ),
        pytest.param(
            ("0.9", "0.1"),
            state(done={"OTHER": [PREDICTION_LATE]}),
            PREDICTION_LATE,
            [],
            id="another-invoice-s-activity-does-not-count",
        ),
        pytest.param(
            ("0.9", "0.9"),
            state(last_prediction=day(0)),
            None,
            [f"no prediction activity: one was already created on {day(0)}"],
            id="at-most-one-prediction-activity-per-account-per-day",
        ),
        pytest.param(
            ("0.9", "0.9"),
            state(last_prediction=day(-1)),
            PREDICTION_VERY_LATE,
            [],
            id="a-prediction-activity-yesterday-does-not-block-today",
        ),
        pytest.param(
            ("0.9", "0.9"),
            state(last_contact=day(0)),
            None,
            [f"no prediction activity: the account already had an automated contact on {day(0)}"],
            id="none-in-a-re-run-of-a-day-the-account-was-already-contacted",
        ),
    ],
)
def test_prediction_activities_are_not_repeated(
    probabilities: tuple[str, str], st: Any, expected: str | None, reasons: list[str]
) -> None:
    # Given a lead invoice with high probabilities and what earlier runs created
    account = view(invoice("I1", day(-5)), predicted={"I1": probabilities}, collection_state=st)
    # When evaluated
    decision = evaluate_account(account, CFG, day(0))
    # Then an activity is created only for a new invoice + kind
    assert [a.step_id for a in decision.actions] == ([expected] if expected else [])
    assert [r for r in decision.reasons if "prediction" in r] == reasons


def test_predictions_are_evaluated_on_the_lead_invoice_only() -> None:
    # Given the lead has no prediction, a newer invoice a very strong one
    account = view(invoice("I1", day(-20)), invoice("I2", day(-5)), predicted={"I2": ("0.99", "0.99")})
    # When evaluated / Then nothing
    assert evaluate_account(account, CFG, day(0)).actions == []


def test_a_kind_without_an_activity_template_is_ignored() -> None:
    # Given only the late activity is configured, and the very-late probability is high
    cfg = config(hierarchy("h", 1, [after("r1", 90)], predictions=predictions(very_late=None)))
    account = view(invoice("I1", day(-5)), predicted={"I1": ("0.7", "0.9")})
    # When evaluated / Then the late activity is created
    assert [a.step_id for a in evaluate_account(account, cfg, day(0)).actions] == [PREDICTION_LATE]


def test_a_hierarchy_without_predictions_ignores_them() -> None:
    cfg = config(hierarchy("h", 1, [after("r1", 90)]))
    account = view(invoice("I1", day(-5)), predicted={"I1": ("0.99", "0.99")})
    assert evaluate_account(account, cfg, day(0)).actions == []


def test_a_re_run_of_the_day_does_not_act_on_the_invoice_that_leads_after_the_first_run() -> None:
    # Given the first run of the day performed the last step of I1, so I2 now leads
    cfg = config(
        hierarchy(
            "h",
            1,
            [after("final", 0)],
            exclude_invoice_after_last_step=True,
            predictions=predictions(benchmark="50"),
        )
    )
    first = view(invoice("I1", day(-9)), invoice("I2", day(-5)), predicted={"I2": ("0.9", "0.9")})
    decision = evaluate_account(first, cfg, day(0))
    assert [a.step_id for a in decision.actions] == ["final"]
    # When the same day is run again after recording it
    rerun = first.model_copy(update={"state": next_state(first.state, decision, day(0))})
    again = evaluate_account(rerun, cfg, day(0))
    # Then the new lead gets nothing today, not even a prediction activity
    assert (again.lead_invoice_id, again.actions) == ("I2", [])
    # And the next day it gets both its step and the prediction activity
    assert [a.origin for a in evaluate_account(rerun, cfg, day(1)).actions] == ["step", "prediction"]


@pytest.mark.parametrize(
    ("predicted", "reason"),
    [
        pytest.param({}, "no prediction activity: no payment prediction for invoice I1", id="no-prediction"),
        pytest.param({"I1": ("0.4", "0.2")},
                     "no prediction activity: very late 20% and late 40% below the benchmark 60% for invoice I1",
                     id="below-the-benchmark"),
    ],
)
def test_a_decision_says_why_no_prediction_activity_was_created(predicted: dict[str, Any], reason: str) -> None:
    # Given a lead invoice without a prediction, or with probabilities below the benchmark
    account = view(invoice("I1", day(-5)), predicted=predicted)
    # When evaluated
    decision = evaluate_account(account, CFG, day(0))
    # Then no activity, and the reason says why (the history row shows it)
    assert [a for a in decision.actions if a.origin == "prediction"] == []
    assert [r for r in decision.reasons if "prediction" in r] == [reason]
