"""The example plug-in, exercised through Dunning's PluginRegistry without installing it."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest
from dunning_high_balance import HighBalanceSeveranceEscalation

from dunning.contacts import ENTRY_POINT_GROUP, InMemoryLookup, PluginRegistry, build_context, evaluate_event
from dunning.contacts.create import prepare_contact
from dunning.models.config import Config
from dunning.models.events import (
    AccountPerson,
    AccountUpserted,
    PersonUpserted,
    ProcessEvent,
    ServiceAgreementUpserted,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
CONFIG = Config.model_validate(
    {
        "company": {"name": "Acme"},
        "letter_templates": [
            {"code": "ESCALATION", "default_language": "en", "subjects": {"en": "s"}, "bodies": {"en": "b"}}
        ],
        "contact_types": [
            {
                "contact_class": "SEVERANCE",
                "contact_type": "ESCALATION",
                "action": "letter",
                "letter_template": "ESCALATION",
            }
        ],
        "contact_rules": [
            {
                "id": "sev-high",
                "event_type": "severance.event",
                "contact_type": "SEVERANCE/ESCALATION",
                "algorithm": "high_balance_severance",
            }
        ],
    }
)
ACCOUNT = AccountUpserted(
    account_id="A-1",
    currency="EUR",
    main_person_id="P-1",
    persons=[
        AccountPerson(person_id="P-1"),
        AccountPerson(person_id="P-2"),
        AccountPerson(person_id="P-3", financially_responsible=False),
    ],
)
AGREEMENT = ServiceAgreementUpserted(service_agreement_id="SA-1", account_id="A-1", premise_id="PR-1")


def evaluate(registry: PluginRegistry, **attributes: Any):
    payload = ProcessEvent(
        event_code="CUT", account_id="A-1", service_agreement_id="SA-1", attributes=attributes
    )
    ctx = build_context(
        event_id="E-7",
        event_type="severance.event",
        occurred_at=NOW,
        payload=payload,
        lookup=InMemoryLookup.of(ACCOUNT, AGREEMENT),
    )
    return evaluate_event(ctx, CONFIG, registry)


@pytest.fixture
def registry() -> PluginRegistry:
    registry = PluginRegistry()
    registry.register(HighBalanceSeveranceEscalation())
    return registry


def test_given_high_balance_when_severance_then_letter_per_responsible_person_with_premise(registry):
    out = evaluate(registry, balance=1500)
    assert [(d.person_id, d.account_id, d.premise_id, d.source) for d in out.drafts] == [
        ("P-1", "A-1", "PR-1", "plugin"),
        ("P-2", "A-1", "PR-1", "plugin"),
    ]
    contacts = [
        prepare_contact(d, CONFIG, person=PersonUpserted(person_id=d.person_id or "", name="x"), now=NOW)
        for d in out.drafts
    ]
    assert {(c.action, c.template_code, c.status) for c in contacts} == {("letter", "ESCALATION", "pending")}
    assert len({c.contact_id for c in contacts}) == 2


@pytest.mark.parametrize(("balance", "count"), [(999.99, 0), (1000, 2), ("1000.00", 2)])
def test_given_balance_near_threshold_when_severance_then_escalates_from_threshold_up(
    registry, balance, count
):
    assert len(evaluate(registry, balance=balance).drafts) == count


@pytest.mark.parametrize(
    ("attributes", "reason"), [({}, "carries no balance attribute"), ({"balance": "lots"}, "is not a number")]
)
def test_given_unusable_balance_when_severance_then_skipped_with_reason(registry, attributes, reason):
    out = evaluate(registry, **attributes)
    assert out.drafts == []
    assert reason in out.skipped[0].reason


def test_given_custom_threshold_when_registered_then_it_applies():
    registry = PluginRegistry([HighBalanceSeveranceEscalation(threshold=Decimal("50"))])
    assert len(evaluate(registry, balance=60).drafts) == 2


def test_given_entry_point_declared_in_pyproject_when_loaded_by_registry_then_plugin_registered():
    """No install: build the EntryPoint object the package metadata would hold, and load it."""
    declared = tomllib.loads(PYPROJECT.read_text())["project"]["entry-points"][ENTRY_POINT_GROUP]
    eps = [EntryPoint(name=name, value=value, group=ENTRY_POINT_GROUP) for name, value in declared.items()]
    registry = PluginRegistry.from_entry_points(eps)
    assert registry.load_errors == []
    assert registry.names() == ["high_balance_severance"]
    assert isinstance(registry.get("high_balance_severance"), HighBalanceSeveranceEscalation)


@dataclass
class FakeEntryPoint:
    name: str
    value: str

    def load(self) -> Any:
        return HighBalanceSeveranceEscalation


def test_given_fake_entry_point_object_when_loading_then_same_code_path_registers_it():
    registry = PluginRegistry.from_entry_points([FakeEntryPoint("high_balance_severance", "x:y")])
    assert len(evaluate(registry, balance=5000).drafts) == 2
