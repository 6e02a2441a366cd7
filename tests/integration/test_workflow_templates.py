"""The four shipped workflow templates (S4.7), each through the test channel on the local stack: the seed's VIP
routing, new vs returning contacts, the CSAT survey to a spreadsheet, and collections (a promise to pay recorded
as in issue 13, or a payment plan for a collector).

``install_templates`` makes all four live. A test-channel conversation starts the live workflow with the
highest priority whose trigger matches (the VIP routing); the others are opened on their live version through
the use case (as the console's "Try it" does) and then played through the test channel with the
conversation's token. The trigger choice itself is checked with ``live_for``.
"""

from __future__ import annotations

import csv
import io
import urllib.request
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

import pytest

from dunning.store.interactions import DynamoInteractionsRepository
from dunning.store.ledger import DynamoLedgerRepository
from tests.support.conversations_fixtures import (
    ADMIN,
    NORMAL_EMAIL,
    VIP_EMAIL,
    ConversationStack,
    ledger_customer,
    open_on,
    start_conversation_stack,
)

PROMISER, PLANNER = ledger_customer(1, "120.00"), ledger_customer(2, "75.50")


@pytest.fixture(scope="module")
def cs() -> Iterator[ConversationStack]:
    s = start_conversation_stack([*PROMISER, *PLANNER])
    yield s
    s.stop()


def test_all_four_templates_are_installed_and_the_trigger_picks_by_priority_channel_and_category(cs):
    from dunning.app.workflows import list_workflows, live_for

    live = {w.id: w.live_version for w in list_workflows(cs.workflows, ADMIN)}
    for wf in ("vip_routing", "new_vs_returning", "csat_survey", "collections_promise"):
        assert live.get(wf), (wf, live)
    chat = live_for(cs.workflows, "test", False, None)
    assert chat is not None and chat[0].id == "vip_routing"  # the highest priority for any chat contact
    reply = live_for(cs.workflows, "email", False, "dunning_reply")
    assert reply is not None and reply[0].id == "collections_promise"  # a debtor's reply to a reminder


# ---------------------------------------------------------------------------------------------- VIP routing
def test_vip_routing_smoke(cs):
    vip = cs.open(name="Vic", email=VIP_EMAIL)
    normal = cs.open(name="Noa", email=NORMAL_EMAIL)
    assert cs.wait_routed(vip).conversation.team == "vip"
    assert cs.wait_routed(normal).conversation.team == "normal"


# ---------------------------------------------------------------------------------------------- new vs returning
def test_a_new_contact_is_asked_its_name_and_a_second_conversation_takes_the_returning_path(cs):
    email = "rita.returning@customer.example"
    first = open_on(cs, "new_vs_returning", email=email)
    first.wait_for("what's your name?")
    first.say("Rita")
    first.wait_for("Nice to meet you, Rita!")
    d1 = cs.wait_routed(first)
    assert d1.conversation.team == "normal" and not d1.conversation.returning
    steps1 = [s.step for s in d1.steps]
    assert "ask_name" in steps1 and "save_name" in steps1 and "welcome_back" not in steps1

    second = open_on(cs, "new_vs_returning", email=email)
    second.wait_for("Welcome back, Rita!")  # the name the first conversation saved on the contact
    d2 = cs.wait_routed(second)
    assert d2.conversation.returning and d2.conversation.team == "normal"
    steps2 = [s.step for s in d2.steps]
    assert steps2[:2] == ["is_returning", "welcome_back"] and "ask_name" not in steps2
    assert not any("name?" in t for t in second.bot_texts())


# ---------------------------------------------------------------------------------------------- CSAT
def test_csat_answers_are_saved_to_the_sheet_and_exported_as_csv(cs):
    from dunning.app.conversations import export_sheet

    email = "carla.csat@customer.example"
    chat = open_on(cs, "csat_survey", email=email)
    chat.wait_for("How satisfied are you")
    prompt = chat.wait_prompt()
    assert prompt.kind == "choice" and [c["value"] for c in prompt.choices] == ["1", "2", "3", "4", "5"]
    chat.say("9")  # not a choice: asked again
    chat.wait_for("Please reply with a number from 1 to 5.")
    chat.say("Satisfied")  # a choice's label is an answer too: 4
    chat.wait_for("Anything you'd like to tell us?")
    chat.say("Quick and friendly, thanks")
    chat.wait_for("Thanks for your feedback!")
    assert cs.wait_closed(chat).variables.get("rating") == "4"

    url = export_sheet(cs.deps, ADMIN, "csat")
    with urllib.request.urlopen(url, timeout=10) as resp:
        body = resp.read().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    mine = [r for r in rows if r.get("conversation_id") == chat.conversation_id]
    assert len(mine) == 1, rows
    assert (mine[0]["rating"], mine[0]["comment"], mine[0]["email"]) == ("4", "Quick and friendly, thanks", email)


# ---------------------------------------------------------------------------------------------- collections
def _account(events: list[dict]) -> tuple[str, str]:
    invoice = next(e["data"] for e in events if e["event_type"] == "invoice.posted")
    return invoice["account_id"], invoice["invoice_id"]


def test_a_debtor_promises_to_pay_and_the_promise_holds_the_lead_invoice(cs):
    from dunning.app.holds import holds_of

    account, invoice = _account(PROMISER)
    until = date.today() + timedelta(days=10)
    chat = open_on(cs, "collections_promise", name="Debtor 1", account_id=account)
    [*_, balance] = chat.wait_for(f"The oldest open invoice is {invoice}")
    assert "120.00" in balance.text
    chat.wait_for("1 Promise to pay")
    chat.say("1")
    chat.wait_for(f"By which date will you pay {invoice}?")
    chat.say((date.today() + timedelta(days=45)).isoformat())  # beyond the 30 days: asked again
    chat.wait_for("Please give a date from today to 30 days ahead")
    chat.say(until.isoformat())
    chat.wait_for(f"We've noted your promise to pay {invoice} by {until.isoformat()}")
    d = cs.wait_closed(chat)
    assert [s.step for s in d.steps if s.step == "record_promise"]
    assert ("record_promise", "recorded") in [(s.step, s.outcome) for s in d.steps]
    ledger = DynamoLedgerRepository(cs.stack.outputs["LedgerTableName"])
    [hold] = [h for h in holds_of(ledger, account) if h.invoice_id == invoice]
    assert (hold.status, hold.held, hold.promised_until) == ("promised_to_pay", True, until)
    assert hold.promised_amount == Decimal("120.00")
    assert hold.reference == d.conversation.number  # the conversation's interaction made it (its number)
    record = DynamoInteractionsRepository(cs.stack.outputs["InteractionsTableName"]).record(
        d.conversation.interaction_id)
    assert record is not None
    assert [(h.kind, h.invoice_id, h.until) for h in record.interaction.holds] == [("promise", invoice, until)]


def test_a_debtor_asks_for_a_payment_plan_and_is_routed_to_collections(cs):
    account, invoice = _account(PLANNER)
    chat = open_on(cs, "collections_promise", name="Debtor 2", account_id=account)
    chat.wait_for(f"The oldest open invoice is {invoice}")
    chat.wait_prompt()
    chat.say("Payment plan")
    chat.wait_for("Over how many months")
    chat.say("6")
    chat.wait_for("6-month payment plan")
    d = cs.wait_routed(chat)
    assert d.conversation.team == "collections"
    agent = cs.config.conversations.agent(d.conversation.assignee or "")
    assert agent is not None and "collections" in agent.skills
    assert d.variables.get("plan_months") == "6"
    ledger = DynamoLedgerRepository(cs.stack.outputs["LedgerTableName"])
    from dunning.app.holds import holds_of

    assert not [h for h in holds_of(ledger, account) if h.status == "promised_to_pay"]  # no promise recorded
