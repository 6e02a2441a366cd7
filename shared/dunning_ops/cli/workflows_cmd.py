"""``dunning workflows``: validate a workflow file (offline), publish it, list workflows, show a version or the
draft (YAML, JSON or the SVG diagram), diff two versions, install the shipped templates.

``validate`` needs no stack: it checks the schema and the graph, and the teams only when ``--config`` names the
configuration (a folder such as infra/config, or its dunning.yaml). Exit 0 when valid, 1 when not, each error
as ``step: message``. The other commands address a stack (``--stack``/``--endpoint-url``) and run the use cases
of :mod:`dunning.app.workflows` as the system.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dunning.app import workflows as uc
from dunning.app.deps import workflow_deps
from dunning.config_loader import ConfigError, load_config_dir, parse_config
from dunning.models.config import Config
from dunning.models.workflows import StepError, WorkflowDefinition
from dunning.workflows.diagram import render_svg
from dunning.workflows.schema import canonical
from dunning.workflows.validate import detect_format, validate_source
from dunning_ops.cli.common import CliError, Subparsers, add_command, add_group, target
from dunning_ops.cli.output import emit, table

VALID, INVALID = 0, 1


def _deps(args: argparse.Namespace) -> uc.WorkflowDeps:
    settings = target(args).settings
    if not settings.conversations_table:
        raise CliError(f"stack {target(args).stack!r} has no ConversationsTableName output (deploy issue 14's stack)")
    return workflow_deps(settings)


def _now() -> datetime:
    return datetime.now(UTC)


def _read(path: str) -> tuple[str, str]:
    """The file's text and format (by its suffix, else by its first character)."""
    p = Path(path)
    text = p.read_text(encoding="utf-8")
    suffix = p.suffix.lower()
    fmt = "json" if suffix == ".json" else "yaml" if suffix in (".yaml", ".yml") else detect_format(text)
    return text, fmt


def _config(path: str) -> Config:
    p = Path(path)
    try:
        if p.is_dir():
            return load_config_dir(p)
        if p.name == "dunning.yaml":
            return load_config_dir(p.parent)
        import yaml

        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
        if not isinstance(raw, dict):
            raise CliError(f"{p}: expected a mapping at the top level")
        return parse_config(raw, source=str(p))
    except ConfigError as exc:
        raise CliError(str(exc)) from exc


def error_line(e: StepError) -> str:
    """``step: message`` (``(workflow)`` for the whole workflow), with the path when it says more."""
    where = e.step or "(workflow)"
    return f"{where}: {e.message}" + (f" [{e.path}]" if e.path and e.path != e.step else "")


# ---------------------------------------------------------------------------------------------- commands
def cmd_validate(args: argparse.Namespace) -> int:
    text, fmt = _read(args.file)
    teams = {t.id for t in _config(args.config).conversations.teams} if args.config else None
    report = validate_source(text, "json" if fmt == "json" else "yaml", teams=teams)
    data = {"file": args.file, "valid": report.ok, "teams_checked": teams is not None,
            "id": report.definition.id if report.definition else None,
            "errors": [e.model_dump(mode="json") for e in report.errors]}

    def human(d: dict[str, Any]) -> str:
        if d["valid"]:
            checked = "" if d["teams_checked"] else " (teams not checked: pass --config infra/config)"
            return f"{d['file']}: workflow {d['id']} is valid{checked}"
        lines = [f"{d['file']}: {len(report.errors)} error(s)"]
        lines += [f"  {error_line(e)}" for e in report.errors]
        return "\n".join(lines)

    emit(args, data, human)
    return VALID if report.ok else INVALID


def cmd_publish(args: argparse.Namespace) -> int:
    deps = _deps(args)
    before = None
    try:
        before = uc.get_workflow(deps, None, args.id).summary.live_version
    except uc.WorkflowNotFound:
        if not args.file:
            raise CliError(f"no workflow {args.id}: pass --file to publish one") from None
    text, fmt = _read(args.file) if args.file else (None, None)
    try:
        v = uc.publish(deps, None, args.id, _now(), note=args.note, text=text,
                       fmt="json" if fmt == "json" else "yaml" if fmt else None)
    except uc.WorkflowInvalid as exc:
        lines = [f"not published: workflow {args.id} has {len(exc.errors)} error(s)"]
        raise CliError("\n  ".join(lines + [error_line(e) for e in exc.errors]), INVALID) from None
    new = before != v.n
    emit(args, {"workflow": args.id, "version": v.n, "live": True, "new": new, "hash": v.hash},
         lambda d: f"published {d['workflow']} v{d['version']} (live)" if d["new"]
         else f"{d['workflow']} unchanged: v{d['version']} is live with this content")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    rows = [{"id": w.id, "name": w.name, "live": f"v{w.live_version}" if w.live_version else "-",
             "latest": w.latest_version, "draft": w.draft_state, "priority": w.priority,
             "trigger": f"{w.trigger.contacts} on {','.join(w.trigger.channels)}"
             + (f" [{','.join(w.trigger.categories)}]" if w.trigger.categories else "")}
            for w in uc.list_workflows(_deps(args), None)]
    emit(args, rows, lambda r: table(r, ["id", "name", "live", "latest", "draft", "priority", "trigger"],
                                     width={"name": 40}) if r else "no workflows (dunning workflows install-templates)")
    return 0


def _render(definition: WorkflowDefinition, source: str, source_fmt: str, fmt: str) -> str:
    if fmt == "svg":
        return render_svg(definition)
    if fmt == source_fmt:
        return source
    if fmt == "json":
        return json.dumps(canonical(definition), indent=2, ensure_ascii=False) + "\n"
    import yaml

    return str(yaml.safe_dump(canonical(definition), sort_keys=False, allow_unicode=True, width=100))


def cmd_show(args: argparse.Namespace) -> int:
    deps = _deps(args)
    detail = uc.get_workflow(deps, None, args.id)
    which = args.version or (str(detail.summary.live_version) if detail.summary.live_version else uc.DRAFT)
    if which == uc.DRAFT:
        draft = detail.draft
        if draft is None:
            raise CliError(f"workflow {args.id} has no draft")
        fmt = args.format or draft.fmt
        if fmt == draft.fmt:
            text = draft.source
        else:
            definition = validate_source(draft.source, draft.fmt).definition if draft.ok else None
            if definition is None:
                raise CliError("the draft is not valid: " + "; ".join(error_line(e) for e in draft.errors), INVALID)
            text = _render(definition, draft.source, draft.fmt, fmt)
        emit(args, {"workflow": args.id, "version": "draft", "format": fmt, "ok": draft.ok, "text": text,
                    "errors": [e.model_dump(mode="json") for e in draft.errors]}, lambda d: d["text"].rstrip("\n"))
        return 0
    if not which.isdigit():
        raise CliError(f"--version: a version number or draft, not {which!r}")
    v = uc.version(deps, None, args.id, int(which))
    fmt = args.format or v.fmt
    text = _render(v.definition, v.source, v.fmt, fmt)
    emit(args, {"workflow": args.id, "version": v.n, "format": fmt, "live": v.n == detail.summary.live_version,
                "published_by": v.published_by, "published_at": v.published_at.isoformat(), "note": v.note,
                "hash": v.hash, "text": text}, lambda d: d["text"].rstrip("\n"))
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    d = uc.diff(_deps(args), None, args.id, args.a, args.b)

    def human(x: dict[str, Any]) -> str:
        lines = [f"{args.id}: {x['a']} -> {x['b']}"]
        for what in ("added", "removed", "changed"):
            if x[what]:
                lines.append(f"steps {what}: {', '.join(x[what])}")
        lines.append(x["unified"].rstrip("\n") if x["unified"] else "no difference")
        return "\n".join(lines)

    emit(args, d.model_dump(mode="json"), human)
    return 0


def cmd_install_templates(args: argparse.Namespace) -> int:
    deps = _deps(args)
    ids = uc.install_templates(deps, None, _now(), publish=not args.no_publish)
    live = {w.id: w.live_version for w in uc.list_workflows(deps, None)}
    rows = [{"id": i, "live": f"v{live[i]}" if live.get(i) else "-"} for i in ids]
    emit(args, rows, lambda r: "installed the shipped templates:\n" + table(r, ["id", "live"]))
    return 0


def register(sub: Subparsers) -> None:
    wf = add_group(sub, "workflows", "conversation workflows: validate, publish, list, show, diff")
    v = add_command(wf, "validate", cmd_validate, "validate a workflow file (offline; exit 1 when invalid)")
    v.add_argument("file", help="the workflow, YAML or JSON")
    v.add_argument("--config", default=None,
                   help="the configuration (folder, e.g. infra/config, or its dunning.yaml): also check the teams")
    p = add_command(wf, "publish", cmd_publish, "publish a workflow (with --file: saved as its draft first)")
    p.add_argument("id", help="the workflow id")
    p.add_argument("--file", default=None, help="the workflow, YAML or JSON (default: the saved draft)")
    p.add_argument("--note", default="", help="what changed (kept with the version)")
    add_command(wf, "list", cmd_list, "list the workflows with their live version and draft state")
    s = add_command(wf, "show", cmd_show, "show a version (default: the live one, else the draft)")
    s.add_argument("id", help="the workflow id")
    s.add_argument("--version", default=None, help="a version number, or draft")
    s.add_argument("--format", choices=["yaml", "json", "svg"], default=None,
                   help="yaml or json (default: as it was written), or svg: the diagram")
    d = add_command(wf, "diff", cmd_diff, "the difference between two versions (or a version and draft)")
    d.add_argument("id", help="the workflow id")
    d.add_argument("a", help="a version number, or draft")
    d.add_argument("b", help="a version number, or draft")
    i = add_command(wf, "install-templates", cmd_install_templates,
                    "install the shipped templates as workflows, live as v1 (idempotent)")
    i.add_argument("--no-publish", action="store_true", help="save them as drafts only")
