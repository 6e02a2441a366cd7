"""Collects the benchmarks' figures during the session and writes ``RESULTS.md`` (and ``measured.json``)."""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ITEMS = {
    1: "Evaluation engine (pure, in-process)",
    2: "AWS calls per account (local stack)",
    3: "Step Functions state transitions per account",
    4: "Cost model: one daily run over 1M accounts",
    5: "Letters",
    6: "Cold start (handler import)",
    7: "Ingest",
    8: "Local stack wall time",
    9: "Scale on paper: 1M and 10M accounts on AWS",
    11: "HTTP API latency (warm, in-process)",
    12: "Console page weight",
    13: "Interactions: time report and warm API latency",
}


@dataclass
class Row:
    item: int
    metric: str
    measured: str
    target: str
    status: str  # PASS / MISS / INFO / not measured
    note: str = ""


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    sections: dict[int, list[str]] = field(default_factory=dict)
    measured: dict[str, Any] = field(default_factory=dict)
    machine: dict[str, Any] = field(default_factory=dict)
    durations: dict[str, float] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)
    failures: list[str] = field(default_factory=list)

    def check(self, item: int, metric: str, value: float | None, target: float, unit: str = "", *,
              higher_is_better: bool = False, fmt: str = "{:,.2f}", note: str = "") -> bool | None:
        """Record a figure against its target. Returns True (PASS), False (MISS) or None (not measured)."""
        target_text = ("≥ " if higher_is_better else "≤ ") + fmt.format(target) + (f" {unit}" if unit else "")
        if value is None or (isinstance(value, float) and math.isnan(value)):
            self.rows.append(Row(item, metric, "not measured", target_text, "not measured", note))
            return None
        ok = value >= target if higher_is_better else value <= target
        self.rows.append(Row(item, metric, fmt.format(value) + (f" {unit}" if unit else ""), target_text,
                             "PASS" if ok else "MISS", note))
        return ok

    def info(self, item: int, metric: str, measured: str, note: str = "") -> None:
        self.rows.append(Row(item, metric, measured, "—", "INFO", note))

    def not_measured(self, item: int, metric: str, target: str, reason: str) -> None:
        self.rows.append(Row(item, metric, "not measured", target, "not measured", reason))

    def section(self, item: int, *lines: str) -> None:
        self.sections.setdefault(item, []).extend(lines)

    # ------------------------------------------------------------------------------------------ output
    def markdown(self, partial: bool) -> str:
        m = self.machine
        total = time.perf_counter() - self.started
        out = ["# Benchmark results", ""]
        if partial:
            out += ["> **Partial run** (a subset of the benchmarks, or `BENCH_QUICK=1`): not the committed results.",
                    ""]
        out += [
            f"Written by `make bench` on {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} at commit "
            f"`{m.get('commit', 'n/a')}`; benchmarks took **{total / 60:.1f} min** (pytest session).",
            "",
            f"Machine: **{m.get('cpu', '?')}**, {m.get('cores', '?')} cores, {m.get('memory', '?')}, "
            f"{m.get('os', '?')}, {m.get('implementation', 'Python')} {m.get('python', '?')}; load average at start "
            f"{m.get('load_at_start', '?')}. The machine is shared and noisy: every time below is a median over "
            "several rounds (p99 where asked), and comparisons are ratios measured in the same run, interleaved.",
            "",
            "Package versions: " + ", ".join(f"{k} {v}" for k, v in m.get("packages", {}).items()) + ".",
            "",
            "How to read: **PASS/MISS** compare the measured figure with the issue's target (targets are never "
            "lowered; a MISS names what bounds it and what it would take, see each section and *Optimization "
            "needed* at the end). **INFO** rows are context. Every figure's method is in its section. A MISS makes "
            "`make bench` exit non-zero once this report is written (a `BENCH_QUICK=1` run only reports).",
            "",
            "## Summary",
            "",
            "| # | Metric | Measured | Target | Status | Note |",
            "|---|---|---:|---:|:---:|---|",
        ]
        for r in sorted(self.rows, key=lambda r: r.item):
            status = {"PASS": "✅ PASS", "MISS": "❌ MISS"}.get(r.status, r.status)
            out.append(f"| {r.item} | {r.metric} | {r.measured} | {r.target} | {status} | {r.note} |")
        out.append("")
        for item, title in ITEMS.items():
            out += [f"## {item}. {title}", ""]
            out += self.sections.get(item, ["Not measured in this session."])
            out.append("")
        if self.sections.get(10):
            out += ["## Optimization needed", ""] + self.sections[10] + [""]
        out += ["## Benchmark durations", "", "| Benchmark | Wall s |", "|---|---:|"]
        out += [f"| `{k}` | {v:.1f} |" for k, v in self.durations.items()]
        out += ["", "Reproduce: `make bench` (or `.venv/bin/python -m pytest -p no:xdist tests/benchmarks`); "
                "`BENCH_QUICK=1` runs smaller sizes and writes `RESULTS.partial.md` instead. The data is "
                "generated by `tests/benchmarks/datagen.py` (seeded). The cost model: "
                "`.venv/bin/python -m dunning_ops.costmodel --measured tests/benchmarks/measured.json`.", ""]
        return "\n".join(out)

    def write(self, partial: bool) -> Path:
        suffix = ".partial" if partial else ""
        path = HERE / f"RESULTS{suffix}.md"
        path.write_text(self.markdown(partial), encoding="utf-8")
        if self.measured:
            (HERE / f"measured{suffix}.json").write_text(
                json.dumps(self.measured, indent=1, sort_keys=True, default=str) + "\n", encoding="utf-8")
        (HERE / f"results{suffix}.json").write_text(json.dumps(
            {"machine": self.machine, "rows": [asdict(r) for r in self.rows], "durations": self.durations},
            indent=1, default=str) + "\n", encoding="utf-8")
        return path


def fmt_ms(x: float) -> str:
    return f"{x:,.1f} ms"


def md_table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out
