"""The run report is built from what the run recorded (its summary and batch results) and renders as a page
whose charts each have a data table; ``make demo`` writes it as one self-contained file."""

from __future__ import annotations

import re

from dunning.app.queries import BatchSummary, RunDetail, RunSummary
from dunning.app.run_report import PER_BATCH_LIMIT, report_of
from dunning.console.report import static_run_report


def detail(batches: int = 2, **run: object) -> RunDetail:
    summary = RunSummary.model_validate({
        "run_id": "run-2026-11-16-abc", "as_of": "2026-11-16", "status": "SUCCEEDED",
        "started_at": "2026-11-16T05:00:00+00:00", "finished_at": "2026-11-16T05:00:42+00:00",
        "accounts_scanned": 120, "with_open_balance": 100, "acting_accounts": 60, "contacts_created": 70,
        "contacts_by_action": {"letter": 40, "email": 20, "activity": 10},
        "outcomes": {"act": 60, "none": 25, "excluded": 10, "unassigned": 5}, "config_version": "v7", **run})
    rows = [BatchSummary.model_validate({
        "batch": i, "with_open_balance": 50, "by_language": {"en": 20, "ar": 15},
        "by_step": {"residential": {"reminder": 10, "final": 5}, "vip": {"call": 3}},
        "evaluate_ms": 100.0 + i, "contacts_ms": 300.0 + i}) for i in range(batches)]
    return RunDetail(run=summary, batches=rows,
                     set_aside=[{"account_id": "A-S-1", "reason": "no person on the account"}])


def test_the_funnel_follows_the_accounts_from_scan_to_outcome():
    f = report_of(detail()).funnel
    assert (f.scanned, f.open_balance, f.acted, f.excluded, f.nothing_due, f.unassigned, f.set_aside) == (
        120, 100, 60, 10, 25, 5, 1)


def test_languages_and_steps_add_up_over_the_batches():
    report = report_of(detail(batches=3))
    assert report.contacts_by_language == {"en": 60, "ar": 45}
    assert report.steps_by_hierarchy == {"residential": {"reminder": 30, "final": 15}, "vip": {"call": 9}}
    assert [b.total_ms for b in report.batches] == [400.0, 402.0, 404.0]
    assert report.duration_seconds == 42


def test_a_big_run_shows_the_spread_of_batch_times_and_only_the_slowest_batches():
    report = report_of(detail(batches=PER_BATCH_LIMIT + 10))
    assert report.timing_spread is not None and report.timing_spread.batches == PER_BATCH_LIMIT + 10
    assert len(report.batches) == 10 and report.batches[0].batch == PER_BATCH_LIMIT + 9


def test_a_run_with_many_accounts_set_aside_lists_the_first_hundred_and_counts_them_all():
    many = detail()
    many.set_aside = [{"account_id": f"A-{i}", "reason": "no person"} for i in range(250)]
    report = report_of(many)
    assert report.funnel.set_aside == 250 and len(report.set_aside) == 100
    assert "The first 100 of 250 accounts set aside." in static_run_report(report)


def test_a_run_recorded_before_the_report_fields_existed_gives_empty_charts_not_an_error():
    old = RunDetail(run=RunSummary(run_id="r", as_of="2026-11-16", status="SUCCEEDED"),
                    batches=[BatchSummary(batch=0)])
    report = report_of(old)
    assert report.contacts_by_language == {} and report.batches == [] and report.funnel.scanned == 0


def test_the_static_report_is_one_file_with_inline_css_charts_and_their_tables():
    html = static_run_report(report_of(detail()))
    assert 'rel="stylesheet"' not in html and "<style>" in html and "<script" not in html
    assert len(re.findall(r'<svg class="chart"', html)) == 5
    assert len(re.findall(r"<table>", html)) >= 5
    assert "A-S-1" in html and "no person on the account" in html
    assert 'href="/console' not in html.split("</header>")[1]  # no links into a console that is not there


def test_the_arabic_report_is_right_to_left_with_arabic_labels():
    html = static_run_report(report_of(detail()), "ar")
    assert '<html lang="ar" dir="rtl">' in html
    assert "الحسابات خلال التشغيل" in html
