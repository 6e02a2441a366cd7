"""System events and user requests -> drafts (S1.3, S1.4): rule matching, person/account/premise filling."""

from __future__ import annotations

from typing import Any

import pytest

from dunning.contacts import prepare_contact
from dunning.contacts.context import InMemoryLookup, needs_for_event
from dunning.contacts.plugins import PluginRegistry
from dunning.contacts.rules import drafts_for_event, evaluate_event
from dunning.models.events import (
    AccountPerson,
    ContactRequested,
    FieldActivityRemark,
    ProcessEvent,
    ServiceAgreementUpserted,
)

from .factories import NOW, PREMISE, SERVICE_AGREEMENT, account, config_data, context, make_config, person

EMPTY = PluginRegistry()  # declarative rules never touch the registry; pass it so no entry points load
HOUSEHOLD = account(
    persons=[
        AccountPerson(person_id="P-1", main=True),
        AccountPerson(person_id="P-2", relationship="spouse"),
        AccountPerson(person_id="P-3", relationship="tenant", financially_responsible=False),
        AccountPerson(person_id="P-4", relationship="guarantor", receives_notifications=False),
    ],
    segment="residential",
)


def config_with_rules(*rules: dict[str, Any]):
    return make_config(**config_data(contact_rules=list(rules)))


def rule(rule_id: str, event_type: str, contact_type: str, **fields: Any) -> dict[str, Any]:
    return {"id": rule_id, "event_type": event_type, "contact_type": contact_type, **fields}


def event(code: str = "LETTER1", **fields: Any) -> ProcessEvent:
    return ProcessEvent(event_code=code, account_id="A-1", **fields)


def people(drafts) -> list[str | None]:
    return [d.person_id for d in drafts]


def test_given_contact_request_when_evaluated_then_one_user_draft_from_payload():
    req = ContactRequested(
        request_id="REQ-9",
        person_id="P-1",
        contact_class="CUSTOMER",
        contact_type="AUTOPAY",
        account_id="A-1",
        note="asked at the counter",
    )
    (d,) = drafts_for_event(context("contact.requested", req), make_config(), EMPTY)
    assert (d.source, d.source_ref, d.identity, d.person_id, d.account_id, d.note) == (
        "user",
        "REQ-9",
        ("user", "REQ-9"),
        "P-1",
        "A-1",
        "asked at the counter",
    )
    assert d.as_of == NOW.date()


def test_given_collection_letter_rule_when_event_arrives_then_one_contact_per_responsible_notified_person():
    config = config_with_rules(rule("coll-1", "collection.event", "COLLECTIONS/LETTER"))
    drafts = drafts_for_event(context("collection.event", event(), HOUSEHOLD), config, EMPTY)
    assert people(drafts) == [
        "P-1",
        "P-2",
    ]  # not the tenant (not responsible) nor the guarantor (not notified)
    assert {d.account_id for d in drafts} == {"A-1"}
    assert [d.identity for d in drafts] == [
        ("event", "E-1", "coll-1", "P-1"),
        ("event", "E-1", "coll-1", "P-2"),
    ]
    assert (
        len(
            {prepare_contact(d, config, person=person(d.person_id or ""), now=NOW).contact_id for d in drafts}
        )
        == 2
    )


@pytest.mark.parametrize(
    ("event_type", "contact_type", "fields", "expected"),
    [
        ("collection.event", "COLLECTIONS/LETTER", {"person": "main"}, ["P-1"]),
        ("collection.event", "CUSTOMER/NOTE", {}, ["P-1"]),  # not a letter: the main person by default
        ("severance.event", "SEVERANCE/WARNING", {}, ["P-1"]),
        ("writeoff.event", "WRITEOFF/AGENCY", {"person": "responsible_notified"}, ["P-1", "P-2"]),
        ("overdue.event", "CUSTOMER/NOTE", {"person": "none"}, [None]),
    ],
)
def test_given_person_fill_when_event_arrives_then_those_persons(event_type, contact_type, fields, expected):
    config = config_with_rules(rule("r", event_type, contact_type, **fields))
    assert people(drafts_for_event(context(event_type, event(), HOUSEHOLD), config, EMPTY)) == expected


@pytest.mark.parametrize(
    ("event_type", "contact_type"),
    [("writeoff.event", "WRITEOFF/AGENCY"), ("overdue.event", "OVERDUE/NOTICE")],
)
def test_given_writeoff_or_overdue_event_when_rule_matches_then_person_and_account_filled(
    event_type, contact_type
):
    config = config_with_rules(rule("r", event_type, contact_type))
    (d,) = drafts_for_event(context(event_type, event("WO"), HOUSEHOLD, SERVICE_AGREEMENT), config, EMPTY)
    assert (d.person_id, d.account_id, d.premise_id, d.source) == ("P-1", "A-1", None, "event")
    assert d.note == f"{event_type} WO"


def test_given_severance_event_when_service_agreement_has_premise_then_premise_filled():
    config = config_with_rules(rule("sev", "severance.event", "SEVERANCE/WARNING"))
    ctx = context(
        "severance.event", event("CUT", service_agreement_id="SA-1"), HOUSEHOLD, SERVICE_AGREEMENT, PREMISE
    )
    (d,) = drafts_for_event(ctx, config, EMPTY)
    assert (d.person_id, d.account_id, d.premise_id) == ("P-1", "A-1", "PR-1")
    assert prepare_contact(d, config, person=person("P-1"), now=NOW).premise_id == "PR-1"


def test_given_severance_event_when_service_agreement_has_no_premise_then_person_and_account_only():
    config = config_with_rules(rule("sev", "severance.event", "SEVERANCE/WARNING"))
    bare = ServiceAgreementUpserted(service_agreement_id="SA-2", account_id="A-1")
    (d,) = drafts_for_event(
        context("severance.event", event(service_agreement_id="SA-2"), HOUSEHOLD, bare), config, EMPTY
    )
    assert (d.person_id, d.account_id, d.premise_id) == ("P-1", "A-1", None)


def test_given_rule_sets_premise_none_when_severance_then_no_premise():
    config = config_with_rules(rule("sev", "severance.event", "SEVERANCE/WARNING", premise="none"))
    ctx = context("severance.event", event(service_agreement_id="SA-1"), HOUSEHOLD, SERVICE_AGREEMENT)
    assert drafts_for_event(ctx, config, EMPTY)[0].premise_id is None


def test_given_type_that_forbids_premise_when_rule_would_fill_it_then_left_out():
    data = config_data(contact_rules=[rule("sev", "severance.event", "SEVERANCE/WARNING")])
    for t in data["contact_types"]:
        if t["contact_type"] == "WARNING":
            t["premise_usage"] = "not_allowed"
    ctx = context("severance.event", event(service_agreement_id="SA-1"), HOUSEHOLD, SERVICE_AGREEMENT)
    assert drafts_for_event(ctx, make_config(**data), EMPTY)[0].premise_id is None


CONDITION_CASES = [
    ({"all": [{"field": "event_code", "equals": "LETTER1"}]}, event("LETTER1"), True),
    ({"all": [{"field": "event_code", "equals": "LETTER1"}]}, event("LETTER2"), False),
    ({"all": [{"field": "event_code", "in": ["A", "B"]}]}, event("B"), True),
    (
        {"all": [{"field": "attributes.days_overdue", "min": 30}]},
        event(attributes={"days_overdue": 45}),
        True,
    ),
    (
        {"all": [{"field": "attributes.days_overdue", "min": 30}]},
        event(attributes={"days_overdue": 10}),
        False,
    ),
    ({"all": [{"field": "account.attributes.segment", "equals": "residential"}]}, event(), True),
    (
        {"any": [{"field": "service_agreement_id", "present": True}, {"field": "event_code", "equals": "X"}]},
        event(),
        False,
    ),
]


@pytest.mark.parametrize(("conditions", "payload", "matched"), CONDITION_CASES)
def test_given_rule_conditions_when_event_arrives_then_rule_applies_only_when_they_match(
    conditions, payload, matched
):
    config = config_with_rules(rule("od", "overdue.event", "OVERDUE/NOTICE", conditions=conditions))
    drafts = drafts_for_event(context("overdue.event", payload, HOUSEHOLD), config, EMPTY)
    assert bool(drafts) is matched


def test_given_two_matching_rules_when_event_arrives_then_both_apply_in_config_order():
    config = config_with_rules(
        rule("a", "writeoff.event", "WRITEOFF/AGENCY"),
        rule("b", "writeoff.event", "CUSTOMER/NOTE"),
        rule("other", "overdue.event", "OVERDUE/NOTICE"),
    )
    drafts = drafts_for_event(context("writeoff.event", event(), HOUSEHOLD), config, EMPTY)
    assert [d.identity[2] for d in drafts] == ["a", "b"]


def test_given_same_event_redelivered_when_evaluated_then_identical_drafts():
    config = config_with_rules(rule("coll-1", "collection.event", "COLLECTIONS/LETTER"))
    first = drafts_for_event(context("collection.event", event(), HOUSEHOLD), config, EMPTY)
    again = drafts_for_event(context("collection.event", event(), HOUSEHOLD), config, EMPTY)
    assert first == again


def test_given_account_not_known_when_rule_needs_person_then_skipped_with_reason():
    config = config_with_rules(rule("coll-1", "collection.event", "COLLECTIONS/LETTER"))
    out = evaluate_event(context("collection.event", event()), config, EMPTY)
    assert out.drafts == []
    assert [(s.rule_id, s.reason) for s in out.skipped] == [
        (
            "coll-1",
            "rule coll-1: contact type COLLECTIONS/LETTER requires a person, and none could be found "
            "(account A-1 is not known yet)",
        )
    ]


def test_given_nobody_responsible_and_notified_when_collection_letter_then_skipped_with_reason():
    config = config_with_rules(rule("coll-1", "collection.event", "COLLECTIONS/LETTER"))
    quiet = account(persons=[AccountPerson(person_id="P-1", receives_notifications=False)])
    out = evaluate_event(context("collection.event", event(), quiet), config, EMPTY)
    assert out.drafts == []
    assert "no person on account A-1 is financially responsible and notified" in out.skipped[0].reason


def test_given_event_without_rules_when_evaluated_then_nothing():
    out = evaluate_event(context("collection.event", event(), HOUSEHOLD), make_config(), EMPTY)
    assert (out.drafts, out.skipped) == ([], [])


def test_given_events_when_asking_what_to_load_then_the_ids_they_name():
    assert (
        needs_for_event("severance.event", event(service_agreement_id="SA-1")).service_agreement_id == "SA-1"
    )
    remark = FieldActivityRemark(
        field_activity_id="FA-1", remark_code="X", premise_id="PR-1", service_point_id="SP-1"
    )
    needs = needs_for_event("field_activity.remark", remark)
    assert (needs.premise_id, needs.service_point_id, needs.account_id) == ("PR-1", "SP-1", None)


def test_given_lookup_when_context_built_then_account_agreement_and_premise_loaded():
    ctx = context(
        "severance.event", event(service_agreement_id="SA-1"), HOUSEHOLD, SERVICE_AGREEMENT, PREMISE
    )
    assert (ctx.account, ctx.service_agreement, ctx.premise) == (HOUSEHOLD, SERVICE_AGREEMENT, PREMISE)
    assert isinstance(ctx.lookup, InMemoryLookup)
