"""Decision outcomes and the collection state a run leaves behind."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from dunning.models.decisions import AccountDecision, Assignment, PlannedAction
from dunning.strategy import evaluate_account, next_state

from .factories import after, before, config, day, hierarchy, invoice, payment, state, view

CFG = config(hierarchy("h", 1, [after("r1", 7)]))  # its pool matches every account


@pytest.mark.parametrize(
    ("account", "outcome", "reasons"),
    [
        pytest.param(view(), "no_balance", ["no open balance"], id="no-invoices-no-balance"),
        pytest.param(
            view(invoice("I1", day(-30)), payments=[payment("P1", "100.00", day(-1))]),
            "no_balance",
            ["no open balance"],
            id="everything-paid-no-balance",
        ),
        pytest.param(
            view(invoice("I1", day(-30)), manual="gone"),
            "unassigned",
            ["manual assignment to unknown hierarchy 'gone'"],
            id="unknown-manual-hierarchy-unassigned",
        ),
        pytest.param(
            view(manual="gone"),
            "no_balance",
            ["no open balance"],
            id="no-balance-is-reported-before-unassigned",
        ),
        pytest.param(view(invoice("I1", day(-30))), "act", [], id="an-overdue-account-is-acted-on"),
        pytest.param(
            view(invoice("I1", day(-3))),
            "none",
            [f"no step due before {day(4)} (next: step 'r1' for invoice I1)"],
            id="nothing-due-is-none",
        ),
    ],
)
def test_every_decision_has_an_outcome_and_says_why(account: Any, outcome: str, reasons: list[str]) -> None:
    # Given an account / When evaluated
    decision = evaluate_account(account, CFG, day(0))
    # Then the outcome and reasons explain it
    assert (decision.outcome, decision.reasons) == (outcome, reasons)
    assert decision.assignment_reason


def test_a_given_assignment_is_used_instead_of_the_pools() -> None:
    # Given an assignment computed earlier (e.g. stored by the assign step)
    given = Assignment(account_id="A1", hierarchy_id="h", reason="stored earlier")
    # When evaluated with it / Then it is used as is
    decision = evaluate_account(view(invoice("I1", day(-30))), CFG, day(0), given)
    assert (decision.hierarchy_id, decision.assignment_reason) == ("h", "stored earlier")


def test_an_assignment_to_a_hierarchy_no_longer_configured_is_unassigned() -> None:
    stale = Assignment(account_id="A1", hierarchy_id="retired", reason="pool 'old' matched")
    decision = evaluate_account(view(invoice("I1", day(-30))), CFG, day(0), stale)
    assert (decision.outcome, decision.hierarchy_id) == ("unassigned", None)
    assert decision.reasons == ["pool 'old' matched; hierarchy 'retired' is not in the configuration"]


# --------------------------------------------------------------------------- next_state
def _action(origin: str, step_id: str, invoice_id: str, automated: bool = True) -> PlannedAction:
    return PlannedAction(
        origin=origin,
        hierarchy_id="h",
        step_id=step_id,
        action="letter" if automated else "activity",
        invoice_id=invoice_id,
        automated=automated,
    )


def _decision(*actions: PlannedAction) -> AccountDecision:
    return AccountDecision(account_id="A1", as_of=day(0), outcome="act" if actions else "none", actions=list(actions))


@pytest.mark.parametrize(
    ("actions", "expected"),
    [
        pytest.param([], state(day(-9), {"I0": ["r0"]}), id="no-action-changes-nothing"),
        pytest.param(
            [_action("step", "r1", "I1")],
            state(day(0), {"I0": ["r0"], "I1": ["r1"]}),
            id="a-step-is-done-for-its-invoice-and-is-a-contact",
        ),
        pytest.param(
            [_action("pre_dunning", "pre", "I2")],
            state(day(0), {"I0": ["r0"]}, ["I2"]),
            id="pre-dunning-is-done-for-its-invoice-and-is-a-contact",
        ),
        pytest.param(
            [_action("prediction", "prediction:late", "I1", automated=False)],
            state(day(-9), {"I0": ["r0"], "I1": ["prediction:late"]}, last_prediction=day(0)),
            id="a-prediction-is-recorded-but-is-not-a-contact",
        ),
        pytest.param(
            [_action("automation_log", "r1", "I1", automated=False)],
            state(day(-9), {"I0": ["r0"]}),
            id="an-automation-log-records-nothing",
        ),
        pytest.param(
            [_action("step", "r0", "I0")],
            state(day(0), {"I0": ["r0"]}),
            id="a-step-already-recorded-is-not-duplicated",
        ),
    ],
)
def test_next_state_records_what_the_run_did(actions: list[PlannedAction], expected: Any) -> None:
    # Given an earlier state
    before_state = state(day(-9), {"I0": ["r0"]})
    # When the decision's actions are recorded
    after_state = next_state(before_state, _decision(*actions), day(0))
    # Then the new state has exactly what they add, and the old one is untouched
    assert after_state == expected
    assert before_state == state(day(-9), {"I0": ["r0"]})


def test_next_state_is_idempotent_and_never_moves_the_last_contact_back() -> None:
    decision = _decision(_action("step", "r1", "I1"), _action("pre_dunning", "pre", "I2"))
    once = next_state(state(), decision, day(0))
    assert next_state(once, decision, day(0)) == once
    assert next_state(once, decision, day(-5)).last_automated_contact_on == day(0)


def test_a_full_cycle_from_pre_dunning_to_the_last_step() -> None:
    # Given a complete strategy and one invoice, run daily from 10 days before due
    cfg = config(
        hierarchy(
            "h",
            1,
            [
                before("pre", 3, "email", pre_dunning=True),
                after("r1", 5, "email"),
                after("r2", 15),
                after("final", 30, "activity"),
            ],
            quiet_days=3,
        )
    )
    account = view(invoice("I1", day(0)))
    history: list[tuple[date, str, str]] = []
    for n in range(-10, 60):
        decision = evaluate_account(account, cfg, day(n))
        history += [(day(n), a.origin, a.step_id) for a in decision.actions]
        account = account.model_copy(update={"state": next_state(account.state, decision, day(n))})
    # Then each step happens once, on its date
    assert history == [
        (day(-3), "pre_dunning", "pre"),
        (day(5), "step", "r1"),
        (day(15), "step", "r2"),
        (day(30), "step", "final"),
    ]
