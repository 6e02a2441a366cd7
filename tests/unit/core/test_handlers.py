"""Every handler is thin and stateless between invocations: Powertools' logger clears its keys on each
invocation, and metrics name a thing, with what varies (a status) as a dimension."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from dunning.observability import count_by, metrics

ROOT = Path(__file__).resolve().parents[3]
HANDLERS = sorted(ROOT.glob("functions/*/app.py"))


def _decorator_calls(path: Path, name: str) -> list[ast.Call]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [d for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) for d in node.decorator_list
            if isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute) and d.func.attr == name]


@pytest.mark.parametrize("path", HANDLERS, ids=lambda p: p.parent.name)
def test_every_handler_clears_its_logger_keys_on_each_invocation(path):
    calls = _decorator_calls(path, "inject_lambda_context")
    assert len(calls) == 1, f"{path.parent.name}: one inject_lambda_context"
    clear = {k.arg: k.value for k in calls[0].keywords}.get("clear_state")
    assert isinstance(clear, ast.Constant) and clear.value is True


@pytest.mark.parametrize("path", HANDLERS, ids=lambda p: p.parent.name)
def test_no_metric_name_is_built_from_a_value(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "add_metric":
            name = {k.arg: k.value for k in node.keywords}["name"]
            assert isinstance(name, ast.Constant), f"{path.parent.name}: metric name {ast.unparse(name)}"


def test_counts_by_status_are_one_metric_with_a_status_dimension_that_does_not_leak(capsys):
    count_by("Letters", "status", {"rendered": 2, "failed": 1})
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    by_status = {line["status"]: line["Letters"] for line in lines}
    assert by_status == {"failed": [1.0], "rendered": [2.0]}
    for line in lines:
        (directive,) = line["_aws"]["CloudWatchMetrics"]
        assert [m["Name"] for m in directive["Metrics"]] == ["Letters"]
        assert "status" in directive["Dimensions"][0]
    # the function's own metrics object never saw the dimension
    assert "status" not in metrics.dimension_set
