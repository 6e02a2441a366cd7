"""Strategy features on the local stack: simulation, assignment views, manual assignment, history, and a
60-day sequence of daily runs where simulation and the real run agree every day (S2.13-S2.15)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from itertools import pairwise

import pytest

from dunning.app.simulation import simulated_contacts
from dunning.store.blobs import S3Blobs
from dunning.store.ledger import DynamoLedgerRepository
from dunning_ops.cli.main import main as cli
from dunning_ops.local.demo_data import DEMO_AS_OF
from tests.support.local import bucket_keys, contacts, run, table_items

TABLES = ("LedgerTable", "ContactsTable", "RunsTable", "IdempotencyTable")
BUCKETS = ("LettersBucketName", "RunsBucketName")


@pytest.fixture(scope="module")
def stack(demo_stack):
    return demo_stack


def snapshot(stack):
    tables = {t: sorted(json.dumps(i, sort_keys=True, default=str) for i in table_items(stack, t)) for t in TABLES}
    s3 = stack.client("s3")
    objects = {}
    for b in BUCKETS:
        for key in bucket_keys(stack, b):
            objects[(b, key)] = s3.head_object(Bucket=stack.outputs[b], Key=key)["ETag"]
    return tables, objects


def cli_json(stack, capsys, *args):
    capsys.readouterr()
    assert cli(["--endpoint-url", stack.endpoint, *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_simulation_explains_every_account_and_writes_nothing(stack, capsys):
    before = snapshot(stack)
    rows = cli_json(stack, capsys, "simulate", "--as-of", DEMO_AS_OF.isoformat())
    assert snapshot(stack) == before
    by_outcome = {r["outcome"] for r in rows}
    assert {"act", "none", "excluded"} <= by_outcome
    for r in rows:
        assert r["would"] or r["why"], r  # an action, or the precise reason for none
    reasons = " ".join(" ".join(r["why"]) for r in rows)
    for phrase in ("no step due before", "skipped: disputed", "below"):
        assert phrase in reasons


def test_assignment_preview_by_account_and_by_hierarchy(stack, capsys):
    one = cli_json(stack, capsys, "assignment", "preview", "--account", "A-0002")
    assert one["hierarchy_id"] == "business" and "pool 'business' matched" in one["reason"]
    vip = cli_json(stack, capsys, "assignment", "preview", "--hierarchy", "vip")
    assert vip and all(a["hierarchy_id"] == "vip" for a in vip)


def test_a_manual_assignment_overrides_the_pools_until_cleared(stack, capsys):
    assert cli(["--endpoint-url", stack.endpoint, "assignment", "set", "--account", "A-0002",
                "--hierarchy", "vip", "--note", "key customer"]) == 0
    got = cli_json(stack, capsys, "assignment", "preview", "--account", "A-0002")
    assert got["hierarchy_id"] == "vip" and got["manual"] is True
    listed = cli_json(stack, capsys, "assignment", "list", "--manual-only")
    assert [r["account_id"] for r in listed] == ["A-0002"] and listed[0]["manual"] is True
    assert cli(["--endpoint-url", stack.endpoint, "assignment", "clear", "--account", "A-0002"]) == 0
    assert cli_json(stack, capsys, "assignment", "preview", "--account", "A-0002")["hierarchy_id"] == "business"
    capsys.readouterr()
    assert cli(["--endpoint-url", stack.endpoint, "assignment", "set", "--account", "A-0002",
                "--hierarchy", "nope"]) == 2


def test_sixty_daily_runs_match_the_simulation_every_day_and_history_records_them(stack, capsys):
    config = S3Blobs(stack.outputs["RunsBucketName"]).config()
    ledger = DynamoLedgerRepository(stack.outputs["LedgerTableName"])
    start = DEMO_AS_OF - timedelta(days=20)
    mismatches, days_acting = [], 0
    for day in range(60):
        as_of = start + timedelta(days=day)
        views = list(ledger.scan_accounts())
        persons = ledger.persons({p.person_id for v in views if v.account for p in v.account.all_persons()})
        simulated = simulated_contacts(views, config, as_of, persons)
        expected = {(c.contact_id, c.action, c.template_code) for c in simulated}
        desc = run(stack, as_of)
        assert desc["status"] == "SUCCEEDED", desc
        created = {(c["contact_id"], c["action"], c["template_code"]) for c in contacts(stack)
                   if c["source"] == "run" and c["as_of"] == as_of.isoformat()}
        if created != expected:
            mismatches.append((as_of, sorted(expected - created)[:3], sorted(created - expected)[:3]))
        days_acting += bool(created)
    assert not mismatches, mismatches
    assert days_acting >= 10

    run_contacts = [c for c in contacts(stack) if c["source"] == "run"]
    steps = [(c["account_id"], c["step_id"], c["invoice_id"]) for c in run_contacts
             if c["contact_type"] != "AUTOMATION_LOG"]
    assert len(steps) == len(set(steps)), "a step ran twice for one invoice"
    quiet = {h.id: h.quiet_days for h in config.hierarchies}
    automated: dict[str, list[date]] = {}
    for c in run_contacts:
        if c["automated"]:
            automated.setdefault(c["account_id"], []).append((date.fromisoformat(c["as_of"]), c["hierarchy_id"]))
    for account, days in automated.items():
        distinct = sorted(set(days))
        for (d1, _), (d2, h2) in pairwise(distinct):
            assert (d2 - d1).days > quiet[h2], f"{account} contacted on {d1} and {d2} inside quiet days"

    history = cli_json(stack, capsys, "history", "--hierarchy", "standard", "--since", start.isoformat())
    assert {h["as_of"] for h in history} >= {start.isoformat(), (start + timedelta(days=59)).isoformat()}
    assert all(h["outcome"] and ("reasons" in h) for h in history)
