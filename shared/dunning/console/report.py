"""The run report as one self-contained HTML file (``make demo`` writes it to ``out/``): the console's run page
with its stylesheet inline and no navigation, so it opens from disk with nothing else."""

from __future__ import annotations

from dunning.app.run_report import RunReport
from dunning.console import pages
from dunning.console.i18n import Messages


def static_run_report(report: RunReport, language: str = "en") -> str:
    msg = Messages(language)
    chrome = pages.Chrome(msg=msg, standalone=True)
    return pages.render("run.html.j2", chrome, report=report, charts=pages.run_charts(report, msg), links=False)
