"""The run's steps return pydantic models; the state machine reads their JSON. These tests hold the models to
the field names the ASL reads, so a renamed field fails here rather than in a run."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from dunning.app.assign import AssignResult
from dunning.app.create_contacts import BatchResult
from dunning.app.evaluate import EvaluatedBatch
from dunning.app.print_extract import ExtractPlan, ShardInput, ShardRef, ShardResult
from dunning.app.run_models import BatchInput, SummarizeInput
from dunning.app.summarize import RunSummary

ROOT = Path(__file__).resolve().parents[3]
ASL = json.loads((ROOT / "infra" / "statemachines" / "collections_run.asl.json").read_text())


def _states(states: dict[str, Any]) -> dict[str, Any]:
    found = dict(states)
    for state in states.values():
        for inner in (state.get("ItemProcessor") or state.get("Iterator") or {}).get("States", {}), *(
                b["States"] for b in state.get("Branches", [])):
            found.update(_states(inner))
    return found


STATES = _states(ASL["States"])


def _paths(node: Any, prefix: str) -> set[str]:
    """The first field after ``prefix`` of every JSONPath in ``node`` that starts with it."""
    text = json.dumps(node)
    return set(re.findall(r"(?<!\$)" + re.escape(prefix) + r"([A-Za-z_]+)", text))


def fields(model: type[BaseModel]) -> set[str]:
    return set(model.model_fields)


def test_the_payload_fields_the_asl_selects_are_fields_of_each_steps_result():
    selected = {"PrintExtract": ExtractPlan, "BuildShard": ShardResult}
    for state, model in selected.items():
        wanted = _paths(STATES[state]["ResultSelector"], "$.Payload.")
        assert wanted and wanted <= fields(model), (state, wanted - fields(model))


def test_the_run_state_the_asl_reads_after_assign_is_in_the_assign_result():
    # after Assign the state is its result: the Map's items and selectors, and the summaries' parameters
    wanted = (_paths(STATES["EvaluateBatches"]["ItemSelector"], "$.") | {STATES["EvaluateBatches"]["ItemsPath"][2:]}
              | _paths(STATES["Summarize"]["Parameters"], "$."))
    assert wanted <= fields(AssignResult), wanted - fields(AssignResult)


def test_each_step_reads_what_the_one_before_returns():
    # Evaluate's output is CreateContacts' input; a planned shard (and the run) make a ShardInput
    assert fields(BatchInput) <= fields(EvaluatedBatch)
    assert fields(ShardInput) - {"run_id", "as_of", "prefix"} <= fields(ShardRef)
    # the Map item of EvaluateBatches is a BatchInput
    item = {key.removesuffix(".$") for key in STATES["EvaluateBatches"]["ItemSelector"]}
    assert {"run_id", "as_of", "manifest_prefix", "batch"} <= item <= fields(BatchInput)
    assert {"run_id", "as_of", "batch_count"} <= fields(SummarizeInput)


def test_the_results_json_keeps_the_names_the_cli_and_the_demo_read():
    assert {"run_id", "status", "with_open_balance", "acting_accounts", "contacts_created",
            "contacts_by_action", "batches_done"} <= fields(RunSummary)
    assert {"contacts_created", "acting_accounts", "by_action", "fallbacks"} <= fields(BatchResult)
