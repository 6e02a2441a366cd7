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

    field: Annotated[str, StringConstraints(min_length=1, max_length=128)] = Field(
        description="Dotted path of the tested field, e.g. `currency` or `attributes.segment`.")
    equals: Any = Field(None, description="Matches when the field equals this value (numbers compare as numbers).")
    in_: list[Any] | None = Field(default=None, alias="in", description="Matches when the field equals one of these.")
    min: Any = Field(None, description="Lower bound, inclusive (alone or with `max`).")
    max: Any = Field(None, description="Upper bound, inclusive (alone or with `min`).")
    missing: bool | None = Field(None, description="true: matches when the field is absent or null; false: when set.")
    present: bool | None = Field(None, description="true: matches when the field is set; false: when absent or null.")

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

    all: list[Criterion | Criteria] | None = Field(
        None, description="Every one of these must match (an empty list matches everything).")
    any: list[Criterion | Criteria] | None = Field(None, description="At least one of these must match.")

    @model_validator(mode="after")
    def _one_combinator(self) -> Criteria:
        if (self.all is None) == (self.any is None):
            raise ValueError("criteria need exactly one of 'all' or 'any'")
        return self


# --------------------------------------------------------------------------- strategies
class Pool(ConfigModel):
    """A customer pool: a named query over account attributes (S2.3)."""

    id: Code = Field(description="Pool code, named in a hierarchy's `pools`.")
    description: str = Field("", description="Free text for people.")
    criteria: Criteria = Field(description="Which accounts belong to the pool, tested on the account and its fields.")


class Step(ConfigModel):
    """A process detail (S2.7): what to do, N days before/after the lead invoice's due date."""

    id: Code = Field(description="Step code, unique in the hierarchy; recorded as done per invoice.")
    description: str = Field("", description="Free text for people; names the step in automation logs.")
    action: StepAction = Field(description="What the step does: send a letter, send an email, or create an activity "
                               "for a collector. Every step action is an automated contact (it counts for quiet days).")
    when: Literal["before", "after"] = Field(description="Whether `days` count before or after the due date.")
    days: Annotated[int, Field(ge=0, le=3650)] = Field(
        description="How many days before/after the due date the step is due (0: on the due date).")
    document: Code | None = Field(None, description="The template: a letter, email or activity template code, by "
                                  "`action` (required for email and activity steps).")
    pre_dunning: bool = Field(False, description="An early notice, not a regular step: sent once for every open "
                              "invoice not on hold (not only the lead), from its date up to and including the due "
                              "date. At most one per hierarchy, and it must be `before`.")
    recipient: RecipientKind = Field("customer", description="Email steps only (S2.9): who receives it, the "
                                     "customer or the account's sales group or collections agent.")
    business_purpose: Code | None = Field(None, description="Email steps only (S2.9): which of the account's persons "
                                          "receives it, by business purpose.")

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

    aged_balance_below: dict[str, Decimal] = Field(default_factory=dict, description=(
        "Per currency: the whole account is excluded from the run while its aged balance (the open amounts past "
        "their due date, on-hold invoices included, in the account currency) is strictly below this. An account "
        "with nothing past due has an aged balance of 0, so it is excluded too and gets no pre-dunning."))
    invoice_amount_below: dict[str, Decimal] = Field(default_factory=dict, description=(
        "Per currency: an invoice whose original amount (not what is still open) is strictly below this is too "
        "small to chase. What that means is set by `scope`."))
    scope: Literal["account", "invoice"] = Field("account", description=(
        "What `invoice_amount_below` leaves out. `account` (the default): the whole account is excluded while its "
        "lead invoice is small (no step, no pre-dunning, no prediction), even when a larger invoice is overdue. "
        "`invoice`: only the small invoices are left out: they never lead and get no pre-dunning, and the next "
        "qualifying invoice leads; an account whose every workable invoice is small is excluded. "
        "`aged_balance_below` always applies to the whole account."))


class Predictions(ConfigModel):
    """Create collection activities from payment predictions (S2.6)."""

    benchmark_percent: Annotated[Decimal, Field(ge=0, le=100)] = Field(description=(
        "The probability, in percent, a prediction must reach (probability x 100 >= this) to create its activity."))
    late_activity: Code | None = Field(None, description=(
        "Activity template created when the lead invoice's late-payment probability reaches the benchmark."))
    very_late_activity: Code | None = Field(None, description=(
        "Activity template created when the lead invoice's very-late probability reaches the benchmark; "
        "checked before `late_activity`."))


class Hierarchy(ConfigModel):
    """A collection strategy: a process hierarchy (S2.1, S2.3)."""

    id: Code = Field(description="Hierarchy code, unique; accounts are assigned to it.")
    description: str = Field("", description="Free text for people.")
    automation: Code = Field("default", description="A label for the automation behind this strategy (informational).")
    rank: Annotated[int, Field(ge=1)] = Field(description=(
        "Priority, unique: an account that matches pools of several hierarchies goes to the lowest rank."))
    pools: list[Code] = Field(default_factory=list, description=(
        "The pools whose accounts this hierarchy works; a pool belongs to one hierarchy at most."))
    quiet_days: Annotated[int, Field(ge=0, le=365)] = Field(0, description=(
        "Days of rest after an automated contact. With the last automated contact on day D and N quiet days, "
        "days D+1 to D+N are quiet and the next automated contact is on D+N+1 at the earliest (N=2: D+1 and D+2 "
        "are quiet, the next contact is on D+3). A second contact on D itself is held back too, so 0 means at "
        "most one automated contact a day. A held-back step is not marked done; it runs on a later run."))
    track_step: bool = Field(False, description=(
        "false: each run performs the latest step whose date has been reached; missed earlier steps are skipped. "
        "true: the steps run one by one in timeline order, the first one not done yet once its date has come, "
        "one per run, so none is skipped."))
    exclude_invoice_after_last_step: bool = Field(False, description=(
        "true: an invoice whose last regular step is done no longer leads; the next open invoice does."))
    create_activities_for_automations: bool = Field(False, description=(
        "true: every automated letter or email (step or pre-dunning) is followed by an automation-log activity, "
        "so collectors see it."))
    exclusion: Exclusion = Field(default_factory=Exclusion, description=(
        "Amounts below which an account, or a small invoice, is left out (S2.5)."))
    predictions: Predictions | None = Field(None, description=(
        "Collector activities from payment predictions on the lead invoice. They are tasks, not customer "
        "contacts: quiet days neither hold them back nor start from them; at most one per account per day."))
    history_retention_days: Annotated[int, Field(ge=1, le=3650)] = Field(90, description=(
        "Days each account's run history is kept."))
    steps: list[Step] = Field(min_length=1, description=(
        "The process: regular steps (in timeline order by their offset from the due date) and at most one "
        "pre-dunning step."))

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

    code: Code = Field(description="Template code, named by steps, predictions and contact types.")
    name: str = Field(description="Readable name, shown in history and contacts.")
    type: str = Field(description="Activity type, for the collectors' tools.")
    purpose: str = Field("", description="Why the activity exists, for collectors.")
    days_to_complete: Annotated[int, Field(ge=0, le=365)] = Field(0, description=(
        "Days a collector has to complete it after it is created."))
    details: str = Field("", description="Instructions for the collector.")


class EmailBody(ConfigModel):
    subject: Annotated[str, StringConstraints(min_length=1, max_length=300)] = Field(description="Subject line.")
    html: str = Field(description="HTML body (a sandboxed Jinja2 template); the text part is derived from it.")


class EmailTemplate(ConfigModel):
    """S2.11: code, description, default language, sender name/address, subject + HTML per language."""

    code: Code = Field(description="Template code, named by steps and contact types.")
    description: str = Field("", description="Free text for people.")
    default_language: Language = Field(description="Language used when there is no body in the person's language.")
    sender_name: str = Field(description="Sender name shown to the recipient.")
    sender_address: Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] = Field(
        description="From address; it must be inside the stack's SES identity.")
    bodies: dict[Language, EmailBody] = Field(description="Subject and HTML body per language.")
    requires: list[TemplateCondition] = Field(default_factory=list, description=(  # see TEMPLATE_CONDITIONS
        "What must be true of a contact for this template to go out; a contact that fails one is not sent but "
        "ends suppressed with the reason. " + "; ".join(f"{k}: {v}" for k, v in TEMPLATE_CONDITIONS.items())))

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

    code: Code = Field(description="Template code, named by steps and contact types.")
    description: str = Field("", description="Free text for people.")
    default_language: Language = Field(description="Language used when there is no body in the person's language.")
    production: Literal["print", "online", "print_and_online"] = Field("print", description=(
        "print: printed and posted; online: kept for the customer to read online; print_and_online: both."))
    subjects: dict[Language, str] = Field(description="Subject line per language.")
    bodies: dict[Language, str] = Field(description="Jinja2 source per language (sandboxed).")
    requires: list[TemplateCondition] = Field(default_factory=list, description=(  # see TEMPLATE_CONDITIONS
        "What must be true of a contact for this template to go out; a contact that fails one is not sent but "
        "ends suppressed with the reason. " + "; ".join(f"{k}: {v}" for k, v in TEMPLATE_CONDITIONS.items())))

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

    contact_class: Code = Field(description="Contact class; with `contact_type` the unique key CLASS/TYPE.")
    contact_type: Code = Field(description="Contact type within the class.")
    description: str = Field("", description="Free text for people.")
    person_usage: Usage = Field("required", description="Whether a contact of this type needs a person.")
    account_usage: Usage = Field("optional", description="Whether a contact of this type names an account.")
    premise_usage: Usage = Field("optional", description="Whether a contact of this type names a premise.")
    action: ActionKind = Field("none", description=(
        "What creating the contact does: send a letter, send an email, create an activity, or only record it."))
    letter_template: Code | None = Field(None, description="Letter template, for action letter.")
    email_template: Code | None = Field(None, description="Email template, for action email.")
    activity_template: Code | None = Field(None, description="Activity template, for action activity.")
    fallback_to_letter: Code | None = Field(None, description=(
        "Letter template used instead when an email cannot be delivered (for example no email address); "
        "without it such an email fails."))

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

    id: Code = Field(description="Rule code, unique.")
    event_type: str = Field(description="The event type the rule reacts to, e.g. `collection.event`.")
    conditions: Criteria | None = Field(None, description="Tests on the event data; none: every event of the type.")
    contact_type: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.\-]+/[A-Za-z0-9_.\-]+$")] = Field(
        description="The contact type created, as CLASS/TYPE.")
    person: PersonFill = Field("main", description=(
        "The contact's person: the account's main person, its responsible notified person, the person named "
        "in the event, or none."))
    account: Literal["event", "none"] = Field("event", description="The contact's account: the event's, or none.")
    premise: Literal["service_agreement", "event", "none"] = Field("none", description=(
        "The contact's premise: the service agreement's, the event's, or none."))
    algorithm: Code | None = Field(None, description=(
        "A plug-in (entry-point group `dunning.contact_rules`) that decides instead of `conditions`."))


class CollectionsContactTypes(ConfigModel):
    """Contact types the collections run uses for each step action."""

    letter: str = Field("COLLECTIONS/LETTER", description="Contact type (CLASS/TYPE) of the run's letters.")
    email: str = Field("COLLECTIONS/EMAIL", description="Contact type of the run's emails.")
    activity: str = Field("COLLECTIONS/ACTIVITY", description="Contact type of the run's activities.")
    automation_log: str = Field("COLLECTIONS/AUTOMATION_LOG", description="Contact type of automation logs.")


class Company(ConfigModel):
    """The sender block printed on letters."""

    name: str = Field(description="Company name, on letters and as the return address.")
    address_lines: list[str] = Field(default_factory=list, description="Return address, one line each.")
    phone: str = Field("", description="Phone number printed on letters.")
    email: str = Field("", description="Email address printed on letters.")
    website: str = Field("", description="Website printed on letters.")


# --------------------------------------------------------------------------- interactions (S3)
REGISTERED_STAGE = "registered"  # every interaction process starts here; implicit, never declared
CategoryKind = Literal["web_site", "phone", "event", "product_group"]


class InteractionStage(ConfigModel):
    """A stage of an interaction process (S3.2); users are made members of a stage by an admin."""

    id: Code = Field(description="Stage code, unique in the process; `registered` is implicit and always first.")
    name: str = Field(description="Readable name, shown in the console.")
    closes: bool = Field(False, description="true: moving an interaction here closes it (a move out reopens it).")


class StageTransition(ConfigModel):
    """The moves allowed out of one stage; any other move is refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    from_: Code = Field(alias="from", description="The stage moved out of (`registered` or a declared stage).")
    to: list[Code] = Field(min_length=1, description="The stages it may move to.")


class InteractionProcess(ConfigModel):
    """A process definition (S3.2): `registered` plus the stages defined here, and the allowed transitions."""

    id: Code = Field(description="Process code, named by categories.")
    name: str = Field(description="Readable name.")
    stages: list[InteractionStage] = Field(min_length=1, description="The stages after `registered`.")
    transitions: list[StageTransition] = Field(default_factory=list, description="Allowed moves between stages.")

    @property
    def stage_ids(self) -> list[str]:
        return [REGISTERED_STAGE, *(s.id for s in self.stages)]

    def stage(self, stage_id: str) -> InteractionStage | None:
        if stage_id == REGISTERED_STAGE:
            return InteractionStage(id=REGISTERED_STAGE, name="Registered")
        return next((s for s in self.stages if s.id == stage_id), None)

    def allowed_from(self, stage_id: str) -> list[str]:
        return [to for t in self.transitions if t.from_ == stage_id for to in t.to]

    @model_validator(mode="after")
    def _stages_ok(self) -> InteractionProcess:
        ids = [s.id for s in self.stages]
        if REGISTERED_STAGE in ids:
            raise ValueError(f"process {self.id!r}: `registered` is implicit; do not declare it")
        if len(ids) != len(set(ids)):
            raise ValueError(f"process {self.id!r}: stage ids must be unique")
        known = set(self.stage_ids)
        for t in self.transitions:
            for stage in (t.from_, *t.to):
                if stage not in known:
                    raise ValueError(f"process {self.id!r}: transition names unknown stage {stage!r}")
        froms = [t.from_ for t in self.transitions]
        if len(froms) != len(set(froms)):
            raise ValueError(f"process {self.id!r}: one transition entry per `from` stage")
        return self


class AutoReply(ConfigModel):
    """An automatic reply (S3.5): a reply template sent when the interaction is created or enters a stage."""

    template: Code = Field(description="The reply template code.")
    when: list[Annotated[str, StringConstraints(pattern=r"^(created|stage:[A-Za-z0-9_.\-]+)$")]] = Field(
        default_factory=lambda: ["created"], description="When: `created`, or `stage:<stage id>` on entering it.")


class InteractionCategory(ConfigModel):
    """A category (S3.3): by web site, phone, event or product/service group."""

    id: Code = Field(description="Category code.")
    name: str = Field(description="Readable name.")
    kind: CategoryKind = Field(description="What the category stands for: web_site, phone, event, product_group.")
    group: str = Field("", description="The web site, event or product/service group it stands for (free text).")
    process: Code = Field(description="The process its interactions follow.")
    time_required: bool = Field(False, description="true: an interaction can't close without a time entry.")
    auto_reply: AutoReply | None = Field(None, description="An automatic reply for this category.")


class ReplyBody(ConfigModel):
    subject: Annotated[str, StringConstraints(min_length=1, max_length=300)] = Field(description="Subject (Jinja2).")
    text: str = Field(description="Plain-text body (a sandboxed Jinja2 template).")


class ReplyTemplate(ConfigModel):
    """A reply template (S3.5): subject and text per language, rendered in the Jinja2 sandbox."""

    code: Code = Field(description="Template code, named by auto replies.")
    description: str = Field("", description="Free text for people.")
    default_language: Language = Field(description="Used when there is no body in the interaction's language.")
    bodies: dict[Language, ReplyBody] = Field(description="Subject and text per language.")

    @model_validator(mode="after")
    def _default_present(self) -> ReplyTemplate:
        if self.default_language not in self.bodies:
            raise ValueError(f"reply template {self.code!r}: no body for default language {self.default_language}")
        return self


class InteractionMail(ConfigModel):
    """Mail settings (S3.10)."""

    from_address: str = Field("", description="From address of interaction mail (inside the SES identity).")
    from_name: str = Field("", description="From display name.")
    show_sender_address: bool = Field(True, description=(
        "true: the agent's name and address are shown in outgoing mail (From display and a signature line)."))
    update_and_send_button: bool = Field(True, description="true: the console shows an `Update and send mail` button.")
    number_in_subject: bool = Field(True, description="true: `[IN-2026-000123]` is put in outgoing subjects.")


class InteractionsConfig(ConfigModel):
    """Interactions (S3): processes, categories, reply templates, mail settings."""

    processes: list[InteractionProcess] = Field(default_factory=list, description="Process definitions (S3.2).")
    categories: list[InteractionCategory] = Field(default_factory=list, description="Categories (S3.3).")
    reply_templates: list[ReplyTemplate] = Field(default_factory=list, description="Reply templates (S3.5).")
    mail: InteractionMail = Field(default_factory=InteractionMail, description=(
        "How interaction mail is sent: sender, number in the subject, the update-and-send button (S3.10)."))
    webform_category: Code | None = Field(None, description="The category of public web-form posts.")
    dunning_reply_category: Code | None = Field(None, description="The category of replies to dunning emails.")

    @model_validator(mode="after")
    def _references(self) -> InteractionsConfig:
        errors: list[str] = []
        processes = {p.id: p for p in self.processes}
        _unique(errors, "interaction process", [p.id for p in self.processes])
        categories = _unique(errors, "interaction category", [c.id for c in self.categories])
        templates = set(_unique(errors, "reply template", [t.code for t in self.reply_templates]))
        for c in self.categories:
            process = processes.get(c.process)
            if process is None:
                errors.append(f"interaction category {c.id!r}: unknown process {c.process!r}")
            if c.auto_reply:
                if c.auto_reply.template not in templates:
                    errors.append(f"interaction category {c.id!r}: unknown reply template {c.auto_reply.template!r}")
                for on in c.auto_reply.when:
                    if on.startswith("stage:") and process and process.stage(on[6:]) is None:
                        errors.append(f"interaction category {c.id!r}: auto reply on unknown stage {on[6:]!r}")
        for name in ("webform_category", "dunning_reply_category"):
            value = getattr(self, name)
            if value and value not in categories:
                errors.append(f"interactions.{name}: unknown category {value!r}")
        if errors:
            raise ValueError("; ".join(errors))
        return self

    def process(self, process_id: str) -> InteractionProcess | None:
        return next((p for p in self.processes if p.id == process_id), None)

    def category(self, category_id: str) -> InteractionCategory | None:
        return next((c for c in self.categories if c.id == category_id), None)

    def reply_template(self, code: str) -> ReplyTemplate | None:
        return next((t for t in self.reply_templates if t.code == code), None)


# --------------------------------------------------------------------------- conversations (S4)
TeamCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_\-]{0,47}$")]
SettingName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]


class ConversationTeam(ConfigModel):
    """A team conversations are routed to (S4.4): its members are the agents that sit in it."""

    id: TeamCode = Field(description="Team code, named by route steps and by agents.")
    name: str = Field(description="Readable name, shown in the console's queues.")
    skill: Annotated[str, StringConstraints(max_length=64)] = Field("", description=(
        "The skill a member needs to be picked (empty: every member). A route step may name another skill."))
    rule: Literal["round_robin", "least_open"] = Field("round_robin", description=(
        "How a member is picked when a route step names no rule: round_robin (in turn) or least_open (the member "
        "with the fewest open conversations of this team)."))


class ConversationAgent(ConfigModel):
    """A user of the user pool who answers conversations."""

    username: Annotated[str, StringConstraints(min_length=1, max_length=128)] = Field(
        description="The Cognito username.")
    teams: list[TeamCode] = Field(default_factory=list, description="The teams the agent sits in.")
    skills: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = Field(
        default_factory=list, description="The agent's skills (route steps and teams pick by skill).")


class ConversationEmail(ConfigModel):
    enabled: bool = Field(False, description="true: inbound mail of `categories` starts a conversation.")
    categories: list[Code] = Field(default_factory=list, description="Interaction categories that start one.")


class ConversationWebChat(ConfigModel):
    enabled: bool = Field(True, description="true: the public web chat endpoints accept conversations.")
    rate_per_minute: Annotated[int, Field(ge=1, le=600)] = Field(30, description=(
        "Messages a conversation may send per minute; more are refused (429)."))
    open_per_hour: Annotated[int, Field(ge=1, le=10000)] = Field(20, description=(
        "Conversations one client address may open per hour."))


class ConversationsConfig(ConfigModel):
    """Conversations (S4): teams, agents, the fallback team, workflow settings and secrets by reference."""

    interaction_category: Code = Field("conversation", description=(
        "The interactions category every conversation is recorded under (S3.1)."))
    teams: list[ConversationTeam] = Field(default_factory=list, description="Teams conversations are routed to.")
    agents: list[ConversationAgent] = Field(default_factory=list, description="Agents, their teams and skills.")
    fallback_team: TeamCode | None = Field(None, description=(
        "A failed workflow (or none live) hands the conversation to this team."))
    settings: dict[SettingName, str | int | float | bool] = Field(default_factory=dict, description=(
        "Values workflow templates read as `settings.NAME` (not secret)."))
    secrets: dict[SettingName, Annotated[str, StringConstraints(
        pattern=r"^dunning/workflow/[A-Za-z0-9_.\-/]+$")]] = Field(default_factory=dict, description=(
            "Secret name -> Secrets Manager id (under `dunning/workflow/`, the only secrets the HTTP step's role may "
            "read); HTTP steps "
            "read them as `secrets.NAME`, resolved only inside the HTTP Lambda."))
    http_allow_hosts: list[Annotated[str, StringConstraints(min_length=1, max_length=253)]] = Field(
        default_factory=list, description="Hosts the private-address guard of HTTP steps lets through.")
    email: ConversationEmail = Field(default_factory=ConversationEmail, description="The email channel.")
    web_chat: ConversationWebChat = Field(default_factory=ConversationWebChat, description="The web chat channel.")

    @model_validator(mode="after")
    def _references(self) -> ConversationsConfig:
        errors: list[str] = []
        teams = set(_unique(errors, "conversation team", [t.id for t in self.teams]))
        _unique(errors, "conversation agent", [a.username for a in self.agents])
        for agent in self.agents:
            for team in agent.teams:
                if team not in teams:
                    errors.append(f"conversation agent {agent.username!r}: unknown team {team!r}")
        if self.fallback_team and self.fallback_team not in teams:
            errors.append(f"conversations.fallback_team: unknown team {self.fallback_team!r}")
        if self.teams and not self.fallback_team:
            errors.append("conversations.fallback_team: name the team failed workflows hand over to")
        if errors:
            raise ValueError("; ".join(errors))
        return self

    def team(self, team_id: str) -> ConversationTeam | None:
        return next((t for t in self.teams if t.id == team_id), None)

    def agent(self, username: str) -> ConversationAgent | None:
        return next((a for a in self.agents if a.username == username), None)

    def members(self, team_id: str) -> list[ConversationAgent]:
        return [a for a in self.agents if team_id in a.teams]


class Config(ConfigModel):
    version: str = Field("", description="Names this configuration; recorded with every run.")
    company: Company = Field(description="The sender on letters.")
    pools: list[Pool] = Field(default_factory=list, description="Customer pools (S2.3).")
    hierarchies: list[Hierarchy] = Field(default_factory=list, description="Collection strategies (S2.1).")
    activity_templates: list[ActivityTemplate] = Field(default_factory=list, description="Activity templates (S2.10).")
    email_templates: list[EmailTemplate] = Field(default_factory=list, description="Email templates (S2.11).")
    letter_templates: list[LetterTemplate] = Field(default_factory=list, description="Letter templates.")
    contact_types: list[ContactType] = Field(default_factory=list, description="Contact types (S1.1).")
    contact_rules: list[ContactRule] = Field(default_factory=list, description="Rules from events to contacts (S1.4).")
    collections_contact_types: CollectionsContactTypes = Field(default_factory=CollectionsContactTypes, description=(
        "The contact types the collections run uses for each step action."))
    interactions: InteractionsConfig = Field(default_factory=InteractionsConfig, description=(
        "Interactions (S3): processes with stages, categories, reply templates, mail settings."))
    conversations: ConversationsConfig = Field(default_factory=ConversationsConfig, description=(
        "Conversations (S4): teams, agents, fallback team, workflow settings and secrets, channels."))

    @model_validator(mode="after")
    def _cross_references(self) -> Config:
        errors: list[str] = []
        pool_ids = _unique(errors, "pool", [p.id for p in self.pools])
        _unique(errors, "hierarchy", [h.id for h in self.hierarchies])
        ranks: dict[int, str] = {}
        owner: dict[str, str] = {}
        for hierarchy in self.hierarchies:
            if hierarchy.rank in ranks:
                errors.append(f"hierarchies {ranks[hierarchy.rank]!r} and {hierarchy.id!r} have the same rank "
                              f"{hierarchy.rank}")
            ranks[hierarchy.rank] = hierarchy.id
            for pool in hierarchy.pools:
                if pool not in pool_ids:
                    errors.append(f"hierarchy {hierarchy.id!r} names unknown pool {pool!r}")
                elif pool in owner:
                    errors.append(f"pool {pool!r} is assigned to both {owner[pool]!r} and {hierarchy.id!r}")
                owner[pool] = hierarchy.id
        activity = set(_unique(errors, "activity template", [a.code for a in self.activity_templates]))
        email = set(_unique(errors, "email template", [e.code for e in self.email_templates]))
        letter = set(_unique(errors, "letter template", [t.code for t in self.letter_templates]))
        docs = {"activity": activity, "email": email, "letter": letter}
        for hierarchy in self.hierarchies:
            for step in hierarchy.steps:
                if step.document and step.document not in docs[step.action]:
                    errors.append(f"hierarchy {hierarchy.id!r} step {step.id!r}: unknown {step.action} template "
                                  f"{step.document!r}")
            if hierarchy.predictions:
                for code in (hierarchy.predictions.late_activity, hierarchy.predictions.very_late_activity):
                    if code and code not in activity:
                        errors.append(f"hierarchy {hierarchy.id!r}: unknown prediction activity template {code!r}")
        types = set(_unique(errors, "contact type", [t.key for t in self.contact_types]))
        for contact_type in self.contact_types:
            for kind, code in (("letter", contact_type.letter_template), ("email", contact_type.email_template),
                               ("activity", contact_type.activity_template),
                               ("letter", contact_type.fallback_to_letter)):
                if code and code not in docs[kind]:
                    errors.append(f"contact type {contact_type.key}: unknown {kind} template {code!r}")
        for rule in self.contact_rules:
            if rule.contact_type not in types:
                errors.append(f"contact rule {rule.id!r}: unknown contact type {rule.contact_type!r}")
        if self.hierarchies:
            for action, key in self.collections_contact_types.model_dump().items():
                if key not in types:
                    errors.append(f"collections_contact_types.{action}: unknown contact type {key!r}")
        if self.conversations.teams and self.interactions.category(self.conversations.interaction_category) is None:
            errors.append(f"conversations.interaction_category: unknown interactions category "
                          f"{self.conversations.interaction_category!r}")
        for category in self.conversations.email.categories:
            if self.conversations.email.enabled and self.interactions.category(category) is None:
                errors.append(f"conversations.email.categories: unknown interactions category {category!r}")
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
