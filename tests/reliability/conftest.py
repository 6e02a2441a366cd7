"""Scenario fixtures: each scenario runs once per test session (across xdist workers) and is shared."""

from __future__ import annotations

from typing import Any

import pytest

from tests.reliability.harness import shared_scenario
from tests.reliability.scenarios import SCENARIOS


def _scenario(tmp_path_factory: Any, name: str) -> dict[str, Any]:
    return shared_scenario(tmp_path_factory, name, SCENARIOS[name])


@pytest.fixture(scope="session")
def clean_run(tmp_path_factory):
    return _scenario(tmp_path_factory, "clean")


@pytest.fixture(scope="session")
def redelivered_run(tmp_path_factory):
    return _scenario(tmp_path_factory, "redelivered")


@pytest.fixture(scope="session")
def faulty_run(tmp_path_factory):
    return _scenario(tmp_path_factory, "faults")


@pytest.fixture(scope="session")
def corpus_run(tmp_path_factory):
    return _scenario(tmp_path_factory, "corpus")


@pytest.fixture(scope="session")
def operations_run(tmp_path_factory):
    return _scenario(tmp_path_factory, "operations")
