"""Interaction reports (S3.11): time spent by day, interaction type (category) and agent, and the content report
(what the interactions of a period were about), each as a pydantic model and as CSV.

The time report reads only the pre-aggregated ``TIMEAGG#{yyyy-mm}`` partitions, never the entries themselves
and never a Scan: each time entry adds, in its own transaction, to its day x category x agent cell and to the
day x category and day x agent totals. The report reads the two totals (two Queries per month: at most
days x (categories + agents) items, however many entries); the CSV lists the cells. The content report
reads the ``by_month`` index, one Query per month. Every total is summed from the rows shown, so they add up.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date

from dunning.app.interactions import InteractionDeps
from dunning.app.operations import InvalidRequest
from dunning.auth import Permission, Principal
from dunning.interactions.domain import fold_content, fold_time, fold_time_totals, months_between
from dunning.models.interactions import ContentReport, Interaction, TimeCell, TimeReport

MAX_REPORT_DAYS = 366
# A cell that starts with one of these is read as a formula by spreadsheets: it is prefixed with a quote.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _period(start: date, end: date) -> None:
    if start > end:
        raise InvalidRequest("start is after end")
    if (end - start).days > MAX_REPORT_DAYS:
        raise InvalidRequest(f"a report covers at most {MAX_REPORT_DAYS} days")


def time_report(deps: InteractionDeps, principal: Principal, start: date, end: date, *,
                detail: bool = False) -> TimeReport:
    """Minutes and entries per day, category and agent from ``start`` to ``end`` (inclusive); ``detail``: also
    every day x category x agent cell (what the CSV export lists)."""
    principal.require(Permission.INTERACTIONS_REPORTS)
    _period(start, end)
    first, last = start.isoformat(), end.isoformat()
    months = months_between(start, end)
    if detail:
        cells: list[TimeCell] = []
        for month in months:
            cells.extend(deps.store.time_cells(month, first, last))
        return fold_time(start, end, cells, detail=True)
    by_category = [t for m in months for t in deps.store.time_totals(m, first, last, "C")]
    by_agent = [t for m in months for t in deps.store.time_totals(m, first, last, "A")]
    return fold_time_totals(start, end, by_category, by_agent)


def content_report(deps: InteractionDeps, principal: Principal, start: date, end: date) -> ContentReport:
    """The interactions created from ``start`` to ``end``, counted per category, channel, stage, status, day."""
    principal.require(Permission.INTERACTIONS_REPORTS)
    _period(start, end)
    found: list[Interaction] = []
    for month in months_between(start, end):
        found.extend(deps.store.month(month, start.isoformat(), end.isoformat()))
    return fold_content(start, end, found)


def _safe(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _csv(header: list[str], rows: Iterable[list[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_safe(v) for v in row])
    return out.getvalue()


def time_csv(report: TimeReport) -> str:
    """One line per day x category x agent (a report made with ``detail=True``), then a total line (the sum of
    the lines above)."""
    if report.cells and not report.rows:
        raise ValueError("the CSV lists every cell: make the report with detail=True")
    lines: list[list[object]] = [[r.day.isoformat(), r.category, r.agent, r.minutes, r.entries] for r in report.rows]
    lines.append(["total", "", "", report.total_minutes, report.total_entries])
    return _csv(["day", "category", "agent", "minutes", "entries"], lines)


def content_csv(report: ContentReport) -> str:
    """One line per interaction of the period (subjects are the customer's text: formula-safe)."""
    return _csv(["number", "created_at", "channel", "category", "process", "stage", "status", "account_id",
                 "time_minutes", "subject"],
                [[r.number, r.created_at.isoformat(), r.channel, r.category, r.process, r.stage, r.status,
                  r.account_id or "", r.time_minutes, r.subject] for r in report.rows])


# the names the console uses
time_report_csv = time_csv
content_report_csv = content_csv
