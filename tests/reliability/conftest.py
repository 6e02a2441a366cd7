"""The reliability tier asserts on the shared scenarios (tests/support/scenarios.py)."""

from tests.support.scenario_fixtures import (  # noqa: F401
    clean_run,
    corpus_run,
    faulty_run,
    operations_run,
    redelivered_run,
)
