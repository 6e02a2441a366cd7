"""``make figures``: the reliability figures, written to tests/reliability/FIGURES.md. A command, not a test:
the tests assert the guarantees; this runs the same scenarios (tests/support/scenarios.py) on fresh local
stacks and records what they measured.

    python -m tests.reliability.figures [--slow] [--out PATH]

``--slow`` adds the fault runs at 20% with three more seeds. ``--scenarios DIR`` reads the scenario results a
test session stored there (``<name>.json``, see ``tests.support.harness.shared_scenario``) instead of running
them again. Sections already in the file and not computed this time are kept.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dunning.templating import TemplateError, render
from dunning_ops.local.translate import LOCAL_PARAMETERS, translate
from tests.reliability.test_alarms import FUNCTIONS, alarming_on, alarms
from tests.reliability.test_bad_input import applied_in_tables, outcomes
from tests.reliability.test_security import INJECTIONS, _letter_context, leaks, personal_values
from tests.support.harness import differences
from tests.support.local import ROOT, demo_events
from tests.support.scenarios import SCENARIOS, faults
from tests.template.test_iam_derived import audit

FIGURES = Path(__file__).resolve().parent / "FIGURES.md"
Figures = dict[str, Any]


def timed(build: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    started = time.perf_counter()
    run = build()
    run["seconds"] = round(time.perf_counter() - started, 1)
    return run


# ---------------------------------------------------------------------------------------------- sections
def bad_input(corpus_run: dict[str, Any]) -> Figures:
    o = outcomes(corpus_run)
    cases = corpus_run["cases"]
    by_category: dict[str, Counter[str]] = defaultdict(Counter)
    for c in cases:
        by_category[c["category"]]["rejected" if o["rejections"](c["body"]) else "applied"] += 1
    return {
        "events_in": corpus_run["sent"], "corpus_events": len(cases), "good_events": len(corpus_run["good"]),
        "corpus_applied": sum(applied_in_tables(c["body"], o) for c in cases),
        "corpus_rejected": sum(bool(o["rejections"](c["body"])) for c in cases),
        "good_applied": sum(applied_in_tables(b, o) for b in corpus_run["good"]),
        "rejected_store_entries": len(corpus_run["rejected"]),
        "duplicates_delivered": sum(n - 1 for n in Counter(c["body"] for c in cases
                                                           if c["expect"] == "apply").values()),
        "by_category": {k: dict(v) for k, v in sorted(by_category.items())},
        "good_events_held_back": len(corpus_run["ingest_failures"]),
        "dlq_depth": corpus_run["dlq_depth"], "ingest_invocations": corpus_run["ingest_invocations"],
        "scenario_seconds": corpus_run.get("seconds"),
    }


def ingest_calls(corpus_run: dict[str, Any], clean_run: dict[str, Any]) -> Figures:
    out = {}
    for name, run, events in (("corpus_mix", corpus_run, corpus_run["sent"]), ("demo", clean_run, clean_run["events"])):
        calls = [c for c in run["calls"] if c["function"] == "IngestFunction" and c["service"] == "dynamodb"]
        out[name] = {"events": events, "dynamodb_calls": len(calls),
                     "per_1000_events": round(1000 * len(calls) / events, 1),
                     "by_operation": dict(Counter(c["operation"] for c in calls))}
    return out


def at_least_once(clean_run: dict[str, Any], redelivered_run: dict[str, Any]) -> Figures:
    clean_emails, emails = clean_run["emails_sent"], redelivered_run["emails_sent"]
    printed = Counter(redelivered_run["printed"])
    return {
        "demo_events": redelivered_run["events"], "messages_delivered": redelivered_run["delivered"],
        "duplicates_delivered": redelivered_run["delivered"] - redelivered_run["events"],
        "copies_per_event": redelivered_run["copies"],
        "ledger_items": len(redelivered_run["snapshot"]["ledger"]),
        "contacts": len(redelivered_run["snapshot"]["contacts"]),
        "contacts_clean_delivery": len(clean_run["snapshot"]["contacts"]),
        "emails_sent": emails, "emails_sent_clean_delivery": clean_emails,
        "letters_printed": len(printed), "letters_printed_clean_delivery": len(set(clean_run["printed"])),
        "duplicates_sent": max(0, emails - clean_emails) + sum(n - 1 for n in printed.values()),
        "scenario_seconds": {"clean": clean_run.get("seconds"), "redelivered": redelivered_run.get("seconds")},
    }


def fault_figures(clean_run: dict[str, Any], run: dict[str, Any]) -> Figures:
    f = run["faults"]
    identical = differences(clean_run["snapshot"], run["snapshot"]) == {}
    survived = f["faults_injected"] if identical and run["run"]["status"] == "SUCCEEDED" else 0
    return {**f, "faults_survived": survived, "outputs_identical": identical, "emails_sent": run["emails_sent"],
            "emails_sent_fault_free": clean_run["emails_sent"],
            "duplicates_sent": max(0, run["emails_sent"] - clean_run["emails_sent"]),
            "scenario_seconds": run.get("seconds")}


def concurrency(redelivered_run: dict[str, Any]) -> Figures:
    stream = redelivered_run["stream_redelivery"]
    return {
        "runs_started_together": len(redelivered_run["runs"]),
        "runs_that_created_contacts": sum(1 for r in redelivered_run["runs"] if r["output"].get("contacts_created")),
        "stream_records_redelivered": stream["letter_records"] + stream["email_records"],
        "emails_sent_again": stream["emails_sent_by_redelivery"],
        "letters_rendered_again": redelivered_run["snapshot_after_stream_redelivery"]["letter_object_versions"]
        - redelivered_run["snapshot"]["letter_object_versions"],
    }


def operations(run: dict[str, Any]) -> Figures:
    status_write_fails = run["email"]["addresses"]["status_write_fails"]
    return {
        "dead_lettered": run["outage"]["dlq_depth"], "redriven": run["redrive"]["output"].get("moved"),
        "applied_after_redrive": len(run["redrive"]["applied"]),
        "rejected_listed": len(run["rejected"]["rows"]),
        "ses_permanent_rejections": len(run["email"]["refused"]),
        "fallback_letters": sum(1 for c in run["email"]["contacts"] if "sent as letter" in c.get("reason", "")),
        "emails_by_status": dict(Counter(c["status"] for c in run["email"]["contacts"] if c["action"] == "email")),
        "emails_sent_after_status_write_failure": sum(
            1 for to in run["email"]["sent_to"]
            if any(status_write_fails in a for a in (to if isinstance(to, list) else [to]))),
        "scenario_seconds": run.get("seconds"),
    }


def alarm_figures(cfn: dict[str, Any]) -> Figures:
    return {
        "alarms": len(alarms(cfn)), "functions": len(FUNCTIONS),
        "function_error_alarms": len(alarming_on(cfn, "AWS/Lambda", "Errors", "FunctionName")),
        "queue_depth_alarms": len(alarming_on(cfn, "AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName")),
        "failed_run_alarms": len(alarming_on(cfn, "AWS/States", "ExecutionsFailed", "StateMachineArn")),
    }


def sandbox() -> Figures:
    failed = 0
    for payload in INJECTIONS:
        try:
            render(payload, _letter_context(), name="probe")
        except TemplateError:
            failed += 1
    return {"injection_payloads": len(INJECTIONS), "failed": failed}


def log_figures(clean_run: dict[str, Any]) -> Figures:
    values = personal_values(demo_events())
    return {"log_lines_scanned": len(clean_run["log_lines"]) + len(clean_run["function_output"].splitlines()),
            "personal_values_searched": len(values), "found": len(leaks(clean_run, values))}


def iam(scenarios: dict[str, dict[str, Any]]) -> Figures:
    cfn = translate(ROOT / "template.yaml", "code-bucket", dict(LOCAL_PARAMETERS)).cloudformation
    return {f: {k: v for k, v in audit(cfn, scenarios, f).items() if v} for f in FUNCTIONS}


# ---------------------------------------------------------------------------------------------- the file
def measure(slow: bool, say: Callable[[str], None], stored: Path | None = None) -> dict[str, Figures]:
    runs: dict[str, dict[str, Any]] = {}
    for name, build in SCENARIOS.items():
        if stored is not None and (stored / f"{name}.json").exists():
            say(f"scenario {name}: read from {stored}")
            runs[name] = json.loads((stored / f"{name}.json").read_text(encoding="utf-8"))
            continue
        say(f"scenario {name} ...")
        runs[name] = timed(build)
    cfn = translate(ROOT / "template.yaml", "code-bucket", {}).cloudformation
    out = {
        "1. bad input": bad_input(runs["corpus"]),
        "1. ingest DynamoDB calls (target <= 200 per 1000 events)": ingest_calls(runs["corpus"], runs["clean"]),
        "2. at-least-once delivery": at_least_once(runs["clean"], runs["redelivered"]),
        "3. faults": fault_figures(runs["clean"], runs["faults"]),
        "4. concurrency": concurrency(runs["redelivered"]),
        "5. redrive and SES failures": operations(runs["operations"]),
        "6. alarms": alarm_figures(cfn),
        "7. template sandbox": sandbox(),
        "7. logs": log_figures(runs["clean"]),
        "7. IAM derived from the code": iam({k: runs[k] for k in ("clean", "redelivered", "corpus", "operations")}),
    }
    if slow:
        for seed in (1, 2, 3):
            say(f"scenario faults, seed {seed}, 20% ...")
            run = timed(lambda seed=seed: faults(seed=seed, rate=0.20))
            f = fault_figures(runs["clean"], run)
            out[f"3. faults (slow, seed {seed}, 20%)"] = {k: f[k] for k in (*run["faults"], "outputs_identical",
                                                                            "faults_survived", "scenario_seconds")}
    return out


def write(path: Path, sections: dict[str, Figures]) -> None:
    data: dict[str, Any] = {}
    if path.exists():
        m = re.search(r"```json\n(.*?)\n```", path.read_text(encoding="utf-8"), re.S)
        if m:
            with contextlib.suppress(ValueError):
                data = json.loads(m.group(1))
    now = datetime.now(UTC).replace(microsecond=0).isoformat()
    data.update({section: {"recorded_at": now, **figures} for section, figures in sections.items()})
    lines = ["# Reliability figures", "",
             "Written by `make figures` (`python -m tests.reliability.figures`; `--slow` adds the 20% fault runs). "
             "The tests in `tests/reliability` assert the guarantees; this file records what the scenarios "
             "measured.", ""]
    for section in sorted(data):
        lines += [f"## {section}", "", "| figure | value |", "| --- | --- |"]
        for k, v in data[section].items():
            shown = json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else str(v)
            lines.append(f"| {k} | {shown.replace('|', '/')} |")
        lines.append("")
    lines += ["## Raw data", "", "```json", json.dumps(data, indent=1, ensure_ascii=False, sort_keys=True), "```", ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.reliability.figures", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--slow", action="store_true", help="also the fault runs at 20%% with seeds 1-3")
    parser.add_argument("--out", type=Path, default=FIGURES, help="the figures file (default: %(default)s)")
    parser.add_argument("--scenarios", type=Path, default=None, metavar="DIR",
                        help="read the scenario results stored in DIR by a test session instead of running them")
    args = parser.parse_args(argv)
    sections = measure(args.slow, lambda m: print(m, file=sys.stderr, flush=True), args.scenarios)
    for section, figures in sections.items():
        print(f"[{section}] " + json.dumps(figures, ensure_ascii=False, default=str))
    write(args.out, sections)
    print(f"figures written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
