"""``dunning events send FILE --wait``: the operator learns what happened to every event sent (applied, held or
rejected, with the reasons), through the real queue, the ingest function and the stores of the local stack."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.local import start_stack


@pytest.fixture(scope="module")
def stack():
    s = start_stack()
    yield s
    s.stop()


def cli(stack, *args: str) -> tuple[int, str]:
    exe = Path(sys.executable).with_name("dunning")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "dunning_ops.cli.main"]
    proc = subprocess.run([*command, "--endpoint-url", stack.endpoint, *args], capture_output=True, text=True,
                          timeout=300, check=False)
    return proc.returncode, proc.stdout


def envelope(eid: str, etype: str, data: dict) -> dict:
    return {"event_id": eid, "event_type": etype, "occurred_at": "2026-11-01T09:00:00Z", "source": "it", "data": data}


INVOICE = envelope("it-inv", "invoice.posted", {"invoice_id": "IT-INV-1", "account_id": "IT-A-1",
                                                "invoice_date": "2026-10-20", "due_date": "2026-11-03",
                                                "amount": "10.00", "currency": "EUR"})
ACCOUNT = envelope("it-acct", "account.upserted", {"account_id": "IT-A-1", "currency": "EUR",
                                                   "main_person_id": "IT-P-1"})


def write(tmp_path: Path, name: str, lines: list[str]) -> str:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def test_given_send_without_wait_then_it_says_the_results_come_later_and_how_to_see_them(stack, tmp_path):
    person = envelope("it-p0", "person.upserted", {"person_id": "IT-P-0", "name": "Later"})
    code, out = cli(stack, "events", "send", write(tmp_path, "one.jsonl", [json.dumps(person)]))
    assert code == 0
    assert "results come later" in out and "--wait" in out and "dunning events rejected" in out
    assert "dunning events held" in out


def test_given_send_with_wait_then_every_event_is_counted_applied_held_or_rejected_with_the_reasons(
        stack, tmp_path):
    person = envelope("it-p1", "person.upserted", {"person_id": "IT-P-1", "name": "Ana Lima"})
    no_rule = envelope("it-col", "collection.event", {"event_code": "UNUSED_CODE", "account_id": "IT-A-1"})
    nested = '{"a":' * 5000 + "1" + "}" * 5000
    lines = [json.dumps(person), json.dumps(INVOICE), json.dumps(no_rule), nested]
    code, out = cli(stack, "events", "send", write(tmp_path, "mixed.jsonl", lines), "--wait", "--json")
    report = json.loads(out)
    assert code == 1  # some were rejected
    assert (report["sent"], report["applied"], report["held"], report["rejected"], report["pending"]) == (4, 1, 1, 2, 0)
    reasons = {(r["outcome"], r["reason"]) for r in report["reasons"]}
    assert ("held", "held: account IT-A-1 is not known yet") in reasons
    assert any(o == "rejected" and "no rule matched" in r for o, r in reasons)
    assert ("rejected", "event nests objects and arrays more than 16 levels deep; the limit is 16") in reasons

    code, out = cli(stack, "events", "held", "--json")
    assert [h["event_id"] for h in json.loads(out)] == ["it-inv"]

    # the account arrives: the invoice is applied; the same invoice again is a harmless duplicate, another body
    # under its event_id a conflict
    conflict = {**INVOICE, "data": {**INVOICE["data"], "amount": "99.00"}}
    lines = [json.dumps(ACCOUNT), json.dumps(INVOICE)]
    code, out = cli(stack, "events", "send", write(tmp_path, "account.jsonl", lines), "--wait")
    assert code == 0, out
    assert out.startswith("2 event(s) sent: 2 applied, 0 held, 0 rejected")
    assert "applied: held until account IT-A-1 arrived" in out
    code, out = cli(stack, "events", "held", "--json")
    assert json.loads(out) == []
    code, out = cli(stack, "events", "send", write(tmp_path, "conflict.jsonl", [json.dumps(conflict)]), "--wait")
    assert code == 1 and "1 event(s) sent: 0 applied, 0 held, 1 rejected" in out
    assert "event_id it-inv was already received with a different body" in out
