"""The one Jinja2 environment for business-authored templates (letters and emails).

Templates are written by business users, so they render in Jinja2's ``SandboxedEnvironment``: attribute
access to Python internals (``__class__``, ``__globals__``, ``mro`` ...) raises ``SecurityError``, which is
re-raised here as :class:`TemplateError` with a readable message.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_TEMPLATE_CHARS = 100_000
MAX_OUTPUT_CHARS = 500_000


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
    return out
