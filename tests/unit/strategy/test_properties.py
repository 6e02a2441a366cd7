"""Property-based tests: invariants of the engine over random strategies, ledgers and daily runs."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dunning.models.accounts import AccountView, CollectionState
from dunning.models.config import Config, Criteria, Criterion
from dunning.models.decisions import AccountDecision
from dunning.models.events import CollectionStatus, InvoicePosted, PaymentReceived
from dunning.strategy import evaluate_account, next_state
from dunning.strategy.compiled import compile_criteria
from dunning.strategy.criteria import matches

from .factories import config, day, hierarchy, invoice, payment, predictions, state, step, view

# DUNNING_PROPERTY_EXAMPLES=2000 for a longer search; the default keeps the unit suite fast.
EXAMPLES = int(os.environ.get("DUNNING_PROPERTY_EXAMPLES", "60"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FIRST_DAY, LAST_DAY = -20, 60


# --------------------------------------------------------------------------- strategies
@st.composite
def strategy_configs(draw: st.DrawFn) -> Config:
    steps = [
        step(
            f"s{i}",
            draw(st.sampled_from(["letter", "email", "activity"])),
            draw(st.sampled_from(["before", "after"])),
            draw(st.integers(0, 30)),
        )
        for i in range(draw(st.integers(1, 4)))
    ]
    if draw(st.booleans()):
        steps.append(
            step(
                "pre",
                draw(st.sampled_from(["letter", "email"])),
                "before",
                draw(st.integers(0, 10)),
                pre_dunning=True,
            )
        )
    return config(
        hierarchy(
            "h",
            1,
            steps,
            quiet_days=draw(st.integers(0, 6)),
            track_step=draw(st.booleans()),
            exclude_invoice_after_last_step=draw(st.booleans()),
            create_activities_for_automations=draw(st.booleans()),
            predictions=draw(st.none() | st.builds(predictions, benchmark=st.sampled_from(["0", "50", "60", "100"]))),
            aged_balance_below=draw(st.sampled_from([None, {"EUR": "20"}])),
            invoice_amount_below=draw(st.sampled_from([None, {"EUR": "15"}])),
        )
    )


@dataclass(frozen=True)
class Ledger:
    """An account's history: what is known on any given day."""

    invoices: tuple[InvoicePosted, ...]
    payments: tuple[PaymentReceived, ...]
    status_changes: tuple[tuple[int, str, CollectionStatus], ...]  # (day, invoice, status), in day order
    predicted: dict[str, tuple[str, str]]
    initial: CollectionState

    def on(self, n: int, s: CollectionState) -> AccountView:
        statuses: dict[str, CollectionStatus] = {}
        for when, inv, status in self.status_changes:
            if when <= n:
                statuses[inv] = status
        return view(
            *self.invoices,
            payments=[p for p in self.payments if p.received_on <= day(n)],
            statuses=statuses,
            predicted=self.predicted,
            collection_state=s,
        )


@st.composite
def ledgers(draw: st.DrawFn) -> Ledger:
    count = draw(st.integers(1, 6))
    invoices = tuple(
        invoice(f"I{i}", day(draw(st.integers(-40, 40))), draw(st.sampled_from(["10.00", "50.00", "120.00"])))
        for i in range(count)
    )
    ids = [i.invoice_id for i in invoices]
    payments = tuple(
        payment(
            f"P{k}",
            draw(st.sampled_from(["10.00", "50.00", "120.00"])),
            day(draw(st.integers(-20, 60))),
            invoice_id=draw(st.none() | st.sampled_from(ids)),
        )
        for k in range(draw(st.integers(0, 3)))
    )
    statuses: list[CollectionStatus] = ["disputed", "promised_to_pay", "resolved", "promise_broken"]
    changes = sorted(
        (
            draw(st.integers(FIRST_DAY, LAST_DAY)),
            draw(st.sampled_from(ids)),
            draw(st.sampled_from(statuses)),
        )
        for _ in range(draw(st.integers(0, 3)))
    )
    probability = st.sampled_from(["0.1", "0.5", "0.6", "0.9"])
    predicted = {i: (draw(probability), draw(probability)) for i in ids if draw(st.booleans())}
    last = draw(st.none() | st.integers(FIRST_DAY - 5, FIRST_DAY).map(day))
    return Ledger(invoices, payments, tuple(changes), predicted, state(last_contact=last))


def _revalidated(decision: AccountDecision) -> AccountDecision:
    return AccountDecision.model_validate(decision.model_dump())


# --------------------------------------------------------------------------- the daily-run invariants
@SETTINGS
@given(cfg=strategy_configs(), ledger=ledgers())
def test_daily_runs_keep_quiet_days_never_repeat_a_day_and_are_deterministic(cfg: Config, ledger: Ledger) -> None:
    # Given a random strategy and an account whose payments and disputes arrive over time
    quiet_days = cfg.hierarchies[0].quiet_days
    last_contact: date | None = ledger.initial.last_automated_contact_on
    s = ledger.initial
    # When the run happens every day, recording each decision
    for n in range(FIRST_DAY, LAST_DAY):
        as_of = day(n)
        account = ledger.on(n, s)
        decision = evaluate_account(account, cfg, as_of)

        # Then (3) the same inputs give the same decision, and it is a valid contract value
        assert evaluate_account(account, cfg, as_of) == decision
        assert _revalidated(decision) == decision
        assert (decision.outcome == "act") is bool(decision.actions)
        assert decision.outcome == "act" or decision.reasons

        # Then (2) no automated contact inside the quiet days of the previous one
        if any(a.automated for a in decision.actions):
            assert last_contact is None or (as_of - last_contact).days > quiet_days, (last_contact, as_of)
            last_contact = as_of

        # Then (1) a second run the same day, after recording the first, never acts
        s2 = next_state(s, decision, as_of)
        again = evaluate_account(ledger.on(n, s2), cfg, as_of)
        assert again.actions == [] and again.outcome != "act", again
        # And recording is idempotent
        assert next_state(s2, decision, as_of) == s2
        s = s2


@SETTINGS
@given(cfg=strategy_configs(), ledger=ledgers(), n=st.integers(FIRST_DAY, LAST_DAY))
def test_evaluation_does_not_depend_on_the_order_invoices_are_listed_in(cfg: Config, ledger: Ledger, n: int) -> None:
    # Given an account view and the same view with its invoices listed in reverse
    account = ledger.on(n, ledger.initial)
    reversed_view = account.model_copy(update={"invoices": list(reversed(account.invoices))})
    # When both are evaluated / Then the decisions are the same
    assert evaluate_account(reversed_view, cfg, day(n)) == evaluate_account(account, cfg, day(n))


# ------------------------------------------------------------------ compiled criteria = criteria.matches
VALUES = st.one_of(
    st.integers(-5, 60),
    st.floats(-5, 60, allow_nan=False),
    st.sampled_from(["vip", "retail", "10", "10.0", "abc", "", "True", "true", "nan", "2026-03-01"]),
    st.booleans(),
)
FIELDS = st.sampled_from(["attributes.a", "attributes.b", "attributes.a.x", "currency", "open_balance", "missing"])


@st.composite
def criteria_trees(draw: st.DrawFn, depth: int = 2) -> Criteria | Criterion:
    if depth == 0 or draw(st.booleans()):
        field = draw(FIELDS)
        op = draw(st.sampled_from(["equals", "in", "range", "missing", "present"]))
        if op == "equals":
            return Criterion(field=field, equals=draw(VALUES))
        if op == "in":
            return Criterion.model_validate({"field": field, "in": draw(st.lists(VALUES, max_size=3))})
        if op == "range":
            low, high = draw(st.none() | VALUES), draw(st.none() | VALUES)
            if low is None and high is None:
                low = 0
            return Criterion(field=field, min=low, max=high)
        return Criterion.model_validate({"field": field, op: draw(st.booleans())})
    children = draw(st.lists(criteria_trees(depth=depth - 1), max_size=3))
    return Criteria(all=children) if draw(st.booleans()) else Criteria(any=children)


SUBJECTS = st.fixed_dictionaries(
    {
        "attributes": st.dictionaries(st.sampled_from(["a", "b"]), st.none() | VALUES | st.just({"x": "vip"})),
        "currency": st.sampled_from(["EUR", "USD"]),
        "open_balance": st.floats(0, 100, allow_nan=False),
    }
)


@settings(max_examples=EXAMPLES * 6, deadline=None)
@given(expr=criteria_trees(), subject=SUBJECTS)
def test_compiled_pool_criteria_agree_with_criteria_matches(expr: Any, subject: dict[str, Any]) -> None:
    # Given any criteria expression and subject / When both evaluators run / Then they agree
    assert compile_criteria(expr)(subject) is matches(expr, subject)
