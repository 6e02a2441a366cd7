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


# --------------------------------------------------------------------------- exclusion scope (issue 11 §4)
def _scoped(scope: str, **extra: Any) -> Any:
    return config(
        hierarchy(
            "h",
            1,
            [before("pre", 5, pre_dunning=True), after("r1", 7)],
            predictions=predictions(),
            invoice_amount_below={"EUR": "25"},
            exclusion_scope=scope,
            **extra,
        )
    )


def test_by_default_one_small_old_invoice_excludes_the_account_while_a_larger_one_is_overdue() -> None:
    # Given a small old invoice and a larger overdue one, scope 'account' (the default)
    account = view(invoice("I1", day(-30), "10.00"), invoice("I2", day(-10), "400.00"))
    # When evaluated
    decision = evaluate_account(account, _scoped("account"), day(0))
    # Then the whole account is out, because the small invoice leads
    assert (decision.outcome, decision.lead_invoice_id, decision.actions) == ("excluded", "I1", [])
    assert decision.reasons == ["invoice I1 amount 10.00 EUR below 25.00"]


def test_with_scope_invoice_the_small_invoice_is_skipped_and_the_next_qualifying_invoice_leads() -> None:
    # Given the same account, scope 'invoice'
    account = view(invoice("I1", day(-30), "10.00"), invoice("I2", day(-10), "400.00"))
    # When evaluated
    decision = evaluate_account(account, _scoped("invoice"), day(0))
    # Then I2 leads and gets its step; I1 is named as skipped
    assert (decision.outcome, decision.lead_invoice_id) == ("act", "I2")
    assert [(a.origin, a.step_id, a.invoice_id) for a in decision.actions] == [("step", "r1", "I2")]
    assert decision.reasons[0] == "invoice I1 skipped: amount 10.00 EUR below 25.00"


def test_with_scope_invoice_a_small_invoice_gets_no_pre_dunning_but_a_large_one_does() -> None:
    # Given two invoices coming due inside the pre-dunning window, one small
    account = view(invoice("I1", day(2), "10.00"), invoice("I2", day(3), "400.00"))
    # When evaluated with scope 'invoice'
    decision = evaluate_account(account, _scoped("invoice"), day(0))
    # Then only the large one gets the notice
    assert [(a.origin, a.invoice_id) for a in decision.actions if a.origin == "pre_dunning"] == [
        ("pre_dunning", "I2")
    ]


def test_with_scope_invoice_an_account_with_only_small_invoices_is_excluded() -> None:
    # Given an account whose open invoices are all small
    account = view(invoice("I1", day(-30), "10.00"), invoice("I2", day(-10), "20.00"))
    # When evaluated with scope 'invoice'
    decision = evaluate_account(account, _scoped("invoice"), day(0))
    # Then it is excluded, and each small invoice is named
    assert (decision.outcome, decision.lead_invoice_id, decision.actions) == ("excluded", None, [])
    assert decision.reasons == [
        "invoice I1 skipped: amount 10.00 EUR below 25.00",
        "invoice I2 skipped: amount 20.00 EUR below 25.00",
        "no invoice to work: every open invoice is skipped",
        "every workable open invoice is below the invoice amount threshold",
    ]


def test_with_scope_invoice_an_account_whose_invoices_are_only_on_hold_is_not_excluded() -> None:
    # Given one disputed invoice (not small)
    account = view(invoice("I1", day(-30), "100.00"), statuses={"I1": "disputed"})
    # When evaluated with scope 'invoice'
    decision = evaluate_account(account, _scoped("invoice"), day(0))
    # Then nothing is done, but it is not reported as excluded
    assert decision.outcome == "none"


def test_with_scope_invoice_the_aged_balance_still_counts_the_small_invoices_and_excludes_the_account() -> None:
    # Given an aged-balance threshold and scope 'invoice'
    cfg = config(hierarchy("h", 1, [after("r1", 7)], aged_balance_below={"EUR": "50"},
                           invoice_amount_below={"EUR": "25"}, exclusion_scope="invoice"))
    # When the aged balance (10 + 30) stays below 50
    decision = evaluate_account(view(invoice("I1", day(-30), "10.00"), invoice("I2", day(-10), "30.00")), cfg, day(0))
    # Then the account is excluded on the aged balance: that threshold is always account-wide
    assert decision.outcome == "excluded"
    assert decision.reasons[-1] == "aged balance 40.00 EUR below 50.00"


def test_the_field_descriptions_say_what_each_scope_and_the_aged_balance_do_to_pre_dunning() -> None:
    # Given the configuration's JSON Schema
    from dunning.models.config import Exclusion

    props = Exclusion.model_json_schema()["properties"]
    # Then the scope's description names both choices, and the aged balance says it stops pre-dunning
    assert "the next qualifying invoice leads" in props["scope"]["description"]
    assert "excluded while its lead invoice is small" in props["scope"]["description"]
    assert "no pre-dunning" in props["aged_balance_below"]["description"]
    assert props["scope"]["default"] == "account"
