"""Interactions in a real browser (headless Chromium) on the local stack with the demo data: an agent records a
phone request on a customer's behalf, moves it through its stages (a stale move is a clear conflict), replies by
email, logs time and attaches a file (the browser posts it straight to the attachments bucket); a supervisor reads
the time report. Screenshots land in out/screenshots/ (20-...)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.browser.client import Client
from tests.browser.conftest import TABLET, Console, shot
from tests.browser.test_console import by, csp_violations, heading, sign_in, wait_for, wait_url

ACCOUNT = "A-0001"  # a demo account (with a person and open invoices)


@pytest.fixture(scope="module")
def demo(console: Console) -> Iterator[list[Any]]:
    """The demo stage memberships and interactions, as ``make console`` loads them."""
    from dunning_ops.local.console_demo import load_demo_interactions

    yield load_demo_interactions(console.stack, console.users.values())


def record_phone_request(browser: Any, console: Console, subject: str) -> str:
    """Record a phone request for ACCOUNT through the form; the new interaction's id."""
    from selenium.webdriver.support.ui import Select

    browser.get(f"{console.url}/console/interactions/new")
    wait_for(browser, "#lookup-account").send_keys(ACCOUNT)
    browser.find_element(by().CSS_SELECTOR, "#lookup-heading ~ form button").click()
    wait_for(browser, "#looked-up")
    Select(browser.find_element(by().ID, "channel")).select_by_value("phone")
    Select(browser.find_element(by().ID, "category")).select_by_value("invoice_dispute")
    browser.find_element(by().ID, "subject").send_keys(subject)
    browser.find_element(by().ID, "text").send_keys("Calls about the estimated reading on the last invoice.")
    browser.find_element(by().CSS_SELECTOR, "#record-heading ~ form button[type=submit]").click()
    wait_url(browser, "done=interaction_recorded")
    found = re.search(r"/console/interactions/([^?#/]+)\?", browser.current_url)
    assert found, browser.current_url
    return found.group(1)


def stage(browser: Any) -> str:
    return str(browser.find_element(by().ID, "stage").text)


def test_an_agent_records_a_phone_interaction_for_a_customer(console, browser, demo):
    sign_in(browser, console, "agent")
    wait_url(browser, "/console")
    browser.find_element(by().LINK_TEXT, "Interactions").click()
    wait_url(browser, "/console/interactions")
    rows = browser.find_elements(by().CSS_SELECTOR, "#interactions tbody tr th a")
    assert {r.text for r in rows} >= {i.number for i in demo if i.stage != "resolved"} - {None}
    shot(browser, "20-interactions-list")
    browser.find_element(by().LINK_TEXT, "Record a phone interaction").click()
    wait_url(browser, "/console/interactions/new")
    shot(browser, "21-record-phone-form")
    subject = "<b>Estimated</b> reading on the last invoice"
    interaction_id = record_phone_request(browser, console, subject)
    assert re.match(r"^IN-\d{4}-\d{6} ", heading(browser))
    assert subject in heading(browser)  # typed markup shows as text
    header = browser.find_element(by().ID, "interaction-header").text
    assert "Phone" in header and "Invoice dispute" in header and ACCOUNT in header and "Registered" in header
    assert "The interaction is recorded." in browser.find_element(by().CSS_SELECTOR, ".notice").text
    assert browser.find_elements(by().CSS_SELECTOR, "h1 b") == []
    assert csp_violations(browser) == []
    shot(browser, "22-interaction-recorded")
    browser.get(f"{console.url}/console/accounts/{ACCOUNT}")  # the account page lists its interactions
    listed = wait_for(browser, "#account-interactions").text
    assert subject in listed
    assert browser.find_elements(by().CSS_SELECTOR, f"#account-interactions a[href$='{interaction_id}']")


def test_the_agent_moves_it_through_its_stages_and_a_stale_move_is_a_clear_conflict(console, browser, demo):
    sign_in(browser, console, "agent")
    wait_url(browser, "/console")
    interaction_id = record_phone_request(browser, console, "Moves through the stages")
    page = f"/console/interactions/{interaction_id}"
    stale = Client(console.url)  # a second agent's view, read before the move
    stale.sign_in(console.users["agent"])
    _, _, before = stale.request(page)
    version = re.search(r'name="expected_version" value="(\d+)"', before)
    assert version
    browser.find_element(by().XPATH, "//button[normalize-space()='Move to In progress']").click()
    wait_url(browser, "done=interaction_moved")
    assert stage(browser) == "In progress"
    buttons = [b.text for b in browser.find_elements(by().CSS_SELECTOR, "#move-form button")]
    assert buttons == ["Move to Awaiting customer", "Move to Resolved"]
    shot(browser, "23-interaction-moved")
    status, _, body = stale.request(f"{page}/moves", {"to_stage": "awaiting_customer",
                                                     "expected_version": version.group(1), "csrf": stale.csrf(page)})
    assert status == 409 and "Someone else changed this interaction" in body
    browser.find_element(by().XPATH, "//button[normalize-space()='Move to Awaiting customer']").click()
    wait_url(browser, "done=interaction_moved")
    assert stage(browser) == "Awaiting customer"
    history = browser.find_element(by().CSS_SELECTOR, "details.moves")
    history.find_element(by().TAG_NAME, "summary").click()
    assert "Registered → In progress" in history.text and "In progress → Awaiting customer" in history.text


def test_the_agent_replies_by_email_and_with_update_and_send(console, browser, demo):
    from selenium.webdriver.support.ui import Select

    if not console.stack.outputs.get("InteractionSigningSecretArn"):
        pytest.skip("the local stack has no signing secret (moto's CloudFormation cannot make a SecretsManager "
                    "secret): replies need it for their signed reply address")
    sign_in(browser, console, "agent")
    wait_url(browser, "/console")
    interaction_id = record_phone_request(browser, console, "Wants the answer by email")
    form = browser.find_element(by().ID, "reply-form")
    form.find_element(by().CSS_SELECTOR, "input[name=kind][value=email]").click()
    form.find_element(by().ID, "reply-text").send_keys("We checked the reading: the invoice is corrected.")
    form.find_element(by().CSS_SELECTOR, "button[value=save]").click()
    wait_url(browser, "done=reply_sent")
    sent = browser.find_elements(by().CSS_SELECTOR, "#thread .entry.kind-email_out")
    assert sent and "the invoice is corrected" in sent[-1].text and "Email to the customer" in sent[-1].text
    shot(browser, "24-reply-by-email")
    form = browser.find_element(by().ID, "reply-form")
    form.find_element(by().ID, "reply-text").send_keys("We are looking into it and will call you back.")
    Select(form.find_element(by().ID, "reply-stage")).select_by_value("in_progress")
    form.find_element(by().ID, "update-and-send").click()
    wait_url(browser, "done=updated_and_sent")
    assert stage(browser) == "In progress"
    assert len(browser.find_elements(by().CSS_SELECTOR, "#thread .entry.kind-email_out")) == 2
    assert interaction_id in browser.current_url


def test_the_agent_logs_time_and_it_adds_up(console, browser, demo):
    sign_in(browser, console, "agent")
    wait_url(browser, "/console")
    record_phone_request(browser, console, "Time is logged on it")
    started = (datetime.now(UTC) - timedelta(minutes=50)).strftime("%Y-%m-%dT%H:%M")
    for minutes, note in (("25", "first call"), ("10", "follow-up")):
        form = browser.find_element(by().ID, "time-form")
        browser.execute_script("document.getElementById('time-start').value = arguments[0]", started)
        form.find_element(by().ID, "time-minutes").send_keys(minutes)
        form.find_element(by().ID, "time-note").send_keys(note)
        form.find_element(by().CSS_SELECTOR, "button[type=submit]").click()
        wait_url(browser, "done=time_logged")
    rows = browser.find_elements(by().CSS_SELECTOR, "#time-entries tbody tr")
    assert len(rows) == 2 and browser.find_element(by().ID, "time-total").text == "35"
    shot(browser, "25-time-logged")


def test_the_agent_attaches_a_file_straight_to_the_bucket_and_a_wrong_type_is_refused(console, browser, demo,
                                                                                      tmp_path: Path):
    from selenium.webdriver.support.ui import Select

    sign_in(browser, console, "agent")
    wait_url(browser, "/console")
    interaction_id = record_phone_request(browser, console, "Sends a photo of the meter")
    pdf = tmp_path / "meter-reading.pdf"
    pdf.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")

    def upload(path: Path, declared: str) -> None:
        form = browser.find_element(by().ID, "attach-form")
        form.find_element(by().ID, "att-filename").send_keys(path.name)
        Select(form.find_element(by().ID, "att-type")).select_by_value(declared)
        form.find_element(by().CSS_SELECTOR, "input[name=shared_with][value=customer]").click()
        form.find_element(by().CSS_SELECTOR, "button[type=submit]").click()
        wait_for(browser, "#upload-form")
        action = browser.find_element(by().ID, "upload-form").get_attribute("action")
        assert action.startswith(console.endpoint)  # the bucket itself, not the console
        browser.find_element(by().ID, "upload-file").send_keys(str(path))
        browser.find_element(by().CSS_SELECTOR, "#upload-form button[type=submit]").click()

    upload(pdf, "application/pdf")
    wait_url(browser, "done=attachment_stored")
    files = browser.find_element(by().ID, "attachments").text
    assert "meter-reading.pdf" in files and "shared with the customer" in files
    assert csp_violations(browser) == []
    shot(browser, "26-attachment-stored")
    link = browser.find_element(by().LINK_TEXT, "meter-reading.pdf").get_attribute("href")
    client = Client(console.url)
    client.sign_in(console.users["agent"])
    status, headers, _ = client.request(link.removeprefix(console.url))
    assert status == 303 and headers["location"].startswith(console.endpoint)
    browser.get(f"{console.url}/console/accounts/{ACCOUNT}")  # the account's archive holds the file too
    assert "meter-reading.pdf" in wait_for(browser, "#archive").text
    browser.get(f"{console.url}/console/interactions/{interaction_id}")

    text = tmp_path / "notes.txt"
    text.write_text("plain text, declared as an image")
    upload(text, "image/png")  # the page's own check refuses it before it is sent
    problem = wait_for(browser, "#upload-problem")
    assert problem.is_displayed() and "not of the type chosen" in problem.text
    assert browser.current_url.startswith(console.url)  # still on the console: nothing was sent
    shot(browser, "27-attachment-wrong-type")

    browser.get(f"{console.url}/console/interactions/{interaction_id}")
    big = tmp_path / "scan-too-big.pdf"
    big.write_bytes(b"%PDF-1.4\n" + b"0" * (10 * 1024 * 1024 + 1))
    upload(big, "application/pdf")
    problem = wait_for(browser, "#upload-problem")
    assert problem.is_displayed() and "too large" in problem.text
    browser.execute_script("document.getElementById('upload-form').submit()")  # past the page's check
    wait_for(browser, "#refused")  # the console's check after the upload (HEAD) refuses it and removes it
    assert "The file is too large." in browser.find_element(by().ID, "refused").text
    shot(browser, "28-attachment-refused")
    browser.get(f"{console.url}/console/interactions/{interaction_id}")
    files = wait_for(browser, "#attachments").text
    assert "scan-too-big.pdf" in files and "refused" in files


def test_a_supervisor_reads_the_time_report_whose_totals_add_up(console, browser, demo):
    sign_in(browser, console, "supervisor")
    wait_url(browser, "/console/runs")
    browser.find_element(by().LINK_TEXT, "Interaction reports").click()
    wait_url(browser, "/console/reports/time")
    assert heading(browser) == "Time spent"
    total = int(browser.find_element(by().ID, "total-minutes").text.replace(",", ""))
    assert total >= sum(m for d in _demo_time() for m, _ in d)
    charts = browser.find_elements(by().CSS_SELECTOR, "svg.chart[role=img]")
    assert len(charts) == 3
    for section in ("by-category", "by-agent", "by-day"):
        rows = browser.find_elements(by().CSS_SELECTOR, f"#{section}-heading ~ div tbody tr td")
        assert sum(int(r.text.split()[0].replace(",", "")) for r in rows) == total, section
    assert "Invoice dispute" in browser.find_element(by().ID, "by-category-heading").find_element(
        by().XPATH, "..").text
    assert csp_violations(browser) == []
    shot(browser, "29-time-report")
    csv = browser.find_element(by().ID, "csv-link").get_attribute("href")
    client = Client(console.url)
    client.sign_in(console.users["supervisor"])
    status, headers, body = client.request(csv.removeprefix(console.url))
    assert status == 200 and headers["content-type"].startswith("text/csv") and "invoice_dispute" in body
    browser.find_element(by().LINK_TEXT, "Interaction content").click()
    wait_url(browser, "/console/reports/content")
    assert len(browser.find_elements(by().CSS_SELECTOR, "svg.chart[role=img]")) == 3
    shot(browser, "30-content-report")


def test_an_admin_manages_stage_members_and_the_detail_fits_a_tablet(console, browser, demo):
    sign_in(browser, console, "admin")
    wait_url(browser, "/console")
    browser.get(f"{console.url}/console/interaction-stages")
    assert heading(browser) == "Stage members"
    assert console.users["agent"].username in browser.find_element(by().ID, "stages").text
    shot(browser, "31-stage-members")
    browser.set_window_size(*TABLET)
    browser.get(f"{console.url}/console/interactions/{demo[0].id}")
    wait_for(browser, "#thread")
    overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than a tablet"
    shot(browser, "32-interaction-tablet")


def _demo_time() -> list[tuple[tuple[int, int], ...]]:
    from dunning_ops.local.console_demo import DEMO_INTERACTIONS

    return [d.time for d in DEMO_INTERACTIONS]
