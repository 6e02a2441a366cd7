"""The API's repositories, built once per container (and per settings, for tests that run several stacks)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache
from typing import TYPE_CHECKING

from dunning.app import deps
from dunning.app.activities import ActivityDeps
from dunning.app.operations import OperationDeps
from dunning.app.queries import ReadDeps
from dunning.settings import ApiSettings
from dunning.store.identity import UserPool

if TYPE_CHECKING:
    from dunning.app.conversations import ConversationDeps
    from dunning.app.interaction_mail import MailDeps
    from dunning.app.interactions import InteractionDeps
    from dunning.store.rate_limit import DynamoRateLimiter


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


@lru_cache(maxsize=4)
def _interactions(s: ApiSettings) -> InteractionDeps:
    return deps.interaction_deps(interactions_table=s.interactions_table, attachments_bucket=s.attachments_bucket,
                                 signing_secret_arn=s.signing_secret_arn, runs_bucket=s.runs_bucket,
                                 ledger_table=s.ledger_table, contacts_table=s.contacts_table,
                                 contact_retention_days=s.contact_retention_days)


@lru_cache(maxsize=4)
def _interaction_mail(s: ApiSettings) -> MailDeps:
    return deps.interaction_mail_deps(_interactions(s), s.inbound_mail_domain)


@lru_cache(maxsize=4)
def _rate_limiter(s: ApiSettings) -> DynamoRateLimiter:
    return deps.rate_limiter(s.interactions_table)


def interactions() -> InteractionDeps:
    return _interactions(settings())


@lru_cache(maxsize=4)
def _conversations(s: ApiSettings) -> ConversationDeps:
    return deps.conversation_deps(s)


def conversations() -> ConversationDeps:
    """The conversations' use cases (the web chat, the agents' routes)."""
    return _conversations(settings())


def interaction_mail() -> MailDeps:
    return _interaction_mail(settings())


def rate_limiter() -> DynamoRateLimiter:
    """The web form's per-client counters (in the interactions table)."""
    return _rate_limiter(settings())


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
