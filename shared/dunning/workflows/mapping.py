"""HTTP response mapping: ``{Variable: "$.json.path"}`` evaluated with jsonpath-ng (the extended parser:
filters, arithmetic). A path that matches nothing gives ``None``; one match gives its value; several give a
list of the values."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from jsonpath_ng.ext import parse as _parse


class MappingError(ValueError):
    """A JSONPath expression does not compile."""


@lru_cache(maxsize=512)
def compile_path(expression: str) -> Any:
    try:
        return _parse(expression)
    except Exception as exc:  # jsonpath-ng raises JsonPathParserError/LexerError and plain Exceptions
        raise MappingError(f"not a JSONPath expression: {exc}") from exc


def extract(expression: str, body: Any) -> Any:
    matches = [m.value for m in compile_path(expression).find(body)]
    if not matches:
        return None
    return matches[0] if len(matches) == 1 else matches


def apply(mapping: dict[str, str], body: Any) -> dict[str, Any]:
    """Every variable of ``mapping`` with its value from ``body`` (JSON text is parsed first)."""
    if isinstance(body, str | bytes):
        try:
            body = json.loads(body)
        except ValueError:
            body = None
    out: dict[str, Any] = {}
    for name, expression in mapping.items():
        try:
            out[name] = None if body is None else extract(expression, body)
        except MappingError:
            out[name] = None
    return out
