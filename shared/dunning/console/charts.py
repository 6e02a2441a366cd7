"""Server-rendered SVG charts for the run report: horizontal bars, a funnel and stacked bars.

Each chart is an inline ``<svg role="img">`` whose ``<title>`` and ``<desc>`` say what it shows (screen readers
read them); the page puts the same numbers in a data table next to it. No script, no inline style: colours
come from the console's stylesheet through class names, so the page's Content-Security-Policy stays strict.
Sizes are in a ``viewBox``, so a chart scales to the width it is given (laptop or tablet).
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape
from pydantic import BaseModel

WIDTH = 640
LABEL_WIDTH = 200
VALUE_WIDTH = 70
ROW = 26
BAR = 18
PAD = 8


class Bar(BaseModel):
    label: str
    value: float
    display: str = ""  # the value as shown (formatted); defaults to the number
    css: str = ""  # an extra class for the bar (e.g. a funnel stage's colour)
    indent: bool = False  # a sub-stage (drawn a little in from the label column)


class Segment(BaseModel):
    name: str
    value: float
    css: str


class StackedBar(BaseModel):
    label: str
    segments: list[Segment]
    display: str = ""


def _shown(bar: Bar) -> str:
    if bar.display:
        return bar.display
    return f"{bar.value:,.0f}" if float(bar.value).is_integer() else f"{bar.value:,.1f}"


def _frame(chart_id: str, title: str, desc: str, height: int, body: str) -> Markup:
    return Markup(  # noqa: S704 - every interpolated text below is escaped
        f'<svg class="chart" id="{escape(chart_id)}" role="img" viewBox="0 0 {WIDTH} {height}" '
        f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc" direction="ltr" '
        f'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMinYMin meet">'
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>'
        f'<desc id="{escape(chart_id)}-desc">{escape(desc)}</desc>{body}</svg>'
    )


def _label(y: float, text: str, indent: bool = False) -> str:
    x = LABEL_WIDTH - PAD
    shown = text if len(text) <= 30 else text[:29] + "…"
    css = "label sub" if indent else "label"
    return (f'<text class="{css}" x="{x}" y="{y:.1f}" text-anchor="end" dominant-baseline="middle">'
            f"{escape(shown)}</text>")


def bar_chart(chart_id: str, title: str, desc: str, bars: Sequence[Bar]) -> Markup:
    """One horizontal bar per row, scaled to the largest value."""
    height = max(len(bars), 1) * ROW + 2 * PAD
    top = max((b.value for b in bars), default=0) or 1
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    parts = []
    for i, b in enumerate(bars):
        y = PAD + i * ROW
        mid = y + ROW / 2
        w = max(span * b.value / top, 1 if b.value else 0)
        css = " ".join(c for c in ("bar", b.css) if c)
        parts.append(_label(mid, b.label, b.indent))
        parts.append(f'<rect class="{escape(css)}" x="{LABEL_WIDTH}" y="{mid - BAR / 2:.1f}" width="{w:.1f}" '
                     f'height="{BAR}"/>')
        parts.append(f'<text class="value" x="{LABEL_WIDTH + w + 6:.1f}" y="{mid:.1f}" '
                     f'dominant-baseline="middle">{escape(_shown(b))}</text>')
    if not bars:
        parts.append(f'<text class="empty" x="{WIDTH / 2}" y="{height / 2}" text-anchor="middle">-</text>')
    return _frame(chart_id, title, desc, height, "".join(parts))


def funnel_chart(chart_id: str, title: str, desc: str, stages: Sequence[Bar]) -> Markup:
    """A funnel: each stage a bar centred on the same axis, its width relative to the first stage. Sub-stages
    (``indent``) split the stage above them."""
    height = max(len(stages), 1) * ROW + 2 * PAD
    top = max((s.value for s in stages), default=0) or 1
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    centre = LABEL_WIDTH + span / 2
    parts = []
    for i, s in enumerate(stages):
        y = PAD + i * ROW
        mid = y + ROW / 2
        w = max(span * s.value / top, 2 if s.value else 0)
        css = " ".join(c for c in ("bar", "stage", s.css) if c)
        parts.append(_label(mid, s.label, s.indent))
        parts.append(f'<rect class="{escape(css)}" x="{centre - w / 2:.1f}" y="{mid - BAR / 2:.1f}" '
                     f'width="{w:.1f}" height="{BAR}"/>')
        parts.append(f'<text class="value" x="{WIDTH - VALUE_WIDTH + 6}" y="{mid:.1f}" '
                     f'dominant-baseline="middle">{escape(_shown(s))}</text>')
    return _frame(chart_id, title, desc, height, "".join(parts))


def stacked_bar_chart(chart_id: str, title: str, desc: str, rows: Sequence[StackedBar],
                      legend: Sequence[Segment]) -> Markup:
    """Horizontal bars made of segments (e.g. a batch's evaluate and create-contacts time), with a legend."""
    legend_height = ROW
    height = max(len(rows), 1) * ROW + 2 * PAD + legend_height
    top = max((sum(s.value for s in r.segments) for r in rows), default=0) or 1
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    parts = []
    x = LABEL_WIDTH
    for item in legend:
        parts.append(f'<rect class="bar {escape(item.css)}" x="{x}" y="{PAD}" width="12" height="12"/>')
        parts.append(f'<text class="legend" x="{x + 16}" y="{PAD + 6}" dominant-baseline="middle">'
                     f"{escape(item.name)}</text>")
        x += 24 + 8 * len(item.name)
    for i, r in enumerate(rows):
        y = PAD + legend_height + i * ROW
        mid = y + ROW / 2
        parts.append(_label(mid, r.label))
        left = float(LABEL_WIDTH)
        for seg in r.segments:
            w = span * seg.value / top
            parts.append(f'<rect class="bar {escape(seg.css)}" x="{left:.1f}" y="{mid - BAR / 2:.1f}" '
                         f'width="{w:.1f}" height="{BAR}"><title>{escape(seg.name)}: {seg.value:,.0f}</title></rect>')
            left += w
        shown = r.display or f"{sum(s.value for s in r.segments):,.0f}"
        parts.append(f'<text class="value" x="{left + 6:.1f}" y="{mid:.1f}" dominant-baseline="middle">'
                     f"{escape(shown)}</text>")
    return _frame(chart_id, title, desc, height, "".join(parts))
