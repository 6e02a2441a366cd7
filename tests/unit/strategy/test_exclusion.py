"""Exclusion (S2.5): leave an account out when its aged balance or its lead invoice is below an amount."""

from __future__ import annotations

from typing import Any

import pytest

from dunning.strategy import evaluate_account

from .factories import after, before, config, day, hierarchy, invoice, payment, predictions, view


def _cfg(**exclusion: Any) -> Any:
    return config(
        hierarchy(
            "h",
            1,
            [before("pre", 5, pre_dunning=True), after("r1", 7)],
            predictions=predictions(),
            **exclusion,
        )
    )


@pytest.mark.parametrize(
    ("exclusion", "invoices", "kwargs", "reasons"),
    [
        pytest.param(
            {"aged_balance_below": {"EUR": "50"}},
            [invoice("I1", day(-10), "12.00")],
            {},
            ["aged balance 12.00 EUR below 50.00"],
            id="aged-balance-below-the-threshold-excludes",
        ),
        pytest.param(
            {"aged_balance_below": {"EUR": "50"}},
            [invoice("I1", day(-10), "50.00")],
            {},
            [],
            id="aged-balance-equal-to-the-threshold-is-not-excluded",
        ),
        pytest.param(
            {"aged_balance_below": {"EUR": "50"}},
            [invoice("I1", day(-10), "30.00"), invoice("I2", day(-8), "30.00")],
            {},
            [],
            id="aged-balance-adds-up-all-past-due-invoices",
        ),
        pytest.param(
            {"aged_balance_below": {"EUR": "50"}},
            [invoice("I1", day(-10), "30.00"), invoice("I2", day(10), "500.00")],
            {},
            ["aged balance 30.00 EUR below 50.00"],
            id="amounts-not-yet-due-are-not-aged",
        ),
        pytest.param(
            {"aged_balance_below": {"EUR": "50"}},
            [invoice("I1", day(-10), "12.00", currency="USD")],
            {"currency": "USD"},
            [],
            id="no-threshold-for-the-account-currency-no-exclusion",
        ),
        pytest.param(
            {"aged_balance_below": {"EUR": "50"}},
            [invoice("I1", day(-10), "80.00")],
            {"payments": [payment("P1", "70.00", day(-2), invoice_id="I1")]},
            ["aged balance 10.00 EUR below 50.00"],
            id="aged-balance-is-what-is-still-open",
        ),
        pytest.param(
            {"invoice_amount_below": {"EUR": "25"}},
            [invoice("I1", day(-10), "10.00")],
            {},
            ["invoice I1 amount 10.00 EUR below 25.00"],
            id="lead-invoice-amount-below-the-threshold-excludes",
        ),
        pytest.param(
            {"invoice_amount_below": {"EUR": "25"}},
            [invoice("I1", day(-10), "100.00")],
            {"payments": [payment("P1", "90.00", day(-2), invoice_id="I1")]},
            [],
            id="invoice-amount-is-the-original-amount-not-what-is-left",
        ),
        pytest.param(
            {"invoice_amount_below": {"EUR": "25"}},
            [invoice("I1", day(-10), "10.00"), invoice("I2", day(-5), "100.00")],
            {"statuses": {"I1": "disputed"}},
            [],
            id="invoice-amount-is-checked-on-the-lead-invoice",
        ),
        pytest.param(
            {"aged_balance_below": {"EUR": "50"}, "invoice_amount_below": {"EUR": "25"}},
            [invoice("I1", day(-10), "10.00")],
            {},
            ["aged balance 10.00 EUR below 50.00", "invoice I1 amount 10.00 EUR below 25.00"],
            id="both-reasons-are-given-when-both-apply",
        ),
    ],
)
def test_accounts_below_the_thresholds_are_excluded_with_the_reason(
    exclusion: dict[str, Any], invoices: list[Any], kwargs: dict[str, Any], reasons: list[str]
) -> None:
    # Given a strategy with exclusion thresholds and an account
    account = view(*invoices, **kwargs)
    # When evaluated
    decision = evaluate_account(account, _cfg(**exclusion), day(0))
    # Then it is excluded exactly when below a threshold, with the precise reason
    assert (decision.outcome == "excluded") is bool(reasons)
    if reasons:
        assert decision.reasons[-len(reasons) :] == reasons
        assert decision.actions == []


def test_an_excluded_account_gets_no_pre_dunning_and_no_prediction_activity() -> None:
    # Given an aged-balance threshold, an invoice coming due and a strong prediction on it
    account = view(invoice("I1", day(3), "500.00"), predicted={"I1": ("0.9", "0.9")})
    # When evaluated inside its pre-dunning window
    decision = evaluate_account(account, _cfg(aged_balance_below={"EUR": "50"}), day(0))
    # Then the whole account is left out (nothing is past due, so the aged balance is 0)
    assert (decision.outcome, decision.actions) == ("excluded", [])
    assert decision.reasons == ["aged balance 0.00 EUR below 50.00"]
    # And without the threshold the same account gets both
    assert [a.origin for a in evaluate_account(account, _cfg(), day(0)).actions] == [
        "pre_dunning",
        "prediction",
    ]
