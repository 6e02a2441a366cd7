"""Conversation workflows in a real browser (headless Chromium) on the local stack with the demo data and the
shipped workflow templates live: a supervisor edits a workflow, sees an error next to the step it names (and the
step outlined in the diagram), fixes it, validates and publishes version 2; tries the draft from the browser
against the test channel (a question, a re-ask, the bot's reply, the steps taken); an agent finds a routed
conversation in the team queue, answers it (the customer sees the answer through the public chat API) and closes
it. Screenshots land in out/screenshots/ (40-...)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.client import Client
from tests.browser.conftest import LAPTOP, TABLET, Console, shot
from tests.browser.test_console import by, csp_violations, heading, sign_in, wait_for, wait_url

WORKFLOW = "vip_routing"  # the seed's VIP routing template (ask for the email, CRM lookup, VIP or normal team)
WAIT = 60.0  # a conversation goes through the FIFO queue and Step Functions in moto: seconds, not milliseconds


@pytest.fixture(scope="module")
def demo(console: Console) -> Iterator[Any]:
    """The shipped workflow templates installed and live, the stub CRM, and the demo conversations handed to the
    teams, as ``make console`` loads them."""
    from dunning_ops.local.console_demo import load_demo_conversations

    made = load_demo_conversations(console.stack, console.users.values())
    assert made.installed, "the stack has no conversations table"
    try:
        yield made
    finally:
        made.crm.stop()


def set_source(browser: Any, text: str) -> None:
    """Replace the editor's text (typing a whole workflow key by key would take a minute)."""
    area = browser.find_element(by().ID, "source")
    browser.execute_script("arguments[0].value = arguments[1]", area, text)


def source(browser: Any) -> str:
    return str(browser.find_element(by().ID, "source").get_attribute("value"))


def wait_text(browser: Any, css: str, text: str, timeout: float = WAIT, reload: bool = False) -> Any:
    """Wait until the element holds ``text``. The page's own script refreshes it every two seconds; with
    ``reload`` the test reloads the page itself twice a second too (the local stack gives a question only a few
    seconds before its no-reply timeout, ConversationAskTimeoutCapSeconds)."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        found = browser.find_elements(by().CSS_SELECTOR, css)
        last = found[0].text if found else ""
        if text in last:
            return found[0]
        time.sleep(0.5)
        if reload:
            browser.get(browser.current_url.split("?")[0].split("#")[0])
    raise AssertionError(f"{text!r} not in {css} within {timeout}s: {last!r}")


def answer(browser: Any, text: str) -> None:
    """Type the customer's answer and send it (the chat page reloads on the redirect)."""
    wait_for(browser, "#message-text").send_keys(text)
    browser.find_element(by().ID, "send").click()


def to_a_person(choices: list[dict[str, str]]) -> str:
    """The choice that asks for a person (``Talk to someone``), else the last one."""
    for c in choices:
        if re.search(r"someone|agent|person|talk", c.get("label", ""), re.I):
            return c["value"]
    return choices[-1]["value"]


def routed_chat(console: Console, timeout: float = WAIT, **contact: str) -> Any:
    """A customer's web chat (the public chat API) that reaches an agent, whichever workflow is live for it:
    questions with choices are answered with the one asking for a person, an email question with the email."""
    from tests.support.chat import ChatChannel

    chat = ChatChannel(console.url, test=False).open(**contact)
    deadline = time.monotonic() + timeout
    answered = 0
    while time.monotonic() < deadline:
        chat.poll()
        if chat.status == "handed_off":
            return chat
        assert chat.status != "closed", [(m.author, m.text) for m in chat.messages]
        bot = sum(1 for m in chat.messages if m.author == "bot")
        if chat.prompt is not None and bot > answered:
            answered = bot
            chat.say(to_a_person(chat.prompt.choices) if chat.prompt.choices else contact.get("email", "x@example.com"))
        time.sleep(0.1)
    raise AssertionError(f"not handed to an agent within {timeout}s: {[(m.author, m.text) for m in chat.messages]}")


def overflow(browser: Any) -> int:
    return int(browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth"))


def test_an_error_is_shown_next_to_its_step_then_fixed_validated_and_published_as_version_2(console, browser, demo):
    sign_in(browser, console, "supervisor")
    wait_url(browser, "/console/runs")
    browser.find_element(by().LINK_TEXT, "Workflows").click()
    wait_url(browser, "/console/workflows")
    assert heading(browser) == "Workflows"
    rows = browser.find_element(by().ID, "workflows").text
    assert "Route VIP contacts" in rows or WORKFLOW in rows
    shot(browser, "40-workflow-list")

    browser.find_element(by().CSS_SELECTOR, f"#workflows a[href$='/workflows/{WORKFLOW}']").click()
    wait_for(browser, "#diagram svg")
    assert browser.find_elements(by().CSS_SELECTOR, "#diagram svg #step-ask_email")
    live = browser.find_element(by().CSS_SELECTOR, "#versions tr.live th").text
    assert live.startswith("v1") and "live" in live
    assert csp_violations(browser) == []
    shot(browser, "41-workflow-diagram")

    browser.find_element(by().ID, "edit-link").click()
    wait_url(browser, "/edit")
    good = source(browser)
    assert "next: vip_or_normal" in good, good[:400]
    broken = good.replace("next: vip_or_normal", "next: no_such_step", 1)
    set_source(browser, broken)
    browser.find_element(by().ID, "publish").click()
    refused = wait_for(browser, "#report-refused")
    assert "Not published" in refused.text
    group = browser.find_element(by().ID, "errors-get_contact")
    assert "no_such_step" in group.text
    link = group.find_element(by().CSS_SELECTOR, "h3 a")
    assert link.get_attribute("href").endswith("#step-get_contact") and link.text == "Step get_contact"
    outlined = browser.find_element(by().CSS_SELECTOR, "#diagram svg #step-get_contact")
    assert "error" in (outlined.get_attribute("class") or "")
    assert source(browser) == broken  # the text as written is kept on the page, not lost
    link.click()  # the link moves to the step's box
    assert browser.current_url.endswith("#step-get_contact")
    shot(browser, "42-workflow-editor-errors")

    fixed = good.replace("Connecting you to our VIP team.", "Connecting you to our VIP team right away.", 1)
    if fixed == good:  # the template's wording differs: change the workflow's name instead
        fixed = re.sub(r"^name: (.*)$", r"name: \1 (v2)", good, count=1, flags=re.M)
    assert fixed != good
    set_source(browser, fixed)
    browser.find_element(by().ID, "validate").click()
    assert "The workflow is valid." in wait_for(browser, "#report-ok").text
    assert browser.find_elements(by().ID, "errors") == []
    browser.find_element(by().ID, "note").send_keys("Friendlier VIP hand-off")
    browser.find_element(by().ID, "publish").click()
    wait_url(browser, "done=workflow_published")
    assert "the new version is live" in browser.find_element(by().CSS_SELECTOR, ".notice").text
    versions = browser.find_element(by().ID, "versions").text
    assert "v2" in versions and "Friendlier VIP hand-off" in versions
    assert browser.find_element(by().CSS_SELECTOR, "#versions tr.live th").text.startswith("v2")
    browser.find_element(by().CSS_SELECTOR, "#diff-form button").click()
    wait_for(browser, "#diff-lines")
    added = [e.text for e in browser.find_elements(by().CSS_SELECTOR, "#diff-lines .diff-add")]
    removed = [e.text for e in browser.find_elements(by().CSS_SELECTOR, "#diff-lines .diff-remove")]
    assert added and removed and all(t.startswith("+") for t in added) and all(t.startswith("\u2212") for t in removed)
    shot(browser, "43-workflow-published")

    browser.set_window_size(*TABLET)
    browser.get(f"{console.url}/console/workflows/{WORKFLOW}/edit")
    wait_for(browser, "#source")
    assert overflow(browser) <= 0, f"the editor is {overflow(browser)}px wider than a tablet"
    area = browser.find_element(by().ID, "source").size
    assert area["width"] >= TABLET[0] * 0.7, area
    shot(browser, "44-workflow-editor-tablet")
    browser.set_window_size(*LAPTOP)


def test_an_agent_may_read_workflows_but_not_publish(console, demo):
    client = Client(console.url)
    client.sign_in(console.users["agent"])
    status, _, body = client.request(f"/console/workflows/{WORKFLOW}/edit")
    assert status == 200 and 'id="publish"' not in body and "workflows:write" in body
    status, _, _ = client.request(f"/console/workflows/{WORKFLOW}/edit",
                                  {"csrf": client.csrf("/console/workflows"), "action": "publish", "source": "x"})
    assert status == 403


def test_try_it_runs_the_draft_answers_a_question_and_shows_the_steps_taken(console, browser, demo):
    sign_in(browser, console, "supervisor")
    wait_url(browser, "/console/runs")
    browser.get(f"{console.url}/console/workflows/{WORKFLOW}/edit")
    browser.find_element(by().ID, "save").click()  # the draft to try: the text as it is
    wait_url(browser, "done=draft_saved")
    browser.find_element(by().ID, "try-link").click()
    wait_url(browser, "/try")
    browser.find_element(by().ID, "try-name").send_keys("Tess Tester")
    browser.find_element(by().ID, "try-start").click()  # no email: the bot asks for it
    wait_url(browser, "/try/")
    wait_text(browser, "#chat-log", "email address", reload=True)
    answer(browser, "not an email")
    wait_url(browser, "done=message_sent")
    wait_text(browser, "#chat-log", "try again", reload=True)
    answer(browser, "tess@example.com")
    wait_text(browser, "#chat-log", "is saved", reload=True)
    log = browser.find_element(by().ID, "chat-log").text
    assert "You (customer)" in log and "Bot" in log and "tess@example.com" in log
    history = wait_text(browser, "#history", "email_saved", reload=True).text
    assert "ask_email" in history and "has_email" in history
    assert "draft-" in history  # it runs the draft snapshot, not the live version
    assert browser.find_elements(by().CSS_SELECTOR, "#diagram svg")
    assert csp_violations(browser) == []
    shot(browser, "45-try-it")


def test_an_agent_answers_a_routed_conversation_from_the_inbox_and_closes_it(console, browser, demo):
    customer = routed_chat(console, name="Nora Normal", email="nora.normal@example.com")
    sign_in(browser, console, "agent")
    wait_url(browser, "/console")
    browser.find_element(by().LINK_TEXT, "Inbox").click()
    wait_url(browser, "/console/inbox")
    tabs = [t.text for t in browser.find_elements(by().CSS_SELECTOR, ".queue-tabs a")]
    assert tabs[0] == "Assigned to me" and len(tabs) > 1
    link = None
    for i in range(len(tabs)):
        browser.find_elements(by().CSS_SELECTOR, ".queue-tabs a")[i].click()
        found = browser.find_elements(by().XPATH, f"//table[@id='inbox']//a[normalize-space()='{customer.number}']")
        if found:
            link = found[0]
            break
    assert link is not None, f"{customer.number} is in none of the agent's queues"
    shot(browser, "46-inbox")
    link.click()
    wait_for(browser, "#thread")
    thread = browser.find_element(by().ID, "thread").text
    assert "Bot" in thread
    history = browser.find_element(by().ID, "history").text
    assert "route" in history  # the steps the workflow took, down to its hand-off
    assert browser.find_element(by().ID, "version-link").get_attribute("href").split("/versions/")[-1].isdigit()
    if browser.find_elements(by().ID, "assign-me"):
        browser.find_element(by().ID, "assign-me").click()
        wait_url(browser, "done=assigned")
    assert "me" in browser.find_element(by().ID, "assignee").text
    answer = "Hello Nora, an agent here: your meter reading is on file."
    browser.find_element(by().ID, "reply-text").send_keys(answer)
    browser.find_element(by().ID, "send-reply").click()
    wait_url(browser, "done=conversation_reply_sent")
    entry = browser.find_elements(by().CSS_SELECTOR, "#thread .entry.role-agent")
    assert entry and answer in entry[-1].text and "Agent" in entry[-1].text
    customer.wait_for(answer, WAIT)  # the customer's side (the public chat API) sees the answer
    assert csp_violations(browser) == []
    shot(browser, "47-conversation")
    browser.find_element(by().ID, "close").click()
    wait_url(browser, "done=conversation_closed")
    assert "Closed" in browser.find_element(by().ID, "conv-status").text
    customer.wait_status("closed", WAIT)
    assert browser.find_elements(by().ID, "reply-form") == []
