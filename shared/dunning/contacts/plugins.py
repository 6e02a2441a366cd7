"""Contact-rule plug-ins (S1.5, S1.6): Python algorithms a rule delegates to with ``algorithm: NAME``.

A plug-in is any class with a ``name``, the ``event_types`` it handles, and
``drafts(ctx, rule, config) -> list[ContactDraft]``. It returns ``[]`` when the event does not concern it,
and raises :class:`~dunning.contacts.context.NoContact` with a reason when it should create a contact
but cannot. Plug-ins are found in the ``dunning.contact_rules`` entry-point group, so an implementation
adds one by installing a package that declares, in its own ``pyproject.toml``::

    [project.entry-points."dunning.contact_rules"]
    my_rule = "my_package.module:MyRule"

Tests register plug-ins explicitly with :meth:`PluginRegistry.register`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from functools import lru_cache
from importlib.metadata import entry_points as installed_entry_points
from typing import Any, Protocol, runtime_checkable

from dunning.contacts.context import EventContext, NoContact, event_draft
from dunning.models.config import Config, ContactRule
from dunning.models.contacts import ContactDraft
from dunning.models.events import FieldActivityRemark as FieldActivityRemarkEvent

ENTRY_POINT_GROUP = "dunning.contact_rules"


@runtime_checkable
class ContactRulePlugin(Protocol):
    """What a plug-in provides. ``name`` is what ``ContactRule.algorithm`` refers to.

    Read-only members, so a plain class attribute (``event_types = ("severance.event",)``) satisfies them."""

    @property
    def name(self) -> str: ...

    @property
    def event_types(self) -> Collection[str]: ...

    def drafts(self, ctx: EventContext, rule: ContactRule, config: Config) -> list[ContactDraft]: ...


class EntryPointLike(Protocol):
    """The part of :class:`importlib.metadata.EntryPoint` the registry uses (lets tests pass fakes)."""

    name: str
    value: str

    def load(self) -> Any: ...


class PluginError(ValueError):
    """A plug-in cannot be registered (wrong shape, or a name that is already taken)."""


class PluginRegistry:
    """Plug-ins by name: load the installed ones with :meth:`from_entry_points`, add with :meth:`register`."""

    def __init__(self, plugins: Iterable[ContactRulePlugin | type] = ()) -> None:
        self._plugins: dict[str, ContactRulePlugin] = {}
        self.load_errors: list[str] = []  # entry points that could not be loaded (logged by the caller)
        for plugin in plugins:
            self.register(plugin)

    def register(self, plugin: ContactRulePlugin | type, *, replace: bool = False) -> ContactRulePlugin:
        """Register a plug-in instance, or a class that takes no arguments. Raises :class:`PluginError`."""
        instance = plugin() if isinstance(plugin, type) else plugin
        if not isinstance(instance, ContactRulePlugin) or not isinstance(
            getattr(instance, "name", None), str
        ):
            raise PluginError(
                f"{plugin!r} is not a contact-rule plug-in: "
                "it needs name, event_types and drafts(ctx, rule, config)"
            )
        if instance.name in self._plugins and not replace:
            raise PluginError(f"a contact-rule plug-in named {instance.name!r} is already registered")
        self._plugins[instance.name] = instance
        return instance

    @classmethod
    def from_entry_points(
        cls, entry_points: Iterable[EntryPointLike] | None = None, *, group: str = ENTRY_POINT_GROUP
    ) -> PluginRegistry:
        """Load every plug-in in ``group`` (or the given entry points). An entry point names a plug-in class
        (instantiated with no arguments), a factory function, or an instance. A broken plug-in never hides
        the others: its error goes to :attr:`load_errors`."""
        registry = cls()
        found = installed_entry_points(group=group) if entry_points is None else entry_points
        for ep in sorted(found, key=lambda e: e.name):
            try:
                target = ep.load()
                if not isinstance(target, type | ContactRulePlugin) and callable(target):
                    target = target()  # a factory function
                plugin = registry.register(target)
            except Exception as exc:  # a third-party plug-in may fail in any way on import
                registry.load_errors.append(f"contact-rule plug-in {ep.name} ({ep.value}): {exc}")
                continue
            if plugin.name != ep.name:
                registry.load_errors.append(
                    f"contact-rule plug-in {ep.name} ({ep.value}) calls itself {plugin.name!r}; "
                    f"rules must use algorithm: {plugin.name}"
                )
        return registry

    def get(self, name: str) -> ContactRulePlugin | None:
        return self._plugins.get(name)

    def names(self) -> list[str]:
        return sorted(self._plugins)

    def __contains__(self, name: object) -> bool:
        return name in self._plugins


@lru_cache(maxsize=1)
def default_registry() -> PluginRegistry:
    """The installed plug-ins, loaded once per process (a Lambda container)."""
    return PluginRegistry.from_entry_points()


# --------------------------------------------------------------------------- shipped plug-ins
class FieldActivityRemark:
    """S1.6: a field-activity remark creates a contact for its premise.

    When the field activity's service point is linked to a service agreement, the account and that
    account's main person are filled in too, both taken from the service agreement. The contact type's
    usage decides what is kept (a value it does not allow is left out); if it requires a person and none
    can be found, :class:`NoContact` says why.
    """

    name = "field_activity_remark"
    event_types = ("field_activity.remark",)

    def drafts(self, ctx: EventContext, rule: ContactRule, config: Config) -> list[ContactDraft]:
        remark = ctx.payload
        if not isinstance(remark, FieldActivityRemarkEvent):
            return []
        sa = ctx.service_agreement
        if sa is None and remark.service_point_id:
            sa = ctx.lookup.service_agreement_for_service_point(remark.service_point_id)
        account = None
        if sa is not None:
            account = ctx.account if ctx.account and ctx.account.account_id == sa.account_id else None
            account = account or ctx.lookup.account(sa.account_id)

        if not remark.service_point_id:
            why = f"field activity {remark.field_activity_id} names no service point"
        elif sa is None:
            why = f"service point {remark.service_point_id} is not linked to a service agreement"
        elif account is None:
            why = f"account {sa.account_id} of service agreement {sa.service_agreement_id} is not known yet"
        else:
            why = ""
        note = f"field activity {remark.field_activity_id} remark {remark.remark_code}"
        return [
            event_draft(
                ctx,
                rule,
                config,
                person_id=account.main_person_id if account is not None else None,
                account_id=sa.account_id if sa is not None else None,
                premise_id=remark.premise_id,
                source="plugin",
                note=f"{note}: {remark.note}" if remark.note else note,
                why_missing={"person": why, "account": why},
            )
        ]


__all__ = [
    "ENTRY_POINT_GROUP",
    "ContactRulePlugin",
    "EntryPointLike",
    "FieldActivityRemark",
    "NoContact",
    "PluginError",
    "PluginRegistry",
    "default_registry",
]
