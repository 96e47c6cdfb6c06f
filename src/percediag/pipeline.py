"""The pipeline the CLI and the Python API share: source -> parse -> rules -> diagnose -> Report."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from percediag import __version__
from percediag.diagnose.assessment import assess
from percediag.diagnose.causes import score_causes
from percediag.diagnose.dimensions import dimension_view
from percediag.diagnose.fixes import rank_fixes
from percediag.diagnose.signals import signals
from percediag.diagnose.tables import tables
from percediag.diagnose.trajectory import forecast_run
from percediag.errors import InputError, UsageError
from percediag.findings import STATUS_ORDER, worst
from percediag.model import Log, Run
from percediag.report.model import Report, RunRef
from percediag.rules import registry
from percediag.settings import Settings, build_settings, profile_names
from percediag.sources import LogSource


def parse_source(source: LogSource) -> Log:
    log = source.parse()
    log.notes = source.stats.notes + log.notes
    return log


def select_runs(log: Log, which: str) -> list[int]:
    """`last` (default), `all`, or a 1-based run number."""
    if which == "last":
        return [len(log.runs) - 1]
    if which == "all":
        return list(range(len(log.runs)))
    if which.isdigit() and 1 <= int(which) <= len(log.runs):
        return [int(which) - 1]
    raise UsageError(f"--run {which}: the log holds {len(log.runs)} run(s); use 1-{len(log.runs)}, last or all")


def evaluate(run: Run, settings: Settings, baseline: Run | None = None) -> list:
    """Every enabled rule's findings; comparison rules only when a baseline run is given."""
    findings = []
    for module in registry.modules():
        options = settings.rule(module.ID)
        if not options.enabled:
            continue
        if getattr(module, "NEEDS_BASELINE", False):
            if baseline is not None:
                findings.extend(module.check(run, options, settings, baseline))
            continue
        findings.extend(module.check(run, options, settings))
    return findings


def compare_runs(run: Run, baseline: Run, settings: Settings) -> list:
    """Only the comparison rules' findings: `run` judged against `baseline`."""
    return [f for f in evaluate(run, settings, baseline)
            if getattr(registry.module_for(f.rule), "NEEDS_BASELINE", False)]


def _cited_lines(report: Report) -> set[int]:
    cited = {line for f in report.findings for line in f.lines}
    cited |= {line for f in report.fixes for line in f.lines}
    cited |= {line for a in report.assessment for line in a.lines}
    cited |= {line for fc in report.forecast for line in fc.lines}
    cited |= {w.line for w in report.parse_warnings}
    return cited


def check_log(log: Log, settings: Settings, run_index: int | None = None,
              label: Callable[[int], str] | None = None, baseline: Run | None = None) -> Report:
    """Judge one run of a parsed log. `label` names lines of sources that are not plain files;
    `baseline` (a run of an earlier log) adds the comparison rules."""
    index = len(log.runs) - 1 if run_index is None else run_index
    run = log.runs[index]
    findings = evaluate(run, settings, baseline)
    convergence = settings.rule("progression.convergence")
    target = convergence.min if convergence.enabled else None
    forecasts = forecast_run(run, settings.trajectory, settings.progression.milestones, target)
    table = tables()
    causes = score_causes(table.causes, signals(findings, forecasts))
    unknown_tried = [t for t in settings.tried if t not in table.fix_ids()]
    if unknown_tried:
        raise UsageError(f"tried: unknown fix id(s) {', '.join(unknown_tried)}; see `percediag fixes`")
    fixes = rank_fixes(table, causes, settings.tried)
    fixes.sort(key=lambda f: (f.tried, f.rank or 0))
    counts = {status: 0 for status in STATUS_ORDER}
    for finding in findings:
        counts[finding.status] += 1
    notes = list(log.notes)
    if run.config is not None and run.config.round is not None:
        named = f"round{run.config.round}"
        if named != settings.profile and named in profile_names():
            notes.append(f"the training configuration names Round {run.config.round} ({run.config.title}); "
                         f"--profile {named} checks it against that round's expectations")
    others = [r for r in log.runs if r.index != index]
    if others:
        spans = ", ".join(f"run {r.index + 1} (lines {r.line}-{r.end_line})" for r in others)
        notes.append(f"the log holds {len(log.runs)} runs; reporting run {index + 1} (lines {run.line}-{run.end_line}); also: {spans}")
    report = Report(
        version=__version__,
        source=log.source,
        profile=settings.profile,
        run=index,
        runs=[RunRef(index=r.index, line=r.line, end_line=r.end_line, title=r.config.title if r.config else None) for r in log.runs],
        status=worst([f.status for f in findings]),
        counts=counts,
        assessment=assess(findings, forecasts, causes, fixes),
        findings=findings,
        forecast=forecasts,
        causes=causes,
        fixes=fixes,
        tried=list(settings.tried),
        dimensions=dimension_view(run),
        parse_warnings=[w for w in log.warnings if run.line <= w.line <= (run.end_line or w.line)],
        notes=notes,
        records=run,
    )
    if label is not None:
        report.locations = {line: label(line) for line in sorted(_cited_lines(report))}
    return report


def open_source(path_or_text: str | Path) -> LogSource:
    if isinstance(path_or_text, Path):
        return LogSource.from_path(path_or_text)
    if "\n" in path_or_text:
        return LogSource.from_text(path_or_text)
    if Path(path_or_text).exists():
        return LogSource.from_path(path_or_text)
    raise InputError(f"{path_or_text}: no such file (pass the log's text, with its newlines, to check text)")


def check(path_or_text: str | Path, profile: str | None = None, *, run: str = "last", tried: list[str] | None = None) -> Report:
    """Check a log (a path, or the log's text) and return the Report of one run."""
    settings = build_settings(profile, tried=tried)
    source = open_source(path_or_text)
    log = parse_source(source)
    indices = select_runs(log, run)
    return check_log(log, settings, indices[0], source.label if source.has_labels else None)


def parse(path_or_text: str | Path) -> Log:
    """Parse a log (a path, or the log's text) into its records."""
    return parse_source(open_source(path_or_text))
