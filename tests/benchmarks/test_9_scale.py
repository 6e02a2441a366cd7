"""9. Scale on paper: a run over 1M accounts on AWS, projected from the measured time per batch and the
template's concurrency settings; every hard limit checked with 20% headroom."""

from __future__ import annotations

from tests.benchmarks.projection import HEADROOM, project
from tests.benchmarks.report import md_table
from tests.benchmarks.test_4_cost import cost_profile


def _fmt(v: float, unit: str) -> str:
    return f"{v:,.0f} {unit}" if v >= 100 else f"{v:,.2f} {unit}"


def test_scale_projection(report, local_rounds, letters_bench, inproc_steps):
    prof, _ = cost_profile(local_rounds, letters_bench, inproc_steps)
    p = project(prof, local_rounds[0], letters_bench, inproc_steps)
    report.check(9, "1M accounts evaluated on AWS (assign + Map of evaluate/create contacts + summary)",
                 p["evaluated_s"] / 60, 10, "min", fmt="{:.1f}",
                 note=f"assign {p['assign_s']:.0f} s + {p['waves']} waves × {p['child_s']:.1f} s "
                 f"(MaxConcurrency {p['max_concurrency']}) + summary")
    failing = [c for c in p["checks"] if not c.ok]
    report.check(9, "Hard limits without 20% headroom at 1M accounts", float(len(failing)), 0, "limits",
                 fmt="{:.0f}", note="; ".join(c.name for c in failing) or "all limits have ≥ 20% headroom")
    report.info(9, "Letters rendered after the run (contacts stream)", f"{p['render_s'] / 60:.0f} min",
                f"{p['letters']:,.0f} letters × {p['render_letter_ms']:.0f} ms ÷ {p['consumers']} stream consumers")
    rows = [[c.name, _fmt(c.value, c.unit), _fmt(c.limit, c.unit), f"{c.headroom:.0%}",
             "✅" if c.ok else "❌", c.note] for c in p["checks"]]
    report.section(9, *[
        f"{p['accounts']:,} accounts with an open balance, 10% acting ({p['letters']:,.0f} letters, "
        f"{p['emails']:,.0f} emails), BatchSize {p['batch_size']} → {p['batches']:,} batches, Map MaxConcurrency "
        f"{p['max_concurrency']} (from the ASL). Durations use the cost model (measured handler CPU per unit × "
        "the vCPU share of each function's memory × Graviton factor + per-call latency, see item 4).",
        "",
        *md_table(["Phase", "Projected"], [
            ["assign: one Lambda scans the ledger and writes every manifest",
             f"{p['assign_s']:,.0f} s ({p['assign_per_account_ms']:.3f} ms per account, "
             f"{p['scan_pages_per_account'] * 1e6 / 1e3:.2f} Scan pages per 1,000 accounts)"],
            ["evaluate, per batch", f"{p['evaluate_s']:.1f} s"],
            ["create contacts, per batch", f"{p['create_s']:.1f} s"],
            ["one Map child (both tasks + start overhead)", f"{p['child_s']:.1f} s"],
            [f"Map: {p['batches']:,} batches in {p['waves']} waves of {p['max_concurrency']}",
             f"{p['map_s']:,.0f} s"],
            ["summary", f"{p['summarize_s']:.1f} s"],
            ["**accounts evaluated (run without delivery)**", f"**{p['evaluated_s'] / 60:.1f} min**"],
            [f"letters through the stream ({p['consumers']} consumers)", f"{p['render_s'] / 60:,.0f} min"],
            [f"print extract: plan + {p['extract']['shards']} shards of ≤ {p['extract']['shard_size']:,} letters in "
             f"{p['extract']['waves']} waves of {p['extract']['concurrency']} "
             f"({p['extract']['shard_s']:.0f} s, {p['extract']['shard_mem_mb']:,.0f} MB per shard)",
             f"{p['extract_s'] / 60:,.1f} min"],
        ]),
        "",
        f"Hard limits (each must stay below {HEADROOM:.0%} of the limit):",
        "",
        *md_table(["Limit", "Projected / measured", "Limit", "Headroom", "OK", "Note"], rows),
        "",
        "Assumptions beyond the cost model's: Lambda regional concurrency 1,000 (default quota); 4 stream shards "
        "on the contacts table (a new on-demand table), ParallelizationFactor from the template; 150 ms to start "
        "a Map child; 60% of the accounts in the largest strategy (history partition key).",
    ])
    report.measured["scale"] = {k: v for k, v in p.items() if k != "checks"} | {
        "checks": [{"name": c.name, "value": c.value, "limit": c.limit, "ok": c.ok} for c in p["checks"]]}


def test_optimizations_needed(report, local_rounds, letters_bench, inproc_steps):
    """The changes outside the benchmarks that the MISSes call for, ranked by impact, with the measured figures."""
    m = report.measured
    scale, cost, tr = m.get("scale", {}), m.get("cost", {}), m.get("transitions", {})
    prof = m.get("profile", {}).get("units", {})
    letters = letters_bench["fpdf"]
    acting_wru = prof.get("acting", {}).get("wru", 0.0)
    letter_wru = prof.get("letter", {}).get("wru", 0.0)
    contact_bytes = prof.get("acting", {}).get("ddb_bytes_contacts", 0.0)
    cold = m.get("cold_start", {}).get("render_letter", {})
    items = [
        f"1. **Assign is one Lambda for the whole ledger** (item 9: assign alone {scale.get('assign_s', 0):,.0f} s "
        f"at 1M accounts, {scale.get('assign_per_account_ms', 0):.2f} ms per account, against a 900 s timeout and "
        "the 10-minute target). Per account it parses every ledger item (TypeDeserializer + pydantic "
        "`model_validate_json` in `items_to_view`), assigns, and re-serialises the view into the manifest "
        "(`start_run`: `v.model_dump(mode=\"json\")`), all on one core, behind ~"
        f"{scale.get('scan_pages_per_account', 0) * 1000:.1f} sequential 1 MB Scan pages per 1,000 accounts. "
        "Change: split the Scan — `LedgerRepository.scan_accounts` already takes `segment`/`total_segments` — into "
        "a first Map over e.g. 32 segments (each segment's worker writes its own manifest batches and returns "
        "their keys; `run.py`: `start_run` → `plan_segment(segment, total)` + a small `collect_batches`; ASL: "
        "`Assign` → `Map(Segments)` before `EvaluateBatches`, with `ItemReader` over the written manifest list). "
        "Better still, write the *raw* ledger items per account into the manifest and build `AccountView` in "
        "`evaluate_batch`, so the expensive parse runs in the 40 parallel evaluate Lambdas instead of once. "
        "Expected: assign ≈ 1/32 of today → the run's evaluation phase well under 10 minutes.",
        f"2. **Contact items are large and written four times** (item 4: ${cost.get('ours', 0):,.2f} per run; "
        f"DynamoDB writes {acting_wru:.0f} WRU per acting account and {letter_wru:.0f} WRU per letter; "
        f"{contact_bytes / 1024:.1f} KiB of contact data stored per acting account). Each contact carries its "
        "merge `snapshot` (person + open account view as JSON), and the contacts table has "
        f"{local_rounds[0].gsi_count.get('ContactsTable', 0)} GSIs projecting ALL, so every put and every status "
        "update (rendered, printed, sent) rewrites the full item in the base table and in each index. Change "
        "(template.yaml + store/contacts.py): project the GSIs `KEYS_ONLY` or `INCLUDE` (by_account: status, "
        "action, template_code; print_queue: s3_key, language, pages, person_id; by_source: status, action) and "
        "read full items with BatchGetItem when needed; store the snapshot compressed (zlib+base64 of the JSON, "
        "~4× smaller) or in S3 next to the PDF; in `print_extract.run_print_extract` mark letters printed with "
        "`UpdateItem SET status` rather than whole-item puts. Expected: contact WRU per letter ÷ 4–8, storage ÷ 4, "
        "bringing the run under $1.50.",
        f"3. **Print extract** (done; item 9: {scale.get('extract_s', 0) / 60:,.1f} min for "
        f"{scale.get('letters', 0):,.0f} letters). The plan Lambda finds the run's letters through its batch "
        "results (no index), waits until none is pending (BatchGetItem with a projection), and writes a shard "
        "plan — per language, at most `PrintExtractShardSize` letters — to the runs bucket; a Map builds "
        "`PrintExtractConcurrency` shards at once, each fetching its PDFs with 16 concurrent GETs (the S3 latency, "
        f"not the merge at {letters_bench['extract']['ms_per_letter']:.1f} ms per letter, dominated). Left to do: "
        "streaming the merged PDF to S3 with a multipart upload would cut a shard's memory (the merge's peak, "
        f"{letters_bench['extract'].get('peak_bytes_per_letter', 0) / 1e3:,.0f} KB per letter, is pypdf's object "
        "graph, not the output).",
        f"4. **Letters drain slowly through the stream** (item 9: {scale.get('render_s', 0) / 60:,.0f} min for the "
        f"letters of a 1M-account run with {scale.get('consumers', 0)} consumers, so print-extract polling "
        f"needs {scale.get('attempts_needed', 0)} attempts against PRINT_EXTRACT_MAX_ATTEMPTS 30: later letters miss "
        "the day's extract). Change (template.yaml, both stream mappings): `ParallelizationFactor: 10` (in-order "
        "processing per contact id is kept by key), which gives 40 concurrent renderers at 4 shards.",
        f"5. **Print-extract polling costs transitions** (item 3: {tr.get('per_account', 0):.4f} per account "
        f"measured for 2,000 accounts, {tr.get('per_account_without_polling', 0):.4f} without the loop). Each "
        "attempt is PrintExtract + LettersRendered + WaitForLetters. At 1M accounts it is negligible; at small "
        "runs it dominates. Change (ASL): replace the Wait/Choice loop by a `.waitForTaskToken` task whose token "
        "the render_letter function returns when the run's letters (its batch results) are all rendered "
        "(or let the last render start the extract), so the parent makes 2 transitions for the extract "
        "whatever the timing.",
        "6. **History items go to one partition key per strategy** (item 9: pk `HIST#{strategy}`, each batch's "
        "decisions in one ~290 KB item ≈ 283 WRU; 40 concurrent batches of the biggest strategy exceed the "
        "1,000 WCU/s a single partition key takes, so the writes throttle and retry, and the item is within 30% of "
        "DynamoDB's 400 KB limit at BatchSize 1000 — it breaks at the allowed BatchSize 5000). Change "
        "(store/runs.py `put_history`, `history`): shard the key (`HIST#{strategy}#{batch % 16}`, query the 16 "
        "shards) and split the decisions into items of ≤ 100 accounts.",
        f"7. **Arabic letter ({letters['ar']['median_ms']:.1f} ms median vs 40 ms) and cold imports** (render_letter "
        f"{cold.get('import_ms', 0):.0f} ms vs 900 ms; assign and evaluate over 500 ms on this run, with wide "
        "ranges on this shared machine — see item 6). The Arabic cost is HarfBuzz shaping plus bidi in fpdf2 for "
        "every text run; caching the shaped runs of the fixed texts (labels, table headers, company block) per "
        "container in `letters/layout.py` would cut it. render_letter's module import already loads fpdf2, "
        "uharfbuzz, PIL, fontTools and jinja2 (≈1,000 modules): move `from dunning.delivery import ...` and the "
        "`DeliveryDeps`/`DynamoDBPersistenceLayer` construction in `functions/render_letter/app.py` into the "
        "first call, and keep `dunning.letters.layout` (fpdf2) out of `dunning.delivery`'s import chain. For "
        "assign/evaluate, `python -X importtime` shows where the ~600 modules come from (boto3, pydantic models, "
        "Powertools parser); importing `dunning.run` pulls the contacts and letters models they do not use.",
    ]
    report.section(10, *items, "",
                   "Items are ranked by what they block: 1 the 10-minute target and a Lambda timeout, 2 the cost "
                   "target, 3–4 timeouts, memory and the daily extract at 1M accounts, 6 throttling at 1M, 5 and 7 "
                   "the remaining MISSes.")
