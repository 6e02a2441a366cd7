"""``dunning config validate`` / ``publish`` catch a bad sender (issue 11, section 3b): an email template whose
sender is outside the stack's SES identity is refused when the configuration is checked, not email by email."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dunning.config_loader import load_config_dir
from dunning_ops.cli.config_cmd import sender_outside_identity
from dunning_ops.cli.main import main

ROOT = Path(__file__).resolve().parents[3]
CONFIG_DIR = ROOT / "infra" / "config"


@pytest.fixture
def bad_sender_dir(tmp_path: Path) -> Path:
    """A copy of the shipped configuration whose reminder email is sent from another domain."""
    target = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, target)
    yaml_file = target / "templates" / "email" / "reminder.yaml"
    text = yaml_file.read_text(encoding="utf-8")
    assert "sender_address: collections@dunning.example" in text
    yaml_file.write_text(text.replace("sender_address: collections@dunning.example",
                                      "sender_address: billing@aurora.example"), encoding="utf-8")
    return target


@pytest.fixture(autouse=True)
def no_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DUNNING_STACK", raising=False)
    monkeypatch.delenv("DUNNING_ENDPOINT_URL", raising=False)


@pytest.mark.parametrize("identity", ["collections@dunning.example", "dunning.example", "DUNNING.example"])
def test_the_shipped_senders_belong_to_the_local_identity(identity):
    assert sender_outside_identity(load_config_dir(CONFIG_DIR), identity) == []
    assert main(["config", "validate", str(CONFIG_DIR), "--sender-identity", identity]) == 0


@pytest.mark.parametrize("identity", ["collections@dunning.example", "dunning.example", "mail.aurora.example"])
def test_given_a_sender_outside_the_identity_then_validate_refuses_it_naming_the_template(
        bad_sender_dir, identity, capsys):
    assert main(["config", "validate", str(bad_sender_dir), "--sender-identity", identity]) == 2
    err = capsys.readouterr().err
    assert "email template 'reminder': sender billing@aurora.example is outside the stack's SES identity" in err


def test_a_subdomain_of_a_domain_identity_is_within_it():
    config = load_config_dir(CONFIG_DIR)
    assert sender_outside_identity(config, "example") == []
    assert [p.split(":")[0] for p in sender_outside_identity(config, "other.example")] == [
        *(f"email template {t.code!r}" for t in config.email_templates), "interactions mail"]


def test_without_an_identity_or_a_stack_validate_says_the_senders_were_not_checked(bad_sender_dir, capsys):
    assert main(["config", "validate", str(bad_sender_dir)]) == 0
    assert "senders not checked" in capsys.readouterr().out


def test_given_an_interaction_mail_sender_outside_the_identity_then_it_is_named_too():
    # Given the shipped configuration whose interaction mail goes out from another domain
    config = load_config_dir(CONFIG_DIR)
    moved = config.model_copy(update={"interactions": config.interactions.model_copy(update={
        "mail": config.interactions.mail.model_copy(update={"from_address": "support@aurora.example"})})})
    # Then the check names it (agents' replies and automatic replies would all be refused by SES)
    assert sender_outside_identity(moved, "dunning.example") == [
        "interactions mail: sender support@aurora.example is outside the stack's SES identity dunning.example "
        "(SES would refuse every email from it)"]
