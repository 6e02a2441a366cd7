"""Scenario fixtures: each scenario runs once per test session (across xdist workers) and is shared by the
tiers that assert on it (tests/reliability; tests/template's IAM audit). Import the fixtures a test module or a
conftest needs from here."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.harness import shared_scenario
from tests.support.scenarios import SCENARIOS


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


@pytest.fixture(scope="session")
def api_run(tmp_path_factory):
    """Every route of the HTTP API called through the local gateway (tests/support/api_scenario.py)."""
    from tests.support.api_scenario import api

    return shared_scenario(tmp_path_factory, "api", api)


@pytest.fixture(scope="session")
def console_run(tmp_path_factory):
    """Every console page and form used through the local gateway (tests/support/console_scenario.py)."""
    from tests.support.console_scenario import console

    return shared_scenario(tmp_path_factory, "console", console)


@pytest.fixture(scope="session")
def interactions_run(tmp_path_factory):
    """Interactions through every edge: the API, the web form, inbound mail, the promise sweep and the console's
    interaction pages (tests/support/interactions_scenario.py)."""
    from tests.support.interactions_scenario import interactions

    return shared_scenario(tmp_path_factory, "interactions", interactions)


@pytest.fixture(scope="session")
def conversations_run(tmp_path_factory):
    """Conversation workflows through every edge: the workflow API and console pages, customers on the public
    chat and by mail, agents through the API and the console (tests/support/conversations_scenario.py)."""
    from tests.support.conversations_scenario import conversations

    return shared_scenario(tmp_path_factory, "conversations", conversations)
