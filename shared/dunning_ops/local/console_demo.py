"""The console's demo on the local stack (``dunning local up --demo``, ``make console``): the demo data loaded,
the demo run done, one demo user per group; and the run report as a static file (``make demo``)."""

from __future__ import annotations

import json
import sys
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any, TextIO

from dunning.app.deps import read_deps
from dunning.app.run_report import run_report
from dunning.config_loader import load_config_dir
from dunning.console.report import static_run_report
from dunning.settings import StackSettings
from dunning_ops.local.demo_data import DEMO_AS_OF
from dunning_ops.local.http_api import DEMO_USERS, DemoUser, add_demo_users
from dunning_ops.local.stack import REGION, LocalStack, project_root
from dunning_ops.run_wait import wait_for_run
from dunning_ops.target import Target

REPORT_NAME = "run-report.html"


def load_demo_data(stack: LocalStack, as_of: date = DEMO_AS_OF, progress: TextIO | None = None) -> str:
    """Publish ``infra/config``, send the demo events, run the demo run (as ``make demo`` does); the run id."""
    def say(text: str) -> None:
        if progress:
            print(text, file=progress, flush=True)

    root = project_root()
    target = Target.from_args(stack.endpoint, None, REGION)
    repositories = read_deps(target.settings)
    say("publishing infra/config")
    repositories.blobs.publish_config(load_config_dir(root / "infra" / "config"))
    lines = (root / "events" / "demo" / "events.jsonl").read_text(encoding="utf-8").splitlines()
    say(f"sending {len(lines)} demo events")
    sqs = stack.client("sqs")
    for i in range(0, len(lines), 10):
        sqs.send_message_batch(QueueUrl=stack.outputs["EventsQueueUrl"],
                               Entries=[{"Id": str(j), "MessageBody": b} for j, b in enumerate(lines[i : i + 10])])
    stack.drain()
    say(f"collections run for {as_of.isoformat()}")
    started = stack.client("stepfunctions").start_execution(
        stateMachineArn=stack.outputs["CollectionsRunStateMachineArn"], name=f"console-demo-{as_of.isoformat()}",
        input=json.dumps({"as_of": as_of.isoformat()}))
    summary: dict[str, Any] = wait_for_run(target, started["executionArn"], quiet=progress is None)
    stack.drain()
    return str(summary["run_id"])


def busiest_collector(settings: StackSettings) -> str | None:
    """The collections agent with the most open activities after the demo run (ties: the first by name)."""
    from dunning.app.deps import activity_deps

    page = activity_deps(settings).activities.open_activities(None, 200, None)
    counts = Counter(c.activity.assigned_to for c in page.contacts if c.activity and c.activity.assigned_to)
    return min(counts, key=lambda agent: (-counts[agent], agent)) if counts else None


def demo_users(collector: str | None) -> tuple[DemoUser, ...]:
    """One user per group. The collector's user name is a collections agent's id, the one the run assigned
    activities to, so its worklist is not empty; it signs in with that name (moto's user pool has no email
    aliases)."""
    return tuple(DemoUser(collector, u.email, u.group) if u.group == "collector" and collector else u
                 for u in DEMO_USERS)


def load_console_demo(stack: LocalStack, as_of: date = DEMO_AS_OF, progress: TextIO | None = sys.stderr
                      ) -> list[DemoUser]:
    """What ``dunning local up --demo`` calls: the demo data and run, then the demo users (one per group)."""
    load_demo_data(stack, as_of, progress=progress)
    settings = Target.from_args(stack.endpoint, None, REGION).settings
    return add_demo_users(stack, demo_users(busiest_collector(settings)))


def write_run_report(settings: StackSettings, run_id: str, out: Path, language: str = "en") -> Path:
    """The run's report as one HTML file in ``out`` (stylesheet inline, charts as SVG)."""
    report = run_report(read_deps(settings), run_id)
    path = out / REPORT_NAME
    path.write_text(static_run_report(report, language), encoding="utf-8")
    return path
