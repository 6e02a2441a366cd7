"""The interactions repository and use cases against the local stack deployed from template.yaml (moto): the
InteractionsTable with its GSIs, the AttachmentsBucket, and the ledger and contacts tables for holds and tasks.

moto's CloudFormation has no AWS::SecretsManager::Secret, so the signing secret is made through moto's
Secrets Manager API here (the fallback; see dunning.store.secrets)."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import requests

from dunning.app import interaction_reports as reports
from dunning.app import interactions as uc
from dunning.app.deps import interaction_deps
from dunning.app.operations import InvalidRequest
from dunning.auth import Group, Principal
from dunning.models.interactions import NewInteraction, TimeEntry
from dunning.store.interactions import DuplicateMessage
from dunning.store.secrets import clear_cache
from dunning_ops.local.stack import LocalStack
from tests.support.local import demo_events, send, start_stack

ADMIN = Principal(user_id="u-admin", username="admin", groups=frozenset({Group.ADMIN}))
ANA = Principal(user_id="u-ana", username="ana", groups=frozenset({Group.AGENT}))
BOB = Principal(user_id="u-bob", username="bob", groups=frozenset({Group.AGENT}))
ACCOUNT = "A-0001"
PROCESS = "customer_requests"


@pytest.fixture(scope="module", autouse=True)
def item_level_atomicity() -> Iterator[None]:
    """DynamoDB applies each write (a conditional UpdateItem, a transaction) atomically; moto's threaded server
    does not: two requests can both pass a condition, and a failing transaction restores a copy of the whole table
    over a concurrent write. Serialise moto's write calls so the local stack keeps DynamoDB's guarantee."""
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()
    originals = {}
    for name in ("put_item", "update_item", "delete_item", "transact_write_items"):
        original = originals[name] = getattr(DynamoDBBackend, name)

        def locked(self: object, *args: object, _original: object = original, **kwargs: object) -> object:
            with lock:
                return _original(self, *args, **kwargs)  # type: ignore[operator]

        setattr(DynamoDBBackend, name, locked)
    yield
    for name, original in originals.items():
        setattr(DynamoDBBackend, name, original)


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    s = start_stack()
    mine = [line for line in demo_events() if any(k in line for k in ('"P-0001"', '"PR-0001"', f'"{ACCOUNT}"'))]
    send(s, mine)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def deps(stack: LocalStack) -> uc.InteractionDeps:
    arn = stack.client("secretsmanager").create_secret(Name="interaction-signing-test",
                                                       SecretString="s" * 48 + "local-signing-secret")["ARN"]
    clear_cache()
    o = stack.outputs
    made = interaction_deps(interactions_table=o["InteractionsTableName"],
                            attachments_bucket=o["AttachmentsBucketName"], signing_secret_arn=arn,
                            runs_bucket=o["RunsBucketName"], ledger_table=o["LedgerTableName"],
                            contacts_table=o["ContactsTableName"], contact_retention_days=90)
    for stage in ("registered", "in_progress"):
        uc.add_member(made, ADMIN, PROCESS, stage, "ana")
    uc.add_member(made, ADMIN, PROCESS, "in_progress", "bob")
    return made


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _new(**kw: object) -> NewInteraction:
    base: dict[str, object] = {"channel": "phone", "category": "invoice_dispute", "subject": "Invoice is wrong",
                               "text": "The customer says the March bill is too high.", "account_id": ACCOUNT,
                               "person_id": "P-0001"}
    base.update(kw)
    return NewInteraction.model_validate(base)


# ---------------------------------------------------------------------------------------------- record, read
def test_each_interaction_gets_the_next_number_and_is_found_by_it(deps: uc.InteractionDeps):
    now = _now()
    a = uc.record_interaction(deps, ADMIN, _new(), now)
    b = uc.record_interaction(deps, ADMIN, _new(subject="Another"), now)
    year, seq_a = a.number.split("-")[1:]
    assert year == str(now.year) and int(b.number.split("-")[2]) == int(seq_a) + 1
    assert uc.find_by_number(deps, b.number.lower()) == b
    detail = uc.get_interaction(deps, ADMIN, a.id)
    assert detail.interaction.stage == "registered" and detail.interaction.version == 1
    assert [e.text for e in detail.thread] == ["The customer says the March bill is too high."]
    assert detail.allowed_moves == ["in_progress", "resolved"]


def test_an_unknown_category_or_account_is_refused(deps: uc.InteractionDeps):
    with pytest.raises(InvalidRequest, match="category"):
        uc.record_interaction(deps, ADMIN, _new(category="nope"), _now())
    with pytest.raises(InvalidRequest, match="no account"):
        uc.record_interaction(deps, ADMIN, _new(account_id="A-NOPE"), _now())


# ---------------------------------------------------------------------------------------------- stages
def test_two_concurrent_moves_give_one_move_and_one_conflict(deps: uc.InteractionDeps):
    made = uc.record_interaction(deps, ADMIN, _new(category="payment_plan"), _now())
    barrier = threading.Barrier(2)
    results: list[object] = []

    def move(to: str) -> None:
        barrier.wait()
        try:
            results.append(uc.move_stage(deps, ADMIN, made.id, to, expected_version=1, now=_now()))
        except uc.InteractionConflict as exc:
            results.append(exc)

    threads = [threading.Thread(target=move, args=(to,)) for to in ("in_progress", "resolved")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    conflicts = [r for r in results if isinstance(r, uc.InteractionConflict)]
    moved = [r for r in results if not isinstance(r, uc.InteractionConflict)]
    assert len(conflicts) == 1 and len(moved) == 1
    detail = uc.get_interaction(deps, ADMIN, made.id)
    assert detail.interaction.version == 2 and len(detail.moves) == 1
    assert detail.interaction.stage == detail.moves[0].to_stage
    from dunning.store.interactions import WriteConflict

    with pytest.raises(WriteConflict):  # the conditional write itself refuses the stale version
        deps.store.move(made, "in_progress", expected_version=1, by="admin", at=_now())
    assert uc.get_interaction(deps, ADMIN, made.id).interaction.version == 2
    with pytest.raises(uc.InteractionConflict):  # a stale version is a conflict, not a lost update
        uc.move_stage(deps, ADMIN, made.id, "in_progress" if detail.interaction.stage == "resolved" else "resolved",
                      expected_version=1, now=_now())


def test_only_members_of_a_stage_see_and_move_its_interactions(deps: uc.InteractionDeps):
    with pytest.raises(uc.StageForbidden):  # bob is not in "registered": he cannot record
        uc.record_interaction(deps, BOB, _new(category="payment_plan"), _now())
    made = uc.record_interaction(deps, ANA, _new(category="payment_plan"), _now())
    with pytest.raises(uc.StageForbidden):
        uc.get_interaction(deps, BOB, made.id)
    with pytest.raises(uc.StageForbidden):
        uc.list_interactions(deps, BOB, process=PROCESS, stage="registered")
    moved = uc.move_stage(deps, ANA, made.id, "in_progress", expected_version=1, now=_now())
    assert uc.get_interaction(deps, BOB, made.id).interaction.stage == "in_progress"
    assert made.id in [i.id for i in uc.list_interactions(deps, BOB, process=PROCESS, stage="in_progress").items]
    moved = uc.move_stage(deps, BOB, made.id, "awaiting_customer", expected_version=moved.version, now=_now())
    with pytest.raises(uc.StageForbidden):  # nobody but admins is a member of awaiting_customer
        uc.move_stage(deps, BOB, made.id, "in_progress", expected_version=moved.version, now=_now())
    assert made.id not in [i.id for i in uc.list_interactions(deps, BOB).items]
    assert made.id in [i.id for i in uc.list_interactions(deps, ADMIN).items]
    with pytest.raises(uc.InvalidTransition):
        uc.move_stage(deps, ADMIN, made.id, "registered", expected_version=moved.version, now=_now())
    assert uc.stages_of(deps, "ana")[0].process == PROCESS
    assert "bob" in uc.members(deps, PROCESS, "in_progress")


def test_closing_without_time_when_the_category_requires_it_is_refused(deps: uc.InteractionDeps):
    made = uc.record_interaction(deps, ADMIN, _new(), _now())
    with pytest.raises(uc.TimeRequired):
        uc.move_stage(deps, ADMIN, made.id, "resolved", expected_version=1, now=_now())
    uc.log_time(deps, ADMIN, made.id, started_at=_now() - timedelta(minutes=20), minutes=15, note="call", now=_now())
    closed = uc.move_stage(deps, ADMIN, made.id, "resolved", expected_version=1, now=_now())
    assert closed.status == "closed" and closed.closed_at is not None
    reopened = uc.move_stage(deps, ADMIN, made.id, "in_progress", expected_version=2, now=_now())
    assert reopened.status == "open"


# ---------------------------------------------------------------------------------------------- time
def test_a_retried_time_entry_counts_once_and_the_time_report_totals_add_up(deps: uc.InteractionDeps):
    day = date(2025, 6, 3)  # a month of its own: nothing else logs time there
    made = uc.record_interaction(deps, ADMIN, _new(category="tariff_question"), _now())
    plan = uc.record_interaction(deps, ADMIN, _new(category="payment_plan"), _now())
    at = datetime(2025, 6, 3, 9, 0, tzinfo=UTC)
    entries = [(made, "ana", at, 10), (made, "ana", at + timedelta(hours=1), 20), (made, "bob", at, 7),
               (plan, "ana", at + timedelta(days=1), 30)]
    for n, (i, agent, started, minutes) in enumerate(entries):
        entry = TimeEntry(entry_id=f"e{n}", agent=agent, started_at=started, minutes=minutes, category=i.category)
        assert deps.store.add_time(i, entry) == (entry, True)
    again = TimeEntry(entry_id="e0", agent="ana", started_at=at, minutes=10, category=made.category)
    stored, created = deps.store.add_time(made, again)  # the retry of e0
    assert not created and stored.minutes == 10
    report = reports.time_report(deps, ADMIN, day, date(2025, 6, 30), detail=True)  # from the cells
    totals = reports.time_report(deps, ADMIN, day, date(2025, 6, 30))  # from the day totals (what pages show)
    assert report.total_minutes == 67 == sum(r.minutes for r in report.rows) == sum(report.by_day.values()) \
        == sum(report.by_agent.values()) == sum(report.by_category.values())
    assert (totals.total_minutes, totals.total_entries, totals.by_day, totals.by_agent, totals.by_category) == (
        report.total_minutes, report.total_entries, report.by_day, report.by_agent, report.by_category)
    assert report.total_entries == 4
    assert report.by_agent == {"ana": 60, "bob": 7}
    assert report.by_category == {"tariff_question": 37, "payment_plan": 30}
    assert uc.get_interaction(deps, ADMIN, made.id).interaction.time_minutes == 37
    lines = reports.time_csv(report).strip().splitlines()
    assert lines[0] == "day,category,agent,minutes,entries" and lines[-1] == "total,,,67,4"
    key = "req-42"
    first = uc.log_time(deps, ADMIN, made.id, started_at=_now(), minutes=5, note="", now=_now(), idempotency_key=key)
    second = uc.log_time(deps, ADMIN, made.id, started_at=_now(), minutes=5, note="", now=_now(), idempotency_key=key)
    assert first.entry_id == second.entry_id
    assert uc.get_interaction(deps, ADMIN, made.id).interaction.time_entries == 4


def test_the_content_report_counts_the_period_by_category_and_channel(deps: uc.InteractionDeps):
    today = _now().date()
    before = reports.content_report(deps, ADMIN, today, today)
    uc.record_interaction(deps, ADMIN, _new(category="meter_question", channel="call_centre"), _now())
    after = reports.content_report(deps, ADMIN, today, today)
    assert after.total == before.total + 1 == sum(after.by_category.values()) == sum(after.by_channel.values())
    assert after.by_category.get("meter_question", 0) == before.by_category.get("meter_question", 0) + 1
    assert reports.content_csv(after).count("\r\n") == after.total + 1
    with pytest.raises(uc.Forbidden):
        reports.time_report(deps, ANA, today, today)


# ---------------------------------------------------------------------------------------------- mail matching
def test_a_message_id_is_recorded_once(deps: uc.InteractionDeps):
    mid = f"<{_now().timestamp()}@mail.example>"
    made = uc.record_interaction(deps, None, _new(channel="email", category="dunning_reply", message_id=mid,
                                                  first_entry_kind="email_in", customer_email="c@x.example"), _now())
    assert made.created_by == "mail"
    with pytest.raises(DuplicateMessage) as dup:
        uc.record_interaction(deps, None, _new(channel="email", category="dunning_reply", message_id=mid), _now())
    assert dup.value.ref.interaction_id == made.id
    refs = uc.find_by_message_ids(deps, [mid, "<unknown@x>"])
    assert list(refs) == [mid] and refs[mid].interaction_id == made.id
    reply = uc.add_entry(deps, None, made.id, "email_in", "thanks", visibility="customer", now=_now(),
                         message_id="<r2@mail.example>", in_reply_to=mid)
    with pytest.raises(DuplicateMessage):
        uc.add_entry(deps, None, made.id, "email_in", "thanks", visibility="customer", now=_now(),
                     message_id="<r2@mail.example>")
    assert uc.find_by_message_ids(deps, ["r2@mail.example"])["r2@mail.example"].entry_id == reply.entry_id
    draft = uc.auto_reply_for(deps, made, "created")
    assert draft is not None and made.number in draft.subject and draft.to == "c@x.example"
    assert draft.subject.count(made.number) == 1  # the template names it: no second "[number]"


# ---------------------------------------------------------------------------------------------- similar
def test_similar_requests_count_the_same_customers_earlier_requests_of_the_same_kind(deps: uc.InteractionDeps):
    t0 = _now()
    first = uc.record_interaction(deps, ADMIN, _new(category="payment_plan", person_id="P-SIM", account_id=None,
                                                    subject="Payment plan please"), t0)
    uc.record_interaction(deps, ADMIN, _new(category="payment_plan", person_id="P-OTHER", account_id=None,
                                            subject="Payment plan please"), t0 + timedelta(seconds=1))
    uc.record_interaction(deps, ADMIN, _new(category="tariff_question", person_id="P-SIM", account_id=None,
                                            subject="Payment plan please"), t0 + timedelta(seconds=2))
    second = uc.record_interaction(deps, ADMIN, _new(category="payment_plan", person_id="P-SIM", account_id=None,
                                                     subject="Re: payment plans (INV-9)"), t0 + timedelta(seconds=3))
    third = uc.record_interaction(deps, ADMIN, _new(category="payment_plan", person_id="P-SIM", account_id=None,
                                                    subject="FW: PAYMENT PLAN!"), t0 + timedelta(seconds=4))
    similar = uc.similar_requests(deps, ADMIN, third.id)
    assert similar.count == 2 and [i.id for i in similar.earlier] == [second.id, first.id]
    assert uc.similar_requests(deps, ADMIN, first.id).count == 0
    assert uc.get_interaction(deps, ADMIN, third.id).similar_count == 2


# ---------------------------------------------------------------------------------------------- attachments
def test_an_upload_is_checked_then_downloadable_and_shared_only_as_asked(deps: uc.InteractionDeps):
    made = uc.record_interaction(deps, ADMIN, _new(category="payment_plan"), _now())
    body = b"%PDF-1.4 a small statement\n"
    ticket = uc.start_upload(deps, ADMIN, made.id, "statement.pdf", "application/pdf", len(body), "customer")
    assert ticket.fields["Content-Type"] == "application/pdf"
    policy = json.loads(base64.b64decode(ticket.fields.get("policy") or ticket.fields["Policy"]))
    assert ["content-length-range", 1, len(body)] in policy["conditions"]
    posted = requests.post(ticket.url, data=ticket.fields, files={"file": ("statement.pdf", body)}, timeout=10)
    assert posted.status_code in (200, 201, 204), posted.text
    stored = uc.complete_upload(deps, ADMIN, made.id, ticket.attachment_id)
    assert stored.status == "stored"
    assert requests.get(uc.attachment_url(deps, ADMIN, made.id, ticket.attachment_id), timeout=10).content == body
    token = uc.customer_link(deps, made.id, ticket.attachment_id)
    assert requests.get(uc.open_customer_link(deps, token), timeout=10).content == body
    with pytest.raises(uc.InteractionNotFound):
        uc.open_customer_link(deps, token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    internal = uc.start_upload(deps, ADMIN, made.id, "note.txt", "text/plain", 5, "agents")
    requests.post(internal.url, data=internal.fields, files={"file": ("note.txt", b"hello")}, timeout=10)
    uc.complete_upload(deps, ADMIN, made.id, internal.attachment_id)
    with pytest.raises(InvalidRequest, match="not shared"):
        uc.customer_link(deps, made.id, internal.attachment_id)
    assert {a.attachment_id for a in uc.account_attachments(deps, ADMIN, ACCOUNT)} >= {
        ticket.attachment_id, internal.attachment_id}


def test_an_attachment_of_the_wrong_type_or_size_is_refused(deps: uc.InteractionDeps, stack: LocalStack):
    made = uc.record_interaction(deps, ADMIN, _new(category="payment_plan"), _now())
    with pytest.raises(InvalidRequest, match="not allowed"):
        uc.start_upload(deps, ADMIN, made.id, "x.html", "text/html", 10, "agents")
    with pytest.raises(InvalidRequest, match="size"):
        uc.start_upload(deps, ADMIN, made.id, "x.pdf", "application/pdf", 11 * 1024 * 1024, "agents")
    ticket = uc.start_upload(deps, ADMIN, made.id, "x.png", "image/png", 100, "agents")
    with pytest.raises(InvalidRequest, match="not been uploaded"):
        uc.complete_upload(deps, ADMIN, made.id, ticket.attachment_id)
    key = f"attachments/{made.id}/{ticket.attachment_id}"  # an object that got round the POST policy
    stack.client("s3").put_object(Bucket=stack.outputs["AttachmentsBucketName"], Key=key, Body=b"<html>",
                                  ContentType="text/html")
    refused = uc.complete_upload(deps, ADMIN, made.id, ticket.attachment_id)
    assert refused.status == "refused" and "text/html" in refused.refused_reason
    assert deps.attachments.head(key) is None  # deleted
    with pytest.raises(uc.InteractionNotFound):
        uc.attachment_url(deps, ADMIN, made.id, ticket.attachment_id)


def test_the_signing_key_is_cached_and_fixed_length(deps: uc.InteractionDeps):
    key = deps.signing_key()
    assert len(key) == 32 and deps.signing_key() is key


# ---------------------------------------------------------------------------------------------- links, tasks, holds
def test_links_are_checked_and_summarised_on_the_interaction(deps: uc.InteractionDeps):
    made = uc.record_interaction(deps, ADMIN, _new(category="payment_plan"), _now())
    uc.add_link(deps, ADMIN, made.id, "opportunity", "OPP-7", "Upsell")
    uc.add_link(deps, ADMIN, made.id, "account", ACCOUNT)
    with pytest.raises(InvalidRequest):
        uc.add_link(deps, ADMIN, made.id, "account", "A-NOPE")
    assert sorted(uc.get_interaction(deps, ADMIN, made.id).interaction.links) == ["account:A-0001", "opportunity:OPP-7"]
    uc.remove_link(deps, ADMIN, made.id, "opportunity", "OPP-7")
    assert uc.get_interaction(deps, ADMIN, made.id).interaction.links == ["account:A-0001"]
    with pytest.raises(uc.NotFound):
        uc.remove_link(deps, ADMIN, made.id, "opportunity", "OPP-7")


def test_a_task_can_be_a_collector_activity_created_and_completed_from_the_interaction(deps: uc.InteractionDeps):
    made = uc.record_interaction(deps, ADMIN, _new(category="payment_plan"), _now())
    plain = uc.add_task(deps, ADMIN, made.id, title="Send the plan", now=_now())
    task = uc.add_task(deps, ADMIN, made.id, title="Call back about the plan", assignee="ana", activity=True,
                       now=_now())
    assert task.activity_id
    assert deps.contacts is not None
    contact = deps.contacts.get(task.activity_id)
    assert contact is not None and contact.action == "activity" and contact.account_id == ACCOUNT
    assert contact.activity is not None and contact.activity.assigned_to == "ana"
    tasks = {t.task_id: t for t in uc.related_tasks(deps, ADMIN, made.id)}
    assert not tasks[task.task_id].done and not tasks[plain.task_id].done
    done = uc.complete_task(deps, ADMIN, made.id, task.task_id, outcome="agreed", now=_now())
    assert done.done
    after = deps.contacts.get(task.activity_id)
    assert after is not None and after.status == "closed"
    assert uc.complete_task(deps, ADMIN, made.id, task.task_id, now=_now()).done  # again: nothing changes
    tasks = {t.task_id: t for t in uc.related_tasks(deps, ADMIN, made.id)}
    assert tasks[task.task_id].done and not tasks[plain.task_id].done


def test_a_dispute_holds_the_invoice_and_resolving_it_releases_it(deps: uc.InteractionDeps):
    from dunning.app import holds

    assert deps.ledger is not None
    view = deps.ledger.account_view(ACCOUNT)
    invoice = next(i for i in view.invoices if not i.is_paid)
    made = uc.record_interaction(deps, ADMIN, _new(), _now())
    summary = uc.dispute_invoice(deps, ADMIN, made.id, invoice.invoice_id, note="bill too high", now=_now())
    assert summary.kind == "dispute" and summary.state == "disputed"
    held = {h.invoice_id: h for h in holds.holds_of(deps.ledger, ACCOUNT)}
    assert held[invoice.invoice_id].held and held[invoice.invoice_id].reference == made.number
    detail = uc.get_interaction(deps, ADMIN, made.id)
    assert [h.kind for h in detail.interaction.holds] == ["dispute"]
    assert f"invoice:{invoice.invoice_id}" in detail.interaction.links
    assert any(e.kind == "system" and invoice.invoice_id in e.text for e in detail.thread)
    released = uc.resolve_dispute(deps, ADMIN, made.id, invoice.invoice_id, now=_now() + timedelta(seconds=1))
    assert released.state == "resolved"
    assert not {h.invoice_id: h for h in holds.holds_of(deps.ledger, ACCOUNT)}[invoice.invoice_id].held
    promise = uc.promise_to_pay(deps, ADMIN, made.id, invoice.invoice_id, amount=Decimal("1.00"),
                                until=_now().date() + timedelta(days=7), now=_now() + timedelta(seconds=2))
    assert promise.kind == "promise" and promise.until is not None
    kinds = sorted(h.kind for h in uc.get_interaction(deps, ADMIN, made.id).interaction.holds)
    assert kinds == ["dispute", "promise"]


def test_account_lists_show_the_accounts_interactions_newest_first(deps: uc.InteractionDeps):
    page = uc.list_interactions(deps, ADMIN, account_id=ACCOUNT, limit=3)
    assert len(page.items) == 3 and page.next
    created = [i.created_at for i in page.items]
    assert created == sorted(created, reverse=True)
    nxt = uc.list_interactions(deps, ADMIN, account_id=ACCOUNT, limit=3, next_token=page.next)
    assert not {i.id for i in nxt.items} & {i.id for i in page.items}
    assert all(i.account_id == ACCOUNT for i in nxt.items)
