"""Pre-dunning (S2.8): one before-due notice per invoice, for every open invoice."""

from __future__ import annotations

from datetime import date

import pytest

from dunning.strategy import evaluate_account, next_state

from .factories import (
    after,
    before,
    config,
    day,
    hierarchy,
    invoice,
    payment,
    planned,
    state,
    view,
    with_state,
)

DUE = day(0)
PRE = before("heads_up", 5, "email", pre_dunning=True)
CFG = config(hierarchy("h", 1, [PRE, after("r1", 7)]))


@pytest.mark.parametrize(
    ("as_of", "sent"),
    [
        pytest.param(day(-6), False, id="not-before-its-date"),
        pytest.param(day(-5), True, id="on-its-date"),
        pytest.param(day(-1), True, id="between-its-date-and-the-due-date-if-not-sent-yet"),
        pytest.param(day(0), True, id="on-the-due-date-itself"),
        pytest.param(day(1), False, id="never-once-the-invoice-is-overdue"),
    ],
)
def test_pre_dunning_is_a_before_due_notice(as_of: date, sent: bool) -> None:
    # Given an invoice due on DUE and a pre-dunning step 5 days before due
    account = view(invoice("I1", DUE))
    # When a run evaluates it on as_of
    decision = evaluate_account(account, CFG, as_of)
    # Then the notice is planned only inside its window
    pre = [a for a in decision.actions if a.origin == "pre_dunning"]
    assert bool(pre) is sent
    if sent:
        assert (pre[0].step_id, pre[0].action, pre[0].document, pre[0].step_date, pre[0].automated) == (
            "heads_up",
            "email",
            "email_heads_up",
            day(-5),
            True,
        )


def test_pre_dunning_runs_for_every_open_invoice_not_only_the_lead() -> None:
    # Given an overdue lead invoice and two invoices coming due, one of them paid
    account = view(
        invoice("LEAD", day(-7)),
        invoice("I3", day(4)),
        invoice("I2", day(2)),
        invoice("PAID", day(3)),
        payments=[payment("P1", "100.00", day(-1), invoice_id="PAID")],
    )
    # When a run evaluates it
    decision = evaluate_account(account, CFG, day(0))
    # Then the lead gets its regular step and each unpaid invoice coming due gets its notice, oldest first
    assert planned(decision) == [
        ("step", "r1", "letter", "LEAD"),
        ("pre_dunning", "heads_up", "email", "I2"),
        ("pre_dunning", "heads_up", "email", "I3"),
    ]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        pytest.param({"collection_state": state(predunning=["I1"])}, [], id="once-per-invoice"),
        pytest.param({"statuses": {"I1": "disputed"}}, [], id="not-for-a-disputed-invoice"),
        pytest.param({"statuses": {"I1": "promised_to_pay"}}, [], id="not-for-a-promised-invoice"),
        pytest.param(
            {"statuses": {"I1": "resolved"}},
            [("pre_dunning", "heads_up", "email", "I1")],
            id="for-a-resolved-invoice",
        ),
    ],
)
def test_pre_dunning_skips_invoices_already_notified_or_on_hold(kwargs: dict, expected: list) -> None:
    # Given an invoice in its pre-dunning window
    account = view(invoice("I1", DUE), **kwargs)
    # When evaluated / Then the notice is planned only when due and workable
    assert planned(evaluate_account(account, CFG, day(-2))) == expected


def test_pre_dunning_is_blocked_by_quiet_days_and_sent_once_they_are_over() -> None:
    # Given a 3-quiet-day strategy and a contact 2 days ago; an invoice enters its window today
    cfg = config(hierarchy("h", 1, [PRE, after("r1", 7)], quiet_days=3))
    account = view(invoice("I1", DUE), collection_state=state(last_contact=day(-7)))
    # When it runs inside the quiet days
    quiet = evaluate_account(account, cfg, day(-5))
    # Then nothing is sent, and the reason says until when
    assert quiet.actions == []
    assert quiet.quiet_until == day(-4)
    assert quiet.reasons == [
        f"no step due before {day(7)} (next: step 'r1' for invoice I1)",
        f"in quiet days until {day(-4)}; held back: pre-dunning 'heads_up' for invoice I1",
    ]
    # When it runs the day after the quiet days
    later = evaluate_account(with_state(account, next_state(account.state, quiet, day(-5))), cfg, day(-3))
    # Then the notice goes out, and it starts new quiet days
    assert planned(later) == [("pre_dunning", "heads_up", "email", "I1")]
    after_notice = next_state(account.state, later, day(-3))
    assert (after_notice.last_automated_contact_on, after_notice.predunning_done) == (day(-3), ["I1"])


def test_a_notice_whose_window_closes_during_quiet_days_is_not_sent_late() -> None:
    # Given quiet days that last past the due date
    cfg = config(hierarchy("h", 1, [PRE, after("r1", 7)], quiet_days=10))
    account = view(invoice("I1", DUE), collection_state=state(last_contact=day(-6)))
    # When runs happen every day until the quiet days are over
    decisions = [evaluate_account(account, cfg, day(n)) for n in range(-5, 6)]
    # Then no pre-dunning notice is ever planned
    assert all(a.origin != "pre_dunning" for d in decisions for a in d.actions)


def test_a_pre_dunning_step_configured_after_the_due_date_is_rejected_by_config_validation() -> None:
    # Given a (misconfigured) pre-dunning step 3 days after due / When the config is built / Then it is refused
    with pytest.raises(ValueError, match="pre-dunning step is an early notice"):
        config(hierarchy("h", 1, [after("late_pre", 3, pre_dunning=True), after("r1", 7)]))


def test_pre_dunning_gets_an_automation_log_when_asked() -> None:
    # Given a strategy that logs automated steps
    cfg = config(hierarchy("h", 1, [PRE, after("r1", 7)], create_activities_for_automations=True))
    # When the notice is planned / Then a log activity follows it
    assert planned(evaluate_account(view(invoice("I1", DUE)), cfg, day(-5))) == [
        ("pre_dunning", "heads_up", "email", "I1"),
        ("automation_log", "heads_up", "activity", "I1"),
    ]


def test_a_hierarchy_with_only_a_pre_dunning_step_says_it_has_no_regular_steps() -> None:
    # Given a hierarchy whose only step is the pre-dunning one
    cfg = config(hierarchy("h", 1, [PRE]))
    # When an overdue account is evaluated
    decision = evaluate_account(view(invoice("I1", day(-30))), cfg, day(0))
    # Then nothing happens and the reason says why
    assert (decision.outcome, decision.reasons) == ("none", ["hierarchy 'h' has no regular steps"])
