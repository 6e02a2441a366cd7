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
    """A constructor for ``cls`` that takes every field as a keyword and does not validate."""
    if not _shortcut_ok(cls):
        return cls
    names = frozenset(cls.model_fields)
    count = len(names)
    new = cls.__new__
    # Every instance has every field set. They share one set: pydantic never changes it in place on a
    # frozen model (``model_copy`` copies it first), and one shared set is one object less per instance
    # for the garbage collector to track.
    fields_set = set(names)

    def build(**values: Any) -> M:
        # A count check only (comparing the key sets costs as much as validating): a misspelt field is
        # caught by the tests that re-validate the engine's output.
        if len(values) != count:
            raise TypeError(f"{cls.__name__}: pass exactly the fields {sorted(names)}")
        m = new(cls)
        _set(m, "__dict__", values)
        _set(m, "__pydantic_fields_set__", fields_set)
        _set(m, "__pydantic_extra__", None)
        _set(m, "__pydantic_private__", None)
        return m

    return build
