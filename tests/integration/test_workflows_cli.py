"""``dunning workflows``: validate offline (exit 0/1, ``step: message``), and publish, list, show, diff and
install-templates against a stack's conversations table and published configuration (moto; the Target's outputs
name them as a deployed stack's would)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from dunning.store import blobs
from dunning.store.blobs import S3Blobs
from dunning.workflows.templates import TEMPLATE_DIR, TEMPLATE_IDS
from dunning_ops.cli import workflows_cmd
from dunning_ops.cli.main import main
from dunning_ops.target import Target
from tests.unit.workflows_app.support import BROKEN, CONFIG, ROOT, TABLE, moto_table, source

BUCKET = "runs"
OUTPUTS = {"LedgerTableName": "ledger", "ContactsTableName": "contacts", "RunsTableName": "runs",
           "IdempotencyTableName": "idem", "LettersBucketName": "letters", "RunsBucketName": BUCKET,
           "ConversationsTableName": TABLE}


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Target]:
    with moto_table(monkeypatch):
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        blobs._config_cache.clear()
        S3Blobs(BUCKET).publish_config(CONFIG)
        t = Target(stack="dunning-test")
        t.__dict__["outputs"] = dict(OUTPUTS)  # what describe_stacks answers for a deployed stack
        monkeypatch.setattr(workflows_cmd, "target", lambda args: t)
        yield t
        blobs._config_cache.clear()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


# ---------------------------------------------------------------------------------------------- offline
def test_validate_a_broken_file_prints_the_step_and_the_reason(tmp_path, capsys):
    code, out, _ = run(capsys, "workflows", "validate", write(tmp_path, "broken.yaml", BROKEN))
    assert code == 1
    lines = out.splitlines()
    assert "error(s)" in lines[0]
    assert any(line.strip().startswith("ask: ") and "nowhere" in line for line in lines), out
    assert any(line.strip().startswith("orphan: ") and "reach" in line.lower() for line in lines), out


def test_validate_json_output_and_teams_only_with_config(tmp_path, capsys):
    path = write(tmp_path, "mars.json", json.dumps({
        "id": "mars", "name": "To Mars", "start": "go", "steps": [{"id": "go", "type": "route", "team": "mars"}]}))
    code, out, _ = run(capsys, "workflows", "validate", path, "--json")
    assert code == 0 and json.loads(out)["valid"] is True and json.loads(out)["teams_checked"] is False
    code, out, _ = run(capsys, "workflows", "validate", path, "--config", str(ROOT / "infra" / "config"), "--json")
    data = json.loads(out)
    assert code == 1 and data["valid"] is False
    assert [(e["step"], "mars" in e["message"]) for e in data["errors"]] == [("go", True)]


def test_validate_the_shipped_templates_with_the_configuration(capsys):
    for template_id in TEMPLATE_IDS:
        code, out, _ = run(capsys, "workflows", "validate", str(TEMPLATE_DIR / f"{template_id}.yaml"),
                           "--config", str(ROOT / "infra" / "config" / "dunning.yaml"))
        assert code == 0 and "is valid" in out, out


def test_every_command_has_help(capsys):
    for command in ("validate", "publish", "list", "show", "diff", "install-templates"):
        with pytest.raises(SystemExit) as done:
            main(["workflows", command, "--help"])
        assert done.value.code == 0
        assert "usage: dunning workflows" in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------- on a stack
def test_publish_list_show_diff(stack, tmp_path, capsys):
    one = write(tmp_path, "greet.yaml", source(text="One"))
    code, out, _ = run(capsys, "workflows", "publish", "greet", "--file", one, "--note", "first")
    assert (code, out.strip()) == (0, "published greet v1 (live)")
    code, out, _ = run(capsys, "workflows", "publish", "greet", "--file", one)
    assert code == 0 and "unchanged: v1 is live" in out
    two = write(tmp_path, "greet2.yaml", source(text="Two"))
    code, out, _ = run(capsys, "workflows", "publish", "greet", "--file", two, "--json")
    assert code == 0 and json.loads(out) == {"workflow": "greet", "version": 2, "live": True, "new": True,
                                             "hash": json.loads(out)["hash"]}

    code, out, _ = run(capsys, "workflows", "list", "--json")
    assert code == 0 and [(r["id"], r["live"], r["latest"], r["draft"]) for r in json.loads(out)] == [
        ("greet", "v2", 2, "same")]
    code, out, _ = run(capsys, "workflows", "list")
    assert "greet" in out and "v2" in out

    code, out, _ = run(capsys, "workflows", "show", "greet")
    assert code == 0 and out == source(text="Two")  # the live version, as written
    code, out, _ = run(capsys, "workflows", "show", "greet", "--version", "1", "--format", "json")
    assert code == 0 and json.loads(out)["steps"][0]["text"] == "One"
    code, out, _ = run(capsys, "workflows", "show", "greet", "--format", "svg")
    assert code == 0 and out.lstrip().startswith("<svg") and "hand_over" in out

    code, out, _ = run(capsys, "workflows", "diff", "greet", "1", "2")
    assert code == 0 and "steps changed: hello" in out and "+  text: Two" in out
    code, out, _ = run(capsys, "workflows", "diff", "greet", "2", "2")
    assert code == 0 and "no difference" in out


def test_publish_refuses_an_invalid_file_with_the_step_and_the_reason(stack, tmp_path, capsys):
    code, _, err = run(capsys, "workflows", "publish", "greet", "--file", write(tmp_path, "b.yaml", BROKEN))
    assert code == 1 and "not published" in err and "ask: " in err and "nowhere" in err
    code, out, _ = run(capsys, "workflows", "show", "greet", "--version", "draft")
    assert code == 0 and out == BROKEN  # the draft is kept, as written
    code, out, _ = run(capsys, "workflows", "list", "--json")
    assert [(r["live"], r["draft"]) for r in json.loads(out)] == [("-", "invalid")]
    code, _, err = run(capsys, "workflows", "publish", "unknown_one")
    assert code == 2 and "no workflow unknown_one" in err


def test_install_templates_is_idempotent(stack, capsys):
    code, out, _ = run(capsys, "workflows", "install-templates", "--json")
    assert code == 0 and json.loads(out) == [{"id": i, "live": "v1"} for i in TEMPLATE_IDS]
    code, out, _ = run(capsys, "workflows", "install-templates", "--json")
    assert code == 0 and json.loads(out) == [{"id": i, "live": "v1"} for i in TEMPLATE_IDS]
    code, out, _ = run(capsys, "workflows", "show", "vip_routing", "--version", "1")
    assert code == 0 and out == (TEMPLATE_DIR / "vip_routing.yaml").read_text(encoding="utf-8")
