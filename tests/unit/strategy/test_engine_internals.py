"""The engine's speed-ups must not change what it answers: the config cache and trusted construction."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import BaseModel, Field

from dunning.models.decisions import AccountDecision, PlannedAction
from dunning.strategy import evaluate_account
from dunning.strategy.compiled import compiled
from dunning.strategy.trusted import trusted

from .factories import after, config, day, hierarchy, invoice, view


def test_the_precomputed_config_is_reused_for_the_same_object_only() -> None:
    # Given two configs that differ only in their step
    early = config(hierarchy("h", 1, [after("early", 1)]))
    late = config(hierarchy("h", 1, [after("late", 20)]))
    # When each is compiled twice / Then the same config gives the same object, another config its own
    assert compiled(early) is compiled(early)
    assert compiled(late).hierarchies["h"].steps[0].id == "late"
    # And evaluation follows whichever config it is given, in any order
    account = view(invoice("I1", day(0)))
    assert [a.step_id for a in evaluate_account(account, early, day(25)).actions] == ["early"]
    assert [a.step_id for a in evaluate_account(account, late, day(25)).actions] == ["late"]
    assert [a.step_id for a in evaluate_account(account, early, day(25)).actions] == ["early"]


def test_trusted_construction_equals_validated_construction() -> None:
    # Given every field of a planned action and a decision
    values = {
        "origin": "step",
        "hierarchy_id": "h",
        "step_id": "r1",
        "action": "email",
        "document": "mail",
        "invoice_id": "I1",
        "step_date": date(2026, 3, 8),
        "recipient": "customer",
        "business_purpose": None,
        "automated": True,
        "reason": "why",
    }
    action = trusted(PlannedAction)(**values)
    decision_values = {
        "account_id": "A1",
        "as_of": date(2026, 3, 8),
        "hierarchy_id": "h",
        "assignment_reason": "r",
        "outcome": "act",
        "lead_invoice_id": "I1",
        "days_from_due": 7,
        "actions": [action],
        "reasons": [],
        "quiet_until": None,
        "next_step_on": None,
    }
    decision = trusted(AccountDecision)(**decision_values)
    # Then they equal validated instances, serialise the same, and stay frozen
    assert action == PlannedAction(**values)
    assert decision == AccountDecision(**decision_values)
    assert decision.model_dump_json() == AccountDecision(**decision_values).model_dump_json()
    copied = decision.model_copy(update={"outcome": "none"})
    assert (copied.outcome, decision.outcome) == ("none", "act")
    assert trusted(AccountDecision)(**decision_values).model_fields_set == set(decision_values)
    with pytest.raises(ValueError, match="frozen"):
        decision.outcome = "none"  # type: ignore[misc]


def test_trusted_construction_fills_defaults_and_rejects_unknown_or_missing_fields() -> None:
    # Given a caller that does not pass every field (e.g. the model grew a field with a default)
    build = trusted(PlannedAction)
    partial = {"origin": "step", "hierarchy_id": "h", "step_id": "s", "action": "letter", "invoice_id": "I1"}
    # When it builds / Then the defaults are filled in as validation would, and only given fields count as set
    assert build(**partial) == PlannedAction(**partial)
    assert build(**partial).model_fields_set == set(partial)
    # And unknown or missing required fields are errors
    with pytest.raises(TypeError, match="unknown fields"):
        build(**partial, colour="red")
    with pytest.raises(TypeError, match="missing field 'invoice_id'"):
        build(origin="step", hierarchy_id="h", step_id="s", action="letter")


def test_trusted_construction_falls_back_to_validation_for_models_with_aliases() -> None:
    # Given a model where the shortcut would not be equivalent
    class Aliased(BaseModel):
        value: int = Field(alias="v")

    # When a trusted constructor is asked for / Then the model's own validating constructor is used
    assert trusted(Aliased) is Aliased
