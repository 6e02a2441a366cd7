"""Rendering the console's pages: one Jinja2 environment (autoescaped; these are the project's own templates, not
business-authored ones), locale-aware formatting (Babel), the navigation a user's groups allow, and the run
report's charts."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from dunning.app.run_report import RunReport
from dunning.auth import Permission, Principal
from dunning.console import charts
from dunning.console.i18n import LANGUAGES, Messages

BASE = "/console"
STATIC = "/static"
LANGUAGE_NAMES = {"en": "English", "pt-BR": "Português", "ru": "Русский", "ar": "العربية"}
NAV = (  # label key, path, the permission that shows it
    ("nav.runs", "/runs", Permission.RUNS_READ),
    ("nav.worklist", "/worklist", Permission.ACTIVITIES_OWN),
    ("nav.rejected", "/rejected", Permission.REJECTED_READ),
)


@cache
def environment() -> Environment:
    env = Environment(loader=PackageLoader("dunning.console", "templates"),
                      autoescape=select_autoescape(["html", "j2"], default_for_string=True, default=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    return env


@cache
def static_file(name: str) -> bytes | None:
    """An asset shipped in ``static/`` (only plain names: no path walks)."""
    if not name or "/" in name or "\\" in name or name.startswith("."):
        return None
    node = resources.files("dunning.console").joinpath("static", name)
    return node.read_bytes() if node.is_file() else None


@cache
def static_version(name: str) -> str:
    body = static_file(name) or b""
    return hashlib.sha256(body).hexdigest()[:10]


def static_url(name: str) -> str:
    return f"{STATIC}/{name}?v={static_version(name)}"


# ---------------------------------------------------------------------------------------------- formatting
def babel_locale(language: str) -> str:
    return language.replace("-", "_")


@dataclass
class Formats:
    language: str

    def number(self, value: Any) -> str:
        if value is None or value == "":
            return "-"
        return format_decimal(value, locale=babel_locale(self.language))

    def money(self, amount: Decimal | float | None, currency: str) -> str:
        if amount is None:
            return "-"
        return format_currency(amount, currency, locale=babel_locale(self.language))

    def day(self, value: date | str | None) -> str:
        if not value:
            return "-"
        d = date.fromisoformat(value[:10]) if isinstance(value, str) else value
        return format_date(d, "medium", locale=babel_locale(self.language))

    def moment(self, value: datetime | str | None) -> str:
        if not value:
            return "-"
        try:
            dt = datetime.fromisoformat(value) if isinstance(value, str) else value
        except ValueError:
            return str(value)
        return format_datetime(dt, "short", locale=babel_locale(self.language))

    def duration(self, seconds: float | None) -> str:
        if seconds is None:
            return "-"
        # isolated left-to-right (U+2066 ... U+2069), so "42 s" does not read "s 42" on a right-to-left page
        if seconds < 120:
            return f"\u2066{self.number(round(seconds, 1))} s\u2069"
        return f"\u2066{self.number(round(seconds / 60, 1))} min\u2069"


# ---------------------------------------------------------------------------------------------- chrome
@dataclass
class Chrome:
    """What every page shows around its content: language, user, navigation, the CSRF token."""

    msg: Messages
    user: Principal | None = None
    csrf: str = ""
    path: str = ""
    notice: str = ""
    notice_kind: str = ""
    standalone: bool = False  # a static file (make demo): the stylesheet inline, no navigation
    extra: dict[str, Any] = field(default_factory=dict)

    def nav(self) -> list[dict[str, Any]]:
        if self.user is None or self.standalone:
            return []
        return [{"label": label, "href": BASE + path, "current": self.path.startswith(BASE + path)}
                for label, path, permission in NAV if self.user.can(permission)]


def render(template: str, chrome: Chrome, **context: Any) -> str:
    fmt = Formats(chrome.msg.language)
    msg = chrome.msg
    user = chrome.user
    values = {
        "msg": msg, "user": user, "csrf": chrome.csrf, "base": BASE, "nav": chrome.nav(),
        "notice": chrome.notice, "notice_kind": chrome.notice_kind,
        "languages": [] if chrome.standalone else [(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
        "user_groups": ", ".join(sorted(g.value for g in user.groups)) if user else "",
        "can_accounts": bool(user and user.can(Permission.ACCOUNTS_READ)) and not chrome.standalone,
        "can_letters": bool(user and user.can(Permission.LETTERS_READ)),
        "static_url": static_url,
        "inline_css": Markup((static_file("console.css") or b"").decode("utf-8")) if chrome.standalone else "",  # noqa: S704 - our own stylesheet
        "fmt_number": fmt.number, "fmt_money": fmt.money, "fmt_date": fmt.day, "fmt_datetime": fmt.moment,
        "fmt_duration": fmt.duration,
        "status_label": lambda s: msg(f"status.{s}") if msg.has(f"status.{s}") else s,
        **chrome.extra, **context,
    }
    return environment().get_template(template).render(**values)


# ---------------------------------------------------------------------------------------------- run report charts
@dataclass(frozen=True)
class ChartView:
    id: str
    heading: str
    svg: Markup  # built by dunning.console.charts, every text in it escaped
    head: list[str]
    rows: list[list[str]]


def run_charts(report: RunReport, msg: Messages) -> list[ChartView]:
    fmt = Formats(msg.language)
    return [_funnel(report, msg, fmt), _by_action(report, msg, fmt), _by_language(report, msg, fmt),
            _steps(report, msg, fmt), _timings(report, msg, fmt)]


def _funnel(report: RunReport, msg: Messages, fmt: Formats) -> ChartView:
    f = report.funnel
    stages = [("funnel.scanned", f.scanned, "stage-scanned", False),
              ("funnel.open_balance", f.open_balance, "stage-open", False),
              ("funnel.acted", f.acted, "stage-act", True),
              ("funnel.excluded", f.excluded, "stage-excluded", True),
              ("funnel.nothing_due", f.nothing_due, "stage-none", True),
              ("funnel.unassigned", f.unassigned, "stage-unassigned", True),
              ("funnel.set_aside", f.set_aside, "stage-aside", True)]
    bars = [charts.Bar(label=msg(k), value=v, display=fmt.number(v), css=css, indent=sub) for k, v, css, sub in stages]
    heading = msg("chart.funnel")
    desc = msg("chart.funnel_desc", scanned=fmt.number(f.scanned), open=fmt.number(f.open_balance),
               acted=fmt.number(f.acted))
    svg = charts.funnel_chart("chart-funnel", heading, desc, bars)
    return ChartView(id="funnel", heading=heading, svg=svg, head=[msg("chart.stage"), msg("chart.accounts")],
                     rows=[[b.label, b.display] for b in bars])


def _counts(chart_id: str, heading: str, desc: str, head: list[str], counts: dict[str, int],
            fmt: Formats) -> ChartView:
    bars = [charts.Bar(label=k, value=v, display=fmt.number(v)) for k, v in counts.items()]
    svg = charts.bar_chart(f"chart-{chart_id}", heading, desc, bars)
    return ChartView(id=chart_id, heading=heading, svg=svg, head=head, rows=[[b.label, b.display] for b in bars])


def _by_action(report: RunReport, msg: Messages, fmt: Formats) -> ChartView:
    counts = {msg(f"action.{k}") if msg.has(f"action.{k}") else k: v for k, v in report.contacts_by_action.items()}
    heading = msg("chart.by_action")
    desc = msg("chart.by_action_desc", n=fmt.number(sum(counts.values())))
    return _counts("by-action", heading, desc, [msg("chart.action"), msg("chart.contacts")], counts, fmt)


def _by_language(report: RunReport, msg: Messages, fmt: Formats) -> ChartView:
    counts = {LANGUAGE_NAMES.get(k, k): v for k, v in report.contacts_by_language.items()}
    heading = msg("chart.by_language")
    desc = msg("chart.by_language_desc", n=fmt.number(sum(counts.values())))
    return _counts("by-language", heading, desc, [msg("chart.language"), msg("chart.contacts")], counts, fmt)


def _steps(report: RunReport, msg: Messages, fmt: Formats) -> ChartView:
    counts = {f"{h} · {s}": n for h, steps in report.steps_by_hierarchy.items() for s, n in steps.items()}
    heading = msg("chart.steps")
    desc = msg("chart.steps_desc", n=fmt.number(sum(counts.values())), hierarchies=len(report.steps_by_hierarchy))
    return _counts("steps", heading, desc, [msg("chart.step"), msg("chart.actions")], counts, fmt)


def _timings(report: RunReport, msg: Messages, fmt: Formats) -> ChartView:
    heading = msg("chart.timings")
    ev, cc = msg("chart.evaluate"), msg("chart.create_contacts")
    legend = [charts.Segment(name=ev, value=0, css="seg-evaluate"),
              charts.Segment(name=cc, value=0, css="seg-contacts")]
    rows = [charts.StackedBar(label=msg("chart.batch", n=t.batch),
                              segments=[charts.Segment(name=ev, value=t.evaluate_ms or 0, css="seg-evaluate"),
                                        charts.Segment(name=cc, value=t.contacts_ms or 0, css="seg-contacts")],
                              display=f"\u2066{fmt.number(round(t.total_ms))} ms\u2069") for t in report.batches]
    spread = report.timing_spread
    if spread:
        desc = msg("chart.timings_spread_desc", n=fmt.number(spread.batches),
                   median=fmt.number(round(spread.median_ms)),
                   p95=fmt.number(round(spread.p95_ms)), max=fmt.number(round(spread.max_ms)))
    else:
        desc = msg("chart.timings_desc", n=fmt.number(len(rows)))
    svg = charts.stacked_bar_chart("chart-timings", heading, desc, rows, legend)
    table = [[fmt.number(t.batch), fmt.number(round(t.evaluate_ms or 0)), fmt.number(round(t.contacts_ms or 0)),
              fmt.number(round(t.total_ms))] for t in report.batches]
    return ChartView(id="timings", heading=heading, svg=svg,
                     head=[msg("chart.batch_column"), f"{ev} (ms)", f"{cc} (ms)", f"{msg('chart.total')} (ms)"],
                     rows=table)
