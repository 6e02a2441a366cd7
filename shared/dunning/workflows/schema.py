"""The JSON Schema of a workflow definition, generated from :class:`dunning.models.workflows.WorkflowDefinition`
at import (so it ships inside the Lambda layer with the package). ``infra/workflows/workflow.schema.json`` is
the published copy (``dunning.workflows.schema.schema_text()``; a unit test keeps them equal).

Also the canonical forms a version's hash and a diff use."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from dunning.models.workflows import WorkflowDefinition

SCHEMA_ID = "https://dunning.example.com/schemas/workflow.schema.json"
PUBLISHED_PATH = "infra/workflows/workflow.schema.json"  # relative to the repository root


@lru_cache(maxsize=1)
def workflow_schema() -> dict[str, Any]:
    generated = WorkflowDefinition.model_json_schema(by_alias=True, mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID,
            "title": "Dunning conversation workflow", **{k: v for k, v in generated.items() if k != "title"}}


def schema_text() -> str:
    """The published file's exact text."""
    return json.dumps(workflow_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@lru_cache(maxsize=1)
def validator() -> Draft202012Validator:
    Draft202012Validator.check_schema(workflow_schema())
    return Draft202012Validator(workflow_schema())


def canonical(definition: WorkflowDefinition) -> dict[str, Any]:
    """The definition as plain data with defaults left out (what a diff and a hash compare)."""
    data: dict[str, Any] = definition.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    return data


def canonical_yaml(definition: WorkflowDefinition) -> str:
    return yaml.safe_dump(canonical(definition), sort_keys=False, allow_unicode=True, width=100)


def definition_hash(definition: WorkflowDefinition) -> str:
    """sha256 of the canonical JSON: equal for sources that differ only in format, key order or defaults."""
    text = json.dumps(canonical(definition), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


if __name__ == "__main__":  # regenerate the published copy: python -m dunning.workflows.schema > infra/workflows/...
    print(schema_text(), end="")
