"""Templates in workflow steps: sandboxed Jinja2 (the :mod:`dunning.templating` sandbox, with a lenient
undefined: a missing contact field renders as an empty string, ``None`` too).

Context: ``contact`` (fields), ``vars``, ``conversation`` (id, channel, number), ``settings``
(``Config.conversations.settings``) and, in HTTP steps only, ``secrets``: ``{{ secrets.crm_token }}``
renders as the placeholder ``«secret:crm_token»`` that only the HTTP Lambda resolves."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import ChainableUndefined, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from dunning import templating
from dunning.models.workflows import RunState
from dunning.templating import TemplateError

CONTEXT_NAMES: frozenset[str] = frozenset({"contact", "vars", "conversation", "settings"})
SECRET_NAME = "secrets"  # noqa: S105 - the name of the placeholder object
MAX_OUTPUT = 20_000


def secret_placeholder(name: str) -> str:
    return f"«secret:{name}»"


class _Secrets(dict[str, str]):
    """``secrets.NAME`` / ``secrets['NAME']`` -> the placeholder; the definition never holds a value."""

    def __missing__(self, key: str) -> str:
        return secret_placeholder(key)


def _finalize(value: Any) -> Any:
    return "" if value is None else value


@lru_cache(maxsize=1)
def environment() -> ImmutableSandboxedEnvironment:
    env = templating.environment(False).overlay(undefined=ChainableUndefined, finalize=_finalize)
    assert isinstance(env, ImmutableSandboxedEnvironment)
    return env


@lru_cache(maxsize=1024)
def _compile(source: str) -> Any:
    if len(source) > templating.MAX_TEMPLATE_CHARS:
        raise TemplateError(f"template is {len(source)} characters; the limit is {templating.MAX_TEMPLATE_CHARS}")
    try:
        return environment().from_string(source)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax error on line {exc.lineno}: {exc.message}") from exc


def context(state: RunState, *, secrets: bool = False) -> dict[str, Any]:
    ctx: dict[str, Any] = {"contact": dict(state.contact), "vars": dict(state.variables),
                           "conversation": dict(state.conversation), "settings": dict(state.settings)}
    if secrets:
        ctx[SECRET_NAME] = _Secrets()
    return ctx


def render(source: str, ctx: dict[str, Any]) -> str:
    """Render one step template. Raises :class:`dunning.templating.TemplateError`."""
    if "{" not in source:
        return source
    try:
        out = str(_compile(source).render(**ctx))
    except TemplateError:
        raise
    except SecurityError as exc:
        raise TemplateError(f"the template tried something that is not allowed: {exc}") from exc
    except Exception as exc:  # any other template-runtime failure is the template's fault
        raise TemplateError(f"{type(exc).__name__}: {exc}") from exc
    if len(out) > MAX_OUTPUT:
        raise TemplateError(f"rendered text exceeds {MAX_OUTPUT} characters")
    return out


@dataclass(frozen=True)
class TemplateRefs:
    """What a template reads: its top-level names and the ``vars.X`` it reads."""

    names: frozenset[str]
    variables: frozenset[str]


def inspect(source: str) -> TemplateRefs:
    """Parse ``source`` (syntax errors raise TemplateError) and list what it reads."""
    env = environment()
    try:
        ast = env.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax error on line {exc.lineno}: {exc.message}") from exc
    names = set(meta.find_undeclared_variables(ast)) - set(env.globals)
    variables: set[str] = set()
    for node in ast.find_all(nodes.Getattr):
        if isinstance(node.node, nodes.Name) and node.node.name == "vars":
            variables.add(node.attr)
    for item in ast.find_all(nodes.Getitem):
        if (isinstance(item.node, nodes.Name) and item.node.name == "vars" and isinstance(item.arg, nodes.Const)
                and isinstance(item.arg.value, str)):
            variables.add(item.arg.value)
    return TemplateRefs(frozenset(names), frozenset(variables))
