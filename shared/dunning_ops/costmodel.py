"""Cost model: measured counts (AWS calls, request units, Lambda CPU, transitions, bytes) -> US dollars per run.

Every price and every assumption is data (:class:`Prices`, :class:`Assumptions`), printed next to the result.
Prices are the published us-east-1 list prices (on-demand, no free tier, no savings plans), as of 2026-11.

The input is a :class:`Profile`: what one unit of each *driver* costs, as measured by ``make bench`` on the
local stack (``tests/benchmarks/measured.json``):

========  ==================================================================================
run       once per run (the state machine's own states, the summary, print-extract polling)
batch     once per manifest batch (``BatchSize`` accounts): S3 manifests, history writes, Map child
account   once per account with an open balance (Scan share, assignment, evaluation CPU)
acting    once per account with an action (contacts, collection state)
letter    once per letter (render, PDF in S3, print extract)
email     once per email (compose, SES)
========  ==================================================================================

Lambda duration on AWS is modelled from the measured handler CPU time, scaled to the vCPU share Lambda
gives the function's memory size, plus a latency per AWS call (see :class:`Assumptions`).

Two alternatives are priced from the same profile, side by side:

* the *naive* serverless design a team would write first (:func:`naive_profile`): the same per-batch Lambdas,
  but a Distributed Map with its defaults (Standard child workflows, billed per state transition, instead of
  Express children) and nothing compressed (history decisions and contact snapshots stored as plain JSON, at
  the sizes measured before compression);
* *one batch job on one instance* (:func:`instance_estimate`): the same code over the same data (the same
  DynamoDB and S3 reads, writes and storage) on a t4g.medium at its on-demand price, launched for the run;
  its CPU is the measured CPU of every function, its AWS-call latency overlapped by a pool of threads.

``python -m dunning_ops.costmodel --measured tests/benchmarks/measured.json`` prints the tables.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

DRIVERS = ("run", "batch", "account", "acting", "letter", "email")


@dataclass(frozen=True)
class Prices:
    """US dollars, us-east-1, on-demand list prices; free tiers ignored."""

    lambda_gb_second_arm: float = 0.0000133334  # Lambda duration, arm64, first 7.5 B GB-s/month
    lambda_request: float = 0.20 / 1e6  # per invocation
    sfn_standard_transition: float = 0.025 / 1000  # Standard workflows, per state transition
    sfn_express_request: float = 1.00 / 1e6  # Express workflows, per request (execution)
    sfn_express_gb_second: float = 0.00001667  # Express duration, first 1,000 h GB
    ddb_write_request_unit: float = 0.625 / 1e6  # on-demand WRU (1 KB)
    ddb_read_request_unit: float = 0.125 / 1e6  # on-demand RRU (4 KB strongly / 8 KB eventually consistent)
    ddb_storage_gb_month: float = 0.25  # Standard table class
    ddb_pitr_gb_month: float = 0.20  # continuous backups (ledger and contacts tables have PITR on)
    s3_put_request: float = 0.005 / 1000  # PUT, COPY, POST, LIST
    s3_get_request: float = 0.0004 / 1000  # GET, HEAD and other reads
    s3_storage_gb_month: float = 0.023  # S3 Standard, first 50 TB
    s3_glacier_ir_gb_month: float = 0.004  # S3 Glacier Instant Retrieval (print extracts after 30 days)
    s3_deep_archive_gb_month: float = 0.00099  # S3 Glacier Deep Archive (print extracts after a year)
    s3_transition_glacier_ir: float = 0.02 / 1000  # lifecycle transition request into Glacier IR, per object
    s3_transition_deep_archive: float = 0.05 / 1000  # lifecycle transition request into Deep Archive, per object
    logs_ingest_gb: float = 0.50  # CloudWatch Logs, standard ingestion
    logs_storage_gb_month: float = 0.03
    xray_trace: float = 5.00 / 1e6  # traces recorded (Tracing: Active)
    ses_email: float = 0.10 / 1000  # SES outbound email (listed apart, excluded from the target)
    # the single-instance alternative (EC2 On-Demand pricing page, Linux, us-east-1)
    ec2_t4g_medium_hour: float = 0.0336  # t4g.medium: 2 vCPU (Graviton2), 4 GiB, per hour, billed per second
    ec2_t4g_surplus_vcpu_hour: float = 0.04  # T4g "unlimited" mode: CPU above the baseline, per vCPU-hour
    ebs_gp3_gb_month: float = 0.08  # the instance's root volume


@dataclass(frozen=True)
class Assumptions:
    """Everything the model assumes beyond the measured counts. Latencies are typical same-region p50."""

    lambda_vcpu_full_mb: int = 1769  # Lambda gives one full vCPU at 1,769 MB, proportionally less below
    arm_cpu_factor: float = 1.2  # Graviton2 core vs the benchmark machine's core (CPU ms multiplier)
    latency_ms: Mapping[str, float] = field(default_factory=lambda: {
        "dynamodb.GetItem": 5, "dynamodb.PutItem": 7, "dynamodb.UpdateItem": 7, "dynamodb.DeleteItem": 7,
        "dynamodb.BatchGetItem": 12, "dynamodb.BatchWriteItem": 15, "dynamodb.Query": 10,
        "dynamodb.Scan": 120,  # one 1 MB page
        "s3.GetObject": 25, "s3.HeadObject": 12, "s3.PutObject": 35, "s3.ListObjectsV2": 30,
        "sesv2.SendEmail": 60, "sqs.SendMessage": 10, "states.StartExecution": 30,
    })
    default_latency_ms: float = 20
    # calls a function makes several at a time: their latency overlaps (the print-extract shard reads its PDFs
    # with a pool of FETCH_WORKERS = 16, dunning.app.print_extract; Assign scans SCAN_SEGMENTS = 8 segments in
    # threads, each writing its own manifests, dunning.app.assign)
    io_concurrency: Mapping[str, float] = field(default_factory=lambda: {
        "PrintExtractShardFunction/s3.GetObject": 16,
        "AssignFunction/dynamodb.Scan": 8, "AssignFunction/s3.PutObject": 8,
    })
    lambda_overhead_ms: float = 2.0  # runtime + Powertools per invocation (billed, outside the handler CPU)
    express_child_memory_gb: float = 0.064  # Express executions are billed in 64 MB steps; a child holds one batch
    xray_sampling_share: float = 0.05  # default rule: 1 request/s reservoir + 5% of the rest
    # LetterRetentionDays default 90 (lifecycle on letters/): a working window; the print files are the long-term
    # record (print_retention_months) and an older letter is cut out of its print file
    letters_retention_months: float = 35 / 30  # LetterRetentionDays default 35 (printed letters, lifecycle)
    print_standard_months: float = 1.0  # print/ objects move to Glacier Instant Retrieval after 30 days,
    print_glacier_ir_months: float = 11.0  # then to Glacier Deep Archive after a year
    print_retention_months: float = 84.0  # PrintRetentionDays default 2557: the printed letters, seven years
    runs_retention_months: float = 35 / 30  # runs/ prefix expires after 35 days (lifecycle rule)
    history_retention_months: float = 3.0  # HistoryRetentionDays default 90 (TTL)
    contacts_retention_months: float = 3.0  # ContactRetentionDays default 90 (TTL), then the S3 archive
    archive_retention_months: float = 120.0  # archived contacts (gzip JSON lines in S3): ArchiveRetentionDays 3650
    logs_retention_months: float = 1.0  # LogRetentionDays default 30
    # the naive design: a Distributed Map left at its defaults runs each batch as a Standard child workflow,
    # billed per state entered (Evaluate, CreateContacts), instead of an Express child billed per request/GB-s
    naive_child_transitions_per_batch: float = 2.0
    # ... and stores nothing compressed: measured sizes before compression, per decision / per contact
    # (profile.extra: history_raw_bytes_per_decision, history_stored_bytes_per_decision,
    # snapshot_raw_bytes, snapshot_stored_bytes); a contact's snapshot is written on insert and counted again
    # by the update that removes it after delivery (DynamoDB bills an update by the larger image)
    naive_snapshot_writes: float = 2.0
    # one instance (t4g.medium): 2 vCPUs, a baseline of 20% per vCPU earned as CPU credits (AWS burstable
    # instance docs); calls overlapped by a pool of threads; boot and start-up before the job works
    instance_vcpus: int = 2
    instance_baseline_share: float = 0.20
    instance_io_concurrency: float = 32.0
    instance_start_s: float = 60.0
    instance_ebs_gb: float = 8.0


@dataclass
class Unit:
    """What one unit of a driver causes. ``calls`` and ``cpu_ms`` are keyed by function (logical id);
    ``calls[function]`` maps ``service.Operation`` to a count."""

    invocations: dict[str, float] = field(default_factory=dict)
    cpu_ms: dict[str, float] = field(default_factory=dict)
    calls: dict[str, dict[str, float]] = field(default_factory=dict)
    rru: float = 0.0
    wru: float = 0.0
    s3_put: float = 0.0
    s3_get: float = 0.0
    s3_bytes_letters: float = 0.0  # stored for letters_retention_months
    s3_bytes_print: float = 0.0  # merged print files: print_standard_months in Standard, then Glacier IR
    s3_put_print: float = 0.0  # print files written (each transitions twice)
    s3_bytes_runs: float = 0.0  # stored for runs_retention_months
    s3_bytes_archive: float = 0.0  # stored for archive_retention_months (contacts archived on expiry)
    ddb_bytes_history: float = 0.0
    ddb_bytes_contacts: float = 0.0
    log_bytes: float = 0.0
    sfn_transitions: float = 0.0  # Standard (the parent execution)
    express_requests: float = 0.0  # Distributed Map child executions
    express_seconds: float = 0.0
    ses_emails: float = 0.0

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Unit:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class Profile:
    units: dict[str, Unit]
    memory_mb: dict[str, int]  # function -> MemorySize from the template
    batch_size: int = 1000
    letters_per_acting: float = 0.8
    emails_per_acting: float = 0.15
    source: str = ""
    extra: dict[str, float] = field(default_factory=dict)  # measured sizes the alternatives need

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Profile:
        return cls(units={k: Unit.from_dict(v) for k, v in data["units"].items()},
                   memory_mb={k: int(v) for k, v in data["memory_mb"].items()},
                   batch_size=int(data.get("batch_size", 1000)),
                   letters_per_acting=float(data.get("letters_per_acting", 0.8)),
                   emails_per_acting=float(data.get("emails_per_acting", 0.15)),
                   source=str(data.get("source", "")),
                   extra={k: float(v) for k, v in data.get("extra", {}).items()})

    def to_dict(self) -> dict[str, Any]:
        return {"units": {k: asdict(v) for k, v in self.units.items()}, "memory_mb": self.memory_mb,
                "batch_size": self.batch_size, "letters_per_acting": self.letters_per_acting,
                "emails_per_acting": self.emails_per_acting, "source": self.source, "extra": self.extra}


@dataclass(frozen=True)
class Line:
    item: str
    quantity: float
    unit: str
    unit_price: float
    usd: float
    excluded: bool = False  # listed apart (SES)


@dataclass(frozen=True)
class Estimate:
    design: str
    lines: tuple[Line, ...]

    @property
    def total(self) -> float:
        return sum(line.usd for line in self.lines if not line.excluded)

    @property
    def excluded(self) -> float:
        return sum(line.usd for line in self.lines if line.excluded)


def driver_counts(profile: Profile, accounts: int, acting_share: float) -> dict[str, float]:
    acting = accounts * acting_share
    return {"run": 1.0, "batch": float(math.ceil(accounts / profile.batch_size)), "account": float(accounts),
            "acting": acting, "letter": acting * profile.letters_per_acting,
            "email": acting * profile.emails_per_acting}


def cpu_scale(memory_mb: int, assumptions: Assumptions) -> float:
    """Wall ms per measured CPU ms: the vCPU share below 1,769 MB, times the Graviton factor."""
    return assumptions.arm_cpu_factor * max(1.0, assumptions.lambda_vcpu_full_mb / memory_mb)


def lambda_ms(function: str, unit: Unit, memory_mb: int, assumptions: Assumptions) -> float:
    """Modelled AWS duration (ms) one unit adds to ``function``: CPU scaled to its vCPU share + call latency."""
    io = sum(n * assumptions.latency_ms.get(op, assumptions.default_latency_ms)
             / assumptions.io_concurrency.get(f"{function}/{op}", 1.0)
             for op, n in unit.calls.get(function, {}).items())
    return unit.cpu_ms.get(function, 0.0) * cpu_scale(memory_mb, assumptions) + io


def _sum(profile: Profile, counts: Mapping[str, float], attr: str) -> float:
    return sum(float(getattr(profile.units[d], attr)) * counts[d] for d in DRIVERS if d in profile.units)


def estimate(profile: Profile, accounts: int = 1_000_000, acting_share: float = 0.10,
             prices: Prices | None = None, assumptions: Assumptions | None = None, design: str = "batched",
             ) -> Estimate:
    """Dollars for one run of ``profile`` over ``accounts`` accounts with an open balance."""
    p = prices or Prices()
    a = assumptions or Assumptions()
    counts = driver_counts(profile, accounts, acting_share)
    invocations = 0.0
    gb_s = 0.0
    for driver, unit in profile.units.items():
        n = counts.get(driver, 0.0)
        for function in set(unit.invocations) | set(unit.cpu_ms) | set(unit.calls):
            mem = profile.memory_mb.get(function, 512)
            inv = unit.invocations.get(function, 0.0)
            invocations += inv * n
            ms = lambda_ms(function, unit, mem, a) + inv * a.lambda_overhead_ms
            gb_s += n * ms / 1000 * mem / 1024
    express_gb_s = _sum(profile, counts, "express_seconds") * a.express_child_memory_gb
    gb_month_s3 = (_sum(profile, counts, "s3_bytes_letters") * a.letters_retention_months
                   + _sum(profile, counts, "s3_bytes_runs") * a.runs_retention_months
                   + _sum(profile, counts, "s3_bytes_archive") * a.archive_retention_months) / 1e9
    gb_month_ddb = (_sum(profile, counts, "ddb_bytes_history") * a.history_retention_months
                    + _sum(profile, counts, "ddb_bytes_contacts") * a.contacts_retention_months) / 1e9
    print_bytes = _sum(profile, counts, "s3_bytes_print")
    gb_month_s3 += print_bytes * a.print_standard_months / 1e9
    gb_month_glacier = print_bytes * a.print_glacier_ir_months / 1e9
    gb_month_deep = print_bytes * max(0.0, a.print_retention_months - a.print_standard_months
                                      - a.print_glacier_ir_months) / 1e9
    print_files = _sum(profile, counts, "s3_put_print")
    log_gb = _sum(profile, counts, "log_bytes") / 1e9
    lines = [
        Line("Lambda requests", invocations, "invocations", p.lambda_request, invocations * p.lambda_request),
        Line("Lambda duration (arm64)", gb_s, "GB-s", p.lambda_gb_second_arm, gb_s * p.lambda_gb_second_arm),
        _line("Step Functions Standard transitions", _sum(profile, counts, "sfn_transitions"), "transitions",
              p.sfn_standard_transition),
        _line("Step Functions Express requests", _sum(profile, counts, "express_requests"), "executions",
              p.sfn_express_request),
        _line("Step Functions Express duration", express_gb_s, "GB-s", p.sfn_express_gb_second),
        _line("DynamoDB reads", _sum(profile, counts, "rru"), "RRU", p.ddb_read_request_unit),
        _line("DynamoDB writes (GSI writes included)", _sum(profile, counts, "wru"), "WRU", p.ddb_write_request_unit),
        _line("DynamoDB storage + PITR of what the run adds, for its retention", gb_month_ddb, "GB-month",
              p.ddb_storage_gb_month + p.ddb_pitr_gb_month),
        _line("S3 PUT requests", _sum(profile, counts, "s3_put"), "requests", p.s3_put_request),
        _line("S3 GET/HEAD requests", _sum(profile, counts, "s3_get"), "requests", p.s3_get_request),
        _line("S3 storage of what the run adds, for its retention", gb_month_s3, "GB-month", p.s3_storage_gb_month),
        _line("S3 Glacier Instant Retrieval: print files, months 2-12", gb_month_glacier, "GB-month",
              p.s3_glacier_ir_gb_month),
        _line("S3 Glacier Deep Archive: print files, after a year", gb_month_deep, "GB-month",
              p.s3_deep_archive_gb_month),
        _line("S3 lifecycle transitions (each print file: to Glacier IR, then to Deep Archive)", print_files,
              "files", p.s3_transition_glacier_ir + p.s3_transition_deep_archive),
        _line("CloudWatch Logs ingestion + 1 month storage", log_gb, "GB",
              p.logs_ingest_gb + p.logs_storage_gb_month * a.logs_retention_months),
        _line("X-Ray traces (sampled)", invocations * a.xray_sampling_share, "traces", p.xray_trace),
        Line("SES emails (excluded from the target)", _sum(profile, counts, "ses_emails"), "emails", p.ses_email,
             _sum(profile, counts, "ses_emails") * p.ses_email, excluded=True),
    ]
    return Estimate(design, tuple(lines))


def _line(item: str, quantity: float, unit: str, price: float) -> Line:
    return Line(item, quantity, unit, price, quantity * price)


def naive_profile(profile: Profile, assumptions: Assumptions | None = None) -> Profile:
    """The sensible naive design: the same per-batch Lambdas and the same delivery, but the Distributed Map at
    its defaults (a Standard child workflow per batch, billed per state transition, instead of an Express child)
    and nothing compressed: each batch's history written as plain JSON (more WRU, more bytes stored for the
    history's retention) and each contact's creation snapshot as plain JSON (more WRU on the insert and on the
    update that removes it). The sizes before compression are measured (``profile.extra``)."""
    a = assumptions or Assumptions()
    x = profile.extra
    units = {k: replace(v) for k, v in profile.units.items()}
    batch = units.get("batch", Unit())
    decisions = float(profile.batch_size)
    raw_hist = x.get("history_raw_bytes_per_decision", 0.0) * decisions
    stored_hist = x.get("history_stored_bytes_per_decision", 0.0) * decisions
    extra_hist_wru = max(0.0, math.ceil(raw_hist / 1024) - math.ceil(stored_hist / 1024)) if raw_hist else 0.0
    hist_ratio = raw_hist / stored_hist if stored_hist else 1.0
    units["batch"] = replace(batch, express_requests=0.0, express_seconds=0.0,
                             sfn_transitions=batch.sfn_transitions + a.naive_child_transitions_per_batch,
                             wru=batch.wru + extra_hist_wru,
                             ddb_bytes_history=batch.ddb_bytes_history * hist_ratio)
    extra_snapshot = max(0.0, x.get("snapshot_raw_bytes", 0.0) - x.get("snapshot_stored_bytes", 0.0))
    acting = units.get("acting", Unit())
    contacts_per_acting = profile.letters_per_acting + profile.emails_per_acting
    units["acting"] = replace(acting, wru=acting.wru + contacts_per_acting * a.naive_snapshot_writes
                              * extra_snapshot / 1024)
    return replace(profile, units=units, source=f"naive design derived from: {profile.source}")


@dataclass(frozen=True)
class InstanceRun:
    """One run as a batch job on one instance: its duration and its bill (the stores' lines are the same as the
    serverless design's: the job reads and writes the same tables and buckets)."""

    accounts: int
    cpu_s: float  # all the functions' measured CPU, at one Graviton2 vCPU
    io_s: float  # the AWS calls' latency, overlapped by instance_io_concurrency threads
    wall_s: float
    estimate: Estimate


STORE_LINES = ("DynamoDB", "S3", "CloudWatch", "SES")
COMPUTE_LINES = ("EC2", "EBS")


def instance_estimate(profile: Profile, accounts: int = 1_000_000, acting_share: float = 0.10,
                      prices: Prices | None = None, assumptions: Assumptions | None = None) -> InstanceRun:
    """The same work as one job on one t4g.medium, launched for the run: every function's measured CPU (whole
    vCPUs, no memory share; the Graviton factor applies) spread over its vCPUs; the AWS calls' latency
    overlapped by a thread pool; the CPU above the burstable baseline billed as surplus credits (T4g unlimited).
    No Lambda, Step Functions or X-Ray; the same DynamoDB, S3, logs and SES."""
    p = prices or Prices()
    a = assumptions or Assumptions()
    counts = driver_counts(profile, accounts, acting_share)
    cpu_ms = io_ms = 0.0
    for driver, unit in profile.units.items():
        n = counts.get(driver, 0.0)
        for ms in unit.cpu_ms.values():
            cpu_ms += n * ms * a.arm_cpu_factor
        for ops in unit.calls.values():
            io_ms += n * sum(k * a.latency_ms.get(op, a.default_latency_ms) for op, k in ops.items()
                             if op != "states.StartExecution")
    cpu_s, io_s = cpu_ms / 1000, io_ms / 1000 / a.instance_io_concurrency
    wall_s = a.instance_start_s + max(cpu_s / a.instance_vcpus, io_s)
    hours = wall_s / 3600
    surplus = max(0.0, cpu_s / 3600 - a.instance_baseline_share * a.instance_vcpus * hours)
    serverless = estimate(profile, accounts, acting_share, p, a)
    lines = [
        _line("EC2 t4g.medium on demand, for the run", hours, "hours", p.ec2_t4g_medium_hour),
        _line("EC2 T4g unlimited: CPU above the 20% baseline", surplus, "vCPU-hours", p.ec2_t4g_surplus_vcpu_hour),
        _line("EBS gp3 root volume, for the run", a.instance_ebs_gb * hours / 730, "GB-month", p.ebs_gp3_gb_month),
        *[line for line in serverless.lines if line.item.startswith(STORE_LINES)],
    ]
    return InstanceRun(accounts, cpu_s, io_s, wall_s, Estimate("one t4g.medium batch job", tuple(lines)))


def always_on_usd(run: InstanceRun, prices: Prices | None = None, assumptions: Assumptions | None = None) -> float:
    """The same job on an instance kept running all day (24 h of instance time, credits earned all day)."""
    p = prices or Prices()
    a = assumptions or Assumptions()
    stores = sum(line.usd for line in run.estimate.lines if not line.item.startswith(COMPUTE_LINES)
                 and not line.excluded)
    surplus = max(0.0, run.cpu_s / 3600 - a.instance_baseline_share * a.instance_vcpus * 24)
    return (24 * p.ec2_t4g_medium_hour + surplus * p.ec2_t4g_surplus_vcpu_hour
            + a.instance_ebs_gb * p.ebs_gp3_gb_month / 30 + stores)


# ---------------------------------------------------------------------------------------------- output


def money(usd: float) -> str:
    return f"${usd:,.2f}" if usd >= 0.01 or usd == 0 else f"${usd:,.4f}"


def _qty(q: float) -> str:
    return f"{q:,.0f}" if q >= 100 else f"{q:,.3g}"


def table(estimates: Sequence[Estimate]) -> str:
    """A Markdown table with one column per design."""
    head = "| Item | " + " | ".join(f"{e.design}: quantity | {e.design}: USD" for e in estimates) + " | unit price |"
    sep = "|---|" + "---:|---:|" * len(estimates) + "---:|"
    rows = [head, sep]
    for i, line in enumerate(estimates[0].lines):
        cells = []
        for e in estimates:
            ln = e.lines[i]
            cells += [f"{_qty(ln.quantity)} {ln.unit}", money(ln.usd)]
        rows.append(f"| {line.item} | " + " | ".join(cells) + f" | ${line.unit_price:.10g} |")
    rows.append("| **Total per run (SES excluded)** | " + " | ".join(f" | **{money(e.total)}**" for e in estimates)
                + " | |")
    rows.append("| SES send fees (listed apart) | " + " | ".join(f" | {money(e.excluded)}" for e in estimates)
                + " | |")
    return "\n".join(rows)


def simple_table(e: Estimate) -> str:
    rows = ["| Item | Quantity | USD | unit price |", "|---|---:|---:|---:|"]
    rows += [f"| {ln.item} | {_qty(ln.quantity)} {ln.unit} | {money(ln.usd)} | ${ln.unit_price:.10g} |"
             for ln in e.lines]
    rows.append(f"| **Total per run (SES excluded)** | | **{money(e.total)}** | |")
    return "\n".join(rows)


def describe(prices: Prices, assumptions: Assumptions) -> str:
    out = ["Prices (us-east-1, on-demand list, USD):"]
    out += [f"  {f.name} = {getattr(prices, f.name):.10g}" for f in fields(prices)]
    out.append("Assumptions:")
    for f in fields(assumptions):
        value = getattr(assumptions, f.name)
        if isinstance(value, Mapping):
            out.append(f"  {f.name}: " + ", ".join(f"{k}={v:g}" for k, v in value.items()))
        else:
            out.append(f"  {f.name} = {value:g}" if isinstance(value, float | int) else f"  {f.name} = {value}")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dunning_ops.costmodel",
        description="Price one collections run from measured counts (make bench writes them), "
                    "next to the naive serverless design and a single-instance batch job.")
    parser.add_argument("--measured", type=Path, required=True,
                        help="measured profile (JSON), e.g. tests/benchmarks/measured.json")
    parser.add_argument("--accounts", type=int, default=1_000_000, help="accounts with an open balance (1,000,000)")
    parser.add_argument("--acting", type=float, default=0.10, help="share of accounts with an action (0.10)")
    parser.add_argument("--json", action="store_true", help="print the estimates as JSON")
    args = parser.parse_args(argv)
    data = json.loads(args.measured.read_text(encoding="utf-8"))
    profile = Profile.from_dict(data.get("profile", data))
    ours = estimate(profile, args.accounts, args.acting, design="batched (this design)")
    naive = estimate(naive_profile(profile), args.accounts, args.acting, design="naive")
    box = instance_estimate(profile, args.accounts, args.acting)
    if args.json:
        print(json.dumps({e.design: {"total": e.total, "ses_excluded": e.excluded,
                                     "lines": [asdict(line) for line in e.lines]}
                          for e in (ours, naive, box.estimate)} | {"instance_wall_s": box.wall_s}, indent=2))
    else:
        print(f"One run over {args.accounts:,} accounts, {args.acting:.0%} acting\n")
        print(table([ours, naive]))
        print()
        print(f"One t4g.medium batch job: {box.wall_s / 60:,.1f} min, {money(box.estimate.total)} "
              f"(SES excluded); kept running all day: {money(always_on_usd(box))}\n")
        print(simple_table(box.estimate))
        print()
        print(describe(Prices(), Assumptions()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
