"""Markdown: a pull-request comment. Summary line, findings that need attention, ranked fixes.

Text from the report goes through `sanitize.markdown_text` (controls removed,
HTML and Markdown syntax escaped, `@mentions` in code spans: the comment
notifies nobody) or, for names and paths, `sanitize.markdown_code`.
"""

from __future__ import annotations

from percediag.report.model import Report
from percediag.report.sanitize import clean_model, markdown_code, markdown_text

_ICON = {"pass": "PASS", "warn": "WARN", "fail": "FAIL", "missing": "MISS"}


def _cell(text: object) -> str:
    return markdown_text(text)


def _code(text: object) -> str:
    return markdown_code(text, table=True)


def _lines(report: Report, lines: list[int]) -> str:
    return ", ".join(_cell(report.locations.get(n, str(n))) for n in lines[:4]) + (", ..." if len(lines) > 4 else "")


def _one(report: Report) -> list[str]:
    counts = ", ".join(f"{report.counts[s]} {s}" for s in ("fail", "warn", "missing", "pass") if report.counts.get(s))
    out = [f"### percediag: **{report.status.upper()}** {_code(report.source)}", "",
           f"Profile {_code(report.profile)}, run {report.run + 1} of {len(report.runs)}: {counts}.", ""]
    if report.profile_reason:
        out += [_cell(report.profile_reason) + ".", ""]
    if report.config_files:
        out += ["Configuration: " + ", ".join(_code(path) for path in report.config_files) + ".", ""]
    for note in report.profile_notes:
        out += [f"**Note:** {_cell(note)}", ""]
    out += ["| # | question | status | answer |", "|---|---|---|---|"]
    for number, answer in enumerate(report.assessment, 1):
        out.append(f"| {number} | {_cell(answer.question)} | {_ICON[answer.status]} | {_cell(answer.answer)} |")
    attention = [f for f in report.findings if f.status != "pass"]
    out += ["", f"#### Findings needing attention ({len(attention)})", ""]
    if attention:
        out += ["| status | rule | fold | value | expected | message | lines |", "|---|---|---|---|---|---|---|"]
        for f in attention:
            fold = "" if f.fold is None else str(f.fold)
            value = "" if f.value is None else f.value
            out.append(f"| {_ICON[f.status]} | {_code(f.rule)} | {fold} | {_cell(value)} | {_cell(f.expected or '')} | "
                       f"{_cell(f.message)} | {_lines(report, f.lines)} |")
    else:
        out.append("All checks pass.")
    ranked = [f for f in report.fixes if f.rank is not None]
    out += ["", "#### Next fixes", ""]
    if report.escalation is not None and report.escalation.escalate:
        out += [f"**Stop patching:** {_cell(report.escalation.reason)}.", ""]
    if ranked:
        for fix in ranked[:6]:
            out.append(f"{fix.rank}. **{_code(fix.id)}** {_cell(fix.title)} (score {fix.score:.2f}, {_cell(fix.cost)}): {_cell(fix.change)}  ")
            out.append(f"   _Why here:_ {_cell(fix.placement)}  ")
            out.append(f"   _Evidence:_ {_cell(fix.reason)}")
    else:
        out.append("No fix to try next is supported by the evidence in this log.")
    unranked = [f for f in report.fixes if f.rank is None]
    if unranked:
        out += ["", "Already applied (not ranked):", ""]
        out += [f"- {_code(f.id)}: {_cell(f.placement)}" for f in unranked]
    if report.tried:
        out += ["", f"Tried already: {', '.join(_code(t) for t in report.tried)}"]
    passing = [f for f in report.findings if f.status == "pass"]
    if passing:
        out += ["", f"<details><summary>{len(passing)} passing checks</summary>", ""]
        out += [f"- {_code(f.rule)}{'' if f.fold is None else f' fold {f.fold}'}: {_cell(f.message)}" for f in passing]
        out += ["", "</details>"]
    return out


def render(reports: list[Report]) -> str:
    parts: list[str] = []
    for report in map(clean_model, reports):
        if parts:
            parts += ["", "---", ""]
        parts += _one(report)
    return "\n".join(parts) + "\n"
