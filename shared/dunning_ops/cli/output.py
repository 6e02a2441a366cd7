"""Output helpers: readable tables by default, JSON with --json, errors on stderr.

Errors (:func:`fail`) go to stderr, always with a non-zero exit code: ``error: MESSAGE`` by default, and under
``--json`` one JSON object ``{"error": "MESSAGE", "code": 2}``, so stdout only ever holds a command's data.
Tables fit the terminal: when the columns are wider than it, the widest ones are wrapped.
"""

from __future__ import annotations

import json
import shutil
import sys
import textwrap
from collections.abc import Callable, Sequence
from typing import Any

_json_errors = False  # set by dunning_ops.cli.main from --json


def json_errors(enabled: bool) -> None:
    """Write :func:`fail`'s errors as JSON (``--json``)."""
    global _json_errors
    _json_errors = enabled


def json_errors_enabled() -> bool:
    return _json_errors


def emit(args: Any, data: Any, human: Callable[[Any], str]) -> None:
    if getattr(args, "json", False):
        print(json.dumps(data, indent=2, default=str, ensure_ascii=False))
    else:
        print(human(data))


def fail(message: str, code: int = 2) -> int:
    if _json_errors:
        print(json.dumps({"error": message, "code": code}, ensure_ascii=False), file=sys.stderr)
    else:
        print(f"error: {message}", file=sys.stderr)
    return code


def _cell(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value)
    return "" if value is None else str(value)


def terminal_width() -> int | None:
    """The terminal's width (``COLUMNS`` wins), or ``None`` when stdout is not a terminal: then tables keep
    their natural width (a file or a pipe gets whole lines)."""
    if not sys.stdout.isatty():
        return None
    width = shutil.get_terminal_size((0, 0)).columns
    return width or None


def fit_widths(natural: list[int], minimum: list[int], total: int | None, gap: int = 2) -> list[int]:
    """Column widths that fit ``total`` characters: the widest columns are narrowed to a common cap, never
    below ``minimum`` (when even that does not fit, the minimum wins)."""
    budget = None if total is None else total - gap * (len(natural) - 1)
    if budget is None or sum(natural) <= budget:
        return natural
    low, high = 1, max(natural)  # the largest cap whose widths fit
    while low < high:
        cap = (low + high + 1) // 2
        if sum(max(min(n, cap), m) for n, m in zip(natural, minimum, strict=True)) <= budget:
            low = cap
        else:
            high = cap - 1
    return [max(min(n, low), m) for n, m in zip(natural, minimum, strict=True)]


def table(rows: Sequence[dict[str, Any]], columns: list[str], width: dict[str, int] | None = None,
          total: int | None = -1) -> str:
    """Rows as aligned columns. ``width`` caps a column (longer cells are cut with "…"); the table then fits
    ``total`` characters (default: the terminal, see :func:`terminal_width`) by wrapping its widest columns."""
    width = width or {}
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    for row in cells:
        for i, c in enumerate(columns):
            limit = width.get(c)
            if limit and len(row[i]) > limit:
                row[i] = row[i][: limit - 1] + "…"
    natural = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    minimum = [min(n, max(len(c), 8)) for n, c in zip(natural, columns, strict=True)]
    sizes = fit_widths(natural, minimum, terminal_width() if total == -1 else total)
    lines = ["  ".join(c.upper().ljust(sizes[i]) for i, c in enumerate(columns)).rstrip()]
    for row in cells:
        wrapped = [textwrap.wrap(v, sizes[i], break_long_words=True, break_on_hyphens=False) or [""]
                   if len(v) > sizes[i] else [v] for i, v in enumerate(row)]
        for k in range(max(len(w) for w in wrapped)):
            lines.append("  ".join((w[k] if k < len(w) else "").ljust(sizes[i])
                                   for i, w in enumerate(wrapped)).rstrip())
    return "\n".join(lines)
