"""The `--quiet` line of a report, as plain words: no rich.

`FAIL train.log run 2/3: 1 fail, 4 warn; next fix: ID; config: FILE`. The
text report (`report.text`) colours its first word; piped or redirected,
without colour asked for, the CLI writes this string as it is, so a check
whose only output is this line does not import rich (about a tenth of a
small check's cold start, measured with `-X importtime`).
"""

from __future__ import annotations

from percediag.findings import tally
from percediag.report.model import Report
from percediag.report.sanitize import clean_model

STATUS_WORD = {"pass": "PASS", "warn": "WARN", "fail": "FAIL", "missing": "MISS"}


def quiet_parts(report: Report) -> tuple[str, str]:
    """(status, the rest of the line after the status word) of a sanitised report. The run is
    named when the log holds several, and a user configuration because it can change the verdict."""
    counts = tally(report.counts)
    run = f" run {report.run + 1}/{len(report.runs)}" if len(report.runs) > 1 else ""
    top = next((f for f in report.fixes if f.rank == 1), None)
    fix = f"; next fix: {top.id}" if top else ""
    if top is not None and top.status == "escalated":
        # The escalation says "stop patching"; the evidence's own first fix is worth the same line.
        targeted = next((f for f in report.fixes if f.rank is not None and f.status != "escalated"), None)
        if targeted is not None:
            fix += f" (first targeted: {targeted.id})"
    config = f"; config: {', '.join(report.config_files)}" if report.config_files else ""
    source = " ".join(report.source.split())
    return report.status, f" {source}{run}: {counts}{fix}{config}"


def quiet_text(report: Report) -> str:
    """The `-q` line of one report, sanitised, without a newline."""
    status, rest = quiet_parts(clean_model(report))
    return STATUS_WORD[status] + rest
