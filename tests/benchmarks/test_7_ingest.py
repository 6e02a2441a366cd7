"""7. Ingest: CPU ms per event excluding I/O, and DynamoDB calls per 1,000 events."""

from __future__ import annotations

from collections import Counter

from tests.benchmarks.harness import median, reference_rate, spread
from tests.benchmarks.inproc import ingest_round
from tests.benchmarks.report import md_table


def test_ingest(report, local_data, local_rounds):
    events = local_data.events()[:5000]
    ingest_round(events[:300])  # warm-up: handler import, pydantic schemas
    cpu, refs = [], []
    calls: Counter[str] = Counter()
    log_bytes = 0
    for _ in range(5):
        refs.append(reference_rate())
        seconds, calls, failed, log_bytes = ingest_round(events)
        assert failed == 0
        cpu.append(seconds * 1000 / len(events))
    per_event = median(cpu)
    rnd = local_rounds[0]
    load_ddb = [c for c in rnd.load_calls if c.service == "dynamodb" and c.function == "IngestFunction"]
    per_1000 = 1000 * len(load_ddb) / rnd.events
    queue = rnd.queue or {}
    q_ddb = [c for c in queue.get("calls", []) if c.service == "dynamodb" and c.function == "IngestFunction"]
    q_per_1000 = 1000 * len(q_ddb) / queue["events"] if queue.get("events") else float("nan")
    report.info(7, "Ingest CPU per event, I/O excluded", f"{per_event:.3f} ms",
                f"median of 5 rounds × {len(events):,} events through the real handler (SQS batches of 100), "
                f"fake I/O; spread {spread(cpu):.0%}; the issue sets no target")
    report.check(7, "DynamoDB calls per 1,000 events (ingest function, batches of 100)", per_1000, 200, "calls",
                 fmt="{:.0f}", note=f"{rnd.events:,} events on the local stack")
    if queue:
        report.check(7, "… through the real queue and the SQS poller", q_per_1000, 200, "calls", fmt="{:.0f}",
                     note=f"{queue['events']} events, {len(queue['invocations'])} invocations, "
                     f"{queue['events'] / queue['wall_s']:.0f} events/s on moto")
    ops = Counter(f"{c.operation} {c.resource}" for c in load_ddb)
    report.section(7, *[
        "CPU: the real ingest handler (`functions/ingest/app.py`, Powertools batch processor, validation, edge "
        "checks, facts, AttributeValue serialisation) over SQS-shaped batches of 100 events from the benchmark data "
        "(people, accounts, invoices, payments, statuses, predictions), with the boto3 clients replaced by an "
        "in-memory fake (`tests/benchmarks/fakeaws.py`), so no I/O is timed; `process_time`, 5 rounds:",
        "",
        *md_table(["Round", "CPU ms / event", "Reference loops/s (same run)"],
                  [[i + 1, f"{c:.3f}", f"{r:,.0f}"] for i, (c, r) in enumerate(zip(cpu, refs, strict=True))]),
        "",
        f"**Median {per_event:.3f} ms per event** ({1000 / per_event:,.0f} events per CPU second). Log output "
        f"{log_bytes / len(events):.0f} bytes per event. Fake calls per round: "
        + ", ".join(f"{k} {v}" for k, v in sorted(calls.items())) + ".",
        "",
        f"DynamoDB calls, counted on the local stack while the {rnd.events:,}-event ledger was loaded (ingest "
        f"invoked with batches of 100): **{per_1000:.0f} per 1,000 events** — "
        + ", ".join(f"{k} {v}" for k, v in sorted(ops.items()))
        + ". Per batch of 100: one BatchGetItem for the stored versions (two when a batch has more than 100 "
        "keys), one for the account profiles (currency check), and one BatchWriteItem per 25 facts written. "
        + (f"Through the real queue ({queue['events']} events, poller batches of "
           f"{median([i.records for i in queue['invocations']]):.0f} records): {q_per_1000:.0f} per 1,000 events; "
           "smaller batches cost more calls per event." if queue else ""),
    ])
    report.measured["ingest"] = {"cpu_ms_per_event": per_event, "ddb_calls_per_1000": per_1000,
                                 "ddb_calls_per_1000_queue": q_per_1000, "log_bytes_per_event":
                                 log_bytes / len(events)}
