"""4. Cost model: one daily run over 1M accounts with an open balance, 10% acting, at us-east-1 list prices, side
by side with the sensible naive serverless design and with one batch job on one t4g.medium instance (time and
cost at 100k, 1M and 10M accounts, the ratios and the break-even points)."""

from __future__ import annotations

import math

from dunning_ops.costmodel import (
    Assumptions,
    Prices,
    always_on_usd,
    describe,
    estimate,
    instance_estimate,
    naive_profile,
    simple_table,
    table,
)
from tests.benchmarks.attribution import profile
from tests.benchmarks.harness import median
from tests.benchmarks.projection import project
from tests.benchmarks.report import md_table

TARGET_USD = 1.00
SIZES = (100_000, 1_000_000, 10_000_000)
DEADLINE_S = 3600  # letters and print extract delivered within 60 minutes (item 9)


def cost_profile(local_rounds, letters_bench, inproc_steps):
    first = profile(local_rounds, print_attempts=1)
    attempts = project(first, local_rounds[0], letters_bench, inproc_steps)["attempts_needed"]
    prof = profile(local_rounds, print_attempts=min(30, attempts))
    # sizes before compression, for the naive design (measured in-process on the same code paths)
    steps = [s for s in inproc_steps if s.history_raw_entry_bytes]
    if steps:
        prof.extra.update({
            "history_raw_bytes_per_decision": median([s.history_raw_entry_bytes for s in steps]),
            "history_stored_bytes_per_decision": median([s.history_entry_bytes for s in steps]),
            "snapshot_raw_bytes": median([s.snapshot_raw_bytes for s in steps]),
            "snapshot_stored_bytes": median([s.snapshot_stored_bytes for s in steps])})
    return prof, attempts


def _crossing(f, lo: float = 1e4, hi: float = 1e8) -> float | None:
    """The account count where ``f`` (a difference of two costs or times) changes sign, on a log grid then
    bisected; None when it keeps its sign over [lo, hi]."""
    grid = [lo * (hi / lo) ** (i / 80) for i in range(81)]
    values = [f(n) for n in grid]
    for (a, fa), (b, fb) in zip(zip(grid, values, strict=True), zip(grid[1:], values[1:], strict=True),
                                strict=False):
        if fa == 0:
            return a
        if (fa < 0) != (fb < 0):
            for _ in range(40):
                mid = math.sqrt(a * b)
                if (f(mid) < 0) == (fa < 0):
                    a = mid
                else:
                    b = mid
            return math.sqrt(a * b)
    return None


def test_cost_model(report, local_rounds, letters_bench, inproc_steps):
    prof, attempts = cost_profile(local_rounds, letters_bench, inproc_steps)
    ours = estimate(prof, 1_000_000, 0.10, design="batched (this design)")
    naive_prof = naive_profile(prof)
    naive = estimate(naive_prof, 1_000_000, 0.10, design="naive (per-batch Lambdas, untuned)")
    assert ours.total > 0 and naive.total > 0
    report.check(4, "Cost of one daily run, 1M accounts, 10% acting (SES excluded, everything counted)", ours.total,
                 TARGET_USD, "USD", fmt="${:,.2f}", note=f"SES send fees listed apart: ${ours.excluded:,.2f}; "
                 f"naive serverless design ${naive.total:,.2f} ({naive.total / ours.total:.2f}× ours)")
    rnd = local_rounds[0]
    comparison = []
    for n in SIZES:
        o = estimate(prof, n, 0.10)
        nv = estimate(naive_prof, n, 0.10)
        box = instance_estimate(prof, n, 0.10)
        p = project(prof, rnd, letters_bench, inproc_steps, accounts=n)
        comparison.append({"accounts": n, "ours_usd": o.total, "naive_usd": nv.total,
                           "instance_usd": box.estimate.total, "always_on_usd": always_on_usd(box),
                           "ours_s": p["delivered_s"], "instance_s": box.wall_s, "instance_cpu_s": box.cpu_s,
                           "instance_io_s": box.io_s})
    for c in comparison:
        report.info(4, f"… {c['accounts']:,} accounts: ours vs one t4g.medium job",
                    f"${c['ours_usd']:,.2f} / ${c['instance_usd']:,.2f}",
                    f"cost ratio {c['ours_usd'] / c['instance_usd']:.2f}× (ours ÷ instance); time "
                    f"{c['ours_s'] / 60:,.0f} min vs {c['instance_s'] / 60:,.0f} min")

    def cost_gap(n: float) -> float:
        return estimate(prof, int(n), 0.10).total - instance_estimate(prof, int(n), 0.10).estimate.total

    def always_gap(n: float) -> float:
        return estimate(prof, int(n), 0.10).total - always_on_usd(instance_estimate(prof, int(n), 0.10))

    def deadline_gap(n: float) -> float:
        return instance_estimate(prof, int(n), 0.10).wall_s - DEADLINE_S

    even_job, even_always, too_slow = _crossing(cost_gap), _crossing(always_gap), _crossing(deadline_gap)

    def where(n: float | None, cheaper_at_1m: str) -> str:
        if n is None:
            return f"none between 10,000 and 100M accounts: {cheaper_at_1m} is cheaper at every size"
        return f"about **{n:,.0f} accounts** ({cheaper_at_1m} is cheaper at 1M)"

    job_line = where(even_job, "the job" if cost_gap(1e6) > 0 else "ours")
    always_line = where(even_always, "the always-on instance" if always_gap(1e6) > 0 else "ours")
    slow_line = (f"above about **{too_slow:,.0f} accounts**" if too_slow else
                 "at no size between 10,000 and 100M accounts" if deadline_gap(1e4) <= 0 else "at every size")
    ours_late = [c["accounts"] for c in comparison if c["ours_s"] > DEADLINE_S]
    ours_line = ("ours delivers within it at every size in the table" if not ours_late else
                 "ours misses it too at " + ", ".join(f"{n:,}" for n in ours_late) + " accounts (item 9)")
    biggest = sorted(ours.lines, key=lambda line: -line.usd)[:5]
    box_1m = instance_estimate(prof, 1_000_000, 0.10)
    report.section(4, *[
        "`shared/dunning_ops/costmodel.py` turns the measured per-unit counts into dollars; `make bench` writes the "
        "measured profile to `tests/benchmarks/measured.json` and these tables are "
        "`python -m dunning_ops.costmodel --measured tests/benchmarks/measured.json`. Each unit (per run, per "
        "1,000-account batch, per account, per acting account, per letter, per email) comes from the local run "
        "(item 2's attribution, every call counted on handler and pool threads and cross-checked against "
        "botocore's own event count): AWS calls; DynamoDB write units metered as DynamoDB bills them (each write "
        "by the larger of the item before and after it, plus one write per index entry it adds, removes or "
        "changes: `tests/benchmarks/ddbmeter.py` reads the items around every handler write); bytes stored (the "
        "run's contacts and history as they are in the tables after delivery, with index entries and DynamoDB's "
        "100-byte item overhead; PDFs, print files and manifests in S3), handler CPU (handler thread + its pool "
        "tasks, median over the rounds), log bytes, and the parent execution's transitions with the print-extract "
        f"polling at the projected AWS count ({min(30, attempts)} attempts at 60 s). Lambda duration = measured CPU "
        "× the vCPU share of the function's memory × the Graviton factor + a latency per AWS call; Map children "
        "are Express executions (DISTRIBUTED).",
        "",
        table([ours, naive]),
        "",
        "Largest lines of ours: " + "; ".join(f"{line.item} {line.usd:,.3f} USD" for line in biggest) + ".",
        "",
        "**Naive design** (the sensible first version, not a strawman): the same per-batch Lambdas, manifests and "
        "delivery, with the Distributed Map at its defaults (one Standard child workflow per batch, billed "
        f"{Assumptions().naive_child_transitions_per_batch:.0f} transitions, instead of an Express child) and "
        "nothing compressed: history decisions as plain JSON ("
        f"{prof.extra.get('history_raw_bytes_per_decision', 0):.0f} B per decision instead of "
        f"{prof.extra.get('history_stored_bytes_per_decision', 0):.0f} B, measured) and contact snapshots as plain "
        f"JSON ({prof.extra.get('snapshot_raw_bytes', 0):,.0f} B instead of "
        f"{prof.extra.get('snapshot_stored_bytes', 0):,.0f} B, measured).",
        "",
        "### One batch job on one instance",
        "",
        "The realistic alternative: the same code over the same data as one job on one **t4g.medium** (2 Graviton2 "
        "vCPUs, 4 GiB) at its on-demand price, **$0.0336 per hour** (AWS EC2 On-Demand pricing, Linux, us-east-1), "
        "launched for the run and billed per second, plus CPU above the burstable 20%-per-vCPU baseline at the "
        "T4g *unlimited* rate of **$0.04 per vCPU-hour** (same page) and an 8 GB gp3 root volume ($0.08 per "
        "GB-month). It reads and writes the same DynamoDB tables and S3 buckets, so those lines are the same as "
        "ours; Lambda, Step Functions and X-Ray go. Its CPU is every function's measured CPU at one vCPU (× the "
        "Graviton factor, no memory share), spread over 2 vCPUs; its AWS calls' latency overlapped by "
        f"{Assumptions().instance_io_concurrency:.0f} threads; {Assumptions().instance_start_s:.0f} s to boot "
        "and start.",
        "",
        *md_table(["Accounts", "Ours USD", "Naive USD", "t4g.medium job USD", "t4g.medium kept on all day USD",
                   "Ours ÷ job", "Ours: letters + print extract delivered", "Job: wall time"],
                  [[f"{c['accounts']:,}", f"${c['ours_usd']:,.2f}", f"${c['naive_usd']:,.2f}",
                    f"${c['instance_usd']:,.2f}", f"${c['always_on_usd']:,.2f}",
                    f"{c['ours_usd'] / c['instance_usd']:.2f}×", f"{c['ours_s'] / 60:,.0f} min",
                    f"{c['instance_s'] / 60:,.0f} min ({c['instance_cpu_s'] / 3600:,.1f} CPU-h)"]
                   for c in comparison]),
        "",
        "Break-even points (honest, wherever they fall):",
        "",
        f"* cost, ours vs the job launched per run: {job_line};",
        f"* cost, ours vs an instance kept running all day: {always_line};",
        f"* time: one instance no longer delivers the letters and the print extract within {DEADLINE_S // 60} "
        f"minutes {slow_line}; {ours_line}.",
        "",
        f"At 1M accounts the job's bill (SES excluded, ${box_1m.estimate.total:,.2f}):",
        "",
        simple_table(box_1m.estimate),
        "",
        "```text",
        describe(Prices(), Assumptions()),
        "```",
    ])
    report.measured["profile"] = prof.to_dict()
    report.measured["cost_lines"] = [{"item": line.item, "usd": line.usd} for line in ours.lines if not line.excluded]
    report.measured["cost"] = {"ours": ours.total, "naive": naive.total, "ses": ours.excluded,
                               "print_attempts": attempts, "comparison": comparison,
                               "break_even_job_accounts": even_job, "break_even_always_on_accounts": even_always,
                               "instance_over_deadline_accounts": too_slow}
