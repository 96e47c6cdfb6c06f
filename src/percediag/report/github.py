"""GitHub Actions: workflow-command annotations inside a group per report.

At most one annotation per rule per log (its worst finding; the other folds
named in the message), most important first: `::error` (fail) before
`::warning` (warn), then by category (architecture ... log). A step shows at
most ten of each kind, so a log never yields more than MAX_PER_KIND of
either: the rest are named in one `::notice`. The full report goes to the
job summary (`$GITHUB_STEP_SUMMARY`, as Markdown; see `cli`).
Annotations point at the log line of the evidence. Every string is cleaned of controls first
(`sanitize.clean`); then data is escaped (% CR LF), property values too
(and : ,), as the runner's command syntax requires. The configuration files
that shaped the report are named in a `::notice` after the group opens.
"""

from __future__ import annotations

from percediag.findings import CATEGORY_ORDER
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


MAX_PER_KIND = 10


def _worst_per_rule(report: Report) -> list[tuple]:
    """(finding, folds) for each rule with a fail or warn finding: its first worst finding and
    every fold at that status, ordered fail before warn, then by category, then as reported."""
    by_rule: dict[str, list] = {}
    for finding in report.findings:
        if finding.status in ("fail", "warn"):
            by_rule.setdefault(finding.rule, []).append(finding)
    chosen = []
    for position, (rule, found) in enumerate(by_rule.items()):
        status = "fail" if any(f.status == "fail" for f in found) else "warn"
        worst = [f for f in found if f.status == status]
        folds = sorted({f.fold for f in worst if f.fold is not None})
        category = CATEGORY_ORDER.index(worst[0].category) if worst[0].category in CATEGORY_ORDER else len(CATEGORY_ORDER)
        chosen.append(((status != "fail", category, position), worst[0], folds))
    return [(finding, folds) for _, finding, folds in sorted(chosen, key=lambda item: item[0])]


def _one(report: Report) -> list[str]:
    counts = ", ".join(f"{report.counts[s]} {s}" for s in ("fail", "warn", "missing", "pass") if report.counts.get(s))
    file = None if report.source.startswith("<") else report.source
    out = [f"::group::percediag {report.status.upper()} {escape_data(report.source)} ({counts})"]
    if report.config_files:
        out.append(annotation("notice", "configuration: " + ", ".join(report.config_files), file=None, line=None,
                              title="percediag configuration"))
    shown = {"error": 0, "warning": 0}
    left: dict[str, list[str]] = {"error": [], "warning": []}
    for finding, folds in _worst_per_rule(report):
        kind = "error" if finding.status == "fail" else "warning"
        if shown[kind] >= MAX_PER_KIND:
            left[kind].append(finding.rule)
            continue
        shown[kind] += 1
        where = report.locations.get(finding.lines[0]) if finding.lines else None
        if len(folds) > 1:
            fold = f"folds {', '.join(map(str, folds))} (fold {finding.fold} shown): "
        else:
            fold = f"fold {finding.fold}: " if finding.fold is not None else ""
        message = f"{fold}{finding.message}" + (f" ({where})" if where else "")
        ref = report.event_refs.get(finding.lines[0]) if finding.lines else None
        out.append(annotation(kind, message, file=ref.file if ref is not None else file,
                              line=finding.lines[0] if finding.lines and not where else None, title=finding.rule))
    for kind, word in (("error", "failing"), ("warning", "warning")):
        if left[kind]:
            out.append(annotation("notice", f"{len(left[kind])} more {word} rule(s) not annotated: {', '.join(left[kind])}"
                                  " (see the job summary or the text report)", file=file, line=None, title="percediag: more findings"))
    top = next((f for f in report.fixes if f.rank == 1), None)
    if top is not None:
        out.append(annotation("notice", f"next fix: {top.id}: {top.change} Why: {top.reason}", file=file, line=None,
                              title="percediag next fix"))
    out.append("::endgroup::")
    return out


def render(reports: list[Report]) -> str:
    return "\n".join(line for report in map(clean_model, reports) for line in _one(report)) + "\n"
