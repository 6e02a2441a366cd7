"""One bad account never stops a run (issue 11, section 1): an account none of whose contacts can be made is set
aside with a reason, the rest of its batch goes on, the summary counts and lists it, the next run takes it again
once its data is fixed, and the simulation gives the same reason."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dunning.app.create_contacts import build_run_contacts
from dunning.app.simulation import simulate_account
from dunning.app.summarize import run_details
from dunning.models.accounts import AccountView
from dunning.models.decisions import AccountDecision, PlannedAction
from dunning.models.events import AccountPerson, AccountUpserted, PersonUpserted, parse_event
from dunning.store.ledger import facts_for_event
from dunning_ops.local.demo_data import DEMO_AS_OF
from tests.unit.core.fakes import FakeBlobs, FakeContacts, FakeLedger, FakeRuns
from tests.unit.core.test_run_pipeline import ACCOUNTS, CONFIG, ITEMS, PERSONS, Stores, run_day

NO_ACCOUNT = "A-S-1"  # an invoice for an account that was never sent (the README's ingest_single_event.json)
REJECTED_PERSON = "A-BAD-2"  # an account whose person's event was rejected: no person record


def event(n: int, event_type: str, data: dict[str, Any], at: str = "2026-11-01T09:00:00Z") -> dict[str, Any]:
    return {"event_id": f"set-aside-{n}-{event_type}", "event_type": event_type, "occurred_at": at,
            "source": "test", "data": data}


def invoice(n: int, account_id: str) -> dict[str, Any]:
    return event(n, "invoice.posted", {"invoice_id": f"INV-{account_id}", "account_id": account_id,
                                       "invoice_date": "2026-10-20", "due_date": "2026-11-03", "amount": "120.50",
                                       "currency": "EUR"})


def account_event(n: int, account_id: str, person_id: str) -> dict[str, Any]:
    return event(n, "account.upserted", {"account_id": account_id, "currency": "EUR", "main_person_id": person_id,
                                         "attributes": {"segment": "residential"}})


def items_of(*events: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for raw in events:
        for fact in facts_for_event(parse_event(raw)):
            if fact.key[0].startswith("ACCT#"):
                out.setdefault(fact.key[0][5:], []).append(fact.item())
    return out


def broken_stores() -> Stores:
    extra = items_of(invoice(1, NO_ACCOUNT), invoice(2, REJECTED_PERSON), account_event(3, REJECTED_PERSON, "P-GONE"))
    return Stores(ledger=FakeLedger({**{a: ITEMS[a] for a in ACCOUNTS}, **extra}, PERSONS), contacts=FakeContacts(),
                  runs=FakeRuns(), blobs=FakeBlobs())


def test_given_accounts_without_a_person_when_the_run_goes_then_they_are_set_aside_and_the_rest_goes_on():
    clean = Stores(ledger=FakeLedger({a: ITEMS[a] for a in ACCOUNTS}, PERSONS), contacts=FakeContacts(),
                   runs=FakeRuns(), blobs=FakeBlobs())
    expected = run_day(clean, DEMO_AS_OF, batch_size=1000)
    deps = broken_stores()
    summary = run_day(deps, DEMO_AS_OF, batch_size=1000)  # one batch: the bad accounts share it with the others

    assert summary.status == "SUCCEEDED" and summary.failed_batches == 0
    assert summary.contacts_created == expected.contacts_created > 0  # the rest of the batch went on
    assert set(deps.contacts.items) == set(clean.contacts.items)
    assert summary.set_aside == 2
    reasons = {a.account_id: a.reason for a in summary.set_aside_accounts}
    assert reasons[NO_ACCOUNT] == ("account A-S-1: no person on the account, so a letter can't be sent "
                                   "(no account record has been received for it)")
    assert reasons[REJECTED_PERSON].startswith("account A-BAD-2: person P-GONE is not known")
    assert not [c for c in deps.contacts.items.values() if c.account_id in reasons]
    details = run_details(deps.runs, summary.run_id)  # what `dunning runs show` reads: the batch results
    assert details is not None
    assert {a.account_id: a.reason for a in details.set_aside_accounts} == reasons


def test_given_a_set_aside_account_when_its_data_is_fixed_then_the_next_run_of_the_same_date_takes_it():
    deps = broken_stores()
    run_day(deps, DEMO_AS_OF)
    assert deps.ledger.account_view(NO_ACCOUNT).state == AccountView(account_id=NO_ACCOUNT).state  # untouched

    for fact_items in items_of(account_event(4, NO_ACCOUNT, "P-S-1")).values():  # the data is fixed
        for item in fact_items:
            deps.ledger.table[(item["pk"], item["sk"])] = item
    person = PersonUpserted(person_id="P-S-1", name="Ana Souza")
    deps.ledger.table[("PERSON#P-S-1", "PROFILE")] = {"pk": "PERSON#P-S-1", "sk": "PROFILE",
                                                      "data": person.model_dump_json()}
    again = run_day(deps, DEMO_AS_OF)  # same date: no lock, state or contact id stands in the way

    assert NO_ACCOUNT not in {a.account_id for a in again.set_aside_accounts}
    assert again.set_aside == 1  # A-BAD-2 is still broken
    letters = [c for c in deps.contacts.items.values() if c.account_id == NO_ACCOUNT]
    assert [(c.action, c.person_id) for c in letters] == [("letter", "P-S-1")]


def test_the_simulation_gives_the_runs_reason_and_predicts_no_letter_for_a_set_aside_account():
    deps = broken_stores()
    view = deps.ledger.account_view(NO_ACCOUNT)
    simulated = simulate_account(view, CONFIG, DEMO_AS_OF, PERSONS)
    run = run_day(deps, DEMO_AS_OF)
    reason = next(a.reason for a in run.set_aside_accounts if a.account_id == NO_ACCOUNT)
    assert simulated.set_aside == reason and simulated.why[0] == reason
    assert simulated.would == [] and simulated.would_not


def test_given_an_internal_alert_without_a_sales_group_then_no_customer_letter_and_the_reason_is_kept():
    account = AccountUpserted(account_id="A-B-1", currency="EUR", main_person_id="P-B-1",
                              persons=[AccountPerson(person_id="P-B-1", main=True)])
    decision = AccountDecision(account_id="A-B-1", as_of=DEMO_AS_OF, hierarchy_id="business", outcome="act",
                               actions=[PlannedAction(origin="step", hierarchy_id="business", step_id="biz_sales",
                                                      action="email", document="sales_alert", invoice_id="I-1",
                                                      recipient="sales_group")])
    persons = {"P-B-1": PersonUpserted(person_id="P-B-1", name="Bea", email="bea@customer.example")}
    planned = build_run_contacts([(AccountView(account_id="A-B-1", account=account), decision)], CONFIG, persons,
                                 "RUN-1", datetime(2026, 11, 16, 6, tzinfo=UTC))
    assert planned.contacts == [] and planned.set_aside == []
    (not_sent,) = planned.not_sent
    assert (not_sent.account_id, not_sent.step_id) == ("A-B-1", "biz_sales")
    assert not_sent.reason.startswith("account A-B-1 has no sales group, so no email address")


def test_given_a_business_account_without_a_sales_group_then_the_run_summary_shows_the_unsent_alert():
    biz = {"account_id": "A-BIZ-1", "currency": "EUR", "main_person_id": "P-BIZ-1",
           "attributes": {"segment": "business"}}
    extra = items_of(event(5, "account.upserted", biz),
                     event(6, "invoice.posted", {"invoice_id": "INV-BIZ-1", "account_id": "A-BIZ-1",
                                                 "invoice_date": "2026-10-15", "due_date": "2026-11-01",
                                                 "amount": "900.00", "currency": "EUR"}))
    persons = {"P-BIZ-1": PersonUpserted(person_id="P-BIZ-1", name="Bea", email="bea@customer.example")}
    deps = Stores(ledger=FakeLedger(extra, persons), contacts=FakeContacts(), runs=FakeRuns(), blobs=FakeBlobs())
    summary = run_day(deps, DEMO_AS_OF)  # 15 days after due: the business strategy's "alert the sales group"
    assert summary.not_sent == 1 and summary.set_aside == 0
    (alert,) = summary.not_sent_actions
    assert (alert.account_id, alert.step_id) == ("A-BIZ-1", "biz_sales")
    assert alert.reason.startswith("account A-BIZ-1 has no sales group, so no email address")
    assert not [c for c in deps.contacts.items.values() if c.action == "letter"]  # never a customer letter
