"""The README's own sequence on the local stack (issue 11, section 1): send ``events/ingest_single_event.json``
(an invoice for account A-S-1, which is never sent), then the demo events, then ``dunning run --as-of 2026-11-16
--wait``. The run succeeds, A-S-1 is set aside with its reason, ``dunning runs list``/``show`` show it, the
simulation gives the same reason, and once A-S-1's account and person arrive the next run of the same date
sends its letter."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator

import pytest

from dunning_ops.cli.main import main as cli
from dunning_ops.local.stack import LocalStack
from tests.support.local import ROOT, contacts, demo_events, send, start_stack

AS_OF = "2026-11-16"
REASON = ("account A-S-1: no person on the account, so a letter can't be sent "
          "(no account record has been received for it)")


@pytest.fixture(scope="module")
def readme_stack() -> Iterator[LocalStack]:
    stack = start_stack()
    send(stack, [(ROOT / "events" / "ingest_single_event.json").read_text(encoding="utf-8")])
    send(stack, demo_events())
    yield stack
    stack.stop()


def dunning(stack: LocalStack, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = cli(["--endpoint-url", stack.endpoint, *args])
    stack.drain()
    return code, capsys.readouterr().out


def test_the_readme_sequence_runs_and_sets_a_s_1_aside_with_its_reason(readme_stack, capsys):
    code, out = dunning(readme_stack, capsys, "run", "--as-of", AS_OF, "--wait")
    assert code == 0, out
    assert "status" in out and "SUCCEEDED" in out
    assert "accounts set aside (1;" in out and REASON in out  # a readable table, not a Python dict
    assert "{'" not in out and "'}" not in out
    assert not [c for c in contacts(readme_stack) if c["account_id"] == "A-S-1"]
    assert len([c for c in contacts(readme_stack) if c["action"] == "letter"]) > 0  # the rest of the run went on


def test_runs_list_and_show_give_the_summary_batches_and_the_set_aside_account(readme_stack, capsys):
    code, out = dunning(readme_stack, capsys, "runs", "list", "--json")
    assert code == 0
    (run,) = json.loads(out)
    assert (run["status"], run["set_aside"], run["failed_batches"]) == ("SUCCEEDED", 1, 0)

    code, out = dunning(readme_stack, capsys, "runs", "show", run["run_id"], "--json")
    assert code == 0
    details = json.loads(out)
    assert [(a["account_id"], a["reason"]) for a in details["set_aside_accounts"]] == [("A-S-1", REASON)]
    assert details["summary"]["set_aside"] == 1 and details["failures"] == []
    assert sum(b["contacts_created"] for b in details["batches"]) == details["summary"]["contacts_created"] > 0

    code, out = dunning(readme_stack, capsys, "runs", "show", run["run_id"])
    assert code == 0 and "batches:" in out and "A-S-1" in out and REASON in out

    assert dunning(readme_stack, capsys, "runs", "show", "run-1999-01-01-nope")[0] == 2


def test_the_simulation_gives_the_same_reason_and_predicts_no_letter(readme_stack, capsys):
    code, out = dunning(readme_stack, capsys, "simulate", "--as-of", AS_OF, "--account", "A-S-1", "--json")
    assert code == 0
    (row,) = json.loads(out)
    assert row["set_aside"] == REASON and row["would"] == []


def test_once_the_account_and_person_arrive_the_next_run_of_the_same_date_sends_its_letter(readme_stack, capsys):
    send(readme_stack, [
        {"event_id": "fix-a-s-1-person", "event_type": "person.upserted", "occurred_at": "2026-11-16T07:00:00Z",
         "source": "crm", "data": {"person_id": "P-S-1", "name": "Sam Sample", "language": "en",
                                   "address": {"lines": ["1 Sample Street"], "city": "Lisboa", "country": "PT"}}},
        {"event_id": "fix-a-s-1-account", "event_type": "account.upserted", "occurred_at": "2026-11-16T07:00:00Z",
         "source": "crm", "data": {"account_id": "A-S-1", "currency": "EUR", "main_person_id": "P-S-1",
                                   "attributes": {"segment": "residential"}}},
    ])
    code, out = dunning(readme_stack, capsys, "run", "--as-of", AS_OF, "--wait", "--json")
    assert code == 0
    details = json.loads(out)
    assert details["summary"]["set_aside"] == 0 and details["set_aside_accounts"] == []
    letters = [c for c in contacts(readme_stack) if c["account_id"] == "A-S-1"]
    assert [(c["action"], c["person_id"]) for c in letters] == [("letter", "P-S-1")]
    assert letters[0]["status"] in ("rendered", "printed")


def test_publish_refuses_a_sender_outside_the_stacks_ses_identity(readme_stack, capsys, tmp_path):
    bad = tmp_path / "config"
    shutil.copytree(ROOT / "infra" / "config", bad)
    reminder = bad / "templates" / "email" / "reminder.yaml"
    reminder.write_text(reminder.read_text(encoding="utf-8").replace(
        "sender_address: collections@dunning.example", "sender_address: billing@aurora.example"), encoding="utf-8")
    s3 = readme_stack.client("s3")
    bucket, key = readme_stack.outputs["RunsBucketName"], "config/current.json"
    before = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    capsys.readouterr()
    assert cli(["--endpoint-url", readme_stack.endpoint, "config", "publish", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "not published" in err and "outside the stack's SES identity collections@dunning.example" in err
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == before
