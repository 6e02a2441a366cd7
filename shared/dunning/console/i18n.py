"""The console's labels: one message catalogue per language (``messages/<lang>.json``), English the reference.

A key missing from a translation falls back to English, so adding a language is a translation job: copy
``en.json`` and translate its values. Arabic pages are right-to-left.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Any

LANGUAGES: tuple[str, ...] = ("en", "pt-BR", "ru", "ar")
DEFAULT_LANGUAGE = "en"
RIGHT_TO_LEFT = frozenset({"ar"})


@cache
def catalogue(language: str) -> dict[str, str]:
    """The messages of one language as stored (no fallback); empty for a language without a file."""
    if language not in LANGUAGES:
        return {}
    text = resources.files("dunning.console").joinpath("messages", f"{language}.json").read_text(encoding="utf-8")
    data: dict[str, str] = json.loads(text)
    return data


class Messages:
    """Labels for one language: ``msg("runs.title")`` or ``msg("worklist.lead", n=3)`` (``str.format`` fields)."""

    def __init__(self, language: str) -> None:
        self.language = language if language in LANGUAGES else DEFAULT_LANGUAGE
        self._own = catalogue(self.language)
        self._en = catalogue(DEFAULT_LANGUAGE)

    @property
    def direction(self) -> str:
        return "rtl" if self.language in RIGHT_TO_LEFT else "ltr"

    def __call__(self, key: str, **params: Any) -> str:
        text = self._own.get(key) or self._en.get(key)
        if text is None:
            raise KeyError(f"message {key!r} is not in the English catalogue")
        return text.format(**params) if params else text

    def has(self, key: str) -> bool:
        return key in self._en


def pick_language(choices: Iterable[str | None], accept_language: str | None = None) -> str:
    """The first supported language among explicit choices (a ``lang`` query parameter, then the cookie), then
    the browser's ``Accept-Language`` (by quality), else English."""
    for choice in choices:
        if choice in LANGUAGES:
            return choice
    ranked: list[tuple[float, str]] = []
    for part in (accept_language or "").split(","):
        tag, _, q = part.strip().partition(";q=")
        try:
            quality = float(q) if q else 1.0
        except ValueError:
            quality = 0.0
        if tag:
            ranked.append((quality, tag.strip()))
    for _, tag in sorted(ranked, key=lambda r: -r[0]):
        for language in LANGUAGES:
            if tag.lower() == language.lower() or tag.split("-")[0].lower() == language.split("-")[0].lower():
                return language
    return DEFAULT_LANGUAGE
