"""The CLI on the local stack, as a new user meets it (issue 11 §4 history, §5): unknown ids are errors, a
created contact's id is printed, --json uses the same field names everywhere, and the history shows every
run in order with readable actions and a reason whenever nothing was created."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from typing import Any

import pytest

from dunning_ops.cli.main import main as cli
from dunning_ops.local.demo_data import DEMO_AS_OF
from tests.support.local import run


@pytest.fixture(scope="module")
def stack(demo_stack):
    return demo_stack


def call(stack: Any, capsys: Any, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli(["--endpoint-url", stack.endpoint, *args])
    out, err = capsys.readouterr()
    return code, out, err


def as_json(stack: Any, capsys: Any, *args: str) -> Any:
    code, out, err = call(stack, capsys, *args, "--json")
    assert code == 0, err
    return json.loads(out)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["assignment", "set", "--account", "A-NOPE", "--hierarchy", "standard"], "unknown account 'A-NOPE'"),
        (["assignment", "set", "--account", "A-0001", "--hierarchy", "nope"], "unknown hierarchy 'nope'"),
        (["assignment", "preview", "--account", "A-NOPE"], "unknown account 'A-NOPE'"),
        (["assignment", "preview", "--hierarchy", "nope"], "unknown hierarchy 'nope'"),
        (["simulate", "--account", "A-NOPE"], "unknown account 'A-NOPE'"),
        (["history", "--hierarchy", "nope"], "unknown hierarchy 'nope'"),
        (["contacts", "create", "--person", "P-NOPE", "--type", "CUSTSVC/CALLBACK"], "unknown person 'P-NOPE'"),
        (["contacts", "create", "--person", "P-0001", "--account", "A-NOPE", "--type", "CUSTSVC/CALLBACK"],
         "unknown account 'A-NOPE'"),
        (["contacts", "create", "--person", "P-0002", "--account", "A-0001", "--type", "CUSTSVC/CALLBACK"],
         "person 'P-0002' is not on account 'A-0001'"),
    ],
)
def test_an_unknown_id_is_an_error_with_exit_2_and_a_message(stack, capsys, args, message):
    # When a command is given an id the stack does not know
    code, out, err = call(stack, capsys, *args)
    # Then exit 2, the message names it, no traceback, nothing on stdout
    assert (code, out) == (2, "")
    assert err.startswith("error: ") and message in err and "Traceback" not in err
    # And under --json the error is a JSON object (on stderr)
    code, out, err = call(stack, capsys, *args, "--json")
    assert code == 2 and out == ""
    error = json.loads(err)
    assert error["code"] == 2 and message in error["error"]


def test_nothing_was_assigned_by_the_refused_assignment(stack, capsys):
    rows = as_json(stack, capsys, "assignment", "list", "--manual-only")
    assert [r["account_id"] for r in rows if r["account_id"] == "A-NOPE"] == []


def test_contacts_create_prints_the_id_of_the_contact_it_made(stack, capsys):
    # When a contact is requested for a person on their account
    code, out, err = call(stack, capsys, "contacts", "create", "--person", "P-0001", "--account", "A-0001",
                          "--type", "CUSTSVC/CALLBACK", "--request-id", "cli-test-callback")
    assert code == 0, err
    # Then the output names the contact, and that contact exists
    contact_id = out.strip().splitlines()[-1]
    listed = as_json(stack, capsys, "contacts", "list", "--account", "A-0001")
    assert contact_id in {c["contact_id"] for c in listed}
    # And --json gives the same id (the request is idempotent: the contact already exists)
    again = as_json(stack, capsys, "contacts", "create", "--person", "P-0001", "--account", "A-0001",
                    "--type", "CUSTSVC/CALLBACK", "--request-id", "cli-test-callback")
    assert again["contact_ids"] == [contact_id] and again["existing"] == 1


def _keys(data: Any) -> list[tuple[str, Any]]:
    if isinstance(data, dict):
        return [(k, v) for k, v in data.items()] + [kv for v in data.values() for kv in _keys(v)]
    if isinstance(data, list):
        return [kv for v in data for kv in _keys(v)]
    return []


def test_json_output_uses_hierarchy_id_and_a_boolean_manual_in_every_command(stack, capsys):
    # Given a manual assignment, so "manual" is true somewhere
    assert call(stack, capsys, "assignment", "set", "--account", "A-0002", "--hierarchy", "standard")[0] == 0
    try:
        outputs = {
            "assignment list": as_json(stack, capsys, "assignment", "list"),
            "assignment preview --account": as_json(stack, capsys, "assignment", "preview", "--account", "A-0002"),
            "assignment preview --hierarchy": as_json(stack, capsys, "assignment", "preview", "--hierarchy",
                                                      "standard"),
            "simulate": as_json(stack, capsys, "simulate", "--as-of", DEMO_AS_OF.isoformat()),
            "simulate --account": as_json(stack, capsys, "simulate", "--account", "A-0002"),
            "history": as_json(stack, capsys, "history", "--hierarchy", "standard"),
        }
    finally:
        call(stack, capsys, "assignment", "clear", "--account", "A-0002")
    for command, data in outputs.items():
        keys = _keys(data)
        # Then no command calls it "hierarchy" (the simulation's nested decision has hierarchy_id too)
        assert "hierarchy" not in {k for k, _ in keys}, command
        assert {type(v) for k, v in keys if k == "manual"} <= {bool}, command
    assert any(k == "hierarchy_id" for k, _ in _keys(outputs["simulate"]))
    assert True in {v for k, v in _keys(outputs["assignment list"]) if k == "manual"}


def _names_in_reverse_id_order(stack: Any) -> tuple[str, str]:
    """Two execution names whose run ids (``run-DATE-`` + sha256 of the execution ARN, 8 hex) sort the wrong
    way round."""
    tag = uuid.uuid4().hex[:6]

    first = f"order-{tag}-1"
    names = (f"order-{tag}-{i}" for i in range(2, 100))
    second = next(n for n in names if _run_suffix_of(stack, n) < _run_suffix_of(stack, first))
    return first, second


def _run_suffix_of(stack: Any, name: str) -> str:
    execution = stack.outputs["CollectionsRunStateMachineArn"].replace(":stateMachine:", ":execution:")
    return hashlib.sha256(f"{execution}:{name}".encode()).hexdigest()[:8]


def test_history_shows_every_run_in_order_with_readable_actions_and_why_nothing_was_created(stack, capsys):
    # Given the demo date run twice, the second run's id sorting before the first's (a run id ends with a hash
    # of its execution ARN), so only the runs' times can put them in order
    first, second = _names_in_reverse_id_order(stack)
    for name in (first, second):
        assert run(stack, DEMO_AS_OF, name=name)["status"] == "SUCCEEDED"
    # When the history of the strategy with predictions (vip) is read
    rows = [r for r in as_json(stack, capsys, "history", "--hierarchy", "vip", "--since",
                               DEMO_AS_OF.isoformat()) if r["as_of"] == DEMO_AS_OF.isoformat()]
    # Then both runs are there, each row naming its run and its time, the earlier run first
    runs = list(dict.fromkeys(r["run_id"] for r in rows))
    assert len(runs) == 2
    assert runs[0].endswith(_run_suffix_of(stack, first)) and sorted(runs) == runs[::-1]  # by time, not by id
    assert all(r["run_at"] for r in rows)
    assert [r["run_at"] for r in rows] == sorted(r["run_at"] for r in rows)
    assert [r["run_id"] for r in rows] == sorted((r["run_id"] for r in rows), key=runs.index)
    # And actions read as what they do, with the template's name, not origin:step:action codes
    actions = [a for r in rows for a in r["actions"]]
    assert actions
    assert not [a for a in actions if re.match(r"^[a-z_]+:", a)]
    assert all(re.match(r"^(letter|email|activity|automation log)\b.* for \S+$", a) for a in actions), actions
    # And a row with no action says why, predictions included
    assert all(r["reasons"] for r in rows if not r["actions"])
    assert any("no prediction activity" in reason for r in rows for reason in r["reasons"])
    # And the table shows the run and its time
    code, out, _ = call(stack, capsys, "history", "--hierarchy", "vip", "--since", DEMO_AS_OF.isoformat())
    assert code == 0 and out.splitlines()[0].split()[:3] == ["AS_OF", "RUN", "RUN_AT"]
