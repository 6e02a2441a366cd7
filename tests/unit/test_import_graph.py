"""The packages of ``dunning`` and ``dunning_ops`` import each other without cycles (``python -m
dunning_ops.imports``), and the runtime package never imports the operator package."""

from __future__ import annotations

import json
import subprocess
import sys

from dunning_ops.imports import ImportGraph, build_graph


def test_given_a_loop_of_imports_then_the_graph_reports_it_as_a_cycle():
    graph = ImportGraph(edges={"a.x": {"a.y"}, "a.y": {"a.z"}, "a.z": {"a.x"}, "a.w": {"a.x"}})
    assert graph.cycles() == [["a.x", "a.y", "a.z"]]


def test_given_the_runtime_package_importing_the_operator_package_then_the_graph_reports_it():
    graph = ImportGraph(edges={"dunning.app": {"dunning.store", "dunning_ops.cli"}})
    assert graph.runtime_to_operator() == [("dunning.app", "dunning_ops.cli")]


def test_the_cli_is_above_the_local_stack_and_the_local_stack_does_not_import_the_cli():
    edges = build_graph().edges
    assert "dunning_ops.local" in edges["dunning_ops.cli"]
    assert "dunning_ops.cli" not in edges.get("dunning_ops.local", set())


def test_the_import_graph_command_finds_no_cycle_between_packages():
    done = subprocess.run([sys.executable, "-m", "dunning_ops.imports", "--json"], capture_output=True, text=True,
                          check=False)
    graph = json.loads(done.stdout)
    assert "dunning_ops.cli" in graph["edges"] and "dunning.app" in graph["edges"], graph["edges"].keys()
    assert graph["cycles"] == [], graph["cycles"]
    assert graph["runtime_to_operator"] == []
    assert done.returncode == 0, done.stderr
