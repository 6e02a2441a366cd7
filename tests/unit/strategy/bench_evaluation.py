"""Throughput check for the strategy engine (not collected by pytest).

Run from the repository root::

    cd tests && ../.venv/bin/python -m unit.strategy.bench_evaluation [accounts] [rounds]

Builds synthetic accounts with 1-10 invoices over two hierarchies (three pools, pre-dunning, predictions,
automation logs, exclusion thresholds) and times :func:`evaluate_account`, assignment included, on one
core (process time). The target is 50,000 accounts/s.
"""

from __future__ import annotations

import gc
import random
import statistics
import sys
import time
from collections import Counter

from dunning.models.accounts import AccountView
from dunning.models.config import Config
from dunning.strategy import evaluate_account

from .factories import (
    after,
    before,
    config,
    crit,
    day,
    hierarchy,
    invoice,
    payment,
    pool,
    predictions,
    state,
    view,
)


def strategies() -> Config:
    return config(
        hierarchy(
            "vip",
            1,
            [
                before("pre", 5, "email", pre_dunning=True),
                after("r1", 3, "email"),
                after("call", 10, "activity"),
                after("final", 30),
            ],
            pools=["vip"],
            quiet_days=3,
            track_step=True,
            predictions=predictions(),
            create_activities_for_automations=True,
        ),
        hierarchy(
            "standard",
            2,
            [after("r1", 7, "email"), after("r2", 21), after("final", 45)],
            pools=["retail", "smb"],
            quiet_days=2,
            aged_balance_below={"EUR": "20"},
            invoice_amount_below={"EUR": "5"},
            exclude_invoice_after_last_step=True,
        ),
        pools=[
            pool("vip", crit("attributes.segment", equals="vip")),
            pool("retail", crit("attributes.segment", in_=["retail", "home"])),
            pool("smb", crit("attributes.employees", min=1, max=50), crit("attributes.region", present=True)),
        ],
    )


def accounts(count: int, seed: int = 42) -> list[AccountView]:
    rnd = random.Random(seed)
    out = []
    for a in range(count):
        acc = f"A{a}"
        invs = [
            invoice(f"{acc}-{k}", day(rnd.randint(-90, 20)), f"{rnd.randint(1, 500)}.00", account_id=acc)
            for k in range(rnd.randint(1, 10))
        ]
        kw: dict = {}
        if rnd.random() < 0.3:
            kw["collection_state"] = state(last_contact=day(-rnd.randint(0, 5)), done={invs[0].invoice_id: ["r1"]})
        if rnd.random() < 0.1:
            kw["statuses"] = {invs[0].invoice_id: "disputed"}
        if rnd.random() < 0.5:
            kw["predicted"] = {
                i.invoice_id: (f"0.{rnd.randint(0, 99):02d}", f"0.{rnd.randint(0, 99):02d}") for i in invs
            }
        if rnd.random() < 0.3:
            kw["payments"] = [payment(f"P{a}", "50.00", day(-1), account_id=acc)]
        attributes = {
            "segment": rnd.choice(["vip", "retail", "home", "smb", "x"]),
            "employees": rnd.randint(1, 100),
            "region": "n",
        }
        out.append(view(*invs, account_id=acc, attributes=attributes, **kw))
    return out


def main(count: int = 20_000, rounds: int = 7) -> None:
    cfg, views, as_of = strategies(), accounts(count), day(0)
    evaluate_account(views[0], cfg, as_of)
    rates = []
    for _ in range(rounds):
        gc.collect()
        start = time.process_time()
        decisions = [evaluate_account(v, cfg, as_of) for v in views]
        rates.append(len(views) / (time.process_time() - start))
    print(
        f"{count} accounts x {rounds} rounds: accounts/s best {max(rates):,.0f}, "
        f"median {statistics.median(rates):,.0f}, worst {min(rates):,.0f}"
    )
    print(dict(Counter(d.outcome for d in decisions)), "actions:", sum(len(d.actions) for d in decisions))


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
