"""Output helpers: readable tables by default, JSON with --json, errors on stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from typing import Any


def emit(args: Any, data: Any, human: Callable[[Any], str]) -> None:
    if getattr(args, "json", False):
        print(json.dumps(data, indent=2, default=str, ensure_ascii=False))
    else:
        print(human(data))


def fail(message: str, code: int = 2) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def _cell(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value)
    return "" if value is None else str(value)


def table(rows: Sequence[dict[str, Any]], columns: list[str], width: dict[str, int] | None = None) -> str:
    width = width or {}
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    for row in cells:
        for i, c in enumerate(columns):
            limit = width.get(c)
            if limit and len(row[i]) > limit:
                row[i] = row[i][: limit - 1] + "…"
    sizes = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(sizes[i]) for i, c in enumerate(columns))]
    lines += ["  ".join(r[i].ljust(sizes[i]) for i in range(len(columns))).rstrip() for r in cells]
    return "\n".join(lines)
