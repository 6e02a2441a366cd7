"""``make bench``: every test here is marked ``slow`` and records its figures in one report, written to
``RESULTS.md`` at the end of a full session (``RESULTS.partial.md`` for a subset or ``BENCH_QUICK=1``).

Sizes (``BENCH_QUICK=1`` shrinks them for a quick look): 100,000 accounts for the engine, 2,000 for the local
stack run (3 rounds, each on a fresh stack), 3,000 for the in-process run steps.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from tests.benchmarks import harness
from tests.benchmarks.report import Report

QUICK = os.environ.get("BENCH_QUICK") == "1"
SIZES = {
    "engine_accounts": 20_000 if QUICK else 100_000,
    "engine_rounds": 3 if QUICK else 5,
    "local_accounts": 300 if QUICK else 2_000,
    "local_rounds": 1 if QUICK else 3,
    "queue_accounts": 20 if QUICK else 40,
    "inproc_accounts": 1_000 if QUICK else 3_000,
    "inproc_rounds": 2 if QUICK else 3,
    "letter_samples": 15 if QUICK else 60,
    "weasy_samples": 5 if QUICK else 10,
    "extract_letters": 60 if QUICK else 200,
    "cold_runs": 2 if QUICK else 5,
}
# a full session runs every benchmark module in this folder (anything less writes RESULTS.partial.md)
MODULES = {p.stem for p in Path(__file__).parent.glob("test_*.py")}
REPORT = Report()
_ran: set[str] = set()
_failed: list[str] = []


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "benchmarks" in str(item.path):
            item.add_marker(pytest.mark.slow)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    module = report.nodeid.split("::")[0].rsplit("/", 1)[-1].removesuffix(".py")
    name = report.nodeid.split("::")[-1]
    if report.when == "call":
        _ran.add(module)
    if report.when in ("setup", "call"):  # session fixtures do their measuring in the first test's setup
        REPORT.durations[name] = REPORT.durations.get(name, 0.0) + report.duration
    if report.failed:
        _failed.append(report.nodeid)


def pytest_sessionstart(session: pytest.Session) -> None:
    REPORT.machine = harness.machine()
    REPORT.started = time.perf_counter()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the report, then fail the session when a figure misses its target: recording a MISS is not
    enough (``BENCH_QUICK=1`` sizes are too small for the per-account targets, so a quick look only reports)."""
    if not _ran:
        return
    partial = QUICK or _ran != MODULES or bool(_failed)
    if _failed:
        REPORT.section(10, "", "**Benchmarks that crashed in this session:** " + ", ".join(_failed))
    path = REPORT.write(partial)
    print(f"\nbenchmark results written to {path}")
    misses = [r for r in REPORT.rows if r.status == "MISS"]
    if misses:
        print(f"{len(misses)} figure(s) miss their target:")
        for r in misses:
            print(f"  MISS {r.item} {r.metric}: {r.measured} (target {r.target})")
        if not QUICK and session.exitstatus == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def report() -> Report:
    return REPORT


@pytest.fixture(scope="session")
def sizes() -> dict[str, int]:
    return SIZES


@pytest.fixture(scope="session")
def local_data() -> Any:
    from tests.benchmarks.datagen import generate

    return generate(SIZES["local_accounts"])


@pytest.fixture(scope="session")
def local_rounds(local_data: Any) -> list[Any]:
    """The 2,000-account run on the local stack, several rounds, each on a fresh stack."""
    from tests.benchmarks.datagen import generate
    from tests.benchmarks.localrun import local_round

    rounds = []
    for i in range(SIZES["local_rounds"]):
        queue = generate(SIZES["queue_accounts"], prefix="Q") if i == 0 else None
        rounds.append(local_round(local_data, queue))
    return rounds


@pytest.fixture(scope="session")
def inproc_steps() -> list[Any]:
    """The run's steps in-process over fake I/O (CPU per batch), several rounds."""
    from tests.benchmarks.datagen import generate
    from tests.benchmarks.inproc import ledger_items, run_steps

    data = generate(SIZES["inproc_accounts"])
    items = ledger_items(data)
    run_steps(data, items=items)  # warm-up: imports, compiled configuration
    return [run_steps(data, items=items) for _ in range(SIZES["inproc_rounds"])]


@pytest.fixture(scope="session")
def letters_bench() -> dict[str, Any]:
    from tests.benchmarks.letters import measure

    return measure(SIZES)
