"""Evaluate pool and rule criteria against a plain mapping. Pure; no AWS."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dunning.models.config import Criteria, Criterion

_MISSING = object()


def lookup(subject: Mapping[str, Any], path: str) -> Any:
    """Follow a dotted path through nested mappings; returns a sentinel when any part is absent."""
    node: Any = subject
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return _MISSING
        node = node[part]
    return _MISSING if node is None else node


def _comparable(a: Any, b: Any) -> tuple[Any, Any] | None:
    """Numbers compare as numbers (including numeric strings), everything else as strings."""
    try:
        return float(a), float(b)
    except (TypeError, ValueError):
        return (str(a), str(b)) if isinstance(a, str) and isinstance(b, str) else None


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b or str(a).lower() == str(b).lower()
    pair = _comparable(a, b)
    return pair is not None and pair[0] == pair[1] if pair else a == b


def criterion_matches(criterion: Criterion, subject: Mapping[str, Any]) -> bool:
    value = lookup(subject, criterion.field)
    if criterion.missing is not None:
        return (value is _MISSING) == criterion.missing
    if criterion.present is not None:
        return (value is not _MISSING) == criterion.present
    if value is _MISSING:
        return False
    if criterion.equals is not None:
        return _equal(value, criterion.equals)
    if criterion.in_ is not None:
        return any(_equal(value, option) for option in criterion.in_)
    for bound, ok in ((criterion.min, lambda v, b: v >= b), (criterion.max, lambda v, b: v <= b)):
        if bound is None:
            continue
        pair = _comparable(value, bound)
        if pair is None or not ok(*pair):
            return False
    return True


def matches(criteria: Criteria | Criterion | None, subject: Mapping[str, Any]) -> bool:
    """True when ``subject`` satisfies ``criteria``. ``None`` matches everything."""
    if criteria is None:
        return True
    if isinstance(criteria, Criterion):
        return criterion_matches(criteria, subject)
    if criteria.all is not None:
        return all(matches(c, subject) for c in criteria.all)
    return any(matches(c, subject) for c in criteria.any or [])
