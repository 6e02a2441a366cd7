"""Which collection strategy (process hierarchy) an account belongs to (S2.3, S2.14). Pure; no AWS.

Rules, in order:

1. A manual assignment (``view.manual_assignment``) overrides the pools. If it names a hierarchy the
   configuration does not have, the account is *unassigned* and the reason says so (it is never silently
   routed through the pools instead: the operator asked for something specific).
2. Otherwise every pool criteria expression is evaluated on :func:`account_subject` with the semantics
   of :func:`dunning.strategy.criteria.matches` (precompiled once per config, see
   :func:`dunning.strategy.compiled.compile_criteria`). The account goes to the hierarchy with the
   best rank (rank 1 is best). If two pools of the same hierarchy match, the one the hierarchy lists
   first is named. Pools no hierarchy uses are ignored.
3. An account in no pool is unassigned with the reason ``"no pool matched"``.

Assignment does not look at the balance: an account without open invoices still has a hierarchy (the
evaluation reports ``no_balance`` for it).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from dunning.models.accounts import AccountView
from dunning.models.config import Config
from dunning.models.decisions import Assignment
from dunning.strategy.compiled import CompiledConfig, compiled

NO_POOL_MATCHED = "no pool matched"
_ZERO = Decimal(0)


class UnknownHierarchyError(ValueError):
    """A hierarchy id that the configuration does not define."""


def account_subject(view: AccountView) -> dict[str, Any]:
    """The mapping pool criteria are evaluated on.

    Keys (criteria use dotted paths, e.g. ``attributes.segment``):

    - ``account_id``, ``currency``;
    - ``attributes``: the upstream account attributes (a copy), ``{}`` before ``account.upserted`` arrived;
    - ``open_balance`` (float, sum of unpaid invoice amounts), ``open_invoice_count``, ``invoice_count``;
    - ``oldest_due_date``: ISO date of the oldest unpaid invoice, absent when nothing is open (so
      ``missing``/``present`` work on it, and ISO strings compare correctly in ranges);
    - ``unapplied_credit`` (float);
    - ``collections_agent`` / ``sales_group``: the party ids, absent when not set.

    Nothing here depends on the run date, so an account's pool membership is stable within a day.
    """
    subject = _subject(view, None)
    subject["attributes"] = dict(subject["attributes"])
    return subject


_LEDGER_FIELDS = frozenset({"open_balance", "open_invoice_count", "oldest_due_date"})


def _subject(view: AccountView, fields: frozenset[str] | None) -> dict[str, Any]:
    """:func:`account_subject` without the copy, computing only ``fields`` (all when ``None``) beyond the
    cheap keys. The pools only read it."""
    account = view.account
    subject: dict[str, Any] = {
        "account_id": view.account_id,
        "currency": view.currency,
        "attributes": account.attributes if account is not None else {},
    }
    if fields is None or not _LEDGER_FIELDS.isdisjoint(fields):
        balance = _ZERO
        count = 0
        oldest = None
        for inv in view.invoices:
            amount = inv.open_amount
            if amount > _ZERO:
                balance += amount
                count += 1
                if oldest is None or inv.due_date < oldest:
                    oldest = inv.due_date
        subject["open_balance"] = float(balance)
        subject["open_invoice_count"] = count
        if oldest is not None:
            subject["oldest_due_date"] = oldest.isoformat()
    if fields is None or "invoice_count" in fields:
        subject["invoice_count"] = len(view.invoices)
    if fields is None or "unapplied_credit" in fields:
        subject["unapplied_credit"] = float(view.unapplied_credit)
    if account is not None and account.collections_agent is not None:
        subject["collections_agent"] = account.collections_agent.id
    if account is not None and account.sales_group is not None:
        subject["sales_group"] = account.sales_group.id
    return subject


def assign(view: AccountView, config: Config) -> Assignment:
    """The hierarchy ``view`` belongs to, with a reason a user can read."""
    hierarchy_id, manual, reason = resolve(view, compiled(config))
    return Assignment(account_id=view.account_id, hierarchy_id=hierarchy_id, manual=manual, reason=reason)


def resolve(view: AccountView, strategies: CompiledConfig) -> tuple[str | None, bool, str]:
    """``(hierarchy id or None, manual, reason)``: :func:`assign` without building the model."""
    manual = view.manual_assignment
    if manual is not None:
        if manual.hierarchy_id in strategies.hierarchies:
            return manual.hierarchy_id, True, f"manual assignment to '{manual.hierarchy_id}'"
        return None, True, f"manual assignment to unknown hierarchy '{manual.hierarchy_id}'"
    if not strategies.pools:
        return None, False, NO_POOL_MATCHED
    subject = _subject(view, strategies.subject_fields)
    matched = [p for p in strategies.pools if p.test(subject)]  # best rank first
    if not matched:
        return None, False, NO_POOL_MATCHED
    best = matched[0]
    reason = f"pool '{best.pool_id}' matched (hierarchy '{best.hierarchy_id}', rank {best.rank})"
    if len(matched) > 1:
        reason += "; also matched " + ", ".join(f"'{p.pool_id}' at rank {p.rank}" for p in matched[1:])
    return best.hierarchy_id, False, reason


def preview_hierarchy(views: Iterable[AccountView], config: Config, hierarchy_id: str) -> list[Assignment]:
    """The assignments of the accounts ``hierarchy_id`` would get if it ran now (S2.14), in input order.

    Manual assignments count (they are how the account would be run). Balances are not considered.
    Raises :class:`UnknownHierarchyError` for a hierarchy the configuration does not define.
    """
    if hierarchy_id not in compiled(config).hierarchies:
        raise UnknownHierarchyError(f"unknown hierarchy {hierarchy_id!r}")
    out = []
    for view in views:
        assignment = assign(view, config)
        if assignment.hierarchy_id == hierarchy_id:
            out.append(assignment)
    return out
