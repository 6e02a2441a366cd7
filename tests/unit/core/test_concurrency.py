"""dunning.concurrency: pool tasks run in the caller's context (logger keys, tracing, call attribution)."""

from __future__ import annotations

import contextvars
from concurrent.futures import ThreadPoolExecutor

from dunning.concurrency import map_in_context, submit_in_context

CURRENT: contextvars.ContextVar[str | None] = contextvars.ContextVar("current", default=None)


def test_given_a_value_in_the_callers_context_when_tasks_run_on_a_pool_then_each_task_sees_it():
    CURRENT.set("handler")
    with ThreadPoolExecutor(max_workers=2) as pool:
        mapped = list(map_in_context(pool, lambda n: (n, CURRENT.get()), [1, 2, 3]))
        submitted = submit_in_context(pool, CURRENT.get).result()
        plain = pool.submit(CURRENT.get).result()
    assert mapped == [(1, "handler"), (2, "handler"), (3, "handler")]
    assert submitted == "handler"
    assert plain is None  # what the helpers are for: a plain submit loses the context


def test_a_task_that_changes_the_context_does_not_change_the_callers():
    CURRENT.set("handler")
    with ThreadPoolExecutor(max_workers=1) as pool:
        submit_in_context(pool, CURRENT.set, "task").result()
    assert CURRENT.get() == "handler"
