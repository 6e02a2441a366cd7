"""Branch conditions: ``{field, op, value?}`` and ``{all: [...]}``, ``{any: [...]}``, ``{not: {...}}``.

- ``exists``: the field has a value (not missing, not None, not blank); ``not_exists`` the opposite.
- ``equals``/``not_equals``: strings compare case-insensitively (trimmed); numbers numerically ("5" equals 5);
  booleans as booleans ("true"/"yes"/"1").
- ``in``/``not_in``: ``equals`` against any item of the list.
- ``contains``: a substring (case-insensitive) of a string, or an item (``equals``) of a list.
- ``regex``: ``re.search`` on the value as text (a missing value never matches).
- ``gt``/``gte``/``lt``/``lte``: numbers, or ISO dates; anything else does not match.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from dunning.models.workflows import AllOf, AnyOf, Cond, Condition, NotOf, RunState

_TRUE = {"true", "yes", "1", "y", "on"}
_FALSE = {"false", "no", "0", "n", "off"}


def resolve(field: str, state: RunState) -> Any:
    """The value of ``contact.X``, ``vars.X`` or ``conversation.X`` in ``state`` (None when missing)."""
    scope, _, name = field.partition(".")
    source = {"contact": state.contact, "vars": state.variables, "conversation": state.conversation}.get(scope)
    return None if source is None else source.get(name)


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | Decimal):
        try:
            return Decimal(str(value))
        except InvalidOperation:
            return None
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


def _date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and len(value.strip()) == 10:
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        return True if lowered in _TRUE else False if lowered in _FALSE else None
    if isinstance(value, int):
        return bool(value) if value in (0, 1) else None
    return None


def equal(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return _bool(a) is not None and _bool(a) == _bool(b)
    if isinstance(a, str) and isinstance(b, str) and a.strip().casefold() == b.strip().casefold():
        return True
    na, nb = _number(a), _number(b)
    if na is not None and nb is not None:
        return na == nb
    return str(a).strip().casefold() == str(b).strip().casefold()


def _compare(a: Any, b: Any) -> int | None:
    na, nb = _number(a), _number(b)
    if na is not None and nb is not None:
        return (na > nb) - (na < nb)
    da, db = _date(a), _date(b)
    if da is not None and db is not None:
        return (da > db) - (da < db)
    return None


@lru_cache(maxsize=256)
def compile_regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def present(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list | dict):
        return bool(value)
    return True


def _test(cond: Condition, value: Any) -> bool:
    op, expected = cond.op, cond.value
    if op == "exists":
        return present(value)
    if op == "not_exists":
        return not present(value)
    if op == "equals":
        return equal(value, expected)
    if op == "not_equals":
        return not equal(value, expected)
    if op in ("in", "not_in"):
        found = any(equal(value, item) for item in (expected if isinstance(expected, list) else [expected]))
        return found if op == "in" else not found
    if op == "contains":
        if isinstance(value, list):
            return any(equal(item, expected) for item in value)
        if value is None or expected is None:
            return False
        return str(expected).casefold() in str(value).casefold()
    if op == "regex":
        if value is None or not isinstance(expected, str):
            return False
        return compile_regex(expected).search(str(value)[:10_000]) is not None
    order = _compare(value, expected)
    if order is None:
        return False
    return {"gt": order > 0, "gte": order >= 0, "lt": order < 0, "lte": order <= 0}[op]


def evaluate(cond: Cond, state: RunState) -> bool:
    if isinstance(cond, AllOf):
        return all(evaluate(c, state) for c in cond.all)
    if isinstance(cond, AnyOf):
        return any(evaluate(c, state) for c in cond.any)
    if isinstance(cond, NotOf):
        return not evaluate(cond.not_, state)
    return _test(cond, resolve(cond.field, state))


def leaves(cond: Cond) -> list[Condition]:
    """Every ``{field, op, value}`` in ``cond``."""
    if isinstance(cond, AllOf):
        return [leaf for c in cond.all for leaf in leaves(c)]
    if isinstance(cond, AnyOf):
        return [leaf for c in cond.any for leaf in leaves(c)]
    if isinstance(cond, NotOf):
        return leaves(cond.not_)
    return [cond]
