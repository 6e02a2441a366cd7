"""Per-configuration data the engine precomputes once, so the per-account hot path stays cheap.

A :class:`~dunning.models.config.Config` is frozen, so everything derived from it (pools in rank order,
each hierarchy's regular steps in timeline order, offsets, thresholds) can be computed once and reused for
every account of a run, pool criteria included (:func:`compile_criteria`). :func:`compiled` caches the
result keyed on the config object's ``id``; the cache entry keeps a reference to the config, so an ``id``
can never be reused by a different config while its entry is alive. Pure; no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from dunning.models.common import RecipientKind
from dunning.models.config import Config, Criteria, Criterion, Hierarchy, Step
from dunning.strategy.criteria import _MISSING, _comparable, _equal

Predicate = Callable[[Mapping[str, Any]], bool]

PREDICTION_VERY_LATE = "prediction:very_late"
PREDICTION_LATE = "prediction:late"

_CACHE_SIZE = 8


@dataclass(frozen=True, slots=True)
class CompiledStep:
    step: Step
    id: str
    offset: int  # signed days from the due date (negative: before)
    delta: timedelta
    action: str
    document: str | None
    recipient: RecipientKind
    business_purpose: str | None
    label: str  # "step 'r1' (7 days after due" / "pre-dunning 'p' (5 days before due", for reasons

    @classmethod
    def of(cls, step: Step) -> CompiledStep:
        return cls(
            step=step,
            id=step.id,
            offset=step.offset_days,
            delta=timedelta(days=step.offset_days),
            action=step.action,
            document=step.document,
            recipient=step.recipient,
            business_purpose=step.business_purpose,
            label=f"{'pre-dunning' if step.pre_dunning else 'step'} '{step.id}' ({timing(step.offset_days)}",
        )


def timing(offset: int) -> str:
    """``7 days after due`` / ``1 day before due`` / ``on the due date``, for reasons."""
    days = abs(offset)
    if days == 0:
        return "on the due date"
    return f"{days} day{'s' if days != 1 else ''} {'before' if offset < 0 else 'after'} due"


@dataclass(frozen=True, slots=True)
class PredictionKind:
    kind: str  # "very_late" | "late"
    step_id: str  # PREDICTION_VERY_LATE | PREDICTION_LATE
    template: str


@dataclass(frozen=True, slots=True)
class CompiledHierarchy:
    hierarchy: Hierarchy
    id: str
    rank: int
    quiet_days: int
    quiet_delta: timedelta  # quiet_days as a timedelta
    track_step: bool
    exclude_after_last_step: bool
    log_automations: bool
    steps: tuple[CompiledStep, ...]  # regular steps, timeline order (offset, then declared order)
    offsets: tuple[int, ...]  # steps[i].offset, for bisect
    last_step_id: str | None
    pre_dunning: CompiledStep | None
    aged_balance_below: dict[str, Decimal]
    invoice_amount_below: dict[str, Decimal]  # exclusion scope 'account': a small lead excludes the account
    small_invoice_below: dict[str, Decimal] | None  # exclusion scope 'invoice': small invoices cannot lead
    excludes: bool  # any account-wide exclusion threshold at all
    prediction_kinds: tuple[PredictionKind, ...]  # very late first
    prediction_threshold: Decimal | None  # benchmark_percent / 100, compared with the probability
    prediction_benchmark: Decimal | None  # benchmark_percent as configured, for reasons

    @classmethod
    def of(cls, hierarchy: Hierarchy) -> CompiledHierarchy:
        steps = tuple(CompiledStep.of(s) for s in hierarchy.regular_steps)
        pre = hierarchy.pre_dunning_step
        kinds: list[PredictionKind] = []
        threshold: Decimal | None = None
        benchmark: Decimal | None = None
        invoice_below = hierarchy.exclusion.invoice_amount_below
        per_invoice = hierarchy.exclusion.scope == "invoice" and bool(invoice_below)
        predictions = hierarchy.predictions
        if predictions is not None:
            benchmark = predictions.benchmark_percent
            threshold = predictions.benchmark_percent / Decimal(100)
            if predictions.very_late_activity:
                kinds.append(PredictionKind("very_late", PREDICTION_VERY_LATE, predictions.very_late_activity))
            if predictions.late_activity:
                kinds.append(PredictionKind("late", PREDICTION_LATE, predictions.late_activity))
        return cls(
            hierarchy=hierarchy,
            id=hierarchy.id,
            rank=hierarchy.rank,
            quiet_days=hierarchy.quiet_days,
            quiet_delta=timedelta(days=hierarchy.quiet_days),
            track_step=hierarchy.track_step,
            exclude_after_last_step=hierarchy.exclude_invoice_after_last_step,
            log_automations=hierarchy.create_activities_for_automations,
            steps=steps,
            offsets=tuple(s.offset for s in steps),
            last_step_id=steps[-1].id if steps else None,
            pre_dunning=CompiledStep.of(pre) if pre is not None else None,
            aged_balance_below=dict(hierarchy.exclusion.aged_balance_below),
            invoice_amount_below=dict(invoice_below) if not per_invoice else {},
            small_invoice_below=dict(invoice_below) if per_invoice else None,
            excludes=bool(hierarchy.exclusion.aged_balance_below or (invoice_below and not per_invoice)),
            prediction_kinds=tuple(kinds),
            prediction_threshold=threshold,
            prediction_benchmark=benchmark,
        )


@dataclass(frozen=True, slots=True)
class CompiledPool:
    pool_id: str
    criteria: Criteria
    hierarchy_id: str
    rank: int
    test: Predicate  # same answer as ``criteria.matches(criteria, subject)``, only faster


@dataclass(frozen=True, slots=True)
class CompiledConfig:
    config: Config
    hierarchies: dict[str, CompiledHierarchy]
    pools: tuple[CompiledPool, ...]  # best rank first; within a hierarchy, in the order it lists them
    subject_fields: frozenset[str]  # top-level subject keys the pools look at

    @classmethod
    def of(cls, config: Config) -> CompiledConfig:
        criteria = {p.id: p.criteria for p in config.pools}
        hierarchies = {hierarchy.id: CompiledHierarchy.of(hierarchy) for hierarchy in config.hierarchies}
        pools = [
            CompiledPool(pool_id, criteria[pool_id], hierarchy.id, hierarchy.rank, compile_criteria(criteria[pool_id]))
            for hierarchy in sorted(config.hierarchies, key=lambda hierarchy: hierarchy.rank)
            for pool_id in hierarchy.pools
            if pool_id in criteria
        ]
        fields = frozenset(f for p in pools for f in _top_fields(p.criteria))
        return cls(config=config, hierarchies=hierarchies, pools=tuple(pools), subject_fields=fields)


# --------------------------------------------------------------------------- criteria, compiled
# ``dunning.strategy.criteria.matches`` is the reference semantics. These closures give the same answer
# (a property test checks it) without re-dispatching on the expression's types for every account: the
# dotted path is split once, and the common cases (a plain-dict subject, a text value compared with
# non-numeric text) skip the generic helpers, which are still used for everything else.


def _top_fields(expr: Criteria | Criterion) -> list[str]:
    if isinstance(expr, Criterion):
        return [expr.field.split(".", 1)[0]]
    return [f for child in (expr.all if expr.all is not None else expr.any or []) for f in _top_fields(child)]


def _getter(path: str) -> Callable[[Mapping[str, Any]], Any]:
    parts = tuple(path.split("."))

    def get(subject: Mapping[str, Any]) -> Any:
        node: Any = subject
        for part in parts:
            if type(node) is dict or isinstance(node, Mapping):
                node = node.get(part, _MISSING)
                if node is _MISSING:
                    return _MISSING
            else:
                return _MISSING
        return _MISSING if node is None else node

    return get


def _is_plain_text(value: Any) -> bool:
    """Text that ``_comparable`` can never read as a number, so ``_equal`` with it is string equality."""
    if type(value) is not str:
        return False
    try:
        float(value)
    except ValueError:
        return True
    return False


def _value_test(criterion: Criterion) -> Callable[[Any], bool]:
    if criterion.equals is not None:
        bound = criterion.equals
        if _is_plain_text(bound):
            return lambda v: v == bound if type(v) is str else _equal(v, bound)
        return lambda v: _equal(v, bound)
    if criterion.in_ is not None:
        options = list(criterion.in_)
        if options and all(_is_plain_text(o) for o in options):
            texts = frozenset(options)
            return lambda v: v in texts if type(v) is str else any(_equal(v, o) for o in options)
        return lambda v: any(_equal(v, o) for o in options)
    low, high = criterion.min, criterion.max

    def in_range(v: Any) -> bool:
        if low is not None:
            pair = _comparable(v, low)
            if pair is None or not pair[0] >= pair[1]:
                return False
        if high is not None:
            pair = _comparable(v, high)
            if pair is None or not pair[0] <= pair[1]:
                return False
        return True

    return in_range


def compile_criteria(expr: Criteria | Criterion | None) -> Predicate:
    """A predicate equivalent to ``lambda subject: criteria.matches(expr, subject)``."""
    if expr is None:
        return lambda subject: True
    if isinstance(expr, Criterion):
        get = _getter(expr.field)
        if expr.missing is not None:
            want_missing = expr.missing
            return lambda subject: (get(subject) is _MISSING) == want_missing
        if expr.present is not None:
            want_present = expr.present
            return lambda subject: (get(subject) is not _MISSING) == want_present
        test = _value_test(expr)

        def criterion(subject: Mapping[str, Any]) -> bool:
            value = get(subject)
            return value is not _MISSING and test(value)

        return criterion
    children = tuple(compile_criteria(c) for c in (expr.all if expr.all is not None else expr.any or []))
    if expr.all is not None:
        if len(children) == 1:
            return children[0]

        def all_of(subject: Mapping[str, Any]) -> bool:
            for child in children:  # noqa: SIM110 - a plain loop is cheaper than all() over a generator
                if not child(subject):
                    return False
            return True

        return all_of

    def any_of(subject: Mapping[str, Any]) -> bool:
        for child in children:  # noqa: SIM110 - a plain loop is cheaper than any() over a generator
            if child(subject):
                return True
        return False

    return any_of


_cache: dict[int, CompiledConfig] = {}


def compiled(config: Config) -> CompiledConfig:
    """The precomputed form of ``config``, cached on the object's identity."""
    hit = _cache.get(id(config))
    if hit is not None and hit.config is config:
        return hit
    built = CompiledConfig.of(config)
    if len(_cache) >= _CACHE_SIZE:
        _cache.pop(next(iter(_cache)))
    _cache[id(config)] = built
    return built
