"""The lead invoice (S2.2): the oldest open invoice that can be worked."""

from __future__ import annotations

from typing import Any

import pytest

from dunning.strategy import evaluate_account

from .factories import after, config, day, hierarchy, invoice, payment, planned, state, view

# One step on the due date, so whichever invoice leads gets it on any date on or after its due date.
CFG = config(hierarchy("h", 1, [after("remind", 0)]))
FINISHING = config(hierarchy("h", 1, [after("remind", 0), after("final", 10)], exclude_invoice_after_last_step=True))


@pytest.mark.parametrize(
    ("cfg", "invoices", "kwargs", "lead", "reasons"),
    [
        pytest.param(
            CFG,
            [invoice("NEW", day(-5)), invoice("OLD", day(-20))],
            {},
            "OLD",
            [],
            id="earliest-due-date-leads-whatever-the-posting-order",
        ),
        pytest.param(
            CFG,
            [invoice("B", day(-5), invoice_date=day(-30)), invoice("A", day(-5), invoice_date=day(-20))],
            {},
            "B",
            [],
            id="same-due-date-earliest-invoice-date-leads",
        ),
        pytest.param(
            CFG,
            [invoice("I2", day(-5), invoice_date=day(-20)), invoice("I1", day(-5), invoice_date=day(-20))],
            {},
            "I1",
            [],
            id="same-due-and-invoice-date-lowest-id-leads",
        ),
        pytest.param(
            CFG,
            [invoice("OLD", day(-20)), invoice("NEW", day(-5))],
            {"payments": [payment("P1", "100.00", day(-2), invoice_id="OLD")]},
            "NEW",
            [],
            id="a-paid-invoice-never-leads",
        ),
        pytest.param(
            CFG,
            [invoice("OLD", day(-20)), invoice("NEW", day(-5))],
            {"statuses": {"OLD": "disputed"}},
            "NEW",
            ["invoice OLD skipped: disputed"],
            id="disputed-oldest-is-skipped-and-named",
        ),
        pytest.param(
            CFG,
            [invoice("OLD", day(-20)), invoice("NEW", day(-5))],
            {"statuses": {"OLD": "promised_to_pay"}},
            "NEW",
            ["invoice OLD skipped: promised to pay"],
            id="promised-to-pay-oldest-is-skipped-and-named",
        ),
        pytest.param(
            CFG,
            [invoice("OLD", day(-20)), invoice("NEW", day(-5))],
            {"statuses": {"NEW": "disputed"}},
            "OLD",
            [],
            id="a-disputed-newer-invoice-is-not-mentioned",
        ),
        pytest.param(
            CFG,
            [invoice("OLD", day(-20)), invoice("NEW", day(-5))],
            {"statuses": {"OLD": "resolved"}},
            "OLD",
            [],
            id="a-resolved-dispute-leads-again",
        ),
        pytest.param(
            CFG,
            [invoice("OLD", day(-20)), invoice("NEW", day(-5))],
            {"statuses": {"OLD": "promise_broken"}},
            "OLD",
            [],
            id="a-broken-promise-leads-again",
        ),
        pytest.param(
            FINISHING,
            [invoice("OLD", day(-20)), invoice("NEW", day(-5))],
            {"collection_state": state(done={"OLD": ["remind", "final"]})},
            "NEW",
            ["invoice OLD skipped: last step 'final' already done"],
            id="exclude-after-last-step-skips-a-finished-invoice",
        ),
        pytest.param(
            FINISHING,
            [invoice("OLD", day(-20)), invoice("NEW", day(-5))],
            {"collection_state": state(done={"OLD": ["remind"]})},
            "OLD",
            [],
            id="exclude-after-last-step-keeps-an-unfinished-invoice",
        ),
    ],
)
def test_lead_invoice_is_the_oldest_workable_open_invoice(
    cfg: Any, invoices: list[Any], kwargs: dict[str, Any], lead: str, reasons: list[str]
) -> None:
    # Given an account with these invoices
    account = view(*invoices, **kwargs)
    # When it is evaluated
    decision = evaluate_account(account, cfg, day(0))
    # Then the expected invoice leads, and the skipped older ones are named
    assert decision.lead_invoice_id == lead
    assert [r for r in decision.reasons if "skipped" in r] == reasons


def test_without_exclude_after_last_step_a_finished_invoice_keeps_leading() -> None:
    # Given the last step was done for the oldest invoice, and the flag is off
    cfg = config(hierarchy("h", 1, [after("remind", 0), after("final", 10)]))
    account = view(
        invoice("OLD", day(-20)),
        invoice("NEW", day(-5)),
        collection_state=state(done={"OLD": ["remind", "final"]}),
    )
    # When it is evaluated
    decision = evaluate_account(account, cfg, day(0))
    # Then the oldest still leads, and nothing more happens for it
    assert (decision.lead_invoice_id, decision.outcome) == ("OLD", "none")
    assert decision.reasons == ["step 'final' already done for invoice OLD"]


def test_when_every_open_invoice_is_on_hold_nothing_leads() -> None:
    # Given every open invoice is disputed or promised
    account = view(
        invoice("I1", day(-20)), invoice("I2", day(-5)), statuses={"I1": "disputed", "I2": "promised_to_pay"}
    )
    # When it is evaluated
    decision = evaluate_account(account, CFG, day(0))
    # Then there is no lead and no action, and the reasons list every skipped invoice
    assert (decision.lead_invoice_id, decision.outcome, decision.actions) == (None, "none", [])
    assert decision.reasons == [
        "invoice I1 skipped: disputed",
        "invoice I2 skipped: promised to pay",
        "no invoice to work: every open invoice is skipped",
    ]


def test_the_step_is_performed_for_the_lead_invoice_only() -> None:
    # Given two overdue invoices
    account = view(invoice("I1", day(-20)), invoice("I2", day(-10)))
    # When it is evaluated / Then one step, for the lead
    assert planned(evaluate_account(account, CFG, day(0))) == [("step", "remind", "letter", "I1")]
