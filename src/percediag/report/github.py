"""GitHub Actions: workflow-command annotations inside a group per report.

`::error` for each failing finding, `::warning` for each warning, pointing
at the log line of the evidence. Every string is cleaned of controls first
(`sanitize.clean`); then data is escaped (% CR LF), property values too
(and : ,), as the runner's command syntax requires. The configuration files
that shaped the report are named in a `::notice` after the group opens.
"""

from __future__ import annotations

from percediag.report.model import Report
from percediag.report.sanitize import clean_model
from percediag.report.sanitize import workflow_data as escape_data
from percediag.report.sanitize import workflow_property as escape_property


def annotation(kind: str, message: str, *, file: str | None, line: int | None, title: str) -> str:
    props = []
    if file:
        props.append(f"file={escape_property(file)}")
    if line:
        props.append(f"line={line}")
    props.append(f"title={escape_property(title)}")
    return f"::{kind} {','.join(props)}::{escape_data(message)}"


def _one(report: Report) -> list[str]:
    counts = ", ".join(f"{report.counts[s]} {s}" for s in ("fail", "warn", "missing", "pass") if report.counts.get(s))
    file = None if report.source.startswith("<") else report.source
    out = [f"::group::percediag {report.status.upper()} {escape_data(report.source)} ({counts})"]
    if report.config_files:
        out.append(annotation("notice", "configuration: " + ", ".join(report.config_files), file=None, line=None,
                              title="percediag configuration"))
    for finding in report.findings:
        if finding.status not in ("fail", "warn"):
            continue
        where = report.locations.get(finding.lines[0]) if finding.lines else None
        fold = f"fold {finding.fold}: " if finding.fold is not None else ""
        message = f"{fold}{finding.message}" + (f" ({where})" if where else "")
        out.append(annotation("error" if finding.status == "fail" else "warning", message, file=file,
                              line=finding.lines[0] if finding.lines and not where else None, title=finding.rule))
    top = next((f for f in report.fixes if f.rank == 1), None)
    if top is not None:
        out.append(annotation("notice", f"next fix: {top.id}: {top.change} Why: {top.reason}", file=file, line=None,
                              title="percediag next fix"))
    out.append("::endgroup::")
    return out


def render(reports: list[Report]) -> str:
    return "\n".join(line for report in map(clean_model, reports) for line in _one(report)) + "\n"
