"""The API's repositories, built once per container (and per settings, for tests that run several stacks)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache

from dunning.app import deps
from dunning.app.activities import ActivityDeps
from dunning.app.operations import OperationDeps
from dunning.app.queries import ReadDeps
from dunning.settings import ApiSettings
from dunning.store.identity import UserPool


def settings() -> ApiSettings:
    return ApiSettings.from_env()


@lru_cache(maxsize=4)
def _reads(s: ApiSettings) -> ReadDeps:
    return deps.read_deps(s)


@lru_cache(maxsize=4)
def _activities(s: ApiSettings) -> ActivityDeps:
    return deps.activity_deps(s)


@lru_cache(maxsize=4)
def _operations(s: ApiSettings) -> OperationDeps:
    return deps.operation_deps(s)


@lru_cache(maxsize=4)
def _pool(s: ApiSettings) -> UserPool:
    return deps.user_pool(s.user_pool_id, s.client_id)


def reads() -> ReadDeps:
    return _reads(settings())


def activities() -> ActivityDeps:
    return _activities(settings())


def operations() -> OperationDeps:
    return _operations(settings())


def user_pool() -> UserPool:
    return _pool(settings())


def today() -> date:
    return datetime.now(UTC).date()
