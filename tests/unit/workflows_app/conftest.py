from __future__ import annotations

from collections.abc import Iterator

import pytest

from dunning.app.workflows import WorkflowDeps
from tests.unit.workflows_app.support import make_deps, moto_table


@pytest.fixture
def deps(monkeypatch: pytest.MonkeyPatch) -> Iterator[WorkflowDeps]:
    with moto_table(monkeypatch):
        yield make_deps()
