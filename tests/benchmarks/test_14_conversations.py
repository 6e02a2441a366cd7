"""14. Conversations: many concurrent conversations of the VIP template through the local stack (issue 14, Load).

A fresh local stack (template.yaml in moto; the stub CRM; the shipped templates installed and live), driven
through the public chat API as :mod:`tests.benchmarks.conversations_load` describes: half VIP contacts, half
normal; half give their email at the open, half answer the template's question. The local stack's ask timeout
cap is lifted for the load (``ConversationAskTimeoutCapSeconds`` = 0: the template's own hour), so a question
that waits behind the queue is answered, not timed out.

Reported: messages lost (must be 0: every customer message in its thread exactly once, every conversation
ended handed off to its team), p50 / p99 from a customer message to the bot's reply (in-process, per message),
Step Functions transitions per conversation (GetExecutionHistory of a sample: states entered, what Standard
bills), AWS calls per conversation (the harness's call counting: the handlers' calls only) and the cost per
1,000 conversations at us-east-1 list prices (``dunning_ops.costmodel.Prices`` plus SQS FIFO and Secrets
Manager, below), with the modelled Lambda duration of :func:`dunning_ops.costmodel.lambda_ms`.

``BENCH_CONV_N`` (default 1,000; 100 with ``BENCH_QUICK=1``) and ``BENCH_CONV_WAVE`` (default all of them at
once) set the size and how many are in flight.
"""

from __future__ import annotations

import math
import os
import statistics
import time
from collections import Counter, defaultdict
from typing import Any

from dunning_ops.costmodel import Assumptions, Prices, Unit, lambda_ms
from tests.benchmarks import report as report_module
from tests.benchmarks.conversations_load import ItemLevelTransactions, customers, execution_transitions, run_load
from tests.benchmarks.harness import AwsCallCounter, percentile
from tests.benchmarks.report import md_table

QUICK = os.environ.get("BENCH_QUICK") == "1"
N = int(os.environ.get("BENCH_CONV_N", "100" if QUICK else "1000"))
WAVE = int(os.environ.get("BENCH_CONV_WAVE", str(N)))
SAMPLE = 20  # executions per path whose history is read
ITEM = 14
report_module.ITEMS.setdefault(ITEM, "Conversations: load through the local stack")
# prices the cost model has no field for (us-east-1 list prices, 2026-11)
SQS_FIFO_REQUEST = 0.50 / 1e6  # SQS FIFO queue, per request (first 100 billion a month)
SECRETS_API_CALL = 0.05 / 1e4  # Secrets Manager, per 10,000 API calls
CRM_LATENCY_MS = 100.0  # assumption: the customer's CRM answers a lookup in 100 ms (the HTTP Lambda waits on it)
ASK_MARKER = "email address"  # the VIP template's question


def _parameters(stack_template: dict[str, Any]) -> dict[str, str]:
    params = stack_template.get("Parameters", {})
    return {"ConversationAskTimeoutCapSeconds": "0"} if "ConversationAskTimeoutCapSeconds" in params else {}


def _memory(stack: Any, logical: str) -> int:
    conf = stack.client("lambda").get_function_configuration(FunctionName=stack.function_name(logical))
    return int(conf.get("MemorySize", 128))


def test_conversations_under_load(report):
    from dunning_ops.local.translate import load_sam_template
    from tests.support.conversations_fixtures import ROOT_TEMPLATE, load_emails, start_conversation_stack

    t0 = time.perf_counter()
    cs = start_conversation_stack(parameters=_parameters(load_sam_template(ROOT_TEMPLATE)))
    setup_s = time.perf_counter() - t0
    counter = AwsCallCounter(cs.stack).install()
    tx = ItemLevelTransactions().install() if os.environ.get("BENCH_CONV_MOTO_TX") != "1" else None
    try:
        vip_email, normal_email = load_emails(cs.crm)
        people = customers(N, vip_email, normal_email)
        with counter.window() as w:
            result = run_load(cs.stack, people, ask_marker=ASK_MARKER, wave=WAVE,
                              progress=lambda m: print(f"[conversations load] {m}", flush=True))
        by_path: dict[str, list[str]] = defaultdict(list)
        for c in people:
            if c.conversation_id:
                by_path[("asked" if c.asks else "email") + ("/vip" if c.vip else "/normal")].append(c.conversation_id)
        sample = {path: execution_transitions(cs.stack, ids[:SAMPLE]) for path, ids in sorted(by_path.items())}
        memory = {fn: _memory(cs.stack, fn) for fn in {i.function for i in w["invocations"]}}
        poller_errors = list(cs.stack.pollers.errors)
    finally:
        if tx is not None:
            tx.uninstall()
        counter.uninstall()
        cs.stop()

    n = max(1, sum(1 for c in people if c.conversation_id))
    invocations = w["invocations"]
    calls = w["calls"]
    inv_by_fn = Counter(i.function for i in invocations)
    cpu_by_fn: dict[str, float] = defaultdict(float)
    for i in invocations:
        cpu_by_fn[i.function] += max(0.0, i.cpu_ms - i.connect_cpu_ms)
    ops: dict[str, Counter[str]] = defaultdict(Counter)
    for c in calls:
        ops[c.function][f"{c.service}.{c.operation}"] += 1
    unit = Unit(invocations={f: k / n for f, k in inv_by_fn.items()},
                cpu_ms={f: v / n for f, v in cpu_by_fn.items()},
                calls={f: {op: k / n for op, k in o.items()} for f, o in ops.items()},
                rru=sum(c.read_units for c in calls) / n,
                wru=sum(c.write_units + c.index_write_units for c in calls) / n)
    a, p = Assumptions(), Prices()
    lambda_gb_s = 0.0
    ms_by_fn = {}
    for fn in unit.invocations:
        ms = lambda_ms(fn, unit, memory.get(fn, 512), a) + a.lambda_overhead_ms * unit.invocations[fn]
        if fn == "ConversationHttpFunction":
            ms += CRM_LATENCY_MS * unit.invocations[fn]
        ms_by_fn[fn] = ms
        lambda_gb_s += ms / 1000 * memory.get(fn, 512) / 1024
    # transitions: the paths weighted by their share of the conversations
    per_path = {path: statistics.mean(x["entered"] for x in rows) for path, rows in sample.items() if rows}
    shares = {path: len(ids) / n for path, ids in by_path.items()}
    transitions = sum(per_path.get(path, 0.0) * share for path, share in shares.items())
    sqs_sends = sum(k for f, o in ops.items() for op, k in o.items() if op.startswith("sqs.Send")) / n
    sqs_polls = 2 * inv_by_fn.get("ConversationInboundFunction", 0) / n  # a receive and a delete per batch
    secrets = sum(k for o in ops.values() for op, k in o.items() if op.startswith("secretsmanager.")) / n
    log_bytes = sum(i.log_bytes for i in invocations) / n
    lines = [
        ("Step Functions Standard state transitions", transitions, p.sfn_standard_transition),
        ("Lambda requests", sum(unit.invocations.values()), p.lambda_request),
        ("Lambda GB-seconds (arm64, modelled duration)", lambda_gb_s, p.lambda_gb_second_arm),
        ("DynamoDB write request units", unit.wru, p.ddb_write_request_unit),
        ("DynamoDB read request units", unit.rru, p.ddb_read_request_unit),
        ("SQS FIFO requests (send + the poller's receive and delete)", sqs_sends + sqs_polls, SQS_FIFO_REQUEST),
        ("Secrets Manager API calls", secrets, SECRETS_API_CALL),
        ("CloudWatch Logs ingested (GB)", log_bytes / 1e9, p.logs_ingest_gb),
    ]
    per_1000 = [(name, qty * 1000, price, qty * 1000 * price) for name, qty, price in lines]
    usd_1000 = sum(x[3] for x in per_1000)

    lost = len(result.lost)
    report.measured["conversations_load"] = {
        "conversations": N, "wave": WAVE, "opened": n, "setup_s": setup_s, "open_s": result.open_s,
        "total_s": result.total_s, "max_open_at_once": result.max_open_at_once, "lost": result.lost[:50],
        "messages_sent": result.messages_sent, "messages_in_threads": result.messages_in_threads,
        "reply_ms_p50": percentile(result.reply_ms, 50), "reply_ms_p99": percentile(result.reply_ms, 99),
        "first_reply_ms_p50": percentile(result.first_reply_ms, 50),
        "first_reply_ms_p99": percentile(result.first_reply_ms, 99),
        "transitions_per_conversation": transitions, "transitions_by_path": per_path,
        "unit": {"invocations": unit.invocations, "cpu_ms": unit.cpu_ms, "calls": unit.calls, "wru": unit.wru,
                 "rru": unit.rru}, "memory_mb": memory, "usd_per_1000": usd_1000,
        "statuses": result.statuses, "teams": result.teams, "api_errors": result.api_errors[:20],
        "poller_errors": [str(e)[:300] for e in poller_errors[:20]],
    }
    report.check(ITEM, f"Conversations: messages lost ({n:,} conversations, {WAVE:,} in flight)", float(lost), 0,
                 fmt="{:,.0f}", note=f"{result.messages_sent:,} customer messages; every one in its thread "
                                     "exactly once and every conversation handed off to its team")
    report.info(ITEM, "Conversations: most open at once", f"{result.max_open_at_once:,}",
                f"all {n:,} opened in {result.open_s:,.0f} s; the last routed after {result.total_s:,.0f} s")
    report.info(ITEM, "Conversations: customer message → bot reply, p50 / p99 (in-process)",
                f"{percentile(result.reply_ms, 50):,.0f} / {percentile(result.reply_ms, 99):,.0f} ms",
                f"{len(result.reply_ms):,} answers to the email question → the success message")
    report.info(ITEM, "Conversations: open (with a first message) → first bot message, p50 / p99",
                f"{percentile(result.first_reply_ms, 50):,.0f} / {percentile(result.first_reply_ms, 99):,.0f} ms",
                f"{len(result.first_reply_ms):,} conversations (a normal contact with an email gets no bot message)")
    report.info(ITEM, "Conversations: Step Functions transitions per conversation (VIP template)",
                f"{transitions:,.1f}", ", ".join(f"{k}: {v:,.1f}" for k, v in per_path.items()))
    report.info(ITEM, "Conversations: cost per 1,000 conversations (us-east-1 list prices)", f"${usd_1000:,.4f}",
                "Step Functions, Lambda, DynamoDB, SQS FIFO, Secrets Manager, logs")

    fn_rows = [[fn, f"{unit.invocations[fn]:.2f}", f"{unit.cpu_ms.get(fn, 0.0):.1f}", memory.get(fn, 0),
                f"{ms_by_fn.get(fn, 0.0):.0f}",
                ", ".join(f"{op} {k:.2f}" for op, k in sorted(unit.calls.get(fn, {}).items()))]
               for fn in sorted(unit.invocations)]
    path_rows = [[path, len(by_path[path]), len(rows), f"{per_path.get(path, 0.0):.1f}",
                  f"{statistics.mean(x['task_attempts'] for x in rows):.1f}" if rows else "-",
                  ", ".join(f"{k} {v}" for k, v in sorted(rows[0]["by_state"].items())) if rows else "-"]
                 for path, rows in sample.items()]
    cost_rows = [[name, f"{qty:,.2f}", f"${price:.10g}", f"${usd:,.5f}"] for name, qty, price, usd in per_1000]
    report.section(ITEM, "### 1,000 concurrent conversations of the VIP template", "",
                   f"{n:,} conversations (asked for {N:,}; at most {WAVE:,} in flight, {result.max_open_at_once:,} "
                   f"were open at once) on a fresh local stack (setup {setup_s:,.0f} s), driven through the public "
                   "chat API of the local gateway in-process (openers and answerers in threads); everything behind "
                   "it is the stack's: the FIFO queue and its poller, ConversationInboundFunction, "
                   "ConversationStateMachine in moto's executor, the step and HTTP Lambdas, the stub CRM. Half VIP, "
                   "half normal; half with their email at the open, half answering the question. moto's "
                   "TransactWriteItems backs up each table it touches whole (a deep copy per item of the "
                   "transaction): quadratic in the load, so the bench backs up the touched items only, under the "
                   "local stack's write lock (`conversations_load.ItemLevelTransactions`; "
                   f"{'installed' if tx is not None and tx._saved else 'NOT installed'} in this run; "
                   "`BENCH_CONV_MOTO_TX=1` keeps moto's). Statuses at the "
                   f"end: {result.statuses}; teams: {result.teams}. Lost: **{lost}** "
                   f"({result.messages_in_threads:,} chat_in entries for {result.messages_sent:,} messages sent)."
                   + (" First losses: " + "; ".join(result.lost[:5]) if lost else ""), "",
                   "Reply latency is in-process: from just before the customer's API call to the write of the "
                   "bot's next thread entry (the interactions repository's `add_entry`, wrapped), on moto and 2 "
                   "shared cores: it is queueing behind the other conversations more than work. "
                   f"Answer → reply: p50 {percentile(result.reply_ms, 50):,.0f} ms, p99 "
                   f"{percentile(result.reply_ms, 99):,.0f} ms over {len(result.reply_ms):,} answers; API calls "
                   f"themselves: open p50 {percentile(result.open_call_ms, 50):,.0f} ms, send p50 "
                   f"{percentile(result.send_call_ms, 50):,.0f} ms.", "",
                   "Step Functions: the histories of up to "
                   f"{SAMPLE} executions per path (GetExecutionHistory); states entered = the transitions Standard "
                   "bills (a Retry attempt is another task scheduled in the same state).", "",
                   *md_table(["Path", "Conversations", "Sampled", "States entered (mean)", "Task attempts (mean)",
                              "States of the first"], path_rows), "",
                   "Per conversation, from the harness's call counting (the handlers' own AWS calls; the pollers "
                   "and Step Functions' calls stand in for AWS services and are not counted): invocations, CPU "
                   "(without moto's per-call connection setup), memory, the modelled AWS duration "
                   f"(`costmodel.lambda_ms`: CPU at the vCPU share × Graviton factor + assumed call latencies; "
                   f"the HTTP Lambda also waits an assumed {CRM_LATENCY_MS:.0f} ms on the CRM) and the calls.", "",
                   *md_table(["Function", "Invocations", "CPU ms", "MB", "Modelled ms", "AWS calls"], fn_rows), "",
                   "Cost per 1,000 conversations (SQS FIFO $0.50 per million requests, Secrets Manager $0.05 per "
                   "10,000 calls; the rest `costmodel.Prices`; free tiers ignored; an idle ESM's empty receives "
                   "are not per conversation and are left out):", "",
                   *md_table(["Item", "Quantity", "Unit price", "USD"], cost_rows),
                   f"| **Total** | | | **${usd_1000:,.4f}** |", "")
    assert lost == 0, result.lost[:20]
    assert not math.isnan(percentile(result.reply_ms, 99))
