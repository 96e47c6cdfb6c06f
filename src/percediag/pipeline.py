"""The pipeline the CLI and the Python API share: source -> parse -> rules -> diagnose -> Report."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import yaml
from pydantic import ValidationError

from percediag.diagnose.assessment import assess
from percediag.diagnose.causes import score_causes
from percediag.diagnose.dimensions import dimension_view
from percediag.diagnose.fixes import History, rank_fixes
from percediag.diagnose.history import earlier_rows, escalation, history_applied, with_outcomes
from percediag.diagnose.profile_choice import ProfileChoice, choose
from percediag.diagnose.signals import learned_signals, reference_signals, signals
from percediag.diagnose.tables import check_references, tables
from percediag.errors import ConfigError, InputError, UsageError
from percediag.findings import STATUS_ORDER, worst
from percediag.metrics import run_best_r2
from percediag.model import Log, Run
from percediag.parsers.read import parse_log
from percediag.report.model import Report, RunRef
from percediag.report.shown import ShownReport
from percediag.roundtable import round_table
from percediag.rules import registry
from percediag.settings import HistoryRound, Settings, SettingsRecipe, read_yaml
from percediag.sources import LogSource
from percediag.trajectory import run_forecasts
from percediag.version import __version__


def parse_source(source: LogSource) -> Log:
    log = parse_log(source)
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
    return registry.evaluate(run, settings, baseline)


def compare_runs(run: Run, baseline: Run, settings: Settings) -> list:
    """Only the comparison rules' findings: `run` judged against `baseline`."""
    return [f for f in evaluate(run, settings, baseline) if registry.spec_for(f.rule).needs_baseline]


def _cited_lines(report: Report) -> set[int]:
    cited = {line for f in report.findings for line in f.lines}
    cited |= {line for f in report.fixes for line in f.lines}
    cited |= {line for a in report.assessment for line in a.lines}
    cited |= {line for fc in report.forecast for line in fc.lines}
    cited |= {w.line for w in report.parse_warnings}
    return cited


def settings_for(recipe: SettingsRecipe, log: Log, index: int = -1) -> tuple[Settings, ProfileChoice]:
    """The settings a run of a log is judged with: the chosen profile, else the round the log names."""
    choice = choose(log.runs[index], recipe.profile, recipe.profile_origin, log.source)
    return registry.validate_rules(recipe.build(choice.profile)), choice


def run_round(settings: Settings, choice: ProfileChoice | None) -> int | None:
    """The run's round: a chosen round profile's (the user says which round this is), else the
    one the log names; unknown when the profile is only the default for a log naming none."""
    if choice is None or (choice.explicit and settings.round is not None):
        return settings.round
    return choice.named_round


def config_files(settings: Settings) -> list[str]:
    """The files besides the bundled profiles that shaped the settings: the configuration file in use
    (named even when it only chose the profile, or set nothing), then rounds files."""
    files = [settings.config_origin] if settings.config_origin else []
    for origin in settings.origins.values():
        if origin.startswith(("profile ", "--set ", "--tried")):
            continue
        name = origin.removeprefix("--history ")
        if name == origin or name.lower().endswith(ROUNDS_SUFFIXES):
            files.append(name)
    return list(dict.fromkeys(files))


def _applied_origin(settings: Settings, fix: str) -> str:
    declared = settings.origins.get(f"applied.{fix}.round", "")
    return f"profile {settings.profile}" if not declared or declared.startswith("profile ") else declared


def ranking_history(run: Run, settings: Settings, on_track: bool, number: int | None) -> History:
    """What the ranking knows before this run: applied fixes, tried outcomes, escalation.
    `number` is the run's round (run_round), None when unknown."""
    # Fix ids and evidence keys the settings name: a typo is an error, never an ignored entry.
    check_references(settings)
    tried = settings.tried_outcomes()
    rows = earlier_rows(settings.history, number)
    # A fix applied in a later round than this run's was not in place when it ran.
    applied = {fix: entry for fix, entry in settings.applied.items() if number is None or entry.round <= number}
    # Bundled entries are the active profile's word (its chain); a user's file is named as itself.
    origin = {fix: _applied_origin(settings, fix) for fix in applied}
    for fix, entry in history_applied(rows).items():
        if fix in applied:
            # The profile knows what says a fix is not in effect; history knows when it was applied.
            entry = entry.model_copy(update={"verify_when": applied[fix].verify_when})
        applied[fix], origin[fix] = entry, "history"
    return History(applied=applied, applied_origin=origin, tried=tried,
                   escalation=escalation(settings, rows, run_best_r2(run), on_track, number))


def check_log(log: Log, settings: Settings, run_index: int | None = None,
              label: Callable[[int], str] | None = None, baseline: Run | None = None,
              choice: ProfileChoice | None = None) -> Report:
    """Judge one run of a parsed log. `label` names lines of sources that are not plain files;
    `baseline` (a run of an earlier log) adds the comparison rules; `choice` says why the profile."""
    index = len(log.runs) - 1 if run_index is None else run_index
    run = log.runs[index]
    findings = evaluate(run, settings, baseline)
    # The same computation the progression.trajectory rule judged (served from the forecast cache).
    forecasts = run_forecasts(run, settings)
    table = tables()
    available = {**signals(findings, forecasts), **learned_signals(run, settings), **reference_signals(run)}
    causes = score_causes(table, available, settings.ranking.batch0_exponent)
    number = run_round(settings, choice)
    history = ranking_history(run, settings, "forecast.reaches_target" in available, number)
    fixes = rank_fixes(table, causes, available, history, settings.ranking)
    counts = {status: 0 for status in STATUS_ORDER}
    for finding in findings:
        counts[finding.status] += 1
    notes = list(log.notes)
    later = [row for row in settings.history if row not in earlier_rows(settings.history, number)]
    if later:
        rounds = ", ".join(sorted({f"Round {row.round}" for row in later}))
        notes.append(f"history: {rounds} not before this run's Round {number}; left out of the ranking")
    others = [r for r in log.runs if r.index != index]
    if others:
        spans = ", ".join(f"run {r.index + 1} (lines {r.line}-{r.end_line})" for r in others)
        notes.append(f"the log holds {len(log.runs)} runs; reporting run {index + 1} (lines {run.line}-{run.end_line}); also: {spans}")
    report = ShownReport(
        version=__version__,
        source=log.source,
        profile=settings.profile,
        profile_reason=choice.reason if choice is not None else f"profile {settings.profile}",
        profile_notes=list(choice.contradictions) if choice is not None else [],
        config_files=config_files(settings),
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
        history=earlier_rows(settings.history, number),
        escalation=history.escalation,
        dimensions=dimension_view(run),
        parse_warnings=[w for w in log.warnings if run.line <= w.line <= (run.end_line or w.line)],
        notes=notes,
        records=run,
    )
    report.attach_rules(registry.catalogue(settings))
    if label is not None:
        report.locations = {line: label(line) for line in sorted(_cited_lines(report)) if line > 0}
    if log.event_refs:
        # Values from event files cite virtual (negative) lines: shown as the file and step.
        report.event_refs = {line: log.event_refs[line] for line in sorted(_cited_lines(report)) if line in log.event_refs}
        report.locations.update({line: f"{ref.file}:step {ref.step}" for line, ref in report.event_refs.items()})
    return report


def scalar_input(path: str | Path) -> Log:
    """A TensorBoard log folder, an event file or a Lightning metrics.csv, read as a log of one run."""
    from percediag.events.tree import read_scalars
    from percediag.parsers.scalars import scalar_log

    return scalar_log(read_scalars(path), str(path))


def with_events(log: Log, events: str | Path) -> Log:
    """The stdout log's last run joined with the event scalars of `events`, by fold and epoch."""
    from percediag.parsers.merge import merge

    if not log.runs:
        raise InputError(f"{log.source}: no run to join the event files {events} with")
    log.notes.extend(merge(log, scalar_input(events)))
    return log


def is_scalar_input(path: str) -> bool:
    from percediag.events.tree import is_scalar_input as scalar

    try:
        return path != "-" and Path(path).exists() and scalar(path)
    except OSError as exc:  # a name too long to stat
        raise InputError(f"{path[:200]}: {exc.strerror or exc}") from exc


def open_source(path_or_text: str | Path) -> LogSource:
    try:
        return _open_source(path_or_text)
    except OSError as exc:  # a name too long, a folder we cannot search: one line, as the CLI says it
        raise InputError(f"{str(path_or_text)[:200]}: {exc.strerror or exc}") from exc


def _open_source(path_or_text: str | Path) -> LogSource:
    if isinstance(path_or_text, Path):
        return LogSource.from_path(path_or_text)
    if "\n" in path_or_text:
        return LogSource.from_text(path_or_text)
    if Path(path_or_text).exists():
        return LogSource.from_path(path_or_text)
    raise InputError(f"{path_or_text}: no such file (pass the log's text, with its newlines, to check text)")


def check(path_or_text: str | Path, profile: str | None = None, *, run: str | int = "last",
          config: str | Path | None = None, set: str | list[str] | None = None,  # noqa: A002 - the CLI's --set
          tried: str | list[str] | None = None, history: str | list[str] | None = None,
          baseline: str | Path | None = None, events: str | Path | None = None, isolated: bool = False) -> Report:
    """Check a log (a path, the log's text, or a TensorBoard folder, event file or metrics.csv) and
    return the Report of one run, as `percediag check` would.

    Every argument is the CLI option of the same name: `config` (`--config`; else discovery from the
    working directory: `.percediag.yaml`, `pyproject.toml [tool.percediag]`, unless `isolated`),
    `set` (`--set KEY=VALUE`, one string or a list), `tried` (`--tried`), `history` (`--history`:
    earlier logs or rounds files), `baseline` (`--baseline`: an earlier log, a path or its text),
    `events` (`--events`: the run's event folder joined with the log), `run` (`--run`: "last", "all"
    (the first is returned) or a number from 1).
    Without `profile` (here or in the configuration), the log is judged with the profile of the round it names."""
    from percediag.rules.registry import load_recipe

    _check_input(path_or_text, "the log")
    if config is not None:
        _check_input(config, "config")
    if not isinstance(isolated, bool):
        raise UsageError(f"isolated={isolated!r}: expected True or False")
    if isinstance(run, bool) or not isinstance(run, (str, int)):
        raise UsageError(f"run={run!r}: expected 'last', 'all' or a run number from 1")
    overrides = _as_list(set, "set")
    for item in overrides:
        if not isinstance(item, str):
            raise UsageError(f"set={item!r}: expected KEY=VALUE strings")
    recipe = load_recipe(Path(config) if config is not None else None, profile, overrides,
                         _as_list(tried, "tried"), isolated=isolated)
    recipe.history = history_inputs([str(item) for item in _as_list(history, "history")],
                                    recipe.build().ranking.escalation.margin)
    baseline_run = None
    if baseline is not None:
        _check_input(baseline, "baseline")
        baseline_run = parse_source(open_source(baseline)).runs[-1]
    if not isinstance(path_or_text, str) or "\n" not in path_or_text:
        path = str(path_or_text)
        if is_scalar_input(path):
            if events is not None:
                raise UsageError(f"events=: {path} is itself an event folder or file; pass the stdout log first")
            return _check_run(scalar_input(path), recipe, str(run), None, baseline_run)
    if events is not None:
        _check_input(events, "events")
    log, label = read_source(open_source(path_or_text), events)
    return _check_run(log, recipe, str(run), label, baseline_run)


def read_source(source: LogSource, events: str | Path | None = None,
                parse: Callable[[LogSource], Log] = parse_source) -> tuple[Log, Callable[[int], str] | None]:
    """A text log read for judging, as the CLI and the API read it: parsed (`parse` may show progress),
    refused when it held nothing but whitespace, joined with `events` when given; with its line
    labeller (notebooks: `cell N, line M`), else None."""
    log = parse(source)
    if source.stats.blank:
        raise InputError(f"{source.name}: empty input (nothing but whitespace): not a training log")
    if events is not None:
        with_events(log, events)
    return log, source.label if source.has_labels else None


def _check_run(log: Log, recipe: SettingsRecipe, run: str, label, baseline_run: Run | None) -> Report:
    indices = select_runs(log, run)
    settings, choice = settings_for(recipe, log, indices[0])
    return check_log(log, settings, indices[0], label, baseline_run, choice)


def _check_input(value: object, name: str) -> None:
    """A path (str or os.PathLike) or a log's text, as the CLI's arguments are: anything else is refused."""
    if isinstance(value, Path) or (isinstance(value, str) and value.strip()):
        return
    if isinstance(value, str):
        raise InputError(f"{name}: an empty path or text" if not value else f"{name}: only whitespace, not a training log")
    raise UsageError(f"{name}: expected a path or the log's text, not {type(value).__name__}")


def _as_list(value: str | Path | list | tuple | None, name: str) -> list:
    """One value or several, as the CLI's repeatable options take them (a lone string is one item)."""
    if value is None:
        return []
    if isinstance(value, (str, Path)):
        return [value]
    if isinstance(value, (list, tuple)):
        return list(value)
    raise UsageError(f"{name}=: expected a string or a list of strings, not {type(value).__name__}")


def history_row(log: Log, name: str) -> HistoryRound:
    """An earlier log as a history row: its round (named in the log, else in its file name), its best R2,
    and the fixes its round's bundled profile says that round applied."""
    settings, choice = settings_for(SettingsRecipe(), log)
    number = choice.named_round
    if number is None:
        raise UsageError(f"{name}: the log names no round and its file name has none (e.g. round7.log); "
                         "give the round in a rounds file instead (see docs/ranking.md)")
    best = run_best_r2(log.runs[-1])
    if best is None:
        raise UsageError(f"{name}: no R2 in this log; an earlier round is read for its results "
                         "(give the round in a rounds file instead, see docs/ranking.md)")
    fixes = [fix for fix, entry in settings.applied.items() if entry.round == number]
    recorded = round_table().rounds.get(number)
    what = recorded.change if recorded is not None and fixes else "what it changed is not known: edit `fixes`"
    measured = f"best R2: {best.how}"
    return HistoryRound(round=number, best_r2=round(best.value, 4), fixes=fixes,
                        note=f"{what} ({measured} of {name})", log=name)


ROUNDS_SUFFIXES = (".yaml", ".yml")


def _rounds_rows(path: str) -> list[HistoryRound]:
    data = read_yaml(Path(path))
    rows = data.get("history")
    if not isinstance(rows, list):
        raise ConfigError(f"{path}: a rounds file holds a `history:` list (see `percediag history --write-rounds`)")
    unknown = sorted(set(data) - {"history"})
    if unknown:
        raise ConfigError(f"{path}: {unknown[0]}: unknown key (a rounds file holds only `history:`)")
    parsed = []
    for number, row in enumerate(rows):
        try:
            parsed.append(HistoryRound.model_validate(row))
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(p) for p in error["loc"])
            raise ConfigError(f"{path}: history.{number}{'.' + where if where else ''}: {error['msg']}") from exc
    return parsed


def history_inputs(paths: list[str], margin: float) -> list[tuple[str, dict]]:
    """`--history` arguments as (origin, row): rounds files as written, logs read as rows, outcomes filled in."""
    rows: list[tuple[str, HistoryRound]] = []
    for path in paths:
        if path.lower().endswith(ROUNDS_SUFFIXES):
            rows.extend((f"--history {path}", row) for row in _rounds_rows(path))
        else:
            log = scalar_input(path) if is_scalar_input(path) else parse_source(LogSource.from_path(path))
            rows.append((f"--history {path}", history_row(log, path)))
    # Both sorts are stable and by round, so each filled-in row stays beside its origin.
    rows.sort(key=lambda item: item[1].round)
    filled = with_outcomes([row for _, row in rows], margin)
    return [(origin, row.model_dump(exclude_none=True)) for (origin, _), row in zip(rows, filled)]


def rounds_file(logs: list[tuple[Log, str]], margin: float) -> str:
    """The YAML rounds file `check --history FILE` reads, from a set of logs."""
    rows = with_outcomes([history_row(log, name) for log, name in logs], margin)
    header = ("# Earlier rounds for `percediag check --history THIS_FILE` (or a `history:` list in .percediag.yaml).\n"
              "# One row per round: its best R2, the catalog fixes it put in place (`percediag fixes`), and what\n"
              "# came of them (helped, no-effect, worse, unknown). Written by `percediag history --write-rounds`;\n"
              "# edit the fixes and outcomes to match what you really changed.\n")
    body = yaml.safe_dump({"history": [row.model_dump(exclude_none=True) for row in rows]}, sort_keys=False, allow_unicode=False)
    return header + body


def parse(path_or_text: str | Path) -> Log:
    """Parse a log (a path, the log's text, or a TensorBoard folder, event file or metrics.csv) into its records."""
    _check_input(path_or_text, "the log")
    if not isinstance(path_or_text, str) or "\n" not in path_or_text:
        if is_scalar_input(str(path_or_text)):
            return scalar_input(str(path_or_text))
    return parse_source(open_source(path_or_text))
