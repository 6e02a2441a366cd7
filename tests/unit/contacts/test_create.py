"""The one contact-creation path: validation, effective action/template, status, language, ids."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from dunning.contacts import ContactRejected, prepare_contact, prepare_contacts
from dunning.models.config import Config
from dunning.models.contacts import ActivityDetails, ContactDraft, EmailRecipient, contact_id_for

from .factories import NOW, config_data, make_config, person

CONFIG = make_config()


def draft(key: str = "CUSTOMER/AUTOPAY", **fields: Any) -> ContactDraft:
    contact_class, contact_type = key.split("/")
    base: dict[str, Any] = {
        "source": "user",
        "source_ref": "R-1",
        "identity": ("user", "R-1"),
        "person_id": "P-1",
    }
    return ContactDraft(contact_class=contact_class, contact_type=contact_type, **{**base, **fields})


def config_with_usage(field: str, usage: str) -> Config:
    """One TEST/T type (action none) with ``field`` at ``usage`` and the other two optional."""
    usages = {"person_usage": "optional", "account_usage": "optional", "premise_usage": "optional"}
    usages[f"{field}_usage"] = usage
    data = config_data(
        hierarchies=[], contact_types=[{"contact_class": "TEST", "contact_type": "T", **usages}]
    )
    return Config.model_validate(data)


USAGE_CASES = [
    (field, usage, present, expected)
    for field in ("person", "account", "premise")
    for usage, present, expected in [
        ("required", True, None),
        ("required", False, "requires a {field}"),
        ("optional", True, None),
        ("optional", False, None),
        ("not_allowed", True, "does not allow a {field}"),
        ("not_allowed", False, None),
    ]
]


@pytest.mark.parametrize(("field", "usage", "present", "expected"), USAGE_CASES)
def test_given_usage_rule_when_field_present_or_absent_then_accepted_or_rejected(
    field, usage, present, expected
):
    # Given a type whose only constraint is `usage` on `field`, and a draft with/without that field
    config = config_with_usage(field, usage)
    values: dict[str, str | None] = {"person_id": None, "account_id": None, "premise_id": None}
    if present:
        values[f"{field}_id"] = "X-1"
    d = draft("TEST/T", **values)
    # When / Then
    if expected is None:
        contact = prepare_contact(d, config, person=None, now=NOW)
        assert getattr(contact, f"{field}_id") == ("X-1" if present else None)
    else:
        with pytest.raises(ContactRejected, match=expected.format(field=field)):
            prepare_contact(d, config, person=None, now=NOW)


def test_given_unknown_contact_type_when_prepared_then_rejected_with_the_type():
    with pytest.raises(ContactRejected, match="unknown contact type NOPE/NOPE") as exc:
        prepare_contact(draft("NOPE/NOPE"), CONFIG, person=None, now=NOW)
    assert exc.value.contact_type == "NOPE/NOPE"
    assert exc.value.source_ref == "R-1"


@pytest.mark.parametrize(
    ("key", "override"),
    [
        ("CUSTOMER/AUTOPAY", None),  # a letter type (config already insists on person_usage required)
        ("CUSTOMER/NOTE", "letter"),  # a person-optional type whose draft asks for a letter
        ("FIELD/REMARK", "letter"),
    ],
)
def test_given_premise_only_draft_when_effective_action_is_letter_then_rejected_as_not_person_based(
    key, override
):
    d = draft(key, person_id=None, premise_id="PR-1", action_override=override)
    with pytest.raises(ContactRejected) as exc:
        prepare_contact(d, CONFIG, person=None, now=NOW)
    assert "a letter can only be sent by a person-based contact" in str(exc.value)
    assert "premise PR-1" in str(exc.value)


@pytest.mark.parametrize(
    ("key", "fields", "action", "template", "status"),
    [
        ("CUSTOMER/AUTOPAY", {}, "letter", "AUTOPAY_FORM", "pending"),
        ("CUSTOMER/AUTOPAY", {"template_code": "DUN_LETTER"}, "letter", "DUN_LETTER", "pending"),
        ("COLLECTIONS/EMAIL", {}, "email", "REMINDER", "pending"),
        ("CUSTOMER/CALLBACK", {}, "activity", "CALL", "open"),
        ("CUSTOMER/NOTE", {}, "none", None, "recorded"),
        (
            "CUSTOMER/NOTE",
            {"action_override": "letter", "template_code": "DUN_LETTER"},
            "letter",
            "DUN_LETTER",
            "pending",
        ),
        (
            "COLLECTIONS/LETTER",
            {"action_override": "email"},
            "email",
            None,
            None,
        ),  # no email template -> rejected
    ],
)
def test_given_type_and_draft_when_prepared_then_effective_action_template_and_status(
    key, fields, action, template, status
):
    p1 = person("P-1", email="p1@example.com")
    if status is None:
        with pytest.raises(ContactRejected, match="neither the type nor the contact names a template"):
            prepare_contact(draft(key, **fields), CONFIG, person=p1, now=NOW)
        return
    contact = prepare_contact(draft(key, **fields), CONFIG, person=p1, now=NOW)
    assert (contact.action, contact.template_code, contact.status) == (action, template, status)
    assert [(h.status, h.at) for h in contact.history] == [(status, NOW)]


def test_given_closed_activity_when_prepared_then_status_closed():
    activity = ActivityDetails(
        template_code="AUTO_LOG", name="Automated: x", type="log", due_on=date(2026, 3, 1), closed=True
    )
    contact = prepare_contact(
        draft("COLLECTIONS/AUTOMATION_LOG", activity=activity), CONFIG, person=None, now=NOW
    )
    assert contact.status == "closed"
    assert contact.activity == activity


def test_given_user_activity_contact_when_prepared_then_activity_built_from_type_template():
    contact = prepare_contact(
        draft("CUSTOMER/CALLBACK", as_of=date(2026, 3, 10)), CONFIG, person=None, now=NOW
    )
    assert contact.activity is not None
    assert (contact.activity.name, contact.activity.type, contact.activity.due_on) == (
        "Call the customer",
        "phone_call",
        date(2026, 3, 13),
    )


@pytest.mark.parametrize(("record", "language"), [(person("P-1", language="pt-BR"), "pt-BR"), (None, "en")])
def test_given_person_or_none_when_prepared_then_language_follows_person(record, language):
    contact = prepare_contact(draft("CUSTOMER/NOTE"), CONFIG, person=record, now=NOW)
    assert contact.language == language


def test_given_person_record_of_another_person_when_prepared_then_rejected():
    with pytest.raises(ContactRejected, match="does not match"):
        prepare_contact(draft(), CONFIG, person=person("P-2"), now=NOW)


def test_given_email_without_recipient_when_person_has_address_then_recipient_is_the_person():
    contact = prepare_contact(
        draft("COLLECTIONS/EMAIL"), CONFIG, person=person("P-1", email="a@b.example"), now=NOW
    )
    assert contact.recipient == EmailRecipient(kind="customer", name="Person P-1", address="a@b.example")


def test_given_email_type_with_fallback_and_person_without_address_then_its_fallback_letter_on_every_path():
    """One rule for a run's email step, a user request and an event rule: the type's fallback_to_letter."""
    for source in ("user", "run", "event"):
        contact = prepare_contact(draft("COLLECTIONS/EMAIL", source=source), CONFIG, person=person("P-1"), now=NOW)
        assert (contact.action, contact.template_code, contact.recipient) == ("letter", "EMAIL_FALLBACK", None)
        assert "no email address for person P-1; sent as letter" in contact.reason


def test_given_email_type_without_fallback_and_person_without_address_then_refused_on_every_path():
    data = config_data()
    for t in data["contact_types"]:
        t.pop("fallback_to_letter", None)
    config = make_config(**data)
    for source in ("user", "run", "event"):
        with pytest.raises(ContactRejected, match=r"person P-1 has no email address .*no fallback_to_letter"):
            prepare_contact(draft("COLLECTIONS/EMAIL", source=source), config, person=person("P-1"), now=NOW)


def test_given_an_email_to_the_sales_group_without_address_then_refused_never_a_customer_letter():
    internal = draft("COLLECTIONS/EMAIL", recipient=EmailRecipient(kind="sales_group", name="Sales", address=""))
    with pytest.raises(ContactRejected, match="internal alert is never sent to the customer"):
        prepare_contact(internal, CONFIG, person=person("P-1", email="p@x.example"), now=NOW)


def test_given_same_draft_twice_when_prepared_then_same_deterministic_id():
    a = prepare_contact(draft(), CONFIG, person=None, now=NOW)
    b = prepare_contact(draft(source_ref="R-1-redelivered"), CONFIG, person=None, now=NOW)
    assert a.contact_id == b.contact_id == contact_id_for("user", "R-1")
    assert (
        prepare_contact(draft(identity=("user", "R-2")), CONFIG, person=None, now=NOW).contact_id
        != a.contact_id
    )


def test_given_draft_fields_when_prepared_then_copied_onto_contact():
    d = draft(
        "COLLECTIONS/LETTER",
        account_id="A-1",
        invoice_id="I-1",
        note="n",
        as_of=date(2026, 3, 1),
        hierarchy_id="STD",
        step_id="LETTER",
        automated=True,
        reason="why",
        source="run",
        source_ref="RUN-1",
    )
    contact = prepare_contact(d, CONFIG, person=None, now=NOW)
    assert contact.model_dump(
        include={
            "account_id",
            "invoice_id",
            "note",
            "as_of",
            "hierarchy_id",
            "step_id",
            "automated",
            "reason",
            "source",
            "source_ref",
            "created_at",
        }
    ) == {
        "account_id": "A-1",
        "invoice_id": "I-1",
        "note": "n",
        "as_of": date(2026, 3, 1),
        "hierarchy_id": "STD",
        "step_id": "LETTER",
        "automated": True,
        "reason": "why",
        "source": "run",
        "source_ref": "RUN-1",
        "created_at": NOW,
    }


def test_given_good_and_bad_drafts_when_prepared_together_then_bad_one_rejected_alone():
    drafts = [draft(), draft("NOPE/NOPE", identity=("user", "R-2"))]
    out = prepare_contacts(drafts, CONFIG, persons={"P-1": person("P-1")}, now=NOW)
    assert [c.contact_type for c in out.contacts] == ["AUTOPAY"]
    assert [(d.contact_type, reason) for d, reason in out.rejected] == [
        ("NOPE", "unknown contact type NOPE/NOPE")
    ]
