"""A workflow as a server-rendered SVG diagram (no JavaScript, presentation attributes only, so it can be inlined
under a strict Content-Security-Policy).

Layout: layers top to bottom by the longest path from ``start``. Edges to the next layer are curves; edges
that skip layers run in a lane on the left; edges that go back (loops) run dashed in a lane on the right and
are left out of the layering. Steps keep their definition order within a layer; steps that cannot be reached
are placed below, in their own layers. Each step is a ``<g id="step-{id}">`` box with a ``<title>`` (its type,
id, label and any errors), its type and id, and a short label; edges carry their outcome (yes, when n, else,
valid, invalid, timeout, ok, failure, jump). Steps with errors are outlined red, highlighted steps blue. All
text is escaped.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from html import escape

from dunning.models.workflows import (
    AskStep,
    BranchStep,
    CloseStep,
    Condition,
    HttpStep,
    JumpStep,
    PromiseStep,
    RouteStep,
    SendStep,
    SheetStep,
    StepError,
    StepModel,
    UpdateStep,
    WorkflowDefinition,
)
from dunning.workflows.conditions import leaves
from dunning.workflows.validate import edges

BOX_W, BOX_H = 200, 58
GAP_X, GAP_Y = 40, 70
MARGIN = 30
RIGHT_LANE = 60
LEFT_LANE = 50
LABEL_CHARS = 30

_FILL = {"branch": "#fff7e0", "http": "#e8f1ff", "ask": "#eaf7ea", "send": "#f4f4f4", "update": "#f4f4f4",
         "close": "#fbe9e9", "route": "#efe8fb", "jump": "#f4f4f4", "sheet": "#e8f7f7", "promise": "#fff0e0"}


def _short(text: str, limit: int = LABEL_CHARS) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _condition_text(cond: Condition) -> str:
    value = "" if cond.value is None else f" {cond.value}"
    return f"{cond.field} {cond.op}{value}"


def label(step: StepModel) -> str:
    """A one-line summary of what the step does."""
    if isinstance(step, BranchStep):
        first = leaves(step.branches[0].when)
        more = " …" if len(first) > 1 or len(step.branches) > 1 else ""
        return _condition_text(first[0]) + more if first else "branch"
    if isinstance(step, HttpStep):
        return f"{step.method} {step.url}"
    if isinstance(step, AskStep):
        return f"{step.kind}: {step.text}"
    if isinstance(step, SendStep):
        return step.text
    if isinstance(step, UpdateStep):
        return f"{step.field} = {step.value}"
    if isinstance(step, CloseStep):
        return step.message or "close the conversation"
    if isinstance(step, RouteStep):
        return f"team {step.team}" + (f", skill {step.skill}" if step.skill else "") + (
            f" ({step.rule})" if step.rule else "")
    if isinstance(step, JumpStep):
        return f"to {step.to} (max {step.max})"
    if isinstance(step, SheetStep):
        return f"row in sheet {step.sheet}"
    if isinstance(step, PromiseStep):
        return f"promise until {step.until}"
    return ""


def _layers(definition: WorkflowDefinition) -> tuple[dict[str, int], set[tuple[str, str]]]:
    """Each step's layer, and the back edges (source, target) left out of the layering."""
    steps: dict[str, StepModel] = {}
    for s in definition.steps:
        steps.setdefault(s.id, s)
    out: dict[str, list[str]] = {sid: [t for _, _, t in edges(s) if t in steps] for sid, s in steps.items()}
    back: set[tuple[str, str]] = set()
    state: dict[str, int] = {}  # 1 on the path, 2 done
    order: list[str] = []

    def dfs(root: str) -> None:
        stack: list[tuple[str, int]] = [(root, 0)]
        state[root] = 1
        while stack:
            node, i = stack.pop()
            if i < len(out[node]):
                stack.append((node, i + 1))
                target = out[node][i]
                if state.get(target) == 1:
                    back.add((node, target))
                elif target not in state:
                    state[target] = 1
                    stack.append((target, 0))
            else:
                state[node] = 2
                order.append(node)

    roots = ([definition.start] if definition.start in steps else []) + list(steps)
    layer: dict[str, int] = {}
    base = 0
    for root in roots:
        if root in state:
            continue
        before = len(order)
        dfs(root)
        group = order[before:][::-1]  # reverse post-order: a topological order of the forward edges
        for node in group:
            layer.setdefault(node, base)
            for target in out[node]:
                if (node, target) not in back and target in group:
                    layer[target] = max(layer.get(target, base), layer[node] + 1)
        base = max(layer[n] for n in group) + 1
    return layer, back


def _by_step(errors: Mapping[str, list[str]] | Iterable[StepError] | None) -> dict[str, list[str]]:
    if errors is None:
        return {}
    if isinstance(errors, Mapping):
        return {str(k): [str(m) for m in v] for k, v in errors.items()}
    out: dict[str, list[str]] = {}
    for error in errors:
        if error.step is not None:
            out.setdefault(error.step, []).append(error.message)
    return out


def render_svg(definition: WorkflowDefinition, *, highlight: Collection[str] = (),
               errors: Mapping[str, list[str]] | Iterable[StepError] | None = None) -> str:
    """The SVG text. ``errors``: messages by step id, or a validation report's StepErrors."""
    errors = _by_step(errors)
    steps: dict[str, StepModel] = {}
    for s in definition.steps:
        steps.setdefault(s.id, s)
    layer, _ = _layers(definition)
    pos, width, height = _positions(steps, layer)
    aria = f"Workflow {definition.name}: {len(steps)} steps, starting at {definition.start}"
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(aria)}" '
             f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
             'font-family="system-ui, sans-serif" font-size="12">',
             f"<title>{escape(aria)}</title>",
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
             'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>']
    parts.extend(_edges_svg(steps, pos, layer, width))  # under the boxes
    for sid, step in steps.items():
        parts.extend(_box_svg(sid, step, pos[sid], errors.get(sid, []), sid in highlight, sid == definition.start))
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _positions(steps: Mapping[str, StepModel],
               layer: Mapping[str, int]) -> tuple[dict[str, tuple[int, int]], int, int]:
    """Each box's top-left corner (a row per layer, centred), and the drawing's width and height."""
    rows: dict[int, list[str]] = {}
    for sid in steps:
        rows.setdefault(layer[sid], []).append(sid)
    pos: dict[str, tuple[int, int]] = {}
    widest = max(len(r) for r in rows.values())
    for n, row in sorted(rows.items()):
        offset = (widest - len(row)) * (BOX_W + GAP_X) // 2
        for i, sid in enumerate(row):
            pos[sid] = (MARGIN + LEFT_LANE + offset + i * (BOX_W + GAP_X), MARGIN + 16 + n * (BOX_H + GAP_Y))
    width = MARGIN * 2 + LEFT_LANE + widest * (BOX_W + GAP_X) - GAP_X + RIGHT_LANE
    height = MARGIN * 2 + 16 + (max(rows) + 1) * (BOX_H + GAP_Y) - GAP_Y
    return pos, width, height


def _ports(merged: Mapping[tuple[str, str], list[str]], pos: Mapping[str, tuple[int, int]],
           end: int) -> dict[tuple[str, str], int]:
    """The edges spread over the bottom of their source (``end`` 0) or the top of their target (``end`` 1), in
    the order of the other end's x."""
    by_box: dict[str, list[tuple[str, str]]] = {}
    for pair in merged:
        by_box.setdefault(pair[end], []).append(pair)
    out: dict[tuple[str, str], int] = {}
    for sid, pairs in by_box.items():
        pairs.sort(key=lambda p: pos[p[1 - end]][0])
        for k, pair in enumerate(pairs):
            out[pair] = pos[sid][0] + BOX_W * (k + 1) // (len(pairs) + 1)
    return out


def _edges_svg(steps: Mapping[str, StepModel], pos: Mapping[str, tuple[int, int]], layer: Mapping[str, int],
               width: int) -> list[str]:
    merged: dict[tuple[str, str], list[str]] = {}  # one edge per source/target pair, its labels joined
    for sid, step in steps.items():
        for name, _, target in edges(step):
            if target in steps:
                labels = merged.setdefault((sid, target), [])
                if name and name not in labels:
                    labels.append(name)
    exit_x, entry_x = _ports(merged, pos, 0), _ports(merged, pos, 1)
    parts: list[str] = []
    left_lanes = right_lanes = 0
    for (source, target), labels in merged.items():
        text = " / ".join(labels)
        x1, y1 = exit_x[(source, target)], pos[source][1] + BOX_H
        x2, y2 = entry_x[(source, target)], pos[target][1]
        span = layer[target] - layer[source]
        if span == 1:  # the next layer: a curve
            mid = (y1 + y2) // 2
            d = f"M{x1},{y1} C{x1},{mid} {x2},{mid} {x2},{y2}"
            lx, ly, anchor, dash = (x1 + x2) // 2, mid + 4, "middle", ""
        else:  # further down (a lane on the left) or back up (a dashed lane on the right), through the gaps
            if span > 1:
                left_lanes += 1
                lane_x = MARGIN + LEFT_LANE - 10 - (left_lanes % 4) * 10
                dash = ""
            else:
                right_lanes += 1
                lane_x = width - RIGHT_LANE + 10 + (right_lanes % 4) * 10
                dash = ' stroke-dasharray="5,4"'
            shift = ((left_lanes + right_lanes) % 3) * 6
            below, above = y1 + 20 + shift, y2 - 20 - shift  # clear of the short edges' labels (mid-gap)
            d = (f"M{x1},{y1} L{x1},{below} L{lane_x},{below} L{lane_x},{above} L{x2},{above} L{x2},{y2}")
            lx, ly, anchor = x1 + 4, y1 + 13, "start"
        parts.append(f'<g class="edge" data-from="{escape(source)}" data-to="{escape(target)}">'
                     f'<path d="{d}" fill="none" stroke="#555" stroke-width="1.3" stroke-linejoin="round"{dash} '
                     'marker-end="url(#arrow)"/>')
        if text:
            parts.append(f'<text x="{lx}" y="{ly}" text-anchor="{anchor}" fill="#333" stroke="#fff" '
                         f'stroke-width="3" paint-order="stroke" font-size="11">{escape(text)}</text>')
        parts.append("</g>")
    return parts


def _box_svg(sid: str, step: StepModel, at: tuple[int, int], problems: list[str], highlighted: bool,
             start: bool) -> list[str]:
    x, y = at
    stroke, stroke_width = ("#c62828", 3) if problems else ("#1565c0", 3) if highlighted else ("#777", 1)
    title = f"{step.type} {sid}: {label(step)}" + "".join(f"\nerror: {p}" for p in problems)
    klass = "step" + (" error" if problems else "") + (" highlight" if highlighted else "")
    parts = [f'<g id="step-{escape(sid)}" class="{klass}" data-type="{step.type}">'
             f"<title>{escape(title)}</title>"
             f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="8" fill="{_FILL[step.type]}" '
             f'stroke="{stroke}" stroke-width="{stroke_width}"/>'
             f'<text x="{x + 10}" y="{y + 20}" fill="#222"><tspan font-weight="bold">'
             f'{escape(step.type.upper())}</tspan> {escape(_short(sid, 22))}</text>'
             f'<text x="{x + 10}" y="{y + 42}" fill="#444">{escape(_short(label(step)))}</text>']
    if problems:
        parts.append(f'<text x="{x + BOX_W - 10}" y="{y + 20}" text-anchor="end" fill="#c62828" '
                     f'font-weight="bold">{len(problems)} error{"s" if len(problems) > 1 else ""}</text>')
    if start:
        parts.append(f'<text x="{x + BOX_W // 2}" y="{y - 6}" text-anchor="middle" fill="#2e7d32" '
                     'font-weight="bold">start</text>')
    parts.append("</g>")
    return parts
