"""The committed JSON Schema of the configuration (issue 11 §4): current, complete, and true of dunning.yaml."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from dunning_ops.cli.config_cmd import DEFAULT_SCHEMA, config_schema, schema_text
from dunning_ops.cli.main import main

ROOT = Path(__file__).resolve().parents[3]
SCHEMA = ROOT / DEFAULT_SCHEMA
YAML = ROOT / "infra" / "config" / "dunning.yaml"


def _fields_without_description(schema: dict[str, Any]) -> list[str]:
    missing = []
    for name, model in [("Config", schema), *schema["$defs"].items()]:
        for field, prop in model.get("properties", {}).items():
            if not prop.get("description"):
                missing.append(f"{name}.{field}")
    return missing


def test_the_committed_schema_is_what_the_models_generate() -> None:
    # Given the committed schema file; When compared with a fresh generation
    # Then they are the same (run 'dunning config schema' after changing dunning.models.config)
    assert SCHEMA.read_text(encoding="utf-8") == schema_text()


def test_every_configuration_field_has_a_description() -> None:
    # Given the generated schema; Then every property of every model is described
    assert _fields_without_description(config_schema()) == []


def test_the_sample_configuration_validates_against_the_schema_and_names_it_for_editors() -> None:
    # Given the sample dunning.yaml
    text = YAML.read_text(encoding="utf-8")
    # Then its first line points editors at the schema next to it
    assert text.splitlines()[0] == "# yaml-language-server: $schema=./dunning.schema.json"
    # And the schema accepts it (so editors show no false errors)
    jsonschema.validate(yaml.safe_load(text), json.loads(SCHEMA.read_text(encoding="utf-8")))


def test_schema_check_fails_on_a_stale_file_and_writing_fixes_it(tmp_path: Path, capsys: Any) -> None:
    # Given a stale schema file
    out = tmp_path / "dunning.schema.json"
    out.write_text("{}\n", encoding="utf-8")
    # When checked, Then it fails with exit 2 and says how to fix it
    assert main(["config", "schema", "--output", str(out), "--check"]) == 2
    assert "dunning config schema" in capsys.readouterr().err
    # When written, Then the check passes
    assert main(["config", "schema", "--output", str(out)]) == 0
    assert main(["config", "schema", "--output", str(out), "--check"]) == 0


def test_the_readme_explains_each_strategy_setting_with_an_example() -> None:
    # Given the README's configuration section
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    # Then it explains quiet days (the exact days), track step, pre-dunning, exclusion (both scopes) and
    # predictions, each with a YAML example
    for phrase in ("N=2: D+1 and D+2 are quiet, the next contact is on D+3", "track_step:", "pre_dunning: true",
                   "scope: invoice", "aged_balance_below:", "predictions:", "benchmark_percent:"):
        assert phrase in readme, phrase
