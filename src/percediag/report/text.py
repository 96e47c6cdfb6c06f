"""Text report (rich): reads like the seed's evaluation, section by section.

Round assessment; architecture verification; activation health; gradient
balance; R2 progression (per fold: milestones, best, trend, forecast and a
sparkline); baselines; run; per-dimension view; next fixes, ranked. Status
words (PASS, WARN, FAIL, MISS) carry the meaning; colour only repeats it.

The default view is short: header, verdict, one line per rule that did not pass
(`PATH:LINE: RULE STATUS message (folds ...)`, as ruff's concise output), the
forecast in one line, the escalation, the top three fixes and a closing line
repeating the verdict and the counts. `verbose=True` gives the full report.

Width-proof: tables are plain lines sized to their content (`grid`), never
rich tables that fold or ellipsise cells; when the console is not a terminal
every line is printed whole (soft wrap: no wrapping, no cropping), on a
terminal rich wraps at word boundaries only.

Every string of the report passes `sanitize.clean_model` first, and text
quoted from the log goes into rich as `Text`, never as a string rich would
read as markup (`[link=...]`, `[/x]`).
"""

from __future__ import annotations

import io
from collections import defaultdict

from rich.console import Console, Group
from rich.text import Text

from percediag.findings import CATEGORY_ORDER, STATUS_ORDER, Finding, tally
from percediag.report.model import Report
from percediag.report.sanitize import clean_model
from percediag.report.values import finding_value
from percediag.roundtable import dimension_count, display
from percediag.trajectory import mark_milestones

STATUS_STYLE = {"pass": "green", "warn": "yellow", "fail": "bold red", "missing": "magenta"}
STATUS_WORD = {"pass": "PASS", "warn": "WARN", "fail": "FAIL", "missing": "MISS"}
SECTION_TITLES = {
    "architecture": "Architecture verification",
    "activation": "Activation health",
    "diagnostics": "Hierarchy diagnostics",
    "data": "Data checks",
    "gradient": "Gradient balance",
    "progression": "R2 progression",
    "baseline": "Baselines",
    "run": "Run",
    "log": "Log",
}


def status_text(status: str, suffix: str = "") -> Text:
    return Text(STATUS_WORD[status] + suffix, style=STATUS_STYLE[status])


Cell = Text | str


def grid(rows: list[list[Cell]], title: str | None = None, header: list[str] | None = None, gap: int = 2) -> Group:
    """A table as plain lines, each column as wide as its widest cell: nothing folded or cut."""
    body = [[c if isinstance(c, Text) else Text(c) for c in row] for row in rows]
    if header:
        body.insert(0, [Text(h, style="bold") for h in header])
    ncols = max((len(r) for r in body), default=0)
    widths = [max((r[i].cell_len for r in body if i < len(r)), default=0) for i in range(ncols)]
    lines: list[Text] = [Text(title, style="bold")] if title else []
    for row in body:
        line = Text()
        last = max((i for i, c in enumerate(row) if c.plain), default=-1)
        for i, cell in enumerate(row[: last + 1]):
            line.append_text(cell)
            if i < last:
                line.append(" " * (widths[i] - cell.cell_len + gap))
        lines.append(line)
    return Group(*lines)


def print_parts(console: Console, parts: list) -> None:
    """Print whole: off a terminal, no line is wrapped or cropped; on one, rich wraps at spaces."""
    soft = not console.is_terminal
    for part in parts:
        # Off a terminal: no wrapping, no cropping. On one: rich wraps at spaces (only a word wider
        # than the whole terminal is folded; nothing is ever ellipsised).
        console.print(part, soft_wrap=soft, overflow="ignore" if soft else "fold", crop=False)


def _value(finding: Finding) -> str:
    return finding_value(finding.value, ".4g")


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


def _header(report: Report, counts: bool = True) -> Group:
    run = report.records
    title = Text.assemble(("percediag ", "bold"), f"{report.version}  ", (report.source, "bold"),
                          f"  profile {report.profile}")
    span = f"run {report.run + 1} of {len(report.runs)} (lines {run.line}-{run.end_line})"
    if run.event_sources:
        # Read from event files alone (no lines), or a log joined with them.
        folders = f"{len(run.event_sources)} event folder(s)"
        span = (f"run {report.run + 1} of {len(report.runs)} ({folders})" if not run.end_line
                else f"{span}, joined with {folders} by fold and epoch")
    if run.config is not None and run.config.title:
        span += f": {run.config.title}"
    # The short view gives the counts once, on its closing line.
    verdict = Text.assemble(status_text(report.status), f"  {tally(report.counts)}" if counts else "")
    parts = [title, Text(span, style="dim")]
    if report.profile_reason:
        parts.append(Text(report.profile_reason, style="dim"))
    if report.config_files:
        parts.append(Text("configuration: " + ", ".join(report.config_files), style="dim"))
    for note in report.profile_notes:
        parts.append(Text(f"note: {note}", style="yellow"))
    return Group(*parts, verdict)


def _assessment(report: Report) -> Group:
    rows: list[list[Cell]] = []
    for number, answer in enumerate(report.assessment, 1):
        refs = f" [{_lines(answer.lines, 3, report.locations)}]" if answer.lines else ""
        rows.append([f"{number}.", status_text(answer.status), Text(answer.question, style="bold"), Text(answer.answer + refs)])
    return grid(rows, title="Round assessment")


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
    rows: list[list[Cell]] = []
    for rule, cells in by_rule.items():
        # The section title names the category; the row needs only the rest of the id.
        row: list[Cell] = [Text(rule.split(".", 1)[1] if "." in rule else rule)]
        for fold in folds:
            finding = cells.get(fold)
            if finding is None:
                row.append("")
                continue
            value = _value(finding)
            row.append(status_text(finding.status, f" {value}" if value else ""))
        expected = next((f.expected for f in cells.values() if f.expected), "")
        row.append(Text(expected or ""))
        rows.append(row)
    table = grid(rows, title=SECTION_TITLES[category], header=["check", *map(_fold_label, folds), "expected"])
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


def _progression(report: Report) -> Group | None:
    if not report.forecast:
        return None
    milestones = milestone_epochs(report)
    marks = ", ".join(map(str, milestones))
    axis = display().r2_axis
    title = (f"R2 trajectory by fold (curve: val R2 per epoch, scaled {axis.floor:g} to {axis.ceiling:g}"
             + (f"; | after epochs {marks})" if marks else ")"))
    target_key = next((k for fc in report.forecast for k in fc.epochs_to if k.startswith("target")), None)
    rows: list[list[Cell]] = []
    for fc in report.forecast:
        row: list[Cell] = [str(fc.fold)]
        best = f"{fc.best_r2:+.3f} ({fc.best_epoch})" if fc.best_r2 is not None else "-"
        last = f"{fc.last_r2:+.3f}" if fc.last_r2 is not None else "-"
        trend = fc.trend + (" (overfitting)" if fc.overfitting else "")
        style = {"yes": "green", "no": "red", "uncertain": "yellow"}[fc.on_track]
        curve = mark_milestones(fc.sparkline, fc.epochs_seen, milestones)
        row += [best, last, trend, _forecast_text(fc), Text(fc.on_track, style=style), _target_text(fc, target_key),
                Text(f"[{curve}]", style="cyan")]
        rows.append(row)
    header = ["fold", "best (ep)", "last", "trend", "forecast [90%]", "SOTA?", "target at ep", "curve"]
    return grid(rows, title=title, header=header)


def _forecast_text(fc) -> str:
    if fc.projected is not None and fc.interval:
        return f"{fc.projected:+.3f} [{fc.interval[0]:+.2f},{fc.interval[1]:+.2f}] ep {fc.horizon}"
    return "-"


def _target_text(fc, target_key: str | None) -> str:
    reach = fc.epochs_to.get(target_key) if target_key else None
    if reach is None:
        return "-" if fc.projected is None else "beyond"
    if reach <= fc.epochs_seen:
        return f"{reach} (done)"
    return f"{reach} (+{reach - fc.epochs_seen})"


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
        total = view.total_dims or dimension_count()
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
    # The full view keeps its promise ("all with --verbose"): every ranked fix, each with its evidence.
    for fix in ranked:
        items.append(Text.assemble(f"  {fix.rank}. ", (fix.id, "bold cyan"), f"  {fix.title}  (score {fix.score:.2f}, {fix.cost})"))
        items.append(Text(f"     change: {fix.change}"))
        items.append(Text(f"     why here: {fix.placement}"))
        refs = f" [{_lines(fix.lines, locations=report.locations)}]" if fix.lines else ""
        items.append(Text(f"     evidence: {fix.reason}{refs}", style="dim"))
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


def _where(report: Report, lines: list[int]) -> str:
    """`PATH:LINE:` as ruff prints it (a notebook's `PATH (cell N, line M):`)."""
    if not lines:
        return f"{report.source}:"
    line = lines[0]
    if line in report.event_refs:
        return f"{report.event_refs[line].file}:step {report.event_refs[line].step}:"
    if line in report.locations:
        return f"{report.source} ({report.locations[line]}):"
    return f"{report.source}:{line}:"


def _stated(raw: object, shown: str, message: str) -> bool:
    """True when the message already gives the value, as shown or rounded to the 2-3 decimals rules print."""
    if shown in message:
        return True
    if isinstance(raw, float) and not isinstance(raw, bool):
        return any(f"{raw:.{digits}f}" in message for digits in (2, 3))
    return False


def _rule_lines(report: Report) -> list[Text]:
    """One line per rule that did not pass, its folds aggregated, worst rule first."""
    by_rule: dict[str, list[Finding]] = defaultdict(list)
    for finding in report.findings:
        if finding.status != "pass":
            by_rule[finding.rule].append(finding)
    order = sorted(by_rule, key=lambda rule: -max(STATUS_ORDER[f.status] for f in by_rule[rule]))
    out = []
    for rule in order:
        bad = sorted(by_rule[rule], key=lambda f: -STATUS_ORDER[f.status])
        first = bad[0]
        message = first.message
        extra = []
        value = _value(first)
        if value and not _stated(first.value, value, message):
            extra.append(f"value {value}")
        if first.expected and first.expected not in message:
            extra.append(f"expected {first.expected}")
        folds: dict[str, list[str]] = defaultdict(list)
        for finding in bad:
            if finding.fold is not None:
                folds[finding.status].append(str(finding.fold))
        groups = []
        for status, names in folds.items():
            word = "" if status == first.status else f"{STATUS_WORD[status]} in "
            groups.append(f"{word}fold{'s' if len(names) > 1 else ''} {', '.join(names)}")
        tail = f" ({'; '.join(groups + extra)})" if groups or extra else ""
        out.append(Text.assemble(f"{_where(report, first.lines)} {rule} ", status_text(first.status), f" {message}{tail}"))
    return out


def _forecast_line(report: Report, quoted: set[int | None] | None = None) -> Text | None:
    """The forecast of every fold in one line, less the folds in `quoted` (already stated)."""
    shown = [fc for fc in report.forecast if fc.fold not in (quoted or set())]
    if not shown:
        return None
    target_key = next((k for fc in report.forecast for k in fc.epochs_to if k.startswith("target")), None)
    parts = []
    for fc in shown:
        label = "run" if fc.fold is None else f"fold {fc.fold}"
        if fc.projected is not None and fc.interval:
            text = f"{fc.projected:+.3f} [{fc.interval[0]:+.3f},{fc.interval[1]:+.3f}] at ep {fc.horizon}"
        else:
            text = "no projection"
        trend = fc.trend + (", overfitting" if fc.overfitting else "")
        parts.append(f"{label} {text} ({trend}; SOTA? {fc.on_track}; target at ep {_target_text(fc, target_key)})")
    head = "forecast [90%], other folds: " if quoted else "forecast [90%]: "
    return Text(head + "; ".join(parts))


def _trajectory_quoted(report: Report) -> set[int | None]:
    """The fold whose projection the default view's progression.trajectory line states (its worst)."""
    bad = [f for f in report.findings if f.rule == "progression.trajectory" and f.status != "pass"]
    if not bad:
        return set()
    return {max(bad, key=lambda f: STATUS_ORDER[f.status]).fold}


def _short_fixes(report: Report, top: int = 3) -> list[Text]:
    items: list[Text] = []
    if report.escalation is not None and report.escalation.escalate:
        items.append(Text(f"Stop patching: {report.escalation.reason}."))
    ranked = [f for f in report.fixes if f.rank is not None]
    # What the round already did is part of the advice: one line, details with --verbose.
    applied = [f for f in report.fixes if f.status == "applied"]
    done = ("Already applied, not ranked: " + ", ".join(f"{f.id} (Round {f.applied_round})" for f in applied)) if applied else None
    if not ranked:
        items.append(Text("Next fixes: none supported by the evidence in this log"))
        if done:
            items.append(Text(done))
        return items
    items.append(Text("Next fixes" + (f" (top {top} of {len(ranked)}; all with --verbose)" if len(ranked) > top else ""), style="bold"))
    for fix in ranked[:top]:
        items.append(Text.assemble(f"  {fix.rank}. ", (fix.id, "bold cyan"), f"  {fix.title}: {fix.placement}"))
    if done:
        items.append(Text(done))
    return items


def _closing_line(report: Report) -> Text:
    """The verdict again, last, as pytest closes: `FAIL: 24 fail, 4 warn, 4 missing, 37 pass in round5.log`."""
    counts = tally(report.counts)
    run = f" (run {report.run + 1} of {len(report.runs)})" if len(report.runs) > 1 else ""
    return Text.assemble(status_text(report.status, ":"), f" {counts or 'no findings'} in {report.source}{run}")


def _short(report: Report) -> list:
    """The default view: one screen, each fact once."""
    parts: list = [_header(report, counts=False)]
    rules = _rule_lines(report)
    if rules:
        parts += [Text("")] + rules
    # The trajectory line already states its fold's projection: each fact once.
    forecast = _forecast_line(report, _trajectory_quoted(report))
    if forecast is not None:
        parts += [Text(""), forecast]
    parts += [Text("")] + _short_fixes(report)
    if report.parse_warnings:
        count = len(report.parse_warnings)
        parts.append(Text(f"{count} parse warning{'s' if count > 1 else ''} (listed with --verbose)", style="yellow"))
    parts += [Text(""), _closing_line(report)]
    return parts


def renderables(report: Report, quiet: bool = False, verbose: bool = False) -> list:
    report = clean_model(report)
    if quiet:
        return [_summary_line(report)]
    if not verbose:
        return _short(report)
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
    parts += [Text(""), _closing_line(report)]
    return parts


def _summary_line(report: Report) -> Text:
    """`FAIL train.log run 2/3: 1 fail, 4 warn; next fix: ID; config: FILE`: the run is named when the
    log holds several, and a user configuration is named because it can change the verdict."""
    from percediag.report.quiet import quiet_parts  # the same words as the plain line

    status, rest = quiet_parts(report)
    return Text.assemble(status_text(status), rest)


def quiet_line(report: Report) -> Text:
    """The `-q` line of one report (sanitised)."""
    return _summary_line(clean_model(report))


def print_report(report: Report, console: Console, quiet: bool = False, verbose: bool = False) -> None:
    print_parts(console, renderables(report, quiet, verbose))


def render_plain(report: Report, width: int = 120, verbose: bool = True) -> str:
    return render([report], width, verbose=verbose)


def render(reports: list[Report], width: int = 120, quiet: bool = False, verbose: bool = False) -> str:
    """Plain text (no colour), for files and for `str(report)`."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, no_color=True, color_system=None, force_terminal=False, emoji=False, highlight=False)
    for number, report in enumerate(reports):
        if number and not quiet:
            console.rule()
        print_report(report, console, quiet, verbose)
    return buffer.getvalue()


def render_html(report: Report) -> str:
    console = Console(record=True, width=120, file=io.StringIO(), force_terminal=True, emoji=False, highlight=False)
    print_report(report, console, verbose=True)
    return console.export_html(inline_styles=True)
