"""The workflow items of the conversations table on DynamoDB (moto): a version is written once and never
overwritten, a head change is conditional on the revision it was read at, and concurrent publishes get one version
per distinct content with distinct numbers and a live version that only moves forward."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from dunning.app import workflows as uc
from dunning.app.workflows import WorkflowDeps
from dunning.store.workflows import WorkflowHead
from tests.unit.workflows_app.support import ADMIN, T0, item_level_atomicity, make_deps, moto_table, source


@pytest.fixture
def deps(monkeypatch: pytest.MonkeyPatch) -> Iterator[WorkflowDeps]:
    with moto_table(monkeypatch), item_level_atomicity():
        yield make_deps()


def test_a_version_item_cannot_be_overwritten(deps):
    v1 = uc.publish(deps, ADMIN, "greet", T0, text=source(text="One"))
    forged = v1.model_copy(update={"source": source(text="Forged"), "note": "overwrite", "hash": "0" * 64})
    assert deps.store.put_version(forged) is False
    stored = deps.store.version("greet", 1)
    assert stored is not None and stored == v1 and "Forged" not in stored.source


def test_a_head_write_is_conditional_on_its_revision(deps):
    store = deps.store
    head = WorkflowHead(id="greet", name="Greeting", rev=1)
    assert store.put_head(head, expected_rev=None)
    assert not store.put_head(head, expected_rev=None)  # it exists now
    assert store.put_head(head.model_copy(update={"name": "Second", "rev": 2}), expected_rev=1)
    assert not store.put_head(head.model_copy(update={"name": "Stale", "rev": 2}), expected_rev=1)
    got = store.head("greet")
    assert got is not None and (got.name, got.rev) == ("Second", 2)
    assert [s.name for s in store.summaries()] == ["Second"]  # the list item moved with it


def test_versions_list_without_their_sources_oldest_first(deps):
    for i in range(3):
        uc.publish(deps, ADMIN, "greet", T0, text=source(text=f"T{i}"), note=f"n{i}")
    infos = deps.store.versions("greet")
    assert [(v.n, v.note) for v in infos] == [(1, "n0"), (2, "n1"), (3, "n2")]
    assert len({v.hash for v in infos}) == 3


def _race(deps: WorkflowDeps, texts: list[str]) -> list[int]:
    barrier = threading.Barrier(len(texts))

    def one(text: str) -> int:
        barrier.wait()
        return uc.publish(deps, ADMIN, "greet", T0, text=text).n

    with ThreadPoolExecutor(max_workers=len(texts)) as pool:
        return list(pool.map(one, texts))


def test_concurrent_publishes_of_the_same_content_make_one_version(deps):
    uc.save_draft(deps, ADMIN, "greet", source(text="Same"), None, T0)
    numbers = _race(deps, [source(text="Same")] * 8)
    assert numbers == [1] * 8
    assert [v.n for v in deps.store.versions("greet")] == [1]
    head = deps.store.head("greet")
    assert head is not None and (head.live_version, head.latest_version) == (1, 1)


def test_concurrent_publishes_of_distinct_contents_get_distinct_numbers(deps):
    uc.save_draft(deps, ADMIN, "greet", source(text="Start"), None, T0)
    texts = [source(text=f"Content {i}") for i in range(6)]
    numbers = _race(deps, texts)
    assert sorted(numbers) == [1, 2, 3, 4, 5, 6]  # one version each, no number twice
    versions = {n: deps.store.version("greet", n) for n in numbers}
    for text, n in zip(texts, numbers, strict=True):
        got = versions[n]
        assert got is not None and got.source == text  # each number holds the content that took it
    head = deps.store.head("greet")
    assert head is not None and head.live_version == 6 and head.latest_version == 6  # live only moves forward
    assert uc.list_workflows(deps, ADMIN)[0].live_version == 6
