"""The collections strategy engine (S2): pure assignment and evaluation, no AWS.

- :func:`account_subject`, :func:`assign`, :func:`preview_hierarchy` — which hierarchy an account gets;
- :func:`evaluate_account` — what a run does for an account on a date, with reasons;
- :func:`next_state` — the account's collection state once that run's contacts exist.
"""

from dunning.strategy.assignment import (
    NO_POOL_MATCHED,
    UnknownHierarchyError,
    account_subject,
    assign,
    preview_hierarchy,
)
from dunning.strategy.compiled import PREDICTION_LATE, PREDICTION_VERY_LATE
from dunning.strategy.evaluation import evaluate_account, next_state

__all__ = [
    "NO_POOL_MATCHED",
    "PREDICTION_LATE",
    "PREDICTION_VERY_LATE",
    "UnknownHierarchyError",
    "account_subject",
    "assign",
    "evaluate_account",
    "next_state",
    "preview_hierarchy",
]
