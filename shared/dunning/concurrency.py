"""Thread pools whose tasks run in the caller's context.

A task submitted to a ``ThreadPoolExecutor`` runs in the pool thread's own context, not the caller's, so
whatever the handler's context carries is lost on that thread: Powertools' logger keys, a tracing segment,
the benchmarks' call attribution. These helpers give every task a copy of the submitting context.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def submit_in_context(pool: Executor, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> Future[R]:
    """``pool.submit(fn, ...)``, run in a copy of the caller's context."""
    return pool.submit(contextvars.copy_context().run, fn, *args, **kwargs)


def map_in_context(pool: Executor, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
    """``pool.map(fn, items)`` (results in order), each call run in a copy of the caller's context."""
    futures = [submit_in_context(pool, fn, item) for item in items]
    return (f.result() for f in futures)
