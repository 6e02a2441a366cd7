"""6. Cold start: median over fresh interpreters of the time to import each handler module, and which heavy
libraries each function loads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.benchmarks.harness import median
from tests.benchmarks.inproc import ENV
from tests.benchmarks.report import md_table

ROOT = Path(__file__).resolve().parents[2]
TARGETS_MS = {"ingest": 500, "assign": 500, "evaluate": 500, "create_contacts": 500, "render_letter": 900}
HEAVY = ("fpdf", "uharfbuzz", "pypdf", "babel", "jinja2", "weasyprint", "yaml", "moto", "PIL", "fontTools")
# modules a function imports lazily on its first real call (part of its first invocation, not of the import)
LAZY = {"render_letter": ["dunning.letters.context", "dunning.letters.render", "dunning.letters.layout"],
        "send_email": ["dunning.email.compose", "dunning.email.context", "dunning.email.mime"],
        "print_extract": ["dunning.letters.extract", "pypdf"],
        "create_contacts": ["dunning.contacts.create"],
        "ingest": ["dunning.app.event_contacts"]}
SCRIPT = r"""
import importlib, importlib.util, json, os, sys, time
path, lazy, heavy = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
t = time.perf_counter()
spec = importlib.util.spec_from_file_location("app", path)
module = importlib.util.module_from_spec(spec)
sys.modules["app"] = module
spec.loader.exec_module(module)
imported = time.perf_counter() - t
loaded = [h for h in heavy if h in sys.modules]
t = time.perf_counter()
for name in lazy:
    importlib.import_module(name)
first_call = time.perf_counter() - t
print(json.dumps({"import_ms": imported * 1000, "lazy_ms": first_call * 1000, "heavy": loaded,
                  "heavy_after_first_call": [h for h in heavy if h in sys.modules], "modules": len(sys.modules)}))
"""


def functions() -> list[str]:
    return sorted(p.parent.name for p in (ROOT / "functions").glob("*/app.py"))


def test_cold_start(report, sizes):
    env = {**ENV, "PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "0"}
    results: dict[str, list[dict]] = {fn: [] for fn in functions()}
    for fn in results:  # compile the .pyc files once, as a Lambda deployment package ships them
        subprocess.run([sys.executable, "-c", SCRIPT, str(ROOT / "functions" / fn / "app.py"), "[]", "[]"],
                       env=env, capture_output=True, timeout=120, check=False)
    for _ in range(sizes["cold_runs"]):
        for fn in results:  # interleaved: noise spreads over every function
            done = subprocess.run(
                [sys.executable, "-c", SCRIPT, str(ROOT / "functions" / fn / "app.py"), json.dumps(LAZY.get(fn, [])),
                 json.dumps(HEAVY)], env=env, capture_output=True, text=True, timeout=120, check=False)
            assert done.returncode == 0, f"importing functions/{fn}/app.py failed:\n{done.stderr[-2000:]}"
            results[fn].append(json.loads(done.stdout.strip().splitlines()[-1]))
    rows = []
    measured = {}
    for fn, runs in results.items():
        imp = median([r["import_ms"] for r in runs])
        lazy = median([r["lazy_ms"] for r in runs])
        heavy = runs[0]["heavy"]
        after = [h for h in runs[0]["heavy_after_first_call"] if h not in heavy]
        measured[fn] = {"import_ms": imp, "lazy_ms": lazy, "heavy": heavy, "heavy_on_first_call": after}
        if fn in TARGETS_MS:
            report.check(6, f"Cold import, {fn}", imp, TARGETS_MS[fn], "ms", fmt="{:.0f}",
                         note=f"median of {len(runs)} fresh interpreters; + {lazy:.0f} ms lazy imports on the first "
                         "call" if lazy >= 1 else f"median of {len(runs)} fresh interpreters")
        else:
            report.info(6, f"Cold import, {fn}", f"{imp:.0f} ms", f"+ {lazy:.0f} ms lazy imports on the first call")
        lo, hi = min(r["import_ms"] for r in runs), max(r["import_ms"] for r in runs)
        rows.append([fn, f"{imp:.0f}", f"{lo:.0f}–{hi:.0f}",
                     f"{lazy:.0f}", ", ".join(heavy) or "—", ", ".join(after) or "—", runs[0]["modules"]])
    letters_only = {"fpdf", "uharfbuzz", "pypdf", "weasyprint"}
    leaks = {fn: sorted(set(m["heavy"]) & letters_only) for fn, m in measured.items()
             if fn not in ("render_letter", "print_extract") and set(m["heavy"]) & letters_only}
    report.check(6, "Functions that import a PDF library without needing it", float(len(leaks)), 0, "functions",
                 fmt="{:.0f}", note=", ".join(f"{k}: {v}" for k, v in leaks.items()) or "PDF libraries load only "
                 "in render_letter / print_extract")
    report.section(6, *[
        f"Each handler module (`functions/<name>/app.py`) imported the way the Lambda runtime does (by path, with "
        f"the function's environment), in a fresh `{Path(sys.executable).name}` interpreter, {sizes['cold_runs']} "
        "times, interleaved across functions (after one run that compiles the `.pyc` files, as a deployment package "
        "ships them). Interpreter start-up is not included (the Lambda runtime's own init). *Lazy* = the modules "
        "the function imports on its first real call (e.g. fpdf2 when the first letter renders), timed right after.",
        "",
        *md_table(["Function", "Import median ms", "Range ms", "Lazy first-call imports ms",
                   "Heavy libraries at import", "Heavy libraries added by the first call", "Modules loaded"], rows),
    ])
    report.measured["cold_start"] = measured
