"""Checking a customer's answer to an ``ask`` step, by kind. Each check returns an :class:`Answer`: ``ok``, the
normalized ``value`` to save, or a ``reason`` (for the step history, never shown verbatim to customers).

- text: 1..2000 characters after trimming; an optional ``pattern`` (``re.search``).
- email: one ``@``, a dot-atom local part (<= 64), a domain of letters/digits/hyphens labels with a
  2+ letter top-level label; lowercased.
- phone: 7..15 digits, with an optional leading ``+`` (or ``00``), spaces, dashes, dots and parentheses;
  normalized to ``+digits``.
- number: a decimal (``12``, ``-3.5``, ``2,5``), between ``min`` and ``max`` inclusive; saved as an int when
  whole, else as its decimal text.
- date: ISO ``yyyy-mm-dd`` or ``d.m.yyyy``; bounds are ISO dates, ``today`` or ``+Nd``/``-Nd`` from ``today``;
  saved as ISO text.
- choice: a choice's value or label (case-insensitive), or its 1-based number in the list; saved as the value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from dunning.models.common import MAX_DATE, MIN_DATE
from dunning.models.workflows import AskStep, Choice
from dunning.workflows.conditions import compile_regex

MAX_TEXT = 2000

_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_TLD = re.compile(r"^[A-Za-z]{2,63}$|^xn--[A-Za-z0-9-]{1,59}$")
_PHONE = re.compile(r"^(\+|00)?[0-9 ().\-]+$")
_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$|^[+-]?\d+,\d{1,2}$")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DMY = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_RELATIVE = re.compile(r"^([+-])(\d{1,4})d$")


@dataclass(frozen=True)
class Answer:
    ok: bool
    value: Any = None
    reason: str = ""


def _bad(reason: str) -> Answer:
    return Answer(False, None, reason)


def check_text(text: str, pattern: str | None = None) -> Answer:
    value = text.strip()
    if not value:
        return _bad("empty")
    if len(value) > MAX_TEXT:
        return _bad(f"longer than {MAX_TEXT} characters")
    if pattern and compile_regex(pattern).search(value) is None:
        return _bad("does not match the pattern")
    return Answer(True, value)


def check_email(text: str) -> Answer:
    value = text.strip()
    if value.lower().startswith("mailto:"):
        value = value[7:]
    if len(value) > 254 or value.count("@") != 1:
        return _bad("not an email address")
    local, domain = value.rsplit("@", 1)
    if not local or len(local) > 64 or not _LOCAL.match(local):
        return _bad("not an email address")
    labels = domain.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels) or not _TLD.match(labels[-1]):
        return _bad("not an email address")
    return Answer(True, value.lower())


def check_phone(text: str) -> Answer:
    value = text.strip()
    if not _PHONE.match(value):
        return _bad("not a phone number")
    digits = re.sub(r"\D", "", value[2:] if value.startswith("00") else value)
    if not 7 <= len(digits) <= 15:
        return _bad("a phone number has 7 to 15 digits")
    return Answer(True, "+" + digits)


def parse_number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    text = str(value).strip().replace(" ", "")
    if not _NUMBER.match(text):
        return None
    try:
        return Decimal(text.replace(",", "."))
    except InvalidOperation:
        return None


def check_number(text: str, low: Any = None, high: Any = None) -> Answer:
    number = parse_number(text)
    if number is None:
        return _bad("not a number")
    lo, hi = parse_number(low), parse_number(high)
    if lo is not None and number < lo:
        return _bad(f"below {lo}")
    if hi is not None and number > hi:
        return _bad(f"above {hi}")
    value: Any = int(number) if number == number.to_integral_value() else str(number.normalize())
    return Answer(True, value)


def parse_date(text: str) -> date | None:
    value = text.strip()
    try:
        if _ISO.match(value):
            parsed = date.fromisoformat(value)
        elif m := _DMY.match(value):
            parsed = date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        else:
            return None
    except ValueError:
        return None
    return parsed if MIN_DATE <= parsed <= MAX_DATE else None


def date_bound(bound: Any, today: date) -> date | None:
    """``"today"``, ``"+30d"``, ``"-7d"`` or an ISO date -> a date; None for no bound. ValueError if malformed."""
    if bound is None or bound == "":
        return None
    text = str(bound).strip().lower()
    if text == "today":
        return today
    if m := _RELATIVE.match(text):
        days = int(m.group(2))
        return today + timedelta(days=days if m.group(1) == "+" else -days)
    if _ISO.match(text):
        return date.fromisoformat(text)
    raise ValueError(f"{bound!r} is not a date bound (an ISO date, today, +Nd or -Nd)")


def check_date(text: str, low: Any, high: Any, today: date) -> Answer:
    parsed = parse_date(text)
    if parsed is None:
        return _bad("not a date")
    lo, hi = date_bound(low, today), date_bound(high, today)
    if lo is not None and parsed < lo:
        return _bad(f"before {lo.isoformat()}")
    if hi is not None and parsed > hi:
        return _bad(f"after {hi.isoformat()}")
    return Answer(True, parsed.isoformat())


def check_choice(text: str, choices: list[Choice]) -> Answer:
    value = text.strip().casefold()
    if not value:
        return _bad("empty")
    for choice in choices:
        if choice.value.strip().casefold() == value:
            return Answer(True, choice.value)
    for choice in choices:
        if choice.label and choice.label.strip().casefold() == value:
            return Answer(True, choice.value)
    if value.isdigit() and 1 <= int(value) <= len(choices):
        return Answer(True, choices[int(value) - 1].value)
    return _bad("not one of the choices")


def check(step: AskStep, text: str, today: date) -> Answer:
    """Check ``text`` against ``step``'s kind and options."""
    if len(text) > 10 * MAX_TEXT:
        return _bad("too long")
    if step.kind == "text":
        return check_text(text, step.pattern)
    if step.kind == "email":
        return check_email(text)
    if step.kind == "phone":
        return check_phone(text)
    if step.kind == "number":
        return check_number(text, step.min, step.max)
    if step.kind == "date":
        return check_date(text, step.min, step.max, today)
    return check_choice(text, step.choices)
