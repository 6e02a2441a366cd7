"""Scale on paper: a run over N accounts on AWS, from the measured per-unit figures, the template's settings
and the cost model's latency assumptions (one model for time and money: :mod:`dunning_ops.costmodel`)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date
from typing import Any

from dunning.store.runs import HISTORY_CHUNK, HISTORY_SHARDS
from dunning_ops.costmodel import Assumptions, Profile, cpu_scale, lambda_ms
from tests.benchmarks.attribution import batch_child_ms
from tests.benchmarks.localrun import ROOT_ASL, transitions

# Every constant a projection assumes, with its source (listed in RESULTS.md item 9 by `assumptions_table`).
LAMBDA_CONCURRENCY = 1000  # default regional concurrent executions quota (Lambda quotas page)
STREAM_SHARDS = 4  # a new on-demand table: ~4 partitions, one stream shard each (assumption)
CHILD_OVERHEAD_MS = 150  # starting an Express child and its two Lambda tasks (assumption)
SFN_PAYLOAD = 256 * 1024  # Step Functions state input/output (Step Functions quotas page)
HISTORY_EVENTS = 25_000  # events in one Standard execution's history (Step Functions quotas page)
EXPRESS_DURATION_S = 300  # an Express execution's maximum duration (Step Functions quotas page)
DISTRIBUTED_MAP_CHILDREN = 10_000  # concurrent child executions of a Distributed Map (Step Functions docs)
DDB_ITEM = 400 * 1024  # DynamoDB item size (DynamoDB quotas page)
DDB_BATCH_WRITE_ITEMS, DDB_BATCH_GET_KEYS = 25, 100  # DynamoDB API limits
DDB_REQUEST = 16 * 1024 * 1024  # BatchWriteItem request size (DynamoDB API reference)
PARTITION_WCU = 1000  # write units per second per partition (DynamoDB partitions docs)
NEW_TABLE_WRU = 4000  # a new on-demand table's initial write throughput (DynamoDB on-demand docs)
S3_PUT_PER_PREFIX = 3500  # PUT/COPY/POST/DELETE requests per second per prefix (S3 performance guidelines)
S3_GET_PER_PREFIX = 5500  # GET/HEAD requests per second per prefix (S3 performance guidelines)
LAMBDA_BASE_MB = 150  # a function's heap before its work: runtime, boto3, Powertools, pydantic (assumption)
HEADROOM = 0.8  # every limit is checked at 80% (20% headroom)
EXTRACT_BASE_MB = 150  # a shard Lambda before its first letter: runtime, boto3, Powertools, pypdf (assumption)
EXTRACT_LANGUAGES = 4  # each language's last shard is partial (en, pt-BR, ru, ar in the demo data)
SHARD_EVENTS = 7  # history events per INLINE shard iteration: iteration started/succeeded + BuildShard (5)
S3_PUT_MB_S = 50  # one PutObject stream of a merged shard PDF (assumption)
TABLE_RRU = 40_000  # a table's read throughput, on-demand (DynamoDB quotas: default per-table maximum)
SCAN_PAGE_RRU = 128  # one 1 MB Scan page, eventually consistent: 0.5 RRU per 4 KB (DynamoDB read units)
SEGMENT_EVENTS = 7  # history events per INLINE Assign segment: iteration started/succeeded + AssignSegment (5)
ROUND_EVENTS = 11  # an extract round without shards: PrintExtract (5) + two Choices (2 each) + Wait (2)
ROUND_MAP_EVENTS = 4  # a round with shards adds its Map's entered/started/succeeded/exited


@dataclass
class Check:
    name: str
    value: float
    limit: float
    unit: str
    note: str = ""
    enforced: bool = False  # the code chunks at exactly the limit: reaching it is by design, exceeding is not

    @property
    def ok(self) -> bool:
        return self.value <= (self.limit if self.enforced else self.limit * HEADROOM)

    @property
    def headroom(self) -> float:
        return 1 - self.value / self.limit if self.limit else 0.0


def asl() -> dict[str, Any]:
    return json.loads(ROOT_ASL.read_text(encoding="utf-8"))


def template_default(parameter: str, fallback: int) -> int:
    """A template parameter's default (what a deployment uses; the local stack may override it)."""
    from dunning_ops.local.translate import load_sam_template

    params = load_sam_template(ROOT_ASL.parents[2] / "template.yaml").get("Parameters", {})
    return int(params.get(parameter, {}).get("Default", fallback))


def print_extract(prof: Profile, rnd: Any, letters: dict[str, Any], letters_n: float, a: Assumptions
                  ) -> dict[str, Any]:
    """The extract at ``letters_n`` letters: the plan Lambda (the run's letter states, 100 per BatchGetItem, and
    the shard plan), then PrintExtractConcurrency shard Lambdas at a time, each fetching its PDFs with
    FETCH_WORKERS GETs in flight. Per-letter calls and CPU are the local run's (shard function), the merge's
    CPU and peak memory per letter the letters benchmark's (item 5), whichever CPU figure is larger."""
    from dunning.app.print_extract import FETCH_WORKERS, plan_key

    u = prof.units["letter"]
    shard_fn, plan_fn = "PrintExtractShardFunction", "PrintExtractFunction"
    shard_size = template_default("PrintExtractShardSize", 5000)
    concurrency = template_default("PrintExtractConcurrency", 10)
    poll_s = template_default("PrintExtractPollSeconds", 600)
    shard_mem = prof.memory_mb.get(shard_fn, 2048)
    shard_letters = min(shard_size, max(letters_n, 1.0))
    shards = math.ceil(letters_n / shard_size) + EXTRACT_LANGUAGES - 1
    waves = math.ceil(shards / concurrency)
    calls = u.calls.get(shard_fn, {})
    get_ms = a.latency_ms["s3.GetObject"] * calls.get("s3.GetObject", 1.0) / FETCH_WORKERS
    other_io_ms = sum(n * a.latency_ms.get(op, a.default_latency_ms) for op, n in calls.items() if op != "s3.GetObject")
    cpu_ms = max(u.cpu_ms.get(shard_fn, 0.0), letters["extract"]["ms_per_letter"]) * cpu_scale(shard_mem, a)
    ms_per_letter = get_ms + other_io_ms + cpu_ms
    merged_mb = shard_letters * letters["extract"]["merged_bytes_per_letter"] / 1e6
    shard_s = (shard_letters * ms_per_letter + a.latency_ms["s3.GetObject"] + 2 * a.latency_ms["s3.PutObject"]
               ) / 1000 + merged_mb / S3_PUT_MB_S
    peak_per_letter = letters["extract"].get("peak_bytes_per_letter",
                                             10 * letters["extract"]["merged_bytes_per_letter"])
    shard_mem_mb = EXTRACT_BASE_MB + shard_letters * peak_per_letter / 1e6
    # the plan, part by part (dunning.app.print_extract): the first round cuts the run's letters (from its batch
    # results) into parts of PART_SHARDS x shard_size letters, a file each; every later round reads the next part's
    # file and its letters' states (100 per BatchGetItem) and writes its shard plans. The measured CPU covers
    # every polling round of the local run: it is divided by the states read per letter (items per BatchGetItem
    # call: 100); reading an id in the batch results is taken to cost as much as reading a letter's state.
    from dunning.app.print_extract import PART_SHARDS, attempt_cap

    reads_per_letter = max(1.0, u.calls.get(plan_fn, {}).get("dynamodb.BatchGetItem", 0.0) * 100)
    read_cpu_ms = u.cpu_ms.get(plan_fn, 0.0) / reads_per_letter * cpu_scale(prof.memory_mb.get(plan_fn, 512), a)
    part_letters = min(float(PART_SHARDS * shard_size), max(letters_n, 1.0))
    parts = max(1, math.ceil(letters_n / (PART_SHARDS * shard_size)))
    shards_per_part = math.ceil(part_letters / shard_size) + EXTRACT_LANGUAGES - 1
    shards = parts * shards_per_part
    waves = math.ceil(shards_per_part / concurrency) * parts
    cut_s = (letters_n * read_cpu_ms + math.ceil(letters_n / 100) * a.latency_ms["dynamodb.Query"] / 10
             + parts * a.latency_ms["s3.PutObject"]) / 1000  # a Query page holds ~1,000 ids
    part_plan_s = (a.latency_ms["s3.GetObject"] + part_letters * read_cpu_ms
                   + math.ceil(part_letters / 100) * a.latency_ms["dynamodb.BatchGetItem"]
                   + shards_per_part * a.latency_ms["s3.PutObject"]) / 1000
    last_plan_s = part_plan_s + (parts * a.latency_ms["s3.GetObject"] + letters_n * read_cpu_ms / 100
                                 + 3 * a.latency_ms["dynamodb.Query"]) / 1000  # + the parts' ids, the queue
    plan_s = max(cut_s, last_plan_s)
    part_build_s = math.ceil(shards_per_part / concurrency) * shard_s
    plan_limit = rnd.timeout_s.get(plan_fn, 900) - poll_s
    wait_s = template_default("PrintExtractWaitSeconds", 60)
    from dunning.app.print_extract import ExtractOptions

    cap = attempt_cap(int(letters_n), parts, ExtractOptions(wait_seconds=wait_s, shard_size=shard_size))
    ref = {"key": plan_key(date(2026, 11, 16), "run-2026-11-16-0123abcd", "pt-BR", 999), "language": "pt-BR",
           "shard": 999, "letters": shard_size}
    result = {"language": "pt-BR", "shard": 999, "letters": shard_size,
              "files": [f"print/2026-11-16/run-2026-11-16-0123abcd/pt-BR-999.{e}" for e in ("pdf", "csv")]}
    payload = shards * (len(json.dumps(ref)) + len(json.dumps(result)) + 4) + 2000  # plan + Map results + summary
    # building: the shards of the ready parts share the Map's PrintExtractConcurrency; all of them together are
    # the letters' work plus each shard's fixed part, spread over that many shard Lambdas
    build_work_s = (letters_n * ms_per_letter + shards * (a.latency_ms["s3.GetObject"]
                                                         + 2 * a.latency_ms["s3.PutObject"])) / 1000 \
        + letters_n * letters["extract"]["merged_bytes_per_letter"] / 1e6 / S3_PUT_MB_S
    return {"shard_size": shard_size, "concurrency": concurrency, "shards": shards, "waves": waves,
            "build_busy_s": build_work_s / concurrency,
            "shard_letters": shard_letters, "ms_per_letter": ms_per_letter, "get_ms": get_ms, "cpu_ms": cpu_ms,
            "shard_s": shard_s, "shard_mem_mb": shard_mem_mb, "shard_mem": shard_mem,
            "shard_timeout": rnd.timeout_s.get(shard_fn, 600), "peak_per_letter": peak_per_letter,
            "plan_s": plan_s, "plan_limit": plan_limit, "payload": payload, "parts": parts,
            "part_letters": part_letters, "shards_per_part": shards_per_part, "cut_s": cut_s,
            "part_plan_s": part_plan_s, "part_build_s": part_build_s, "wait_s": wait_s, "poll_s": poll_s,
            "max_attempts": cap, "total_s": cut_s + parts * part_plan_s + build_work_s / concurrency}


def _table_wru(rnd: Any, function: str, table: str) -> float:
    """Write units (base table + indexes) ``function`` wrote to ``table`` in the local run."""
    return sum(c.write_units + c.index_write_units for c in rnd.calls
               if c.function == function and c.resource == table and c.service == "dynamodb")


def assumptions_table() -> list[list[str]]:
    """Every constant the projection assumes, with its source."""
    return [
        ["Lambda concurrent executions", f"{LAMBDA_CONCURRENCY:,}", "default regional quota (Lambda quotas)"],
        ["Contacts table stream shards", f"{STREAM_SHARDS}", "assumption: a new on-demand table's partitions"],
        ["Starting a Map child and its tasks", f"{CHILD_OVERHEAD_MS} ms", "assumption"],
        ["Step Functions payload", "256 KiB", "Step Functions quotas"],
        ["Standard execution history", f"{HISTORY_EVENTS:,} events", "Step Functions quotas"],
        ["Express execution duration", f"{EXPRESS_DURATION_S} s", "Step Functions quotas"],
        ["Distributed Map concurrent children", f"{DISTRIBUTED_MAP_CHILDREN:,}", "Step Functions docs"],
        ["DynamoDB item", "400 KB", "DynamoDB quotas"],
        ["DynamoDB BatchWriteItem / BatchGetItem", "25 items / 100 keys, 16 MB", "DynamoDB API reference"],
        ["DynamoDB partition write throughput", f"{PARTITION_WCU:,} WCU/s", "DynamoDB partitions docs"],
        ["New on-demand table write throughput", f"{NEW_TABLE_WRU:,} WRU/s", "DynamoDB on-demand docs"],
        ["S3 request rate per prefix", f"{S3_PUT_PER_PREFIX:,} PUT/s, {S3_GET_PER_PREFIX:,} GET/s",
         "S3 performance guidelines"],
        ["A function's heap before its work", f"{LAMBDA_BASE_MB} MB", "assumption"],
        ["Print shard PutObject stream", f"{S3_PUT_MB_S} MB/s", "assumption"],
        ["Accounts in the largest strategy", "60%", "assumption (history partition key)"],
        ["Table read throughput (ledger, on-demand)", f"{TABLE_RRU:,} RRU/s",
         "DynamoDB quotas: per-table read throughput, default"],
        ["A Scan page's read units", f"{SCAN_PAGE_RRU} RRU per 1 MB page", "DynamoDB read units: eventually "
         "consistent, 0.5 per 4 KB"],
        ["DescribeTable ItemCount freshness", "about 6 hours", "DynamoDB DescribeTable reference: an estimate; "
         "AssignSegmentItems keeps the headroom"],
        ["Slowest rendering the extract's attempt cap waits for", "20 letters/s",
         "design choice (dunning.app.print_extract.MIN_LETTERS_PER_SECOND)"],
        ["Letters of one part of the extract", "4 shards", "design choice (PART_SHARDS)"],
        ["Reading an id in the batch results", "as a letter's state read", "assumption (upper bound)"],
        ["Latencies per AWS call, Graviton factor, vCPU share", "see item 4", "cost model Assumptions"],
    ]


def project(prof: Profile, rnd: Any, letters: dict[str, Any], steps: list[Any], accounts: int = 1_000_000,
            acting_share: float = 0.10, a: Assumptions | None = None) -> dict[str, Any]:
    a = a or Assumptions()
    u = prof.units
    mem = prof.memory_mb
    timeouts = rnd.timeout_s
    definition = asl()
    max_conc = int(definition["States"]["EvaluateBatches"].get("MaxConcurrency", 40))
    batch_size = prof.batch_size
    batches = math.ceil(accounts / batch_size)
    acting = accounts * acting_share
    letters_n = acting * prof.letters_per_acting
    emails_n = acting * prof.emails_per_acting

    def fn_ms(fn: str, driver: str) -> float:
        return lambda_ms(fn, u[driver], mem.get(fn, 512), a)

    # Assign, fanned out (dunning.app.assign): one invocation per AssignSegmentItems ledger items, each scanning
    # SCAN_SEGMENTS Scan segments in threads, AssignConcurrency at once; the ledger's items per account are the
    # local run's (the items ingest wrote into the ledger, plus each account's collection state, ÷ accounts)
    from dunning.app.assign import SCAN_SEGMENTS, segments_for

    ledger_items_local = sum(c.items for c in rnd.load_calls if c.service == "dynamodb"
                             and c.operation == "BatchWriteItem" and c.resource == "LedgerTable") + rnd.accounts
    items_per_account = ledger_items_local / max(1, rnd.accounts) if ledger_items_local > rnd.accounts else 20.0
    segment_items = template_default("AssignSegmentItems", 2_000_000)
    assign_conc = template_default("AssignConcurrency", 8)
    segments = segments_for(int(accounts * items_per_account), segment_items)
    segment_s = (fn_ms("AssignFunction", "batch") * batches / segments
                 + fn_ms("AssignFunction", "account") * accounts / segments) / 1000
    assign_waves = math.ceil(segments / min(assign_conc, segments))
    assign_s = (2 * fn_ms("AssignFunction", "run") / 1000 + assign_waves * (segment_s + CHILD_OVERHEAD_MS / 1000))
    scan_rru = (min(assign_conc, segments) * accounts / segments / max(segment_s, 1e-9)
                * u["account"].calls.get("AssignFunction", {}).get("dynamodb.Scan", 0.0) * SCAN_PAGE_RRU)
    evaluate_s = (fn_ms("EvaluateFunction", "batch") + fn_ms("EvaluateFunction", "account") * batch_size) / 1000
    create_s = (fn_ms("CreateContactsFunction", "batch")
                + fn_ms("CreateContactsFunction", "acting") * batch_size * acting_share) / 1000
    child_s = batch_child_ms(prof, a, acting_share) / 1000 + CHILD_OVERHEAD_MS / 1000
    waves = math.ceil(batches / max_conc)
    map_s = waves * child_s
    summarize_s = fn_ms("SummarizeRunFunction", "run") / 1000 + batches * a.latency_ms["dynamodb.Query"] / 1000 / 100
    evaluated_s = assign_s + map_s + summarize_s
    # delivery: the contacts stream, one concurrent batch per shard (ParallelizationFactor 1 in the template)
    render_mapping = next((m for m in rnd.stream_mappings if m["function"] == "RenderLetterFunction"), {})
    parallel = int(render_mapping.get("parallelization") or 1)
    consumers = STREAM_SHARDS * parallel
    render_letter_ms = fn_ms("RenderLetterFunction", "letter")
    render_s = letters_n * render_letter_ms / 1000 / consumers
    ex = print_extract(prof, rnd, letters, letters_n, a)
    wait_s = ex["wait_s"]  # the template's default on AWS (the local stack uses 1)
    max_attempts = ex["max_attempts"]
    # the letters render from the Map's first contacts on, as fast as the consumers go (the Map creates them
    # faster: see the contacts write rate); the extract follows part by part, each planned and built once its
    # letters are rendered, so it ends a poll, a part's plan and its shards after the last letter - or later,
    # if planning and building the parts takes longer than rendering them
    render_span_s = max(render_s, map_s)
    # rounds: one per part, plus at most one idle round per wait while rendering (PrintExtractPollSeconds 0)
    attempts_needed = ex["parts"] + math.ceil(render_span_s / wait_s)
    # payloads (Step Functions state I/O): assign's output lists the batches
    sfn_out = [i.out_bytes for i in rnd.invocations if i.function == "AssignFunction"]
    local_batches = max(1, int(rnd.summary.get("batch_count", 1)))
    per_batch_entry = len(json.dumps(list(range(batches)))) / batches
    assign_out_1m = (max(sfn_out) if sfn_out else 500) + per_batch_entry * (batches - local_batches)
    task_max = max((i.out_bytes for i in rnd.invocations if not i.records), default=0)
    task_in_max = max((i.in_bytes for i in rnd.invocations if not i.records), default=0)
    # history: DISTRIBUTED on AWS keeps the parent small; INLINE (as locally) grows per batch
    tr = transitions(rnd.history)
    task_events = 5  # TaskStateEntered, Scheduled, Started, Succeeded, StateExited per task state
    inline_per_batch = 2 + 2 * task_events  # iteration started/succeeded + Evaluate + CreateContacts
    shard_iterations = tr["by_state"].get("BuildShard", 0)  # the print extract's INLINE Map, in the parent
    segment_iterations = tr["by_state"].get("AssignSegment", 0)  # the Assign fan-out's INLINE Map
    batch_iterations = tr["by_state"].get("Evaluate", 0)
    rounds_local = tr["print_attempts"]
    rounds_with_map = tr["by_state"].get("ExtractShards", 0)
    fixed_events = (tr["events"] - batch_iterations * inline_per_batch - shard_iterations * SHARD_EVENTS
                    - segment_iterations * SEGMENT_EVENTS - rounds_local * ROUND_EVENTS
                    - rounds_with_map * ROUND_MAP_EVENTS)
    # the worst case: every round up to the attempt cap, every shard in its own round's Map
    distributed_events = (fixed_events + segments * SEGMENT_EVENTS + max_attempts * ROUND_EVENTS + 10
                          + ex["parts"] * ROUND_MAP_EVENTS + ex["shards"] * SHARD_EVENTS)
    inline_events = distributed_events + batches * inline_per_batch
    # DynamoDB: largest items / batches
    history_entry = max(s.history_entry_bytes for s in steps) if steps else 300
    history_item_worst = history_entry * min(batch_size, HISTORY_CHUNK)  # a full item, one strategy
    writes = [c for c in rnd.calls if c.service == "dynamodb" and c.operation == "BatchWriteItem"]
    gets = [c for c in rnd.calls if c.service == "dynamodb" and c.operation == "BatchGetItem"]
    max_item = max((c.max_item for c in rnd.calls if c.service == "dynamodb"), default=0)
    max_request = max((c.bytes_out for c in writes), default=0)
    # history: pk = HIST#{strategy}#{shard}; a strategy's batches spread over HISTORY_SHARDS keys
    history_wru_per_batch = history_entry * batch_size / 1024 + 1  # compressed bytes of a batch's decisions
    hot_wcu = history_wru_per_batch * max_conc / max(child_s, 1e-9) * 0.6 / HISTORY_SHARDS  # 60% in "standard"
    peak_concurrency = max(assign_conc, max_conc + 2 * consumers + 1 + ex["concurrency"])  # extract during the Map
    size = f"{accounts / 1e6:g}M" if accounts >= 1e6 else f"{accounts / 1e3:g}k"
    # Lambda durations of the stream batches, memory of a batch, the new tables' write rates, S3 request rates
    render_batch = next((m.get("batch_size") or 25 for m in rnd.stream_mappings
                         if m["function"] == "RenderLetterFunction"), 25)
    email_batch = next((m.get("batch_size") or 25 for m in rnd.stream_mappings
                        if m["function"] == "SendEmailFunction"), 25)
    render_batch_s = render_batch * render_letter_ms / 1000
    email_batch_s = email_batch * fn_ms("SendEmailFunction", "email") / 1000
    manifest = max((s.manifest_bytes for s in steps), default=0)
    peak_eval = max((s.evaluate_peak_bytes for s in steps if getattr(s, "evaluate_peak_bytes", 0)), default=0)
    evaluate_mem_mb = LAMBDA_BASE_MB + (peak_eval or 20 * manifest) / 1e6
    assign_mem_mb = LAMBDA_BASE_MB + SCAN_SEGMENTS * (peak_eval or 20 * manifest) / 1e6  # a batch per segment
    letters_per_s = consumers / max(render_letter_ms / 1000, 1e-9)
    acting_n = max(1.0, float(rnd.summary.get("acting_accounts", 1)))
    letters_local = max(1.0, float(rnd.summary.get("contacts_by_action", {}).get("letter", 1)))
    contacts_wru_map = (_table_wru(rnd, "CreateContactsFunction", "ContactsTable") / acting_n
                        * batch_size * acting_share * max_conc / max(child_s, 1e-9))
    contacts_wru_render = _table_wru(rnd, "RenderLetterFunction", "ContactsTable") / letters_local * letters_per_s
    idem_wru = _table_wru(rnd, "RenderLetterFunction", "IdempotencyTable") / letters_local * letters_per_s
    from dunning.app.print_extract import FETCH_WORKERS

    shard_gets_per_s = min(ex["shards"], ex["concurrency"]) * FETCH_WORKERS / (a.latency_ms["s3.GetObject"] / 1000)
    manifest_puts_per_s = (min(assign_conc, segments) * SCAN_SEGMENTS
                           / max(fn_ms("AssignFunction", "account") * batch_size / 1000, 1e-9))
    segment_out = len(json.dumps(list(range(batches)))) + segments * 120  # the fan-out Map's results
    render_start_s = assign_s + child_s
    render_end_s = render_start_s + render_span_s
    extract_start_s = evaluated_s + ex["cut_s"]  # the first round, after the summary
    extract_end_s = max(render_end_s + wait_s + ex["part_plan_s"] + ex["part_build_s"],
                        extract_start_s + ex["total_s"] - ex["cut_s"])
    extract_s = extract_end_s - render_end_s  # after the last letter
    delivered_s = extract_end_s
    checks = [
        Check(f"Step Functions payload: assign output (batch list) at {size} accounts", assign_out_1m, SFN_PAYLOAD,
              "B"),
        Check("Step Functions payload: largest task output measured", task_max, SFN_PAYLOAD, "B"),
        Check("Step Functions payload: largest task input measured", task_in_max, SFN_PAYLOAD, "B"),
        Check("Step Functions payload: Assign segment results (the manifest step's input)", segment_out,
              SFN_PAYLOAD, "B", f"{segments} segments' batch numbers"),
        Check(f"History events, parent execution (DISTRIBUTED, {segments} Assign segments, {max_attempts} extract "
              "rounds: the attempt cap)", distributed_events, HISTORY_EVENTS, "events",
              "worst case: every round up to the cap"),
        Check("Lambda concurrency at peak (Map + stream consumers + summary)", peak_concurrency, LAMBDA_CONCURRENCY,
              "executions"),
        Check(f"Assign Lambda duration at {size} accounts vs its timeout (one segment invocation)", segment_s,
              timeouts.get("AssignFunction", 900), "s",
              f"{segments} invocations of {accounts / segments:,.0f} accounts ({segment_items:,} ledger items at "
              f"{items_per_account:.1f} per account), {SCAN_SEGMENTS} Scan segments each in threads"),
        Check("Ledger reads while Assign scans (AssignConcurrency invocations)", scan_rru, TABLE_RRU, "RRU/s",
              f"{min(assign_conc, segments)} at once × {SCAN_PAGE_RRU} RRU per 1 MB page"),
        Check("Assign Lambda memory (a batch being filled per segment) vs its MemorySize", assign_mem_mb,
              mem.get("AssignFunction", 2048), "MB", f"{LAMBDA_BASE_MB} MB + {SCAN_SEGMENTS} × a batch's peak"),
        Check("Evaluate Lambda memory (one manifest batch, parsed) vs its MemorySize", evaluate_mem_mb,
              mem.get("EvaluateFunction", 1024), "MB",
              f"{LAMBDA_BASE_MB} MB + measured peak of evaluate_batch ({(peak_eval or 0) / 1e6:.0f} MB)"),
        Check("Map child (Express) duration vs the Express limit", child_s, EXPRESS_DURATION_S, "s"),
        Check("Map MaxConcurrency vs Distributed Map concurrent children", max_conc, DISTRIBUTED_MAP_CHILDREN,
              "children"),
        Check(f"RenderLetter stream batch ({render_batch} letters) vs its timeout", render_batch_s,
              timeouts.get("RenderLetterFunction", 120), "s"),
        Check(f"SendEmail stream batch ({email_batch} emails) vs its timeout", email_batch_s,
              timeouts.get("SendEmailFunction", 60), "s"),
        Check("Contacts table (new on-demand) writes during the Map", contacts_wru_map, NEW_TABLE_WRU, "WRU/s",
              "create_contacts at MaxConcurrency"),
        Check("Contacts table (new on-demand) writes while letters render", contacts_wru_render, NEW_TABLE_WRU,
              "WRU/s", f"{letters_per_s:,.0f} letters/s"),
        Check("Idempotency table (new on-demand) writes while letters render", idem_wru, NEW_TABLE_WRU, "WRU/s"),
        Check("S3 PUTs per second on the letters/ prefix while letters render", letters_per_s, S3_PUT_PER_PREFIX,
              "PUT/s"),
        Check("S3 GETs per second on the letters/ prefix while print shards fetch", shard_gets_per_s,
              S3_GET_PER_PREFIX, "GET/s", f"{min(ex['shards'], ex['concurrency'])} shards × {FETCH_WORKERS} GETs "
              "in flight"),
        Check("S3 PUTs per second on the run's manifest prefix (assign)", manifest_puts_per_s, S3_PUT_PER_PREFIX,
              "PUT/s"),
        Check("Evaluate Lambda duration per batch vs its timeout", evaluate_s, timeouts.get("EvaluateFunction", 300),
              "s"),
        Check("CreateContacts Lambda duration per batch vs its timeout", create_s,
              timeouts.get("CreateContactsFunction", 300), "s"),
        Check("Print extract round (the longest: cutting the parts, or the last part + the queue) vs Timeout − "
              "PrintExtractPollSeconds", ex["plan_s"], ex["plan_limit"], "s",
              f"{ex['parts']} parts of {ex['part_letters']:,.0f} letters; a part's round {ex['part_plan_s']:.1f} s"),
        Check(f"Print extract shard Lambda duration ({ex['shard_letters']:,.0f} letters) vs its timeout",
              ex["shard_s"], ex["shard_timeout"], "s",
              f"{ex['ms_per_letter']:.2f} ms per letter: GET {ex['get_ms']:.1f} ms (latency ÷ concurrent GETs) + "
              f"merge {ex['cpu_ms']:.1f} ms + batched DynamoDB"),
        Check("Print extract shard memory vs its MemorySize", ex["shard_mem_mb"], ex["shard_mem"], "MB",
              f"{EXTRACT_BASE_MB} MB + {ex['peak_per_letter'] / 1e3:.0f} KB per letter (measured peak of a merge)"),
        Check(f"Step Functions payload: print plan + shard results ({ex['shards']} shards)", ex["payload"],
              SFN_PAYLOAD, "B", "shard contact ids stay in S3; the state carries their keys"),
        Check("Print-extract rounds needed vs the attempt cap (from the run's letters)", attempts_needed,
              max_attempts, "attempts", f"a round per part + one per {wait_s} s wait while rendering; after the cap "
              "the rendered letters are extracted and the rest queued"),
        Check("DynamoDB BatchWriteItem items per call (max measured)", max((c.items for c in writes), default=0),
              DDB_BATCH_WRITE_ITEMS, "items", "chunked at the limit by construction (dynamo.batch_write)",
              enforced=True),
        Check("DynamoDB BatchGetItem keys per call (max measured)", max((c.items for c in gets), default=0),
              DDB_BATCH_GET_KEYS, "keys", "chunked at the limit by construction (dynamo.batch_get)",
              enforced=True),
        Check("DynamoDB BatchWriteItem request size (max measured)", max_request, DDB_REQUEST, "B"),
        Check("DynamoDB largest item written (measured)", max_item, DDB_ITEM, "B"),
        Check("DynamoDB history item, full (one strategy)", history_item_worst, DDB_ITEM, "B",
              f"{history_entry:.0f} B per decision (compressed) × {min(batch_size, HISTORY_CHUNK)} decisions"),
        Check("DynamoDB history partition key write rate (hottest strategy)", hot_wcu, PARTITION_WCU, "WCU/s",
              f"pk = HIST#{{strategy}}#{{shard}}: {HISTORY_SHARDS} keys per strategy, decisions compressed"),
    ]
    return {
        "accounts": accounts, "batches": batches, "batch_size": batch_size, "max_concurrency": max_conc,
        "waves": waves, "assign_s": assign_s, "evaluate_s": evaluate_s, "create_s": create_s, "child_s": child_s,
        "map_s": map_s, "summarize_s": summarize_s, "evaluated_s": evaluated_s, "letters": letters_n,
        "emails": emails_n, "render_letter_ms": render_letter_ms, "consumers": consumers, "render_s": render_s,
        "extract_s": extract_s, "attempts_needed": attempts_needed, "wait_s": wait_s,
        "extract": dict(ex), "inline_history_events": inline_events,
        "delivered_s": delivered_s, "checks": checks, "segments": segments, "segment_s": segment_s,
        "assign_concurrency": assign_conc, "assign_waves": assign_waves, "items_per_account": items_per_account,
        "render_end_s": render_end_s, "extract_end_s": extract_end_s, "render_span_s": render_span_s,
        "assign_per_account_ms": fn_ms("AssignFunction", "account"),
        "scan_pages_per_account": u["account"].calls.get("AssignFunction", {}).get("dynamodb.Scan", 0.0),
    }
