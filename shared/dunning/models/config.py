"""Configuration: strategies (process hierarchies), pools, steps, contact types, templates and rules.

Authored as YAML + Jinja2/HTML files under ``infra/config/``, loaded by :mod:`dunning.config_loader`,
validated here, and published as one JSON bundle that every function reads.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from dunning.models.common import Language, RecipientKind

Usage = Literal["required", "optional", "not_allowed"]
ActionKind = Literal["letter", "email", "activity", "none"]
StepAction = Literal["letter", "email", "activity"]
Code = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]


class ConfigModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- criteria (pools, rules)
class Criterion(ConfigModel):
    """One test on a field. ``field`` is a dotted path, e.g. ``currency`` or ``attributes.segment``.

    Exactly one of ``equals``, ``in_``, ``min``/``max`` (a range, inclusive), ``missing`` or ``present``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    field: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    equals: Any = None
    in_: list[Any] | None = Field(default=None, alias="in")
    min: Any = None
    max: Any = None
    missing: bool | None = None
    present: bool | None = None

    @model_validator(mode="after")
    def _one_operator(self) -> Criterion:
        ops = [
            self.equals is not None,
            self.in_ is not None,
            self.min is not None or self.max is not None,
            self.missing is not None,
            self.present is not None,
        ]
        if sum(ops) != 1:
            raise ValueError(
                f"criterion on {self.field!r} needs exactly one of equals, in, min/max, missing, present"
            )
        return self


class Criteria(ConfigModel):
    """``all`` / ``any`` over criteria or nested criteria. An empty ``all`` matches everything."""

    all: list[Criterion | Criteria] | None = None
    any: list[Criterion | Criteria] | None = None

    @model_validator(mode="after")
    def _one_combinator(self) -> Criteria:
        if (self.all is None) == (self.any is None):
            raise ValueError("criteria need exactly one of 'all' or 'any'")
        return self


# --------------------------------------------------------------------------- strategies
class Pool(ConfigModel):
    """A customer pool: a named query over account attributes (S2.3)."""

    id: Code
    description: str = ""
    criteria: Criteria


class Step(ConfigModel):
    """A process detail (S2.7): what to do, N days before/after the lead invoice's due date."""

    id: Code
    description: str = ""
    action: StepAction
    when: Literal["before", "after"]
    days: Annotated[int, Field(ge=0, le=3650)]
    document: Code | None = None  # letter template, email template or activity template code
    pre_dunning: bool = False
    recipient: RecipientKind = "customer"  # email only (S2.9)
    business_purpose: Code | None = None  # email only: which of the account's persons (S2.9)

    @property
    def offset_days(self) -> int:
        """Signed offset from the due date: negative before, positive after."""
        return -self.days if self.when == "before" else self.days

    @model_validator(mode="after")
    def _document_fits_action(self) -> Step:
        if self.action in ("email", "activity") and not self.document:
            raise ValueError(f"step {self.id!r}: an {self.action} step needs a document (template code)")
        if self.pre_dunning and self.when != "before":
            raise ValueError(f"step {self.id!r}: a pre-dunning step is an early notice; it must be 'before' due")
        if self.action != "email" and (self.recipient != "customer" or self.business_purpose):
            raise ValueError(f"step {self.id!r}: recipient and business_purpose apply to email steps only")
        return self


class Exclusion(ConfigModel):
    """Leave an account out when below these amounts, per currency (S2.5)."""

    aged_balance_below: dict[str, Decimal] = Field(default_factory=dict)
    invoice_amount_below: dict[str, Decimal] = Field(default_factory=dict)


class Predictions(ConfigModel):
    """Create collection activities from payment predictions (S2.6)."""

    benchmark_percent: Annotated[Decimal, Field(ge=0, le=100)]
    late_activity: Code | None = None
    very_late_activity: Code | None = None


class Hierarchy(ConfigModel):
    """A collection strategy: a process hierarchy (S2.1, S2.3)."""

    id: Code
    description: str = ""
    automation: Code = "default"
    rank: Annotated[int, Field(ge=1)]
    pools: list[Code] = Field(default_factory=list)
    quiet_days: Annotated[int, Field(ge=0, le=365)] = 0
    track_step: bool = False
    exclude_invoice_after_last_step: bool = False
    create_activities_for_automations: bool = False
    exclusion: Exclusion = Field(default_factory=Exclusion)
    predictions: Predictions | None = None
    history_retention_days: Annotated[int, Field(ge=1, le=3650)] = 90
    steps: list[Step] = Field(min_length=1)

    @model_validator(mode="after")
    def _steps_ok(self) -> Hierarchy:
        ids = [s.id for s in self.steps]
        if len(ids) != len(set(ids)):
            raise ValueError(f"hierarchy {self.id!r}: step ids must be unique")
        if sum(1 for s in self.steps if s.pre_dunning) > 1:
            raise ValueError(f"hierarchy {self.id!r}: at most one step may be pre-dunning")
        return self

    @property
    def regular_steps(self) -> list[Step]:
        """Non-pre-dunning steps in timeline order (earliest offset first, then declared order)."""
        regular = [s for s in self.steps if not s.pre_dunning]
        return sorted(regular, key=lambda s: s.offset_days)

    @property
    def pre_dunning_step(self) -> Step | None:
        return next((s for s in self.steps if s.pre_dunning), None)


# --------------------------------------------------------------------------- templates
# What must be true of a contact for a letter or email template to go out (``requires:`` in its YAML). The
# checks themselves are pure functions in dunning.letters.conditions; a contact that fails one is not rendered
# or sent but ends ``suppressed`` with the reason.
TEMPLATE_CONDITIONS: dict[str, str] = {
    "overdue_amount_positive": "an overdue amount above zero (open invoices past their due date)",
    "open_amount_positive": "an open balance above zero",
    "lead_invoice": "an open invoice the letter is about",
    "lead_invoice_overdue": "its invoice to be open and past its due date",
    "premise": "a premise with an address",
}
TemplateCondition = Literal[
    "overdue_amount_positive", "open_amount_positive", "lead_invoice", "lead_invoice_overdue", "premise"
]


def _known_conditions(data: Any, what: str) -> Any:
    """A readable error for a misspelt condition, naming the template (pydantic's Literal error names neither)."""
    requires = data.get("requires") if isinstance(data, dict) else None
    if isinstance(requires, list):
        unknown = [v for v in requires if v not in TEMPLATE_CONDITIONS]
        if unknown:
            raise ValueError(f"{what} {data.get('code', '?')!r}: unknown condition(s) "
                             f"{', '.join(repr(u) for u in unknown)} in 'requires'; "
                             f"known conditions: {', '.join(TEMPLATE_CONDITIONS)}")
    return data


class ActivityTemplate(ConfigModel):
    """S2.10: name, activity type, purpose, days to complete, details."""

    code: Code
    name: str
    type: str
    purpose: str = ""
    days_to_complete: Annotated[int, Field(ge=0, le=365)] = 0
    details: str = ""


class EmailBody(ConfigModel):
    subject: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    html: str


class EmailTemplate(ConfigModel):
    """S2.11: code, description, default language, sender name/address, subject + HTML per language."""

    code: Code
    description: str = ""
    default_language: Language
    sender_name: str
    sender_address: Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
    bodies: dict[Language, EmailBody]
    requires: list[TemplateCondition] = Field(default_factory=list)  # see TEMPLATE_CONDITIONS

    @model_validator(mode="before")
    @classmethod
    def _requires_known(cls, data: Any) -> Any:
        return _known_conditions(data, "email template")

    @model_validator(mode="after")
    def _default_present(self) -> EmailTemplate:
        if self.default_language not in self.bodies:
            raise ValueError(f"email template {self.code!r}: no body for default language {self.default_language}")
        return self


class LetterTemplate(ConfigModel):
    """A letter template: Jinja2 source per language plus how the letter is produced (S1.1)."""

    code: Code
    description: str = ""
    default_language: Language
    production: Literal["print", "online", "print_and_online"] = "print"
    subjects: dict[Language, str]
    bodies: dict[Language, str]  # Jinja2 source per language
    requires: list[TemplateCondition] = Field(default_factory=list)  # see TEMPLATE_CONDITIONS

    @model_validator(mode="before")
    @classmethod
    def _requires_known(cls, data: Any) -> Any:
        return _known_conditions(data, "letter template")

    @model_validator(mode="after")
    def _default_present(self) -> LetterTemplate:
        if self.default_language not in self.bodies:
            raise ValueError(f"letter template {self.code!r}: no body for default language {self.default_language}")
        return self


# --------------------------------------------------------------------------- contacts
class ContactType(ConfigModel):
    """A customer contact type (S1.1/S1.2): a unique class/type pair with usage rules and an action."""

    contact_class: Code
    contact_type: Code
    description: str = ""
    person_usage: Usage = "required"
    account_usage: Usage = "optional"
    premise_usage: Usage = "optional"
    action: ActionKind = "none"
    letter_template: Code | None = None
    email_template: Code | None = None
    activity_template: Code | None = None
    fallback_to_letter: Code | None = None  # letter template used when an email cannot be delivered

    @property
    def key(self) -> str:
        return f"{self.contact_class}/{self.contact_type}"

    @model_validator(mode="after")
    def _usage_ok(self) -> ContactType:
        if self.person_usage == "not_allowed" and self.premise_usage == "not_allowed":
            raise ValueError(f"contact type {self.key}: person and premise cannot both be not_allowed")
        if self.action == "letter" and self.person_usage != "required":
            raise ValueError(
                f"contact type {self.key}: a letter can only be sent by a person-based contact "
                "(person_usage must be 'required')"
            )
        needed = {"letter": self.letter_template, "email": self.email_template, "activity": self.activity_template}
        if self.action in needed and not needed[self.action]:
            raise ValueError(f"contact type {self.key}: action {self.action} needs its {self.action}_template")
        return self


PersonFill = Literal["main", "responsible_notified", "event", "none"]


class ContactRule(ConfigModel):
    """Declarative rule: an event type + conditions on its data -> a contact type (S1.4, S1.5)."""

    id: Code
    event_type: str
    conditions: Criteria | None = None
    contact_type: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.\-]+/[A-Za-z0-9_.\-]+$")]
    person: PersonFill = "main"
    account: Literal["event", "none"] = "event"
    premise: Literal["service_agreement", "event", "none"] = "none"
    algorithm: Code | None = None  # name of a plug-in in the dunning.contact_rules entry-point group


class CollectionsContactTypes(ConfigModel):
    """Contact types the collections run uses for each step action."""

    letter: str = "COLLECTIONS/LETTER"
    email: str = "COLLECTIONS/EMAIL"
    activity: str = "COLLECTIONS/ACTIVITY"
    automation_log: str = "COLLECTIONS/AUTOMATION_LOG"


class Company(ConfigModel):
    """The sender block printed on letters."""

    name: str
    address_lines: list[str] = Field(default_factory=list)
    phone: str = ""
    email: str = ""
    website: str = ""


class Config(ConfigModel):
    version: str = ""
    company: Company
    pools: list[Pool] = Field(default_factory=list)
    hierarchies: list[Hierarchy] = Field(default_factory=list)
    activity_templates: list[ActivityTemplate] = Field(default_factory=list)
    email_templates: list[EmailTemplate] = Field(default_factory=list)
    letter_templates: list[LetterTemplate] = Field(default_factory=list)
    contact_types: list[ContactType] = Field(default_factory=list)
    contact_rules: list[ContactRule] = Field(default_factory=list)
    collections_contact_types: CollectionsContactTypes = Field(default_factory=CollectionsContactTypes)

    @model_validator(mode="after")
    def _cross_references(self) -> Config:
        errors: list[str] = []
        pool_ids = _unique(errors, "pool", [p.id for p in self.pools])
        _unique(errors, "hierarchy", [h.id for h in self.hierarchies])
        ranks: dict[int, str] = {}
        owner: dict[str, str] = {}
        for h in self.hierarchies:
            if h.rank in ranks:
                errors.append(f"hierarchies {ranks[h.rank]!r} and {h.id!r} have the same rank {h.rank}")
            ranks[h.rank] = h.id
            for p in h.pools:
                if p not in pool_ids:
                    errors.append(f"hierarchy {h.id!r} names unknown pool {p!r}")
                elif p in owner:
                    errors.append(f"pool {p!r} is assigned to both {owner[p]!r} and {h.id!r}")
                owner[p] = h.id
        activity = set(_unique(errors, "activity template", [a.code for a in self.activity_templates]))
        email = set(_unique(errors, "email template", [e.code for e in self.email_templates]))
        letter = set(_unique(errors, "letter template", [t.code for t in self.letter_templates]))
        docs = {"activity": activity, "email": email, "letter": letter}
        for h in self.hierarchies:
            for s in h.steps:
                if s.document and s.document not in docs[s.action]:
                    errors.append(f"hierarchy {h.id!r} step {s.id!r}: unknown {s.action} template {s.document!r}")
            if h.predictions:
                for code in (h.predictions.late_activity, h.predictions.very_late_activity):
                    if code and code not in activity:
                        errors.append(f"hierarchy {h.id!r}: unknown prediction activity template {code!r}")
        types = set(_unique(errors, "contact type", [t.key for t in self.contact_types]))
        for t in self.contact_types:
            for kind, code in (("letter", t.letter_template), ("email", t.email_template),
                               ("activity", t.activity_template), ("letter", t.fallback_to_letter)):
                if code and code not in docs[kind]:
                    errors.append(f"contact type {t.key}: unknown {kind} template {code!r}")
        for r in self.contact_rules:
            if r.contact_type not in types:
                errors.append(f"contact rule {r.id!r}: unknown contact type {r.contact_type!r}")
        if self.hierarchies:
            for action, key in self.collections_contact_types.model_dump().items():
                if key not in types:
                    errors.append(f"collections_contact_types.{action}: unknown contact type {key!r}")
        if errors:
            raise ValueError("; ".join(errors))
        return self

    # Lookups -------------------------------------------------------------------------------
    def hierarchy(self, hierarchy_id: str) -> Hierarchy:
        return next(h for h in self.hierarchies if h.id == hierarchy_id)

    def contact_type(self, key: str) -> ContactType:
        return next(t for t in self.contact_types if t.key == key)

    def find_contact_type(self, key: str) -> ContactType | None:
        return next((t for t in self.contact_types if t.key == key), None)

    def activity_template(self, code: str) -> ActivityTemplate:
        return next(a for a in self.activity_templates if a.code == code)

    def email_template(self, code: str) -> EmailTemplate:
        return next(e for e in self.email_templates if e.code == code)

    def letter_template(self, code: str) -> LetterTemplate:
        return next(t for t in self.letter_templates if t.code == code)


def _unique(errors: list[str], what: str, ids: list[str]) -> list[str]:
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            errors.append(f"duplicate {what} {i!r}")
        seen.add(i)
    return ids
