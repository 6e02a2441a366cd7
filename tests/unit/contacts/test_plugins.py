"""Plug-in registry (S1.5) and the shipped field-activity-remark plug-in (S1.6)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from dunning.contacts import ContactRejected, prepare_contact
from dunning.contacts.context import EventContext, InMemoryLookup, build_context
from dunning.contacts.plugins import ENTRY_POINT_GROUP, FieldActivityRemark, PluginError, PluginRegistry
from dunning.contacts.rules import evaluate_event
from dunning.models.config import Config, ContactRule
from dunning.models.contacts import ContactDraft
from dunning.models.events import FieldActivityRemark as Remark
from dunning.models.events import ProcessEvent, ServiceAgreementUpserted

from .factories import NOW, PREMISE, SERVICE_AGREEMENT, account, config_data, make_config, person

ACCOUNT = account(main="P-7")


def remark(service_point: str | None = "SP-1") -> Remark:
    return Remark(
        field_activity_id="FA-1",
        remark_code="METER_BLOCKED",
        premise_id="PR-1",
        service_point_id=service_point,
        note="dog in the yard",
    )


def config_for(contact_type: str, **rule_fields: Any) -> Config:
    rules = [
        {
            "id": "fa",
            "event_type": "field_activity.remark",
            "contact_type": contact_type,
            "algorithm": "field_activity_remark",
            **rule_fields,
        }
    ]
    return make_config(**config_data(contact_rules=rules))


def ctx_for(payload: Remark, *records: Any) -> EventContext:
    return build_context(
        event_id="E-FA",
        event_type="field_activity.remark",
        occurred_at=NOW,
        payload=payload,
        lookup=InMemoryLookup.of(*records),
    )


REGISTRY = PluginRegistry([FieldActivityRemark])


# --------------------------------------------------------------------------- the shipped plug-in
def test_given_service_point_linked_to_agreement_when_remark_then_premise_account_and_main_person():
    config = config_for("FIELD/REMARK_LETTER")
    (d,) = evaluate_event(ctx_for(remark(), SERVICE_AGREEMENT, ACCOUNT, PREMISE), config, REGISTRY).drafts
    assert (d.premise_id, d.account_id, d.person_id, d.source, d.source_ref) == (
        "PR-1",
        "A-1",
        "P-7",
        "plugin",
        "E-FA",
    )
    assert d.identity == ("event", "E-FA", "fa", "P-7")
    assert d.note == "field activity FA-1 remark METER_BLOCKED: dog in the yard"
    contact = prepare_contact(d, config, person=person("P-7"), now=NOW)
    assert (contact.action, contact.template_code) == ("letter", "DUN_LETTER")


def test_given_context_without_preloaded_agreement_when_remark_then_plugin_uses_lookup():
    lookup = InMemoryLookup.of(SERVICE_AGREEMENT, ACCOUNT)
    ctx = EventContext(
        event_id="E-FA", event_type="field_activity.remark", occurred_at=NOW, payload=remark(), lookup=lookup
    )
    (d,) = FieldActivityRemark().drafts(
        ctx, config_for("FIELD/REMARK").contact_rules[0], config_for("FIELD/REMARK")
    )
    assert (d.premise_id, d.account_id, d.person_id) == ("PR-1", "A-1", "P-7")


@pytest.mark.parametrize(
    ("service_point", "records", "why"),
    [
        ("SP-9", [SERVICE_AGREEMENT, ACCOUNT], "service point SP-9 is not linked to a service agreement"),
        (None, [SERVICE_AGREEMENT, ACCOUNT], "field activity FA-1 names no service point"),
        ("SP-1", [SERVICE_AGREEMENT], "account A-1 of service agreement SA-1 is not known yet"),
    ],
)
def test_given_no_person_found_when_type_requires_one_then_no_draft_and_a_reason(service_point, records, why):
    out = evaluate_event(
        ctx_for(remark(service_point), *records), config_for("FIELD/REMARK_LETTER"), REGISTRY
    )
    assert out.drafts == []
    assert [s.rule_id for s in out.skipped] == ["fa"]
    assert out.skipped[0].reason == (
        f"rule fa: contact type FIELD/REMARK_LETTER requires a person, and none could be found ({why})"
    )


def test_given_unlinked_service_point_when_person_optional_then_premise_based_contact():
    config = config_for("FIELD/REMARK")
    (d,) = evaluate_event(ctx_for(remark("SP-9"), SERVICE_AGREEMENT, ACCOUNT), config, REGISTRY).drafts
    assert (d.premise_id, d.account_id, d.person_id) == ("PR-1", None, None)
    assert prepare_contact(d, config, person=None, now=NOW).status == "recorded"


def test_given_type_that_forbids_person_when_remark_then_person_left_out():
    (d,) = evaluate_event(
        ctx_for(remark(), SERVICE_AGREEMENT, ACCOUNT), config_for("PREMISE/INSPECTION"), REGISTRY
    ).drafts
    assert (d.premise_id, d.account_id, d.person_id) == ("PR-1", "A-1", None)


def test_given_service_point_on_stopped_and_active_agreements_when_remark_then_active_one_wins():
    stopped = ServiceAgreementUpserted(
        service_agreement_id="SA-0", account_id="A-OLD", service_point_ids=["SP-1"], status="stopped"
    )
    (d,) = evaluate_event(
        ctx_for(remark(), stopped, SERVICE_AGREEMENT, ACCOUNT), config_for("FIELD/REMARK"), REGISTRY
    ).drafts
    assert d.account_id == "A-1"


def test_given_rule_conditions_when_remark_code_differs_then_plugin_not_called():
    config = config_for("FIELD/REMARK", conditions={"all": [{"field": "remark_code", "equals": "OTHER"}]})
    out = evaluate_event(ctx_for(remark(), SERVICE_AGREEMENT, ACCOUNT), config, REGISTRY)
    assert (out.drafts, out.skipped) == ([], [])


def test_given_rule_naming_unknown_plugin_when_event_then_skipped_with_installed_names():
    config = config_for("FIELD/REMARK", algorithm="nope")
    (skipped,) = evaluate_event(ctx_for(remark()), config, REGISTRY).skipped
    assert (
        skipped.reason
        == "rule fa: contact-rule plug-in 'nope' is not installed (installed: field_activity_remark)"
    )


def test_given_plugin_for_other_event_type_when_rule_uses_it_then_skipped():
    rules = [
        {
            "id": "wo",
            "event_type": "writeoff.event",
            "contact_type": "WRITEOFF/AGENCY",
            "algorithm": "field_activity_remark",
        }
    ]
    config = make_config(**config_data(contact_rules=rules))
    ctx = build_context(
        event_id="E-2",
        event_type="writeoff.event",
        occurred_at=NOW,
        payload=ProcessEvent(event_code="WO", account_id="A-1"),
        lookup=InMemoryLookup.of(ACCOUNT),
    )
    (skipped,) = evaluate_event(ctx, config, REGISTRY).skipped
    assert "does not handle writeoff.event events" in skipped.reason


def test_given_premise_only_plugin_draft_with_letter_override_when_prepared_then_rejected():
    config = config_for("FIELD/REMARK")
    (d,) = evaluate_event(ctx_for(remark("SP-9")), config, REGISTRY).drafts
    with pytest.raises(ContactRejected, match="person-based"):
        prepare_contact(
            d.model_copy(update={"action_override": "letter", "template_code": "DUN_LETTER"}),
            config,
            person=None,
            now=NOW,
        )


# --------------------------------------------------------------------------- the registry
@dataclass
class Echo:
    """A minimal test plug-in: one draft for the main person."""

    name: str = "echo"
    event_types: tuple[str, ...] = ("writeoff.event",)

    def drafts(self, ctx: EventContext, rule: ContactRule, config: Config) -> list[ContactDraft]:
        return [
            ContactDraft(
                contact_class="CUSTOMER",
                contact_type="NOTE",
                source="plugin",
                source_ref=ctx.event_id,
                identity=("event", ctx.event_id, rule.id, "-"),
            )
        ]


@dataclass
class FakeEntryPoint:
    name: str
    value: str
    target: Any

    def load(self) -> Any:
        if isinstance(self.target, Exception):
            raise self.target
        return self.target


def test_given_explicit_registration_when_rule_uses_plugin_then_its_drafts():
    registry = PluginRegistry()
    registry.register(Echo())
    rules = [
        {"id": "wo", "event_type": "writeoff.event", "contact_type": "CUSTOMER/NOTE", "algorithm": "echo"}
    ]
    ctx = build_context(
        event_id="E-3",
        event_type="writeoff.event",
        occurred_at=NOW,
        payload=ProcessEvent(event_code="WO", account_id="A-1"),
        lookup=InMemoryLookup(),
    )
    (d,) = evaluate_event(ctx, make_config(**config_data(contact_rules=rules)), registry).drafts
    assert d.identity == ("event", "E-3", "wo", "-")
    assert "echo" in registry and registry.names() == ["echo"]


def test_given_name_taken_when_registering_again_then_error_unless_replacing():
    registry = PluginRegistry([Echo()])
    with pytest.raises(PluginError, match="already registered"):
        registry.register(Echo())
    replacement = Echo(event_types=("overdue.event",))
    registry.register(replacement, replace=True)
    assert registry.get("echo") is replacement


@pytest.mark.parametrize("bad", [object(), type("NoDrafts", (), {"name": "x", "event_types": ()})])
def test_given_object_without_plugin_shape_when_registering_then_error(bad):
    with pytest.raises(PluginError, match="not a contact-rule plug-in"):
        PluginRegistry().register(bad)


def test_given_fake_entry_points_when_loading_then_good_ones_registered_and_broken_ones_reported():
    eps = [
        FakeEntryPoint(
            "field_activity_remark", "dunning.contacts.plugins:FieldActivityRemark", FieldActivityRemark
        ),
        FakeEntryPoint("echo", "tests:Echo", Echo),
        FakeEntryPoint("broken", "missing.module:Thing", ImportError("No module named 'missing'")),
        FakeEntryPoint("alias", "tests:Echo2", lambda: Echo(name="echo2")),
    ]
    registry = PluginRegistry.from_entry_points(eps)
    assert registry.names() == ["echo", "echo2", "field_activity_remark"]
    assert registry.load_errors == [
        "contact-rule plug-in alias (tests:Echo2) calls itself 'echo2'; rules must use algorithm: echo2",
        "contact-rule plug-in broken (missing.module:Thing): No module named 'missing'",
    ]


def test_given_installed_package_when_loading_entry_point_group_then_shipped_plugin_found():
    registry = PluginRegistry.from_entry_points()
    assert "field_activity_remark" in registry
    assert ENTRY_POINT_GROUP == "dunning.contact_rules"
