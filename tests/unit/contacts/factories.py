"""Small builders for the contacts tests: one valid configuration, customers and events."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel

from dunning.contacts.context import EventContext, InMemoryLookup, build_context
from dunning.models.config import Config
from dunning.models.events import (
    AccountPerson,
    AccountUpserted,
    PartyContact,
    PersonUpserted,
    PremiseUpserted,
    ServiceAgreementUpserted,
)

NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
AS_OF = date(2026, 3, 1)


def _type(key: str, **fields: Any) -> dict[str, Any]:
    contact_class, contact_type = key.split("/")
    return {"contact_class": contact_class, "contact_type": contact_type, **fields}


def config_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "company": {"name": "Acme Utilities", "email": "ar@acme.example"},
        "activity_templates": [
            {
                "code": "CALL",
                "name": "Call the customer",
                "type": "phone_call",
                "purpose": "collect",
                "days_to_complete": 3,
                "details": "Ask for a payment date",
            },
            {"code": "AUTO_LOG", "name": "Automation log", "type": "automation_log"},
        ],
        "email_templates": [
            {
                "code": "REMINDER",
                "default_language": "en",
                "sender_name": "Acme",
                "sender_address": "ar@acme.example",
                "bodies": {"en": {"subject": "Reminder", "html": "<p>Please pay</p>"}},
            },
        ],
        "letter_templates": [
            {"code": code, "default_language": "en", "subjects": {"en": code}, "bodies": {"en": code}}
            for code in ("DUN_LETTER", "EMAIL_FALLBACK", "AUTOPAY_FORM", "SEVERANCE_WARNING")
        ],
        "contact_types": [
            _type("COLLECTIONS/LETTER", action="letter", letter_template="DUN_LETTER"),
            _type(
                "COLLECTIONS/EMAIL",
                action="email",
                email_template="REMINDER",
                fallback_to_letter="EMAIL_FALLBACK",
            ),
            _type("COLLECTIONS/ACTIVITY", action="activity", activity_template="CALL"),
            _type("COLLECTIONS/AUTOMATION_LOG", action="activity", activity_template="AUTO_LOG"),
            _type("CUSTOMER/AUTOPAY", action="letter", letter_template="AUTOPAY_FORM"),
            _type("CUSTOMER/CALLBACK", action="activity", activity_template="CALL"),
            _type("CUSTOMER/NOTE", person_usage="optional", action="none"),
            _type("SEVERANCE/WARNING", action="letter", letter_template="SEVERANCE_WARNING"),
            _type("WRITEOFF/AGENCY", action="letter", letter_template="DUN_LETTER"),
            _type("OVERDUE/NOTICE", action="letter", letter_template="DUN_LETTER"),
            _type("FIELD/REMARK", person_usage="optional", premise_usage="required", action="none"),
            _type(
                "FIELD/REMARK_LETTER", action="letter", letter_template="DUN_LETTER", premise_usage="required"
            ),
            _type("PREMISE/INSPECTION", person_usage="not_allowed", premise_usage="required", action="none"),
        ],
        "hierarchies": [
            {
                "id": "STD",
                "rank": 1,
                "steps": [
                    {
                        "id": "PRE",
                        "description": "Coming due",
                        "action": "email",
                        "when": "before",
                        "days": 3,
                        "document": "REMINDER",
                        "pre_dunning": True,
                    },
                    {
                        "id": "MAIL",
                        "description": "Friendly reminder",
                        "action": "email",
                        "when": "after",
                        "days": 5,
                        "document": "REMINDER",
                        "business_purpose": "billing",
                    },
                    {
                        "id": "LETTER",
                        "description": "First dunning letter",
                        "action": "letter",
                        "when": "after",
                        "days": 15,
                    },
                    {
                        "id": "CALL",
                        "description": "Phone the customer",
                        "action": "activity",
                        "when": "after",
                        "days": 25,
                        "document": "CALL",
                    },
                ],
            }
        ],
        "contact_rules": [],
    }
    data.update(overrides)
    return data


def make_config(**overrides: Any) -> Config:
    return Config.model_validate(config_data(**overrides))


def person(person_id: str, *, email: str = "", language: str = "en", name: str = "") -> PersonUpserted:
    return PersonUpserted(
        person_id=person_id, name=name or f"Person {person_id}", email=email, language=language
    )


def account(
    account_id: str = "A-1",
    *,
    main: str = "P-1",
    persons: list[AccountPerson] | None = None,
    agent: PartyContact | None = None,
    sales: PartyContact | None = None,
    **attributes: Any,
) -> AccountUpserted:
    return AccountUpserted(
        account_id=account_id,
        currency="EUR",
        main_person_id=main,
        persons=persons or [],
        collections_agent=agent,
        sales_group=sales,
        attributes=attributes,
    )


def context(event_type: str, payload: BaseModel, *records: BaseModel, event_id: str = "E-1") -> EventContext:
    """An event context filled the way the lead fills it: through a Lookup over ``records``."""
    return build_context(
        event_id=event_id,
        event_type=event_type,
        occurred_at=NOW,
        payload=payload,
        lookup=InMemoryLookup.of(*records),
    )


PREMISE = PremiseUpserted(
    premise_id="PR-1", address={"lines": ["1 Main St"], "city": "Lisboa"}, service_point_ids=["SP-1"]
)
SERVICE_AGREEMENT = ServiceAgreementUpserted(
    service_agreement_id="SA-1", account_id="A-1", premise_id="PR-1", service_point_ids=["SP-1"]
)
