"""The interaction pages as they render (no AWS): what a customer wrote shows as text, the stage buttons carry the
version the move is conditional on, the mail settings decide the "Update and send mail" button, the upload form
posts straight to the bucket with the fields of its presigned POST, and the time report's tables add up."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from html import unescape
from typing import Any

from dunning.auth import Group, Principal
from dunning.console import pages, security
from dunning.console.i18n import Messages
from dunning.console.interaction_routes import AGENT_CHANNELS, ENTRY_KINDS, LINK_KINDS, SHARE_WITH, _helpers
from dunning.models.config import InteractionsConfig
from dunning.models.interactions import (
    Attachment,
    Interaction,
    InteractionDetail,
    SimilarRequests,
    Task,
    ThreadEntry,
    TimeEntry,
    UploadTicket,
)

AT = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
AGENT = Principal(user_id="u-1", username="agent@example.com", groups=frozenset({Group.AGENT}))
ADMIN = Principal(user_id="u-0", username="admin@example.com", groups=frozenset({Group.ADMIN}))
CONFIG = InteractionsConfig.model_validate({
    "processes": [{"id": "customer_requests", "name": "Customer requests",
                   "stages": [{"id": "in_progress", "name": "In progress"},
                              {"id": "resolved", "name": "Resolved", "closes": True}],
                   "transitions": [{"from": "registered", "to": ["in_progress", "resolved"]},
                                   {"from": "in_progress", "to": ["resolved"]}]}],
    "categories": [{"id": "invoice_dispute", "name": "Invoice dispute", "kind": "phone",
                    "process": "customer_requests", "time_required": True}],
    "mail": {"from_address": "support@example.com", "update_and_send_button": True}})
INJECTION = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def interaction(**over: Any) -> Interaction:
    values: dict[str, Any] = {
        "id": "i-1", "number": "IN-2026-000042", "channel": "phone", "category": "invoice_dispute",
        "process": "customer_requests", "stage": "registered", "subject": INJECTION, "account_id": "A-1",
        "customer_email": "c@example.com", "customer_name": "Ann", "created_at": AT, "updated_at": AT,
        "created_by": "agent@example.com", "version": 7}
    return Interaction.model_validate({**values, **over})


def render(template: str, user: Principal = AGENT, language: str = "en", **context: Any) -> str:
    msg = Messages(language)
    chrome = pages.Chrome(msg=msg, user=user, csrf="c" * 64, path="/console/interactions")
    return pages.render(template, chrome, **{**_helpers(CONFIG, msg), **context})


def detail_page(item: Interaction | None = None, *, send_button: bool = True, **over: Any) -> str:
    item = item or interaction()
    detail = InteractionDetail(
        interaction=item,
        thread=[ThreadEntry(entry_id="e-1", kind="comment", author="agent@example.com", at=AT, text=INJECTION,
                            visibility="customer"),
                ThreadEntry(entry_id="e-2", kind="note", author="agent@example.com", at=AT, text="call back at 3",
                            visibility="agents")],
        time=[TimeEntry(entry_id="t-1", agent="agent@example.com", started_at=AT, minutes=25, note="call"),
              TimeEntry(entry_id="t-2", agent="agent@example.com", started_at=AT, minutes=5, note="notes")],
        attachments=[Attachment(attachment_id="a-1", filename="scan.pdf", content_type="application/pdf",
                                size=2048, status="stored", uploaded_by="agent@example.com", at=AT)],
        allowed_moves=["in_progress", "resolved"])
    mail = CONFIG.mail.model_copy(update={"update_and_send_button": send_button})
    values: dict[str, Any] = {
        "detail": detail, "item": item, "moves": detail.allowed_moves,
        "similar": SimilarRequests(count=1, earlier=[interaction(id="i-0", number="IN-2026-000001",
                                                                 subject="earlier one")]),
        "tasks": [Task(task_id="k-1", title="Send a copy", assignee="agent@example.com", due_on=date(2026, 11, 21))],
        "account": None, "holds": [], "total_minutes": 30, "can_write": True, "mail": mail,
        "entry_kinds": ENTRY_KINDS, "link_kinds": LINK_KINDS, "share_with": SHARE_WITH,
        "content_types": ["application/pdf", "image/png"], "max_size": "10.0 MiB",
        "time_default": "2026-11-20T09:30", "today": "2026-11-20", "section": "interactions"}
    return render("interaction.html.j2", **{**values, **over})


def test_what_the_customer_wrote_shows_as_text_never_as_markup():
    page = detail_page()
    assert "<script>" not in page and "<img src=x" not in page
    assert page.count("&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") >= 2  # the subject and the comment


def test_each_allowed_move_is_a_button_of_one_form_that_carries_the_version_it_expects():
    page = detail_page()
    form = re.search(r'<form method="post" action="/console/interactions/i-1/moves".*?</form>', page, re.S)
    assert form, page
    assert 'name="expected_version" value="7"' in form.group(0)
    assert 'name="csrf" value="' + "c" * 64 in form.group(0)
    buttons = re.findall(r'<button type="submit" name="to_stage" value="([a-z_]+)"[^>]*>([^<]+)</button>',
                         form.group(0))
    assert buttons == [("in_progress", "Move to In progress"), ("resolved", "Move to Resolved")]


def test_a_closed_interaction_without_allowed_moves_has_no_move_form():
    page = detail_page(interaction(stage="resolved", status="closed"), moves=[])
    assert "/moves" not in page and "closed" in page


def test_the_update_and_send_button_follows_the_mail_setting():
    assert 'id="update-and-send"' in detail_page(send_button=True)
    assert 'id="update-and-send"' not in detail_page(send_button=False)


def test_every_form_control_has_a_label_and_every_post_form_a_csrf_token():
    page = detail_page()
    ids = set(re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', page))
    labelled = set(re.findall(r'<label[^>]*for="([^"]+)"', page))
    visible = {i for i in ids if i not in {"account-search"}}
    assert visible - labelled == set()
    radios = re.findall(r'<label class="choice"><input type="(?:radio|checkbox)"', page)
    assert len(radios) == len(ENTRY_KINDS) + len(SHARE_WITH) + 1  # wrapped in their label (+ the activity box)
    for form in re.findall(r'<form[^>]*method="post".*?</form>', page, re.S):
        assert 'name="csrf"' in form, form[:200]


def test_the_thread_marks_internal_notes_and_the_time_list_totals_its_entries():
    page = detail_page()
    assert "Internal note" in page and "internal" in page
    assert re.search(r'id="time-total">30<', page)
    assert "This customer raised this kind of request 1 times before." in page
    assert 'href="/console/interactions/i-0"' in page


def test_the_account_s_held_invoices_show_as_the_ledger_has_them_with_a_resolve_button_for_a_dispute():
    from dunning.models.accounts import InvoiceHold

    account = type("A", (), {"account_id": "A-1", "person_id": "P-1", "currency": "EUR", "open_balance": 120,
                             "invoices": []})()
    holds = [InvoiceHold(account_id="A-1", invoice_id="INV-1", status="disputed", held=True, as_of=date(2026, 11, 20),
                         reason="disputed", reference="IN-2026-000042"),
             InvoiceHold(account_id="A-1", invoice_id="INV-2", status="promise_broken", held=False,
                         as_of=date(2026, 11, 20), reason="promise broken", reference="IN-2026-000041",
                         currency="EUR", amount="50.00")]
    page = detail_page(account=account, holds=holds)
    assert "/disputes/INV-1/resolve" in page and "/disputes/INV-2/resolve" not in page
    assert "Disputed" in page and "Promise broken" in page and "held: the collections run skips it" in page


def test_the_upload_form_posts_the_presigned_fields_and_then_the_file_straight_to_the_bucket():
    ticket = UploadTicket(attachment_id="a-9", url="https://attachments.s3.amazonaws.com/",
                          fields={"key": "attachments/i-1/a-9", "Content-Type": "application/pdf",
                                  "policy": "eyJ9", "x-amz-signature": "abc"},
                          expires_at=AT, max_size=10 * 1024 * 1024, content_type="application/pdf")
    fields = {**ticket.fields, "success_action_redirect": "https://console.example/console/interactions/i-1/"
                                                          "attachments/a-9/complete"}
    page = render("interaction_upload.html.j2", interaction_id="i-1", ticket=ticket, fields=fields,
                  filename="scan.pdf", content_type="application/pdf", max_size="10.0 MiB",
                  max_bytes=10 * 1024 * 1024, section="interactions")
    form = re.search(r'<form method="post" action="([^"]+)" enctype="multipart/form-data".*?</form>', page, re.S)
    assert form and form.group(1) == ticket.url
    names = re.findall(r'<input [^>]*name="([^"]+)"', form.group(0))
    assert names[-1] == "file" and set(names[:-1]) == set(fields)  # S3 reads the fields before the file
    assert 'name="csrf"' not in form.group(0)  # the bucket gets only what its policy signs
    redirect = re.search(r'name="success_action_redirect" value="([^"]+)"', page)
    assert redirect and unescape(redirect.group(1)).endswith("/attachments/a-9/complete")
    csp = security.content_security_policy(form_origin=security.origin_of(ticket.url))
    assert "form-action 'self' https://attachments.s3.amazonaws.com;" in csp + ";"
    assert "form-action 'self'" in security.content_security_policy() and "s3" not in security.content_security_policy()


def test_the_phone_form_offers_the_agent_channels_and_the_configured_categories():
    page = render("interaction_new.html.j2", categories=CONFIG.categories, channels=AGENT_CHANNELS, account_id="",
                  account=None, missing=False, values={"channel": "phone", "category": ""}, user_name="a",
                  section="interactions")
    assert re.findall(r'<option value="([a-z_]+)"', page) == [*AGENT_CHANNELS, "invoice_dispute"]
    assert 'id="customer_email"' in page  # no account chosen: the caller's own details


def test_the_navigation_shows_interactions_to_agents_and_stage_membership_to_admins_only():
    agent = render("error.html.j2", heading="x", detail="y")
    admin = render("error.html.j2", user=ADMIN, heading="x", detail="y")
    assert 'href="/console/interactions"' in agent and 'href="/console/interaction-stages"' not in agent
    assert 'href="/console/reports/time"' not in agent
    assert 'href="/console/interaction-stages"' in admin and 'href="/console/reports/time"' in admin


def test_the_time_report_charts_and_tables_add_up_to_the_totals():
    from dunning.console.interaction_routes import time_views
    from dunning.models.interactions import TimeReport

    report = TimeReport(start=date(2026, 11, 1), end=date(2026, 11, 30), total_minutes=95, total_entries=4,
                        by_day={"2026-11-02": 60, "2026-11-01": 35}, by_category={"invoice_dispute": 95},
                        by_agent={"ann": 70, "bob": 25})
    views = time_views(report, CONFIG, Messages("en"))
    assert [v.id for v in views] == ["by-category", "by-agent", "by-day"]
    for view in views:
        assert sum(int(row[1].split()[0]) for row in view.rows) == report.total_minutes
        assert 'role="img"' in view.svg and "<title" in view.svg
    assert views[0].rows == [["Invoice dispute", "95 min"]]
    assert [r[0] for r in views[2].rows] == ["Nov 1, 2026", "Nov 2, 2026"]  # oldest day first
    page = render("reports_time.html.j2", user=ADMIN, report=report, views=views, start=report.start,
                  end=report.end, csv_url="/console/reports/time?format=csv", section="reports")
    assert re.search(r'id="total-minutes">95<', page) and 'href="/console/reports/time?format=csv"' in page
    assert page.count('<svg class="chart"') == 3


def test_the_content_report_names_stages_and_lists_each_interaction_with_its_subject_as_text():
    from dunning.console.interaction_routes import content_views
    from dunning.interactions.domain import fold_content

    items = [interaction(), interaction(id="i-2", number="IN-2026-000043", channel="internet", stage="in_progress",
                                        subject="plan please")]
    report = fold_content(date(2026, 11, 1), date(2026, 11, 30), items)
    views = content_views(report, CONFIG, Messages("en"))
    stage = next(v for v in views if v.id == "content-stage")
    assert sorted(stage.rows) == [["In progress", "1"], ["Registered", "1"]]  # one process: the stage names
    page = render("reports_content.html.j2", user=ADMIN, report=report, views=views, start=report.start,
                  end=report.end, csv_url="/x", section="reports")
    assert "IN-2026-000043" in page and "plan please" in page and "<script>" not in page
