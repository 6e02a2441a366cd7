"""Interaction reports (S3.11): time spent by day, interaction type (category) and agent, and the content report
(what the interactions of a period were about), each as a pydantic model and as CSV.

The time report reads only the pre-aggregated ``TIMEAGG#{yyyy-mm}`` partitions (one Query per month of the
period, each row a day x category x agent cell written in the same transaction as its time entry), never the
entries themselves and never a Scan: 100k time entries over a month are a few hundred rows. The content report
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
from dunning.interactions.domain import fold_content, fold_time, months_between
from dunning.models.interactions import ContentReport, Interaction, TimeReport, TimeReportRow

MAX_REPORT_DAYS = 366
# A cell that starts with one of these is read as a formula by spreadsheets: it is prefixed with a quote.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _period(start: date, end: date) -> None:
    if start > end:
        raise InvalidRequest("start is after end")
    if (end - start).days > MAX_REPORT_DAYS:
        raise InvalidRequest(f"a report covers at most {MAX_REPORT_DAYS} days")


def time_report(deps: InteractionDeps, principal: Principal, start: date, end: date) -> TimeReport:
    """Minutes and entries per day, category and agent from ``start`` to ``end`` (inclusive)."""
    principal.require(Permission.INTERACTIONS_REPORTS)
    _period(start, end)
    rows: list[TimeReportRow] = []
    for month in months_between(start, end):
        rows.extend(deps.store.time_rows(month, start.isoformat(), end.isoformat()))
    return fold_time(start, end, rows)


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
    """One line per day x category x agent, then a total line (the sum of the lines above)."""
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
