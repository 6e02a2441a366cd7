"""The pure rules of interactions: numbers, transitions, similar key, time rules, report folding, replies, links."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from dunning.config_loader import load_config_dir
from dunning.interactions import domain as d
from dunning.models.config import InteractionProcess, InteractionsConfig
from dunning.models.interactions import Interaction
from dunning.templating import TemplateError

ROOT = Path(__file__).resolve().parents[3]
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def cfg() -> InteractionsConfig:
    return load_config_dir(ROOT / "infra" / "config").interactions


@pytest.fixture(scope="module")
def process(cfg: InteractionsConfig) -> InteractionProcess:
    found = cfg.process("customer_requests")
    assert found is not None
    return found


def _interaction(**kw: object) -> Interaction:
    base: dict[str, object] = dict(id="i1", number="IN-2026-000001", channel="phone", category="invoice_dispute",
                                   process="customer_requests", stage="registered", subject="Wrong bill",
                                   created_at=NOW, updated_at=NOW, created_by="ana")
    base.update(kw)
    return Interaction.model_validate(base)


# ---------------------------------------------------------------------------------------------- numbers
def test_numbers_are_year_and_six_digit_sequence_and_are_found_in_a_subject():
    assert d.format_number(2026, 123) == "IN-2026-000123"
    assert d.format_number(2026, 1234567) == "IN-2026-1234567"
    assert d.number_in_text("Re: [IN-2026-000123] my bill") == "IN-2026-000123"
    assert d.number_in_text("about invoice INV-2026-000123") is None
    assert d.subject_with_number("Your bill", "IN-2026-000001") == "[IN-2026-000001] Your bill"
    assert d.subject_with_number("[IN-2026-000001] Your bill", "IN-2026-000001") == "[IN-2026-000001] Your bill"


def test_message_id_hash_ignores_angle_brackets_and_spaces():
    assert d.message_id_hash(" <abc@x.example> ") == d.message_id_hash("abc@x.example")
    assert len(d.message_id_hash("abc@x.example")) == 32
    assert d.message_id_hash("abc@x.example") != d.message_id_hash("abd@x.example")


# ---------------------------------------------------------------------------------------------- transitions
def test_allowed_transitions_follow_the_configuration(process: InteractionProcess):
    assert process.stage_ids == ["registered", "in_progress", "awaiting_customer", "resolved"]
    assert d.move_refusal(process, "registered", "in_progress") is None
    assert d.move_refusal(process, "resolved", "in_progress") is None  # reopen
    refusal = d.move_refusal(process, "registered", "awaiting_customer")
    assert refusal is not None and "not allowed" in refusal
    assert "no stage" in (d.move_refusal(process, "registered", "nowhere") or "")
    assert "already" in (d.move_refusal(process, "in_progress", "in_progress") or "")
    assert d.closes(process, "resolved") and not d.closes(process, "in_progress")


def test_a_process_naming_an_unknown_stage_or_declaring_registered_is_refused():
    with pytest.raises(ValidationError, match="unknown stage"):
        InteractionProcess.model_validate({"id": "p", "name": "P", "stages": [{"id": "a", "name": "A"}],
                                           "transitions": [{"from": "registered", "to": ["b"]}]})
    with pytest.raises(ValidationError, match="implicit"):
        InteractionProcess.model_validate({"id": "p", "name": "P", "stages": [{"id": "registered", "name": "R"}]})


def test_categories_must_name_known_processes_and_templates():
    with pytest.raises(ValidationError, match="unknown process"):
        InteractionsConfig.model_validate({"categories": [{"id": "c", "name": "C", "kind": "phone", "process": "x"}]})
    with pytest.raises(ValidationError, match="unknown category"):
        InteractionsConfig.model_validate({"webform_category": "nope"})


def test_auto_reply_triggers_are_named_when_so_yaml_cannot_turn_the_key_into_a_boolean():
    import pytest
    import yaml
    from pydantic import ValidationError

    from dunning.models.config import AutoReply

    assert AutoReply.model_validate(yaml.safe_load("template: t\nwhen: [created, 'stage:resolved']\n")).when == [
        "created", "stage:resolved"]
    with pytest.raises(ValidationError):  # YAML 1.1 reads an unquoted on: as true; it is not taken silently
        AutoReply.model_validate(yaml.safe_load("template: t\non: [created]\n"))


def test_stage_rule_admits_members_and_admins_only():
    mine = [("customer_requests", "in_progress")]
    assert d.may_act(False, mine, "customer_requests", "in_progress")
    assert not d.may_act(False, mine, "customer_requests", "resolved")
    assert d.may_act(True, [], "customer_requests", "resolved")
    assert not d.may_record(False, mine, "customer_requests")
    assert d.may_record(False, [("customer_requests", "registered")], "customer_requests")


def test_closing_needs_time_only_when_the_category_requires_it(cfg: InteractionsConfig):
    dispute, plan = cfg.category("invoice_dispute"), cfg.category("payment_plan")
    assert d.close_refusal(dispute, 0) is not None
    assert d.close_refusal(dispute, 1) is None
    assert d.close_refusal(plan, 0) is None


# ---------------------------------------------------------------------------------------------- similar
@pytest.mark.parametrize(("a", "b"), [
    ("Re: Invoice INV-1001 is wrong!", "wrong invoices (INV-1002)"),
    ("AW: Fwd: RE: [IN-2026-000123] Payment plan", "payment plans"),
    ("Fatura errada", "fátura ERRADA 12/03/2026"),
])
def test_subjects_of_the_same_kind_have_the_same_signature(a: str, b: str):
    assert d.subject_signature(a) == d.subject_signature(b)
    assert d.kind_key("c", a) == d.kind_key("c", b)


def test_different_requests_and_categories_are_different_kinds():
    assert d.subject_signature("meter reading") != d.subject_signature("invoice wrong")
    assert d.kind_key("invoice_dispute", "wrong bill") != d.kind_key("payment_plan", "wrong bill")
    assert d.subject_signature("INV-1001 12.50") == ""
    assert d.kind_key("invoice_dispute", "INV-1001") == "invoice_dispute"


def test_customer_key_prefers_person_then_account_then_a_hashed_email():
    assert d.customer_key("P1", "A1", "x@y.example") == "P:P1"
    assert d.customer_key(None, "A1", "x@y.example") == "A:A1"
    key = d.customer_key(None, None, " X@Y.example ")
    assert key.startswith("E:") and "@" not in key and key == d.customer_key(None, None, "x@y.example")
    assert d.customer_key(None, None, None) == ""


# ---------------------------------------------------------------------------------------------- time
def test_time_rules():
    assert d.time_refusal(NOW - timedelta(hours=1), 30, NOW) is None
    assert d.time_refusal(NOW, 0, NOW) is not None
    assert d.time_refusal(NOW, 24 * 60 + 1, NOW) is not None
    assert d.time_refusal(NOW + timedelta(hours=1), 10, NOW) == "started_at is in the future"
    assert d.time_refusal(NOW - timedelta(days=400), 10, NOW) is not None
    assert d.time_refusal(datetime(2026, 3, 10, 11), 10, NOW) is not None  # no time zone


def test_time_entry_ids_are_deterministic_for_an_idempotency_key():
    a = d.time_entry_id("i1", "ana", "req-1")
    assert a == d.time_entry_id("i1", "ana", "req-1")
    assert a != d.time_entry_id("i1", "ana", "req-2") != d.time_entry_id("i2", "ana", "req-1")
    assert d.time_entry_id("i1", "ana", None) != d.time_entry_id("i1", "ana", None)


def test_aggregate_keys_round_trip_and_months_span_the_period():
    day = date(2026, 2, 28)
    from dunning.store import interactions as store

    assert store.agg_partition(day) == "TIMEAGG#2026-02"
    assert store.parse_agg_sort(store.agg_sort(day, "invoice_dispute", "ana#x")) == (day, "invoice_dispute", "ana#x")
    assert d.months_between(date(2025, 11, 5), date(2026, 2, 1)) == ["2025-11", "2025-12", "2026-01", "2026-02"]


# ---------------------------------------------------------------------------------------------- reports
def test_time_report_folding_merges_cells_and_totals_add_up():
    cells = [("2026-03-01", "a", "ana", 10, 1), ("2026-03-01", "a", "ana", 5, 1), ("2026-03-02", "b", "bob", 30, 2),
             ("2026-04-01", "b", "bob", 99, 1)]  # the last is outside the period
    report = d.fold_time(date(2026, 3, 1), date(2026, 3, 31), cells, detail=True)
    assert [(r.day.day, r.category, r.minutes, r.entries) for r in report.rows] == [(1, "a", 15, 2), (2, "b", 30, 2)]
    assert report.total_minutes == 45 == sum(report.by_day.values()) == sum(report.by_agent.values()) \
        == sum(report.by_category.values()) == sum(r.minutes for r in report.rows)
    assert report.total_entries == 4 and report.cells == 2
    assert d.fold_time(date(2026, 3, 1), date(2026, 3, 31), cells).rows == []  # totals only unless asked
    assert report.by_agent == {"ana": 15, "bob": 30}


def test_content_report_counts_per_category_channel_stage_and_day():
    items = [_interaction(id="a", category="x", channel="phone"),
             _interaction(id="b", category="x", channel="email", stage="resolved", status="closed"),
             _interaction(id="c", category="y", channel="phone", created_at=NOW + timedelta(days=1)),
             _interaction(id="d", category="y", created_at=NOW + timedelta(days=40))]  # outside
    report = d.fold_content(NOW.date(), NOW.date() + timedelta(days=5), items)
    assert report.total == 3 == len(report.rows)
    assert report.by_category == {"x": 2, "y": 1}
    assert report.by_channel == {"phone": 2, "email": 1}
    assert report.by_status == {"open": 2, "closed": 1}
    assert report.by_stage == {"customer_requests/registered": 2, "customer_requests/resolved": 1}
    assert sum(report.by_day.values()) == 3


# ---------------------------------------------------------------------------------------------- replies
def test_auto_reply_is_chosen_by_category_and_stage_and_rendered_per_language(cfg: InteractionsConfig):
    assert d.auto_reply_template(cfg, "invoice_dispute", "created") is not None
    assert d.auto_reply_template(cfg, "invoice_dispute", "stage:resolved") is not None
    assert d.auto_reply_template(cfg, "invoice_dispute", "stage:in_progress") is None
    assert d.auto_reply_template(cfg, "tariff_question", "created") is None
    template = d.auto_reply_template(cfg, "payment_plan", "created")
    assert template is not None
    lang, subject, text = d.render_reply(template, "pt-BR", d.reply_context(_interaction(customer_name="Ana")))
    assert lang == "pt-BR" and "IN-2026-000001" in subject and "Prezado(a) Ana" in text
    lang, _, text = d.render_reply(template, "pt-PT", d.reply_context(_interaction()))
    assert lang == "en"  # no pt body: the default language
    assert d.reply_language(template, "en-GB") == "en"


def test_a_reply_template_cannot_reach_python_internals():
    from dunning.models.config import ReplyTemplate

    evil = ReplyTemplate.model_validate({"code": "x", "default_language": "en", "bodies": {"en": {
        "subject": "s", "text": "{{ interaction.__class__.__mro__ }}"}}})
    with pytest.raises(TemplateError):
        d.render_reply(evil, "en", d.reply_context(_interaction()))


def test_injection_in_a_subject_renders_as_text():
    from dunning.models.config import ReplyTemplate

    t = ReplyTemplate.model_validate({"code": "x", "default_language": "en",
                                      "bodies": {"en": {"subject": "Re: {{ interaction.subject }}", "text": "ok"}}})
    _, subject, _ = d.render_reply(t, "en", d.reply_context(_interaction(subject="{{ 7*7 }}\nBcc: x@evil")))
    assert subject == "Re: {{ 7*7 }} Bcc: x@evil"  # not evaluated, no header break


# ---------------------------------------------------------------------------------------------- links, uploads
def test_signed_links_verify_expire_and_resist_tampering():
    key = b"k" * 32
    token = d.sign_link(key, "i1", "a1", 1000)
    assert d.verify_link(key, token, 999) == ("i1", "a1")
    with pytest.raises(d.BadLink, match="expired"):
        d.verify_link(key, token, 1001)
    with pytest.raises(d.BadLink):
        d.verify_link(b"x" * 32, token, 999)
    _, mac = token.split(".")
    other = d.sign_link(key, "i1", "a2", 1000).split(".")[0]
    with pytest.raises(d.BadLink):
        d.verify_link(key, f"{other}.{mac}", 999)
    with pytest.raises(d.BadLink):
        d.verify_link(key, "garbage", 999)


def test_uploads_are_refused_by_type_size_and_name_and_checked_after_upload():
    assert d.upload_refusal("a.pdf", "application/pdf", 1000) is None
    assert "not allowed" in (d.upload_refusal("a.exe", "application/x-msdownload", 10) or "")
    assert d.upload_refusal("a.pdf", "application/pdf", d.MAX_ATTACHMENT_BYTES + 1) is not None
    assert d.upload_refusal("../a.pdf", "application/pdf", 10) is not None
    assert d.stored_refusal("application/pdf", 100, "application/pdf", 100) is None
    assert d.stored_refusal("application/pdf", 100, "text/html", 100) is not None
    assert d.stored_refusal("application/pdf", 100, "application/pdf", 101) is not None
    assert d.stored_refusal("image/png", d.MAX_ATTACHMENT_BYTES, "image/png", d.MAX_ATTACHMENT_BYTES + 1) is not None
    assert d.safe_filename('a"b\r\n.pdf') == "ab.pdf"
