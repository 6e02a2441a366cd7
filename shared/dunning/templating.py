"""The one Jinja2 environment for business-authored templates (letters and emails), and the locale their values
are formatted in (:func:`locale_tag`).

Templates are written by business users, so they render in Jinja2's ``SandboxedEnvironment``: attribute
access to Python internals (``__class__``, ``__globals__``, ``mro`` ...) raises ``SecurityError``, which is
re-raised here as :class:`TemplateError` with a readable message.

Rendered text is tidied in one respect (:func:`tidy_punctuation`): a sentence's period right after a value that
already ends with one is dropped. Dates and amounts end with a period in some locales (Russian "5 марта 2026 г.",
the Saudi riyal "ر.س.", a company "S.A."), so "до {{ dates.pay_by }}." would print "2026 г..".
"""

# ruff: noqa: RUF002 - Cyrillic examples in docstrings

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from babel import Locale, UnknownLocaleError
from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_TEMPLATE_CHARS = 100_000
MAX_OUTPUT_CHARS = 500_000


# a period, then (after bidi marks or closing HTML tags) another one ending a sentence; "..." and "../" stay
_DOUBLED_PERIOD = re.compile(
    r"(?<=[^.\s])\.((?:[\u200e\u200f\u061c\u202c\u2069]|</[A-Za-z][A-Za-z0-9]*>)*)\.(?=\s|<|$)")


def tidy_punctuation(text: str) -> str:
    """``"5 марта 2026 г.."`` -> ``"5 марта 2026 г."``; an ellipsis or a relative path is left alone."""
    return _DOUBLED_PERIOD.sub(r".\1", text) if "." in text else text


@lru_cache(maxsize=256)
def locale_tag(language: str, country: str = "") -> str:
    """The locale amounts and dates are formatted in: the letter's language in the recipient's country.

    ``("en", "GB")`` -> ``"en-GB"`` (5 March 2026, £1,234.50), ``("pt-BR", "PT")`` -> ``"pt-PT"``,
    ``("ar", "EG")`` -> ``"ar-EG"``. When babel has no such locale, English outside the US uses CLDR's
    international English (``("en", "RU")`` -> ``"en-001"``: 14 November 2026, not November 14); other
    languages, and a letter with no country, use the language tag itself (``"en"`` formats as en-US,
    ``"pt-BR"`` as Brazil)."""
    tag = (language or "").strip().replace("_", "-")
    base = tag.split("-")[0].lower() or "en"
    region = (country or "").strip().upper()
    if len(region) == 2 and region.isalpha():
        candidates = [f"{base}-{region}"] + (["en-001"] if base == "en" and region != "US" else [])
        for candidate in candidates:
            try:
                Locale.parse(candidate, sep="-")
                return candidate
            except (UnknownLocaleError, ValueError, TypeError):
                continue
    return tag


class TemplateError(ValueError):
    """A business template could not be rendered; the message says why."""


@lru_cache(maxsize=4)
def environment(autoescape: bool) -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(autoescape=autoescape, undefined=StrictUndefined, trim_blocks=True,
                                        lstrip_blocks=True)
    return env


@lru_cache(maxsize=512)
def _compile(source: str, autoescape: bool) -> Any:
    if len(source) > MAX_TEMPLATE_CHARS:
        raise TemplateError(f"template is {len(source)} characters; the limit is {MAX_TEMPLATE_CHARS}")
    try:
        return environment(autoescape).from_string(source)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax error on line {exc.lineno}: {exc.message}") from exc


def render(source: str, context: dict[str, Any], *, autoescape: bool = False, name: str = "template") -> str:
    """Render ``source`` with ``context`` in the sandbox. Raises :class:`TemplateError`."""
    try:
        out = _compile(source, autoescape).render(**context)
    except TemplateError:
        raise
    except SecurityError as exc:
        raise TemplateError(f"{name}: the template tried something that is not allowed: {exc}") from exc
    except UndefinedError as exc:
        raise TemplateError(f"{name}: {exc.message}") from exc
    except Exception as exc:  # any other template-runtime failure is the template's fault
        raise TemplateError(f"{name}: {type(exc).__name__}: {exc}") from exc
    if len(out) > MAX_OUTPUT_CHARS:
        raise TemplateError(f"{name}: rendered output exceeds {MAX_OUTPUT_CHARS} characters")
    return tidy_punctuation(out)
