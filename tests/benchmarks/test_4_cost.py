"""4. Cost model: one daily run over 1M accounts with an open balance, 10% acting, at us-east-1 list prices,
next to the naive design (one Standard execution and one Query per account)."""

from __future__ import annotations

from dunning_ops.costmodel import Assumptions, Prices, describe, estimate, naive_profile, table
from tests.benchmarks.attribution import profile
from tests.benchmarks.projection import project


def cost_profile(local_rounds, letters_bench, inproc_steps):
    first = profile(local_rounds, print_attempts=1)
    attempts = project(first, local_rounds[0], letters_bench, inproc_steps)["attempts_needed"]
    return profile(local_rounds, print_attempts=min(30, attempts)), attempts


def test_cost_model(report, local_rounds, letters_bench, inproc_steps):
    prof, attempts = cost_profile(local_rounds, letters_bench, inproc_steps)
    ours = estimate(prof, 1_000_000, 0.10, design="batched (this design)")
    naive = estimate(naive_profile(prof), 1_000_000, 0.10, design="naive")
    assert ours.total > 0 and naive.total > ours.total
    report.check(4, "Cost of one daily run, 1M accounts, 10% acting (SES excluded)", ours.total, 1.50, "USD",
                 fmt="${:,.2f}", note=f"SES send fees listed apart: ${ours.excluded:,.2f}; naive design "
                 f"${naive.total:,.2f} ({naive.total / ours.total:.0f}× ours)")
    biggest = sorted(ours.lines, key=lambda line: -line.usd)[:4]
    report.section(4, *[
        "`shared/dunning/costmodel.py` turns the measured per-unit counts into dollars; `make bench` writes the "
        "measured profile to `tests/benchmarks/measured.json` and this table is "
        "`python -m dunning_ops.costmodel --measured tests/benchmarks/measured.json`. Each unit (per run, per "
        "1,000-account batch, per account, per acting account, per letter, per email) comes from the local run "
        "(item 2's attribution): AWS calls; DynamoDB write units metered as DynamoDB bills them (each write by "
        "the larger of the item before and after it, plus one write per index entry it adds, removes or changes: "
        "`tests/benchmarks/ddbmeter.py` reads the items around every handler write); bytes stored (the run's "
        "contacts and history as they are in the tables after delivery, with index entries and DynamoDB's "
        "100-byte item overhead; PDFs, print files and manifests in S3), handler CPU (median over the rounds), log "
        "bytes, and the parent execution's transitions with the print-extract polling at the projected AWS count "
        f"({min(30, attempts)} attempts at 60 s). Lambda duration = measured CPU × the vCPU share of the function's "
        "memory × the Graviton factor + a latency per AWS call; Map children are Express executions (DISTRIBUTED).",
        "",
        table([ours, naive]),
        "",
        "Largest lines of ours: " + "; ".join(f"{line.item} {line.usd:,.3f} USD" for line in biggest) + ".",
        "",
        "Naive design: the same work and the same delivery, but each account is its own Standard execution "
        "(evaluate + create-contacts tasks and the terminal state: 3 transitions), two Lambda invocations per "
        "account, a Query per account and one history item per account.",
        "",
        "```text",
        describe(Prices(), Assumptions()),
        "```",
    ])
    report.measured["profile"] = prof.to_dict()
    report.measured["cost_lines"] = [{"item": line.item, "usd": line.usd} for line in ours.lines if not line.excluded]
    report.measured["cost"] = {"ours": ours.total, "naive": naive.total, "ses": ours.excluded,
                               "print_attempts": attempts}
