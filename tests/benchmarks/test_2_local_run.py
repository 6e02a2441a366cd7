"""2, 3, 8. A full run over 2,000 accounts on the local stack: AWS calls per account, Step Functions
transitions per account, wall time."""

from __future__ import annotations

from collections import Counter, defaultdict

from tests.benchmarks.attribution import call_driver, calls_per_unit
from tests.benchmarks.harness import cross_check, median, other_threads, spread
from tests.benchmarks.localrun import transitions
from tests.benchmarks.report import md_table


def test_local_run_is_correct(local_rounds):
    """Real breakage only: the run must succeed and produce what the engine decided."""
    for rnd in local_rounds:
        assert rnd.status == "SUCCEEDED", rnd.summary
        assert rnd.rejected == 0, "benchmark events were rejected by ingest"
        assert rnd.summary["with_open_balance"] == rnd.accounts
        assert rnd.summary["acting_accounts"] == rnd.acting_expected
        assert not [i for i in rnd.invocations if i.errored], "a handler failed during the run"
        letters = [c for c in rnd.contacts if c["action"] == "letter" and c["source"] == "run"]
        assert letters and all(c["status"] in ("rendered", "printed") for c in letters)
        emails = [c for c in rnd.contacts if c["action"] == "email" and c["source"] == "run"]
        assert all(c["status"] == "sent" for c in emails)
        assert not rnd.poller_errors, rnd.poller_errors


def test_aws_calls_per_account(report, local_rounds):
    rnd = local_rounds[0]
    u = calls_per_unit(rnd)
    counts = u["counts"]
    report.check(2, "DynamoDB calls per account with no action", u["ddb_per_no_action"], 0.05, "calls",
                 fmt="{:.4f}", note=f"{int(counts['account']):,} accounts, {int(counts['batch'])} batches")
    report.check(2, "AWS calls per account that gets a letter, everything included", u["calls_per_letter_account"],
                 6, "calls", fmt="{:.2f}", note="shared run share + its contact creation + its letter (render, "
                 "PDF, print extract) + Lambda invocations; see item 2")
    checks = [row for r in local_rounds for row in cross_check(r.calls, r.call_events)]
    mismatches = [row for row in checks if not row["ok"]]
    report.check(2, "Calls the attribution missed (vs botocore's before-call count, every round)",
                 float(sum(abs(r["events"] - r["attributed"]) for r in mismatches)), 0, "calls", fmt="{:.0f}",
                 note=(f"{len(local_rounds)} rounds, {sum(r['events'] for r in checks):,} handler calls, "
                       f"{sum(r['on_pool_threads'] for r in checks):,} of them on pool threads")
                 + ("; mismatched: " + ", ".join(f"{r['function']} {r['operation']} {r['attributed']} vs "
                                                 f"{r['events']}" for r in mismatches[:6]) if mismatches else ""))
    pool = [i for i in rnd.invocations if i.pool_tasks]
    rows = []
    table: dict[tuple[str, str, str], int] = Counter((c.function, f"{c.service}.{c.operation}", c.resource)
                                                     for c in rnd.calls)
    drivers = {(c.function, f"{c.service}.{c.operation}", c.resource): call_driver(c) for c in rnd.calls}
    for key, n in sorted(table.items()):
        d = drivers[key]
        per = n / (counts[d] or 1)
        rows.append([key[0].removesuffix("Function"), key[1], key[2] or "—", n, d, f"{per:.4g}"])
    inv = Counter(i.function for i in rnd.invocations)
    inv_rows = []
    for fn, n in sorted(inv.items()):
        invs = [i for i in rnd.invocations if i.function == fn]
        records = [i.records for i in invs if i.records]
        inv_rows.append([fn.removesuffix("Function"), n, f"{median([i.wall_ms for i in invs]):,.0f}",
                         f"{sum(i.cpu_ms for i in invs):,.0f}", f"{sum(i.pool_cpu_ms for i in invs):,.0f}",
                         f"{sum(i.connect_cpu_ms for i in invs):,.0f}", f"{median(records):.0f}" if records else "—",
                         f"{max(i.in_bytes for i in invs):,}", f"{max(i.out_bytes for i in invs):,}"])
    letter_breakdown = defaultdict(int)
    for c in rnd.calls:
        if call_driver(c) == "letter":
            letter_breakdown[f"{c.function.removesuffix('Function')} {c.service}.{c.operation}"] += 1
    letters = counts["letter"] or 1
    report.section(2, *[
        f"One run over **{int(counts['account']):,} accounts** ({int(counts['acting'])} acting = "
        f"{counts['acting'] / counts['account']:.1%}; {int(counts['letter'])} letters, {int(counts['email'])} emails) "
        "on the local stack: the real `template.yaml` deployed into moto, the real handlers in-process. The ledger "
        f"({rnd.events:,} events) was loaded by invoking the ingest function with SQS-shaped batches of 100 (the "
        "mapping's BatchSize), i.e. the SQS poller's job without the queue (moto's SQS takes seconds per receive "
        "at 17k messages); the collection state of earlier runs was written with `DynamoLedgerRepository.put_states`. "
        "Ingest through the real queue is measured in item 7.",
        "",
        "**Counting.** `botocore.client.BaseClient._make_api_call` is wrapped in the benchmark process; a call "
        "counts only when it is made on a thread inside a handler invocation (the runtime's `invoke` is wrapped to "
        "set a thread-local), so the harness, the event-source pollers (they stand in for the Lambda service) and "
        "Step Functions' own Lambda calls are not counted. Each function gets its own configuration cache, as its "
        "own Lambda containers would. Lambda invocations and the scheduler's `StartExecution` are counted "
        "separately and added where the target says *everything included*.",
        "",
        "**Counting, in detail.** The invocation is a `contextvars` variable set by the wrapped runtime `invoke`; "
        "the application's pools run their tasks in a copy of the submitting context "
        "(`contextvars.copy_context().run`), so a call on a pool thread (Assign's Scan segments and manifest "
        "PUTs, the print shard's PDF GETs) is its handler's. CPU of an invocation = the handler thread's "
        "`thread_time` + the `thread_time` of every task its pools ran (`ThreadPoolExecutor.submit` is wrapped "
        "while counting: the task's CPU goes to the invocation that submitted it, whatever context the task runs "
        "in). **Cross-check:** an independent counter on botocore's `before-call` event, registered on every "
        "client, sees every call in the process with the thread it was made on (an invocation's own thread, a "
        "pool task of an invocation, or another thread: harness, pollers, Step Functions); per function and "
        "operation its count on handler and pool threads must equal the attributed count. Mismatches found in "
        f"this run: **{len(mismatches)}** (of {len(checks)} function/operation rows over {len(local_rounds)} "
        "rounds). Before this counting, the thread-local attribution missed every call on pool threads: "
        "Assign's Scan pages and manifest PUTs, and the print shard's PDF GETs.",
        "",
        *md_table(["Function", "Operation", "Attributed", "botocore events", "on pool threads", "OK"],
                  [[r["function"].removesuffix("Function") if r["function"] else "—", r["operation"],
                    r["attributed"], r["events"], r["on_pool_threads"], "✅" if r["ok"] else "❌ MISS"]
                   for r in cross_check(rnd.calls, rnd.call_events)]),
        "",
        "Calls outside any invocation in the same window (not the handlers' work; by thread and operation): "
        + ", ".join(f"{k[0]} {k[1]} {v}" for k, v in sorted(other_threads(rnd.call_events).items())) + ".",
        "",
        "Pool work inside invocations: " + (", ".join(
            f"{fn.removesuffix('Function')} {sum(i.pool_tasks for i in pool if i.function == fn)} tasks, "
            f"{sum(i.pool_cpu_ms for i in pool if i.function == fn):,.0f} ms CPU"
            for fn in sorted({i.function for i in pool})) or "none") + ". Whole-process CPU over the run "
        f"(handlers + moto + pollers + harness, `time.process_time`): {rnd.process_cpu_s:,.1f} s, against "
        f"{sum(i.cpu_ms for i in rnd.invocations) / 1000:,.1f} s attributed to the handlers.",
        "",
        "**Attribution** (details in `tests/benchmarks/attribution.py`): every call belongs to a *driver*: `run` "
        "(once per run), `batch` (once per 1,000-account manifest batch), `account` (grows with the accounts: the "
        "Scan pages), `acting` (contacts and collection state of acting accounts), `letter`, `email`. An account "
        "with no action causes only its share of `run` + `batch` + `account` calls, so *DynamoDB calls per "
        "account with no action* = those DynamoDB calls ÷ accounts. An account that gets a letter causes the same "
        "share + its `acting` calls (÷ acting accounts) + its letters' calls and stream invocations (÷ letters, "
        f"× {u['letters_per_letter_account']:.2f} letters per letter account).",
        "",
        f"* shared per account (run + batch + account calls, Step Functions task invocations, StartExecution): "
        f"**{u['shared_per_account']:.4f}**",
        f"* per acting account (contacts, collection state): **{u['acting_per_acting_account']:.3f}**",
        f"* per letter (render, PDF, status, idempotency, print extract, stream invocation): "
        f"**{u['letter_per_letter']:.3f}** — "
        + ", ".join(f"{k} {v / letters:.2f}" for k, v in sorted(letter_breakdown.items()))
        + f", RenderLetter invocations {u['invocations_by_driver'].get('letter', 0) / letters:.2f} "
        f"(median {u['render_batch']:.0f} records per stream batch)",
        f"* **per account that gets a letter: {u['calls_per_letter_account']:.2f}** (target ≤ 6)",
        "",
        "Every AWS call the handlers made during the run:",
        "",
        *md_table(["Function", "Operation", "Resource", "Calls", "Driver", "Per driver unit"], rows),
        "",
        "Invocations (wall time on the local stack includes moto; CPU is the handler thread's plus its pool "
        "tasks'):",
        "",
        *md_table(["Function", "Invocations", "Median wall ms", "Total CPU ms", "of which on pool threads",
                   "of which reconnecting to moto", "Records / invocation",
                   "Max payload in B", "Max payload out B"], inv_rows),
    ])
    report.measured["calls"] = {k: v for k, v in u.items() if k != "counts"} | {"counts": counts}


def test_state_transitions_per_account(report, local_rounds):
    rnd = local_rounds[0]
    tr = transitions(rnd.history)
    accounts = rnd.summary["with_open_balance"]
    per = tr["entered"] / accounts
    without_polling = (tr["entered"] - tr["print_loop"] + 2) / accounts
    report.check(3, "Step Functions state transitions per account", per, 0.02, fmt="{:.4f}",
                 note=f"{tr['entered']} states entered for {accounts:,} accounts; "
                 f"{tr['print_loop']} of them are print-extract polling")
    report.info(3, "… without the print-extract polling loop (one check)", f"{without_polling:.4f}",
                "the polling loop waits 1 s locally (PrintExtractWaitSeconds) and ran "
                f"{tr['print_attempts']} times while letters rendered")
    attempts = [transitions(r.history)["print_attempts"] for r in local_rounds]
    report.section(3, *[
        "Counted from the execution history (`GetExecutionHistory`): one transition per state entered "
        "(`…StateEntered` events), Map iterations included (the local stack runs the Map INLINE in the parent "
        "execution; on AWS the iterations are Express child executions, billed per request and duration, not per "
        "transition).",
        "",
        *md_table(["State", "Times entered"], [[k, v] for k, v in tr["by_state"].items()]),
        "",
        f"Total {tr['entered']} transitions, {tr['events']} history events, {tr['map_iterations']} Map iterations; "
        f"**{per:.4f} per account**. The fixed part (Assign, Map, Summarize, print extract started and finished) is "
        f"{tr['entered'] - tr['print_loop'] - tr['inner']} transitions; 2 per 1,000-account batch (Evaluate, "
        f"CreateContacts); and 3 per print-extract polling attempt (PrintExtract, LettersRendered, WaitForLetters): "
        f"{', '.join(str(a) for a in attempts)} attempts in the rounds. The loop polls every "
        "`PrintExtractWaitSeconds` (1 s locally, 60 s on AWS) until the stream has rendered every letter, so "
        "locally, where rendering 160 letters takes ~15 s, it dominates; without it the run needs "
        f"{without_polling:.4f} per account, and at 1M accounts the parent needs ~"
        f"{tr['entered'] - tr['print_loop'] - tr['inner'] + 3 * 30} at most (30 attempts) = 0.0001 per account.",
    ])
    report.measured["transitions"] = tr | {"per_account": per, "per_account_without_polling": without_polling}


def test_local_wall_time(report, local_rounds):
    runs = [r.drained_s for r in local_rounds]
    sfn = [r.run_s for r in local_rounds]
    loads = [r.load_s for r in local_rounds]
    starts = [r.stack_start_s for r in local_rounds]
    cpu = [sum(i.cpu_ms for i in r.invocations) / 1000 for r in local_rounds]
    accounts = local_rounds[0].accounts
    report.check(8, f"Local stack: {accounts:,}-account run end to end (start → every letter, email and the "
                 "print extract done)", median(runs), 60, "s", fmt="{:.1f}",
                 note=f"median of {len(runs)} rounds, each on a fresh stack; spread {spread(runs):.0%}")
    report.info(8, "… loading the ledger through the ingest function", f"{median(loads):.1f} s",
                f"{local_rounds[0].events:,} events")
    by_fn: dict[str, list[float]] = defaultdict(list)
    for r in local_rounds:
        for fn in {i.function for i in r.invocations}:
            by_fn[fn].append(sum(i.wall_ms for i in r.invocations if i.function == fn) / 1000)
    report.section(8, *[
        *md_table(["Round", "Stack start s", "Ledger load s", "Execution s", "End to end s", "Handler CPU s",
                   "End to end ÷ handler CPU"],
                  [[i + 1, f"{r.stack_start_s:.1f}", f"{r.load_s:.1f}", f"{r.run_s:.1f}", f"{r.drained_s:.1f}",
                    f"{c:.1f}", f"{r.drained_s / c:.1f}"] for i, (r, c) in enumerate(zip(local_rounds, cpu,
                                                                                            strict=True))]),
        "",
        f"**Median end to end: {median(runs):.1f} s** (execution alone {median(sfn):.1f} s; stack start "
        f"{median(starts):.1f} s and ledger load {median(loads):.1f} s not included). Handler wall time by function "
        "(median over rounds, seconds): "
        + ", ".join(f"{fn.removesuffix('Function')} {median(v):.1f}" for fn, v in sorted(by_fn.items())) + ".",
        "",
        "What bounds it: the local stack runs one invocation per function at a time, against moto over HTTP in the "
        "same process (one GIL for moto, the pollers and the handlers), so end to end is several times the "
        "handlers' own CPU; rendering the letters and the print-extract polling (1 s waits) are the longest parts.",
    ])
    report.measured["local_wall"] = {"end_to_end_s": median(runs), "execution_s": median(sfn),
                                     "load_s": median(loads), "rounds": runs}
