"""The collections run's planned actions -> drafts -> contacts (S2.7, S2.9, S2.10, S2.12)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from dunning.contacts import ContactRejected, plan_run_contacts, prepare_contact, run_contact_drafts
from dunning.models.accounts import AccountView
from dunning.models.contacts import ActivityDetails, Contact, ContactDraft, EmailRecipient
from dunning.models.decisions import AccountDecision, PlannedAction
from dunning.models.events import AccountPerson, AccountUpserted, PartyContact, PersonUpserted

from .factories import AS_OF, NOW, account, config_data, make_config, person

CONFIG = make_config()
AGENT = PartyContact(id="AG-7", name="Carla Agent", email="carla@acme.example")
SALES = PartyContact(id="SG-2", name="Sales North", email="north@acme.example")
ACCOUNT = account(
    persons=[
        AccountPerson(person_id="P-1", main=True),
        AccountPerson(person_id="P-2", relationship="accountant", business_purposes=["billing", "dunning"]),
    ],
    agent=AGENT,
    sales=SALES,
)
PERSONS = {
    "P-1": person("P-1", email="main@customer.example", language="pt-BR"),
    "P-2": person("P-2", email="ap@customer.example"),
}


def planned(action: str = "letter", **fields: Any) -> PlannedAction:
    defaults: dict[str, Any] = {
        "origin": "step",
        "hierarchy_id": "STD",
        "step_id": {"letter": "LETTER", "email": "MAIL", "activity": "CALL"}[action],
        "action": action,
        "invoice_id": "I-1",
    }
    return PlannedAction(**{**defaults, **fields})


def run(
    *actions: PlannedAction,
    acct: AccountUpserted | None = ACCOUNT,
    persons: dict[str, PersonUpserted] | None = None,
    as_of: date = AS_OF,
    config: Any = CONFIG,
    run_id: str = "RUN-1",
) -> list[ContactDraft]:
    decision = AccountDecision(
        account_id="A-1",
        as_of=as_of,
        hierarchy_id="STD",
        outcome="act",
        lead_invoice_id="I-1",
        actions=list(actions),
    )
    view = AccountView(account_id="A-1", account=acct)
    return run_contact_drafts(decision, view, config, PERSONS if persons is None else persons, run_id)


def prepared(d: ContactDraft, persons: dict[str, PersonUpserted] | None = None) -> Contact:
    records = PERSONS if persons is None else persons
    return prepare_contact(d, CONFIG, person=records.get(d.person_id or ""), now=NOW)


def test_given_letter_step_when_drafted_then_letter_to_main_person_with_type_template():
    (d,) = run(planned("letter"))
    assert (d.contact_class, d.contact_type, d.person_id, d.account_id, d.invoice_id) == (
        "COLLECTIONS",
        "LETTER",
        "P-1",
        "A-1",
        "I-1",
    )
    assert (d.source, d.source_ref, d.hierarchy_id, d.step_id, d.as_of) == (
        "run",
        "RUN-1",
        "STD",
        "LETTER",
        AS_OF,
    )
    contact = prepared(d)
    assert (contact.action, contact.template_code, contact.status, contact.language) == (
        "letter",
        "DUN_LETTER",
        "pending",
        "pt-BR",
    )


def test_given_same_as_of_when_run_twice_then_same_ids_and_other_as_of_gives_other_ids():
    first = prepared(run(planned("letter"), run_id="RUN-1")[0])
    again = prepared(run(planned("letter"), run_id="RUN-2")[0])
    next_day = prepared(run(planned("letter"), as_of=date(2026, 3, 2))[0])
    assert first.contact_id == again.contact_id
    assert next_day.contact_id != first.contact_id
    assert run(planned("letter"))[0].identity == ("run", "A-1", "STD", "LETTER", "I-1", "2026-03-01")


@pytest.mark.parametrize(
    ("fields", "person_id", "recipient"),
    [
        (
            {"business_purpose": "billing"},
            "P-2",
            EmailRecipient(kind="customer", name="Person P-2", address="ap@customer.example"),
        ),
        (
            {"business_purpose": "DUNNING"},
            "P-2",
            EmailRecipient(kind="customer", name="Person P-2", address="ap@customer.example"),
        ),
        ({}, "P-1", EmailRecipient(kind="customer", name="Person P-1", address="main@customer.example")),
        (
            {"recipient": "sales_group"},
            "P-1",
            EmailRecipient(kind="sales_group", name="Sales North", address="north@acme.example"),
        ),
        (
            {"recipient": "collections_agent"},
            "P-1",
            EmailRecipient(kind="collections_agent", name="Carla Agent", address="carla@acme.example"),
        ),
    ],
    ids=["business-purpose", "purpose-case-insensitive", "main-person", "sales-group", "collections-agent"],
)
def test_given_email_step_when_drafted_then_recipient_resolved(fields, person_id, recipient):
    (d,) = run(planned("email", document="REMINDER", **fields))
    assert (d.contact_type, d.action_override, d.template_code) == ("EMAIL", "email", "REMINDER")
    assert (d.person_id, d.recipient) == (person_id, recipient)
    contact = prepared(d)
    assert (contact.action, contact.status, contact.recipient) == ("email", "pending", recipient)


def test_given_business_purpose_nobody_has_when_drafted_then_main_person_with_note():
    (d,) = run(planned("email", document="REMINDER", business_purpose="legal"))
    assert d.person_id == "P-1"
    assert "no person on account A-1 has business purpose legal" in d.reason


@pytest.mark.parametrize(
    ("fields", "persons", "person_id", "why"),
    [
        ({}, {"P-1": person("P-1")}, "P-1", "no email address for person P-1; sent as letter"),
        (
            {"business_purpose": "billing"},
            {"P-1": person("P-1", email="m@x.example"), "P-2": person("P-2")},
            "P-2",
            "no email address for person P-2; sent as letter",
        ),
    ],
    ids=["main-no-email", "purpose-person-no-email"],
)
def test_given_customer_without_email_address_when_prepared_then_the_email_types_fallback_letter(
    fields, persons, person_id, why
):
    (d,) = run(planned("email", document="REMINDER", **fields), persons=persons)
    assert (d.contact_type, d.action_override, d.recipient, d.person_id) == ("EMAIL", "email", None, person_id)
    contact = prepare_contact(d, CONFIG, person=persons.get(person_id), now=NOW)
    assert (contact.action, contact.template_code, contact.person_id) == ("letter", "EMAIL_FALLBACK", person_id)
    assert why in contact.reason


def test_given_email_type_without_fallback_template_when_no_address_then_the_contact_is_refused():
    data = config_data()
    for t in data["contact_types"]:
        if t["contact_type"] == "EMAIL":
            t.pop("fallback_to_letter")
    config = make_config(**data)
    (d,) = run(planned("email", document="REMINDER"), persons={"P-1": person("P-1")}, config=config)
    with pytest.raises(ContactRejected, match="no fallback_to_letter"):
        prepare_contact(d, config, person=person("P-1"), now=NOW)


@pytest.mark.parametrize(
    ("fields", "acct", "why"),
    [
        ({"recipient": "sales_group"}, account(persons=[], sales=PartyContact(id="SG-9")),
         "no email address for the sales group SG-9 of account A-1"),
        ({"recipient": "sales_group"}, account(), "account A-1 has no sales group, so no email address"),
        ({"recipient": "collections_agent"}, account(), "account A-1 has no collections agent, so no email address"),
    ],
    ids=["sales-group-no-email", "no-sales-group", "no-agent"],
)
def test_given_internal_alert_without_address_when_planned_then_no_contact_and_a_reason_never_a_customer_letter(
    fields, acct, why
):
    plan = plan_run_contacts(AccountDecision(account_id="A-1", as_of=AS_OF, hierarchy_id="STD", outcome="act",
                                             actions=[planned("email", document="ALERT", step_id="SALES", **fields)]),
                             AccountView(account_id="A-1", account=acct), CONFIG, PERSONS, "RUN-1")
    assert plan.drafts == []
    (skipped,) = plan.skipped
    assert (skipped.account_id, skipped.step_id, skipped.action) == ("A-1", "SALES", "email")
    assert skipped.reason.startswith(why) and "never to the customer" in skipped.reason


def test_given_activity_step_when_drafted_then_activity_from_template_linked_to_invoice_and_agent():
    (d,) = run(planned("activity", document="CALL", invoice_id="I-LEAD"))
    assert d.activity == ActivityDetails(
        template_code="CALL",
        name="Call the customer",
        type="phone_call",
        purpose="collect",
        details="Ask for a payment date",
        due_on=date(2026, 3, 4),
        assigned_to="AG-7",
    )
    contact = prepared(d)
    assert (contact.contact_type, contact.action, contact.status, contact.invoice_id) == (
        "ACTIVITY",
        "activity",
        "open",
        "I-LEAD",
    )


def test_given_account_without_agent_when_activity_drafted_then_unassigned():
    (d,) = run(planned("activity", document="CALL"), acct=account())
    assert d.activity is not None and d.activity.assigned_to == ""


def test_given_prediction_activity_when_drafted_then_uses_its_template():
    (d,) = run(planned("activity", origin="prediction", step_id="prediction:late", document="CALL"))
    assert d.activity is not None and d.activity.template_code == "CALL"
    assert d.identity[3] == "prediction:late"


def test_given_automation_log_when_drafted_then_closed_activity_named_after_step_due_today():
    step = planned("letter")
    log = planned("letter", origin="automation_log", reason="letter sent by automation")
    drafts = run(step, log)
    d = drafts[1]
    assert (d.contact_type, d.action_override) == ("AUTOMATION_LOG", "activity")
    assert d.activity is not None
    assert (d.activity.name, d.activity.closed, d.activity.due_on, d.activity.type, d.activity.details) == (
        "Automated: First dunning letter",
        True,
        AS_OF,
        "automation_log",
        "letter sent by automation",
    )
    step_contact, log_contact = (prepared(x) for x in drafts)
    assert log_contact.status == "closed"
    assert log_contact.contact_id != step_contact.contact_id


def test_given_pre_dunning_step_per_invoice_when_drafted_then_one_id_per_invoice():
    drafts = run(
        *(
            planned("email", origin="pre_dunning", step_id="PRE", document="REMINDER", invoice_id=i)
            for i in ("I-1", "I-2")
        )
    )
    assert len({prepared(d).contact_id for d in drafts}) == 2


def test_given_account_not_known_yet_when_letter_drafted_then_creation_rejects_it():
    (d,) = run(planned("letter"), acct=None)
    assert d.person_id is None
    with pytest.raises(ContactRejected, match="person-based"):
        prepared(d)
