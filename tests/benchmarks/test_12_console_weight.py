"""12. Console page weight: every console page, as the browser gets it from the local HttpApi gateway (the HTML
plus the same-origin stylesheets, scripts and images it loads; nothing comes from elsewhere), with the demo data
and run; and the run report of a big run (1M accounts: 1,000 batches, 40 hierarchies of 8 steps), rendered
in-process, since a report must stay small however big the run. Target: every page under 200 KB."""

from __future__ import annotations

import io
from typing import Any

import pytest

from tests.benchmarks.report import md_table

TARGET_KB = 200.0


@pytest.fixture(scope="module")
def console_pages() -> list[tuple[str, str, int, int, int]]:
    """(page, user, status, HTML bytes, asset bytes) for each console page on the demo stack."""
    from dunning_ops.local.console_demo import busiest_collector, demo_users, load_demo_data
    from dunning_ops.local.http_api import add_demo_users
    from dunning_ops.local.stack import REGION, LocalStack
    from dunning_ops.target import Target
    from tests.browser.client import Client

    stack = LocalStack.start(log_sink=io.StringIO(), capture_stdout=True)
    try:
        url = stack.start_http_api(None)
        run_id = load_demo_data(stack)
        settings = Target.from_args(stack.endpoint, None, REGION).settings
        users = {u.group: u for u in add_demo_users(stack, demo_users(busiest_collector(settings)))}
        letter = _a_letter(settings)
        pages = {
            "supervisor": [("sign-in", "/console/sign-in"), ("runs", "/console/runs"),
                           ("run report", f"/console/runs/{run_id}"),
                           ("run report (ar)", f"/console/runs/{run_id}?lang=ar"),
                           ("account", f"/console/accounts/{letter.account_id}"),
                           ("letter", f"/console/letters/{letter.contact_id}"),
                           ("rejected events", "/console/rejected"),
                           ("not found", "/console/no-such-page")],
            "collector": [("worklist", "/console/worklist"), ("refused (403)", "/console/runs")],
        }
        out = []
        for group, paths in pages.items():
            client = Client(url)
            client.sign_in(users[group])
            for name, path in paths:
                status, html, assets = client.page_weight(path)
                out.append((name, group, status, html, assets))
        return out
    finally:
        stack.stop()


def _a_letter(settings: Any) -> Any:
    from dunning.app.deps import stack_repositories

    letters = sorted((c for c in stack_repositories(settings).contacts.all() if c.action == "letter" and c.s3_key),
                     key=lambda c: c.contact_id)
    return letters[0]


def big_run_report_bytes() -> int:
    from dunning.app.queries import BatchSummary, RunDetail, RunSummary
    from dunning.app.run_report import report_of
    from dunning.console.report import static_run_report

    steps = {f"hierarchy_{h:02d}": {f"step_{s}": 1000 + s for s in range(8)} for h in range(40)}
    run = RunSummary.model_validate({"run_id": "run-big", "as_of": "2026-11-16", "status": "SUCCEEDED",
                                     "accounts_scanned": 1_000_000, "with_open_balance": 800_000,
                                     "contacts_by_action": {"letter": 300_000, "email": 200_000, "activity": 50_000},
                                     "outcomes": {"act": 500_000, "none": 250_000, "excluded": 50_000}})
    batches = [BatchSummary.model_validate({"batch": i, "by_language": {"en": 300, "ar": 100, "ru": 50},
                                            "by_step": steps if i == 0 else {}, "evaluate_ms": 900 + i % 97,
                                            "contacts_ms": 2000 + i % 89}) for i in range(1000)]
    set_aside = [{"account_id": f"A-{i}", "reason": "no person on the account"} for i in range(200)]
    return len(static_run_report(report_of(RunDetail(run=run, batches=batches, set_aside=set_aside)))
               .encode("utf-8"))


def test_every_console_page_is_under_200_kb(console_pages, report):
    rows = []
    heaviest = 0.0
    for name, group, status, html, assets in console_pages:
        total_kb = (html + assets) / 1024
        heaviest = max(heaviest, total_kb)
        rows.append([name, group, status, f"{html / 1024:.1f}", f"{assets / 1024:.1f}", f"{total_kb:.1f}"])
        assert status in (200, 403, 404), (name, status)
    big = big_run_report_bytes() / 1024
    rows.append(["run report of a 1M-account run (in-process, CSS inline)", "-", "-", f"{big:.1f}", "0.0",
                 f"{big:.1f}"])
    report.check(12, "Console: heaviest page (HTML + assets)", max(heaviest, big), TARGET_KB, "KB", fmt="{:,.1f}",
                 note=f"{len(console_pages)} pages on the demo stack + a 1M-account run report")
    report.section(12, "Every page as the browser loads it from the local gateway: the HTML and the same-origin "
                       "assets it links (one stylesheet, no script, no image, no font: system fonts). Uncompressed "
                       "bytes. The letter page's PDF is in a frame loaded from S3 (not counted: it is the letter).",
                   "", *md_table(["Page", "User", "Status", "HTML KB", "Assets KB", "Total KB"], rows))
    assert heaviest < TARGET_KB and big < TARGET_KB
