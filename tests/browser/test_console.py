"""The console in a real browser (headless Chromium), against the local stack with the demo data and run.

Each test signs in as a demo user through the sign-in page and works the console with the mouse and keyboard
as a person would; screenshots of every page land in out/screenshots/.
"""

from __future__ import annotations

import http.cookiejar
import re
import time
import urllib.parse
import urllib.request
from typing import Any

from tests.browser.client import Client
from tests.browser.conftest import TABLET, Console, shot

WAIT = 20


def by() -> Any:
    from selenium.webdriver.common.by import By

    return By


def wait_for(driver: Any, css: str) -> Any:
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT).until(ec.presence_of_element_located((by().CSS_SELECTOR, css)))


def wait_url(driver: Any, fragment: str) -> None:
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, WAIT).until(ec.url_contains(fragment))


def sign_in(driver: Any, console: Console, group: str, password: str | None = None) -> None:
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    user = console.users[group]
    driver.get(console.url + "/console/sign-in?lang=en")
    wait_for(driver, "#email").send_keys(user.username)
    driver.find_element(by().ID, "password").send_keys((password or user.password) + Keys.ENTER)
    # the answer: signed in (the page left sign-in, the session cookie set) or refused (the alert); a test that
    # navigated on at once could leave before the cookie is set ("/console" is in the sign-in URL too)
    WebDriverWait(driver, WAIT).until(lambda d: "/console/sign-in" not in d.current_url
                                      or d.find_elements(by().CSS_SELECTOR, "p.notice.error[role=alert]"))


def heading(driver: Any) -> str:
    return str(wait_for(driver, "h1").text)


def csp_violations(driver: Any) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if "Content Security Policy" in e["message"]]


def a_letter_contact(console: Console) -> Any:
    """A run letter with its PDF (from the demo run), for the account and letter tests."""
    from dunning.app.deps import stack_repositories
    from dunning_ops.local.stack import REGION
    from dunning_ops.target import Target

    contacts = stack_repositories(Target.from_args(console.endpoint, None, REGION).settings).contacts
    letters = sorted((c for c in contacts.all() if c.action == "letter" and c.s3_key and c.source == "run"),
                     key=lambda c: c.contact_id)
    assert letters, "the demo run made no letter"
    return letters[0]


# ---------------------------------------------------------------------------------------------- sign-in
def test_signing_in_sets_http_only_session_cookies_and_signing_out_ends_the_session(console, browser):
    sign_in(browser, console, "supervisor", password="not-the-password-1")
    alert = wait_for(browser, "[role=alert]")
    assert "not right" in alert.text and "/console/sign-in" in browser.current_url
    shot(browser, "01-sign-in-refused")

    sign_in(browser, console, "supervisor")
    wait_url(browser, "/console/runs")
    assert heading(browser) == "Collections runs"
    cookies = {c["name"]: c for c in browser.get_cookies()}
    assert {"dunning_session", "dunning_sid"} <= set(cookies)
    assert all(c["httpOnly"] and c["sameSite"] == "Lax" for c in cookies.values()), cookies
    assert browser.execute_script("return document.cookie") == ""  # no script can read the session
    shot(browser, "02-runs")

    browser.find_element(by().CSS_SELECTOR, "form[action='/console/sign-out'] button").click()
    wait_url(browser, "/console/sign-in")
    browser.get(console.url + "/console/runs")
    wait_url(browser, "/console/sign-in?next=/console/runs")
    assert "dunning_session" not in {c["name"] for c in browser.get_cookies()}


def test_the_skip_link_is_the_first_stop_for_the_keyboard(console, browser):
    from selenium.webdriver.common.keys import Keys

    sign_in(browser, console, "supervisor")
    wait_url(browser, "/console/runs")
    browser.find_element(by().TAG_NAME, "body").send_keys(Keys.TAB)
    focused = browser.switch_to.active_element
    assert focused.get_attribute("class") == "skip-link"
    focused.send_keys(Keys.ENTER)
    assert browser.switch_to.active_element.get_attribute("id") == "main"


# ---------------------------------------------------------------------------------------------- runs
def test_the_run_report_shows_every_chart_with_its_text_alternative(console, browser):
    sign_in(browser, console, "supervisor")
    wait_url(browser, "/console/runs")
    browser.find_element(by().LINK_TEXT, console.run_id).click()
    wait_url(browser, f"/console/runs/{console.run_id}")
    assert heading(browser) == f"Run {console.run_id}"
    charts = browser.find_elements(by().CSS_SELECTOR, "svg.chart[role=img]")
    assert len(charts) == 5
    for chart in charts:
        title = chart.find_element(by().TAG_NAME, "title").get_attribute("textContent")
        desc = chart.find_element(by().TAG_NAME, "desc").get_attribute("textContent")
        assert title and desc
        assert chart.get_attribute("aria-labelledby") == f"{chart.get_attribute('id')}-title " \
                                                          f"{chart.get_attribute('id')}-desc"
    funnel = browser.find_element(by().ID, "funnel-heading").find_element(by().XPATH, "..")
    rows = {r.find_element(by().TAG_NAME, "th").text: r.find_element(by().TAG_NAME, "td").text
            for r in funnel.find_elements(by().CSS_SELECTOR, "tbody tr")}
    assert int(rows["Scanned"]) >= int(rows["With an open balance"]) >= int(rows["Acted on"]) > 0
    bars = browser.find_elements(by().CSS_SELECTOR, "#chart-timings rect.seg-evaluate")
    assert len(bars) > 1  # one per batch (and the legend)
    assert csp_violations(browser) == []
    shot(browser, "03-run-report")


def test_the_run_report_in_arabic_is_right_to_left_and_fits_a_tablet(console, browser):
    sign_in(browser, console, "supervisor")
    wait_url(browser, "/console/runs")
    browser.set_window_size(*TABLET)
    browser.get(f"{console.url}/console/runs/{console.run_id}?lang=ar")
    wait_for(browser, "svg.chart")
    html = browser.find_element(by().TAG_NAME, "html")
    assert (html.get_attribute("dir"), html.get_attribute("lang")) == ("rtl", "ar")
    assert heading(browser).startswith("التشغيل")
    overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than a tablet"
    shot(browser, "09-run-report-ar-tablet")
    browser.get(f"{console.url}/console/runs?lang=en")  # the language choice is kept in a cookie until changed
    assert heading(browser) == "Collections runs"


# ---------------------------------------------------------------------------------------------- accounts
def test_an_account_shows_the_decision_and_its_reasons_for_the_date_asked(console, browser):
    from selenium.webdriver.common.keys import Keys

    from dunning.app.deps import read_deps
    from dunning.app.queries import account_decision
    from dunning_ops.local.demo_data import DEMO_AS_OF
    from dunning_ops.local.stack import REGION
    from dunning_ops.target import Target

    account = a_letter_contact(console).account_id
    sign_in(browser, console, "supervisor")
    wait_url(browser, "/console/runs")
    search = browser.find_element(by().ID, "account-search")
    search.send_keys(account + Keys.ENTER)
    wait_url(browser, f"/console/accounts/{account}")
    assert heading(browser) == f"Account {account}"
    day = DEMO_AS_OF.isoformat()
    browser.execute_script("document.getElementById('as_of').value = arguments[0]", day)  # a date picker value
    browser.find_element(by().CSS_SELECTOR, "#why-heading ~ form button").click()
    wait_url(browser, f"as_of={day}")
    decision = browser.find_element(by().ID, "decision")
    expected = account_decision(read_deps(Target.from_args(console.endpoint, None, REGION).settings), account,
                                DEMO_AS_OF)
    text = decision.text
    assert expected.reasons or expected.would
    for line in [*expected.reasons, *expected.would]:
        assert line in text, line
    assert browser.find_elements(by().CSS_SELECTOR, "#invoices-heading ~ div tbody tr")
    assert browser.find_elements(by().CSS_SELECTOR, ".timeline li")
    shot(browser, "04-account-why")


def test_a_supervisor_assigns_an_account_to_a_strategy_by_hand_and_clears_it(console, browser):
    from selenium.webdriver.support.ui import Select

    account = a_letter_contact(console).account_id
    sign_in(browser, console, "supervisor")
    wait_url(browser, "/console/runs")
    browser.get(f"{console.url}/console/accounts/{account}")
    hierarchy = Select(wait_for(browser, "#hierarchy"))
    choice = hierarchy.options[-1].get_attribute("value")
    hierarchy.select_by_value(choice)
    browser.find_element(by().ID, "assignment-note").send_keys("moved by hand in a test")
    browser.find_element(by().CSS_SELECTOR, "#assignment-heading ~ form button").click()
    wait_url(browser, "done=assignment")
    assert f"Assigned by hand to {choice}" in browser.find_element(by().ID, "assignment-heading").find_element(
        by().XPATH, "..").text
    assert "The strategy assignment is saved." in browser.find_element(by().CSS_SELECTOR, ".notice").text
    shot(browser, "10-manual-assignment")
    Select(browser.find_element(by().ID, "hierarchy")).select_by_value("")
    browser.find_element(by().CSS_SELECTOR, "#assignment-heading ~ form button").click()
    wait_url(browser, "done=assignment")
    assert "Assigned by the customer pools" in browser.page_source


def test_a_letter_opens_inline_from_a_short_lived_link(console, browser):
    letter = a_letter_contact(console)
    sign_in(browser, console, "supervisor")
    wait_url(browser, "/console/runs")
    browser.get(f"{console.url}/console/accounts/{letter.account_id}")
    link = browser.find_element(by().CSS_SELECTOR, f"a[href='/console/letters/{letter.contact_id}']")
    link.click()
    wait_url(browser, f"/console/letters/{letter.contact_id}")
    frame = wait_for(browser, "iframe#letter-frame")
    src = frame.get_attribute("src")
    assert src.startswith(console.endpoint)  # the letters bucket, presigned: the bytes never pass the console
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(src).query)
    lifetime = int(query["X-Amz-Expires"][0]) if "X-Amz-Expires" in query else int(query["Expires"][0]) - time.time()
    assert 0 < lifetime <= 300  # five minutes at most (SigV4 names the lifetime, SigV2 the moment it ends)
    with urllib.request.urlopen(src) as answer:
        assert answer.read(5) == b"%PDF-"
    assert frame.get_attribute("title")
    assert csp_violations(browser) == []  # the frame's origin is allowed by the page's CSP
    time.sleep(4)  # Chromium's PDF viewer draws the page a moment after the frame has loaded
    shot(browser, "05-letter", full_page=False)


# ---------------------------------------------------------------------------------------------- worklist
def test_a_collector_completes_an_activity_with_an_outcome(console, browser):
    from selenium.webdriver.support.ui import Select

    from dunning.app.deps import stack_repositories
    from dunning_ops.local.stack import REGION
    from dunning_ops.target import Target

    sign_in(browser, console, "collector")
    wait_url(browser, "/console/worklist")
    assert heading(browser) == "My worklist"
    forms = browser.find_elements(by().CSS_SELECTOR, "form[action$='/complete']")
    assert forms, "the demo collector has no open activity"
    before = len(forms)
    shot(browser, "06-worklist")
    first = forms[0]
    contact_id = first.get_attribute("action").rsplit("/", 2)[-2]
    panel = first.find_element(by().XPATH, "ancestor::section")
    assert "Lead invoice" in panel.text and "The account's history" in panel.text
    Select(first.find_element(by().CSS_SELECTOR, "select[name=outcome]")).select_by_value("promise_to_pay")
    first.find_element(by().CSS_SELECTOR, "textarea[name=note]").send_keys("Customer will pay on Friday")
    first.find_element(by().CSS_SELECTOR, "button[type=submit]").click()
    wait_url(browser, "done=completed")
    assert "The activity is completed." in browser.find_element(by().CSS_SELECTOR, ".notice").text
    assert len(browser.find_elements(by().CSS_SELECTOR, "form[action$='/complete']")) == before - 1
    shot(browser, "07-worklist-completed")
    stored = stack_repositories(Target.from_args(console.endpoint, None, REGION).settings).contacts.get(contact_id)
    assert stored is not None and stored.status == "closed"
    assert "promise_to_pay" in stored.history[-1].reason


def test_a_collector_is_refused_a_supervisor_page(console, browser):
    sign_in(browser, console, "collector")
    wait_url(browser, "/console/worklist")
    nav = browser.find_element(by().CSS_SELECTOR, ".site-nav").text
    assert "Runs" not in nav and "Rejected events" not in nav
    browser.get(f"{console.url}/console/runs/{console.run_id}")
    assert heading(browser) == "Not allowed"
    assert console.run_id not in browser.page_source
    shot(browser, "08-collector-refused")


def test_the_rejected_events_page_lists_reasons(console, browser):
    sign_in(browser, console, "supervisor")
    wait_url(browser, "/console/runs")
    browser.find_element(by().LINK_TEXT, "Rejected events").click()
    wait_url(browser, "/console/rejected")
    rows = browser.find_elements(by().CSS_SELECTOR, "tbody tr")
    assert rows and all(len(r.find_elements(by().TAG_NAME, "td")) == 3 for r in rows)
    shot(browser, "11-rejected-events")


# ---------------------------------------------------------------------------------------------- over HTTP
def test_pages_send_a_strict_csp_and_forms_without_the_csrf_token_are_refused(console):
    client = Client(console.url)
    client.sign_in(console.users["collector"])
    status, headers, body = client.request("/console/worklist")
    assert status == 200
    csp = headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert "<script" not in body and " style=" not in body
    target = re.search(r'action="(/console/activities/[^"]+/complete)"', body)
    assert target
    status, _, _ = client.request(target.group(1), {"outcome": "paid", "note": "forged", "csrf": "0" * 64})
    assert status == 400
    status, _, _ = client.request(target.group(1), {"outcome": "paid", "note": "forged"})
    assert status == 400
    status, _, body = client.request("/console/worklist")
    assert target.group(1) in body  # still open: the forged posts changed nothing


def test_without_a_session_pages_redirect_to_sign_in_and_a_forged_cookie_is_not_a_session(console):
    client = Client(console.url)
    status, headers, _ = client.request("/console/runs")
    assert status == 303 and headers["location"] == "/console/sign-in?next=/console/runs"
    forged = ("eyJhbGciOiJSUzI1NiIsImtpZCI6IngifQ.eyJzdWIiOiJ4IiwiY29nbml0bzpncm91cHMiOlsiYWRtaW4iXX0.c2ln")
    cookie = http.cookiejar.Cookie(0, "dunning_session", forged, None, False, "127.0.0.1", False, False, "/", True,
                                   False, None, False, None, None, {})
    client.jar.set_cookie(cookie)
    status, headers, _ = client.request("/console/runs")
    assert status == 303 and headers["location"].startswith("/console/sign-in")


def test_a_collector_gets_403_from_supervisor_pages(console):
    client = Client(console.url)
    client.sign_in(console.users["collector"])
    for path in ("/console/runs", f"/console/runs/{console.run_id}", "/console/rejected"):
        status, _, body = client.request(path)
        assert status == 403, path
        assert "Not allowed" in body
