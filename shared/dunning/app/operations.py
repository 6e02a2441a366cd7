"""Write use cases behind the HTTP API: start a run, create a user's contact, validate and publish the
configuration. Each returns a pydantic model; bad input raises :class:`InvalidRequest` with the reason."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from dunning.app.event_contacts import create_contacts_for_event
from dunning.models.config import Config
from dunning.models.events import EventValidationError, parse_event
from dunning.store.blobs import BlobStore
from dunning.store.contacts import ContactStore
from dunning.store.executions import RunStarter
from dunning.store.ledger import LedgerStore


class InvalidRequest(ValueError):
    """The request is well-formed but cannot be carried out (the message says why)."""


@dataclass
class OperationDeps:
    runs: RunStarter
    ledger: LedgerStore
    contacts: ContactStore
    blobs: BlobStore  # runs bucket: configuration
    config: Callable[[], Config]


class RunStarted(BaseModel):
    execution_arn: str
    as_of: date


def start_run(deps: OperationDeps, as_of: date | None = None) -> RunStarted:
    as_of = as_of or datetime.now(UTC).date()
    name = f"run-{as_of.isoformat()}-{uuid.uuid4().hex[:8]}"
    return RunStarted(execution_arn=deps.runs.start(as_of, name), as_of=as_of)


class ContactRequest(BaseModel):
    """A user's request for a contact (the same path as a ``contact.requested`` event)."""

    contact_class: str = Field(min_length=1, max_length=40)
    contact_type: str = Field(min_length=1, max_length=40)
    person_id: str | None = Field(default=None, max_length=64)
    account_id: str | None = Field(default=None, max_length=64)
    premise_id: str | None = Field(default=None, max_length=64)
    note: str = Field(default="", max_length=2000)
    request_id: str | None = Field(default=None, max_length=80,
                                   description="idempotency key: the same request id creates nothing twice")


class ContactsCreated(BaseModel):
    request_id: str
    created: int
    existing: int


def create_contact(deps: OperationDeps, request: ContactRequest, source: str = "api") -> ContactsCreated:
    request_id = request.request_id or f"{source}-{uuid.uuid4().hex[:12]}"
    data = {"request_id": request_id, "person_id": request.person_id, "contact_class": request.contact_class,
            "contact_type": request.contact_type, "account_id": request.account_id,
            "premise_id": request.premise_id, "note": request.note}
    try:
        event = parse_event({"event_id": request_id, "event_type": "contact.requested",
                             "occurred_at": datetime.now(UTC).isoformat(), "source": source,
                             "data": {k: v for k, v in data.items() if v is not None}})
    except EventValidationError as exc:
        raise InvalidRequest(str(exc)) from exc
    outcome = create_contacts_for_event(event, deps.config(), deps.ledger, deps.contacts)
    if outcome.rejected_reason:
        raise InvalidRequest(outcome.rejected_reason)
    return ContactsCreated(request_id=request_id, created=outcome.created, existing=outcome.existing)


class ConfigCheck(BaseModel):
    valid: bool
    version: str | None = None
    counts: dict[str, int] = Field(default_factory=dict)
    errors: list[str] = Field(default_factory=list)


class ConfigPublished(BaseModel):
    key: str
    version: str


def _parse(raw: dict[str, Any]) -> tuple[Config | None, ConfigCheck]:
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        errors = [f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}"
                  for e in exc.errors(include_url=False, include_input=False)]
        return None, ConfigCheck(valid=False, errors=errors)
    counts = {"hierarchies": len(config.hierarchies), "pools": len(config.pools),
              "contact_types": len(config.contact_types), "letter_templates": len(config.letter_templates),
              "email_templates": len(config.email_templates), "contact_rules": len(config.contact_rules)}
    return config, ConfigCheck(valid=True, version=str(config.version), counts=counts)


def validate_config(raw: dict[str, Any]) -> ConfigCheck:
    """Check a configuration document (the JSON ``dunning config publish`` writes); nothing is stored."""
    return _parse(raw)[1]


def publish_config(deps: OperationDeps, raw: dict[str, Any]) -> ConfigPublished:
    config, check = _parse(raw)
    if config is None:
        raise InvalidRequest("the configuration is not valid: " + "; ".join(check.errors[:20]))
    return ConfigPublished(key=deps.blobs.publish_config(config), version=str(config.version))
