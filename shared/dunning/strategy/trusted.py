"""Build the engine's output models without re-validating values the engine itself produced.

The decision models are validated pydantic models; validating them costs more than the rest of the
evaluation of a typical account. The engine only ever fills them from a validated config and a validated
ledger view, so :func:`trusted` builds instances the way :meth:`pydantic.BaseModel.model_construct` does,
minus its per-call alias and default handling: the caller passes every field, already of the right type.

Safety:

- :func:`trusted` falls back to the validating constructor for a model that has aliases, private
  attributes, a ``model_post_init`` hook or ``extra='allow'`` (where the shortcut would not be equivalent);
- the unit tests re-validate every decision the property tests produce
  (``AccountDecision.model_validate(d.model_dump()) == d``), so a value of the wrong shape cannot hide here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

_set = object.__setattr__


def _shortcut_ok(cls: type[BaseModel]) -> bool:
    fields = cls.model_fields
    return (
        not cls.__pydantic_root_model__
        and not cls.__private_attributes__
        and cls.__pydantic_post_init__ is None
        and cls.model_config.get("extra") != "allow"
        and all(f.alias in (None, name) and f.validation_alias in (None, name) for name, f in fields.items())
    )


def trusted(cls: type[M]) -> Callable[..., M]:
    """A constructor for ``cls`` that takes the fields as keywords and does not validate them.

    Callers pass every field (the fast path). If the model grew a field the caller does not know yet, a
    field with a default is filled in (slower, but correct); a missing required field or an unknown
    keyword is a :class:`TypeError`.
    """
    if not _shortcut_ok(cls):
        return cls
    fields = dict(cls.model_fields)
    names = frozenset(fields)
    count = len(names)
    new = cls.__new__
    frozen = bool(cls.model_config.get("frozen"))
    # With every field given, every instance has the same fields set. On a frozen model they share one
    # set: pydantic never changes it in place there (``model_copy`` copies it first), and a shared set is
    # one object less per instance for the garbage collector to track.
    all_set = set(names)

    def complete(values: dict[str, Any]) -> set[str]:
        unknown = values.keys() - names
        if unknown:
            raise TypeError(f"{cls.__name__}: unknown fields {sorted(unknown)}")
        given = set(values)
        for name, field in fields.items():
            if name not in values:
                if field.is_required():
                    raise TypeError(f"{cls.__name__}: missing field {name!r}")
                values[name] = field.get_default(call_default_factory=True, validated_data=values)
        return given

    def build(**values: Any) -> M:
        # A count check only on the fast path (comparing key sets costs as much as validating); a
        # misspelt field with the right count is caught by the tests that re-validate the engine's output.
        fields_set = (all_set if frozen else set(names)) if len(values) == count else complete(values)
        m = new(cls)
        _set(m, "__dict__", values)
        _set(m, "__pydantic_fields_set__", fields_set)
        _set(m, "__pydantic_extra__", None)
        _set(m, "__pydantic_private__", None)
        return m

    return build
