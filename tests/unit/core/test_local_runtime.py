"""Pieces of the embedded stack that can be checked without starting it."""

from __future__ import annotations

from pathlib import Path

from dunning_ops.local.pollers import matches_pattern
from dunning_ops.local.translate import LOCAL_PARAMETERS, translate

ROOT = Path(__file__).resolve().parents[3]

INSERT_LETTER = {"eventName": "INSERT", "dynamodb": {"NewImage": {"action": {"S": "letter"}}}}


def test_filter_patterns_match_like_lambda_filter_criteria():
    pattern = {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"action": {"S": ["letter"]}}}}
    assert matches_pattern(pattern, INSERT_LETTER)
    assert not matches_pattern(pattern, {**INSERT_LETTER, "eventName": "MODIFY"})
    assert not matches_pattern(pattern, {"eventName": "INSERT", "dynamodb": {"NewImage": {"action": {"S": "email"}}}})
    assert matches_pattern({"eventName": [{"prefix": "INS"}]}, INSERT_LETTER)
    assert matches_pattern({"x": [{"exists": False}]}, INSERT_LETTER)
    assert matches_pattern({"eventName": [{"anything-but": ["REMOVE"]}]}, INSERT_LETTER)


def test_translation_inlines_the_definition_and_keeps_context_paths_intact():
    local = translate(ROOT / "template.yaml", "bucket", dict(LOCAL_PARAMETERS))
    sm = local.cloudformation["Resources"]["CollectionsRunStateMachine"]
    joined = sm["Properties"]["DefinitionString"]["Fn::Join"][1]
    text = "".join(p for p in joined if isinstance(p, str))
    assert "$$.Map.Item.Value" in text
    assert "${" not in text
    assert any(isinstance(p, dict) and "Fn::GetAtt" in p for p in joined)
    assert "DefinitionSubstitutions" not in sm["Properties"]


def test_every_function_maps_back_to_its_source_folder():
    local = translate(ROOT / "template.yaml", "bucket", dict(LOCAL_PARAMETERS))
    for source in local.functions.values():
        assert (source.code_dir / "app.py").exists()
