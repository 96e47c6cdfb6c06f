"""Text report (rich): reads like the seed's evaluation, section by section.

Round assessment; architecture verification; activation health; gradient
balance; R2 progression (per fold: milestones, best, trend, forecast and a
sparkline); baselines; run; per-dimension view; next fixes, ranked. Status
words (PASS, WARN, FAIL, MISS) carry the meaning; colour only repeats it.

Every string of the report passes `sanitize.clean_model` first, and text
quoted from the log goes into rich as `Text`, never as a string rich would
read as markup (`[link=...]`, `[/x]`).
"""

from __future__ import annotations

import io
from collections import defaultdict

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from percediag.findings import CATEGORY_ORDER, STATUS_ORDER, Finding
from percediag.report.model import Report
from percediag.report.sanitize import clean_model
from percediag.trajectory import mark_milestones

STATUS_STYLE = {"pass": "green", "warn": "yellow", "fail": "bold red", "missing": "magenta"}
STATUS_WORD = {"pass": "PASS", "warn": "WARN", "fail": "FAIL", "missing": "MISS"}
SECTION_TITLES = {
    "architecture": "Architecture verification",
    "activation": "Activation health",
    "gradient": "Gradient balance",
    "progression": "R2 progression",
    "baseline": "Baselines",
    "run": "Run",
    "log": "Log",
}


def status_text(status: str, suffix: str = "") -> Text:
    return Text(STATUS_WORD[status] + suffix, style=STATUS_STYLE[status])


def _value(finding: Finding) -> str:
    value = finding.value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 1e-3 or value == 0:
            return f"{value:.4g}"
        return f"{value:.1e}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _fold_label(fold: int | None) -> str:
    return "run" if fold is None else f"fold {fold}"


def _lines(lines: list[int], limit: int = 4, locations: dict[int, str] | None = None) -> str:
    if not lines:
        return ""
    more = ", ..." if len(lines) > limit else ""
    if locations:
        return "; ".join(locations.get(n, f"line {n}") for n in lines[:limit]) + more
    shown = ", ".join(str(n) for n in lines[:limit])
    return f"line {shown}" if len(lines) == 1 else f"lines {shown}" + more


def _header(report: Report) -> Group:
    run = report.records
    title = Text.assemble(("percediag ", "bold"), f"{report.version}  ", (report.source, "bold"),
                          f"  profile {report.profile}")
    span = f"run {report.run + 1} of {len(report.runs)} (lines {run.line}-{run.end_line})"
    if run.config is not None and run.config.title:
        span += f": {run.config.title}"
    counts = ", ".join(f"{report.counts[s]} {s}" for s in ("fail", "warn", "missing", "pass") if report.counts.get(s))
    verdict = Text.assemble(status_text(report.status), f"  {counts}")
    parts = [title, Text(span, style="dim")]
    if report.profile_reason:
        parts.append(Text(report.profile_reason, style="dim"))
    if report.config_files:
        parts.append(Text("configuration: " + ", ".join(report.config_files), style="dim"))
    for note in report.profile_notes:
        parts.append(Text(f"note: {note}", style="yellow"))
    return Group(*parts, verdict)


def _assessment(report: Report) -> Table:
    table = Table(title="Round assessment", title_justify="left", show_header=False, box=None, pad_edge=False, expand=False)
    table.add_column("n", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("question", no_wrap=True, style="bold")
    table.add_column("answer", overflow="fold")
    for number, answer in enumerate(report.assessment, 1):
        refs = f" [{_lines(answer.lines, 3, report.locations)}]" if answer.lines else ""
        table.add_row(f"{number}.", status_text(answer.status), Text(answer.question), Text(answer.answer + refs))
    return table


def _category(report: Report, category: str) -> Group | None:
    findings = [f for f in report.findings if f.category == category]
    if not findings:
        return None
    folds: list[int | None] = []
    for finding in findings:
        if finding.fold not in folds:
            folds.append(finding.fold)
    by_rule: dict[str, dict[int | None, Finding]] = defaultdict(dict)
    for finding in findings:
        by_rule[finding.rule][finding.fold] = finding
    table = Table(title=SECTION_TITLES[category], title_justify="left", box=None, pad_edge=False, header_style="bold")
    table.add_column("check", no_wrap=True)
    for fold in folds:
        table.add_column(_fold_label(fold), no_wrap=True)
    table.add_column("expected", overflow="fold", min_width=14)
    for rule, cells in by_rule.items():
        # The section title names the category; the row needs only the rest of the id.
        row: list[Text | str] = [Text(rule.split(".", 1)[1] if "." in rule else rule)]
        for fold in folds:
            finding = cells.get(fold)
            if finding is None:
                row.append("")
                continue
            value = _value(finding)
            row.append(status_text(finding.status, f" {value}" if value else ""))
        expected = next((f.expected for f in cells.values() if f.expected), "")
        row.append(Text(expected or ""))
        table.add_row(*row)
    details = []
    for rule, cells in by_rule.items():
        bad = [f for f in cells.values() if f.status != "pass"]
        if not bad:
            continue
        # The worst first; the other folds by their own status, never under another's word.
        bad.sort(key=lambda f: -STATUS_ORDER[f.status])
        first = bad[0]
        groups: dict[str, list[str]] = defaultdict(list)
        for finding in bad[1:]:
            groups[finding.status].append(_fold_label(finding.fold))
        parts = [("also " if status == first.status else f"{STATUS_WORD[status]} in ") + ", ".join(folds)
                 for status, folds in groups.items()]
        also = f" ({'; '.join(parts)})" if parts else ""
        refs = f" [{_lines(first.lines, locations=report.locations)}]" if first.lines else ""
        where = f"{_fold_label(first.fold)}: " if first.fold is not None else ""
        details.append(Text.assemble("  ", status_text(first.status), f" {rule}  {where}{first.message}{also}{refs}"))
    return Group(table, *details)


def milestone_epochs(report: Report) -> list[int]:
    """The milestone epochs the report judged (from its progression.epoch_N findings)."""
    return sorted({int(f.rule.rsplit("_", 1)[1]) for f in report.findings if f.rule.startswith("progression.epoch_")})


def _progression(report: Report) -> Table | None:
    if not report.forecast:
        return None
    milestones = milestone_epochs(report)
    marks = ", ".join(map(str, milestones))
    title = "R2 trajectory by fold (curve: val R2 per epoch, scaled 0 to 0.4" + (f"; | after epochs {marks})" if marks else ")")
    table = Table(title=title, title_justify="left", box=None, pad_edge=False, header_style="bold")
    target_key = next((k for fc in report.forecast for k in fc.epochs_to if k.startswith("target")), None)
    for name in ("fold", "best (ep)", "last", "trend", "forecast [90%]", "SOTA?", "target at ep", "curve"):
        table.add_column(name, no_wrap=name != "forecast [90%]")
    for fc in report.forecast:
        row: list[Text | str] = [str(fc.fold)]
        best = f"{fc.best_r2:+.3f} ({fc.best_epoch})" if fc.best_r2 is not None else "-"
        last = f"{fc.last_r2:+.3f}" if fc.last_r2 is not None else "-"
        if fc.projected is not None and fc.interval:
            forecast = f"{fc.projected:+.3f} [{fc.interval[0]:+.2f},{fc.interval[1]:+.2f}] ep {fc.horizon}"
        else:
            forecast = "-"
        trend = fc.trend + (" (overfitting)" if fc.overfitting else "")
        style = {"yes": "green", "no": "red", "uncertain": "yellow"}[fc.on_track]
        curve = mark_milestones(fc.sparkline, fc.epochs_seen, milestones)
        reach = fc.epochs_to.get(target_key) if target_key else None
        if reach is None:
            target = "-" if fc.projected is None else "beyond"
        elif reach <= fc.epochs_seen:
            target = f"{reach} (done)"
        else:
            target = f"{reach} (+{reach - fc.epochs_seen})"
        row += [best, last, trend, forecast, Text(fc.on_track, style=style), target, Text(f"[{curve}]", style="cyan")]
        table.add_row(*row)
    return table


def _dimensions(report: Report) -> Group | None:
    view = report.dimensions
    if not view.available:
        return None
    lines = [Text("Per-dimension view", style="bold")]
    if view.negative:
        parts = []
        for dim in view.negative[:8]:
            where = f"fold {', '.join(map(str, dim.folds))}" if dim.folds else ""
            mean = f"mean over folds {dim.mean_r2:+.3f}" if dim.mean_r2 is not None else ""
            parts.append(f"{dim.name} ({'; '.join(p for p in (where, mean) if p)})")
        lines.append(Text("  negative R2: " + ", ".join(parts)))
    else:
        lines.append(Text("  negative R2: none listed"))
    if view.collapsed:
        total = view.total_dims or 19
        lines.append(Text("  collapsed at the end of training: " + ", ".join(f"fold {k}: {v}/{total}" for k, v in view.collapsed.items())))
    if view.worst_everywhere:
        lines.append(Text("  in the bottom five of every fold: " + ", ".join(view.worst_everywhere)))
    return Group(*lines)


def _fixes(report: Report) -> Group:
    items: list[Text] = [Text("Next fixes", style="bold")]
    ranked = [f for f in report.fixes if f.rank is not None]
    if report.escalation is not None and report.escalation.escalate:
        items.append(Text(f"  Stop patching: {report.escalation.reason}."))
    if not ranked:
        items.append(Text("  no fix to try next is supported by the evidence in this log"))
    for fix in ranked[:6]:
        items.append(Text.assemble(f"  {fix.rank}. ", (fix.id, "bold cyan"), f"  {fix.title}  (score {fix.score:.2f}, {fix.cost})"))
        items.append(Text(f"     change: {fix.change}"))
        items.append(Text(f"     why here: {fix.placement}"))
        refs = f" [{_lines(fix.lines, locations=report.locations)}]" if fix.lines else ""
        items.append(Text(f"     evidence: {fix.reason}{refs}", style="dim"))
    if len(ranked) > 6:
        items.append(Text(f"  ... {len(ranked) - 6} more (see --format json)", style="dim"))
    unranked = [f for f in report.fixes if f.rank is None]
    if unranked:
        items.append(Text("  Already applied (the evidence points at them; not ranked):"))
        for fix in unranked:
            items.append(Text.assemble("  - ", (fix.id, "cyan"), f": {fix.placement}"))
    if report.tried:
        items.append(Text(f"  tried already: {', '.join(report.tried)}", style="dim"))
    return Group(*items)


def _notes(report: Report) -> Group | None:
    items: list[Text] = []
    for note in report.notes:
        items.append(Text(f"note: {note}", style="dim"))
    for warning in report.parse_warnings[:10]:
        where = report.locations.get(warning.line, f"line {warning.line}")
        items.append(Text(f"parse warning: {where}: {warning.message}", style="yellow"))
    if len(report.parse_warnings) > 10:
        items.append(Text(f"... {len(report.parse_warnings) - 10} more parse warnings", style="yellow"))
    return Group(*items) if items else None


def renderables(report: Report, quiet: bool = False) -> list:
    report = clean_model(report)
    if quiet:
        return [_summary_line(report)]
    parts: list = [_header(report), Text(""), _assessment(report)]
    for category in CATEGORY_ORDER:
        section = _category(report, category)
        if section is not None:
            parts += [Text(""), section]
            if category == "progression":
                table = _progression(report)
                if table is not None:
                    parts += [Text(""), table]
    dims = _dimensions(report)
    if dims is not None:
        parts += [Text(""), dims]
    parts += [Text(""), _fixes(report)]
    notes = _notes(report)
    if notes is not None:
        parts += [Text(""), notes]
    return parts


def _summary_line(report: Report) -> Text:
    counts = ", ".join(f"{report.counts[s]} {s}" for s in ("fail", "warn", "missing", "pass") if report.counts.get(s))
    top = next((f for f in report.fixes if f.rank == 1), None)
    fix = f"; next fix: {top.id}" if top else ""
    return Text.assemble(status_text(report.status), f" {report.source}: {counts}{fix}")


def print_report(report: Report, console: Console, quiet: bool = False) -> None:
    for part in renderables(report, quiet):
        console.print(part)


def render_plain(report: Report, width: int = 120) -> str:
    return render([report], width)


def render(reports: list[Report], width: int = 120, quiet: bool = False) -> str:
    """Plain text (no colour), for files and for `str(report)`."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, no_color=True, color_system=None, force_terminal=False, emoji=False, highlight=False)
    for number, report in enumerate(reports):
        if number and not quiet:
            console.rule()
        print_report(report, console, quiet)
    return buffer.getvalue()


def render_html(report: Report) -> str:
    console = Console(record=True, width=120, file=io.StringIO(), force_terminal=True, emoji=False, highlight=False)
    print_report(report, console)
    return console.export_html(inline_styles=True)
