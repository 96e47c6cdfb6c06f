"""The command line: a thin typer app over the pipeline.

Exit codes (ruff/pytest style): 0 no finding fails the gate, 1 a finding
does (including `log.no_data`), 2 usage error, unreadable input or bad
configuration, printed as one line on stderr.
"""

from __future__ import annotations

import errno
import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from typer.exceptions import Abort, Exit, TyperException

from percediag.errors import PercediagError, UsageError

app = typer.Typer(
    name="percediag",
    help="Read a PercePiano replica training log: what is healthy, what is broken, and which fix to try next.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class Format(str, Enum):
    auto = "auto"
    text = "text"
    json = "json"
    markdown = "markdown"
    github = "github"
    junit = "junit"
    sarif = "sarif"
    html = "html"


class ParseFormat(str, Enum):
    json = "json"


class FailOn(str, Enum):
    fail = "fail"
    warn = "warn"
    never = "never"


class Color(str, Enum):
    auto = "auto"
    always = "always"
    never = "never"


def _profile_metavar() -> str:
    """The bundled profiles, as `--help` shows them: `[generic|round1|...]` (the list is read from the profiles folder)."""
    try:
        from percediag.settings import profile_names

        return "[" + "|".join(profile_names()) + "]"
    except Exception:  # the help must not fail: fall back to a name
        return "NAME"


ProfileOpt = Annotated[Optional[str], typer.Option("--profile", "-p", metavar=_profile_metavar(), help="Bundled profile to start from (see `percediag profiles`).")]
ConfigOpt = Annotated[Optional[Path], typer.Option("--config", "-c", help="Configuration file. Default: discovery from the working directory upward, in each folder .percediag.yaml, .percediag.yml, then pyproject.toml [tool.percediag]; it stops at the first folder holding one of them or .git, and never reads above it.")]
IsolatedOpt = Annotated[bool, typer.Option("--isolated", help="Ignore all discovered configuration (.percediag.yaml, pyproject.toml): only --config FILE, if given, and the command line apply.")]
SetOpt = Annotated[Optional[list[str]], typer.Option("--set", help="Override one value, e.g. activation.logit_std.min=0.4 (repeatable).")]
TriedOpt = Annotated[Optional[list[str]], typer.Option("--tried", help="A fix already tried, as ID or ID=OUTCOME (helped, no-effect, worse): demoted, not dropped (repeatable).")]
HistoryOpt = Annotated[Optional[list[str]], typer.Option("--history", help="An earlier round: its log, or a rounds file (.yaml) as `history --write-rounds` writes (repeatable).")]


def _version(value: bool) -> None:
    if value:
        from percediag import __version__

        sys.stdout.write(f"percediag {__version__}\n")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print `percediag X.Y.Z` and exit.")] = False,
) -> None:
    """Read a PercePiano replica training log: what is healthy, what is broken, and which fix to try next."""


class ListFormat(str, Enum):
    text = "text"
    json = "json"


ListFormatOpt = Annotated[ListFormat, typer.Option("--format", "-f", help="text (a table on a terminal, plain aligned lines otherwise) or json.")]


def _listing(columns: tuple[str, ...], rows: list[tuple], output_format: ListFormat, title: str | None = None,
             extra: dict | None = None, key: str = "items") -> None:
    """A listing (rules, profiles, fixes): JSON objects, a rich table on a terminal, or, piped,
    plain lines with columns padded to their content: never cut, never wrapped, whatever the width."""
    if output_format is ListFormat.json:
        import json

        items = [dict(zip(columns, row)) for row in rows]
        sys.stdout.write(json.dumps({**(extra or {}), key: items} if extra else items, indent=2) + "\n")
        return
    cells = [[_cell(value) for value in row] for row in rows]
    if sys.stdout.isatty():
        from rich.table import Table

        table = Table(box=None, pad_edge=False, header_style="bold", title=title, title_justify="left")
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in cells:
            table.add_row(*row)
        _console(Color.auto).print(table)
        return
    widths = [max(len(c) for c in column) for column in zip(columns, *cells)]
    lines = [title] if title else []
    for row in [list(columns), *cells]:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row[:-1], widths)) + ("  " if len(row) > 1 else "") + row[-1])
    sys.stdout.write("\n".join(line.rstrip() for line in lines) + "\n")


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return ", ".join(map(_cell, value)) or "-"
    if isinstance(value, dict):
        return ", ".join(f"{k}:{_cell(v)}" for k, v in value.items()) or "-"
    return " ".join(str(value).split())


def _console(color: Color, stderr: bool = False):
    from rich.console import Console

    class PipeConsole(Console):
        def on_broken_pipe(self) -> None:
            # rich exits with 1 here; percediag lets the command decide (see _silence_stdout).
            self.quiet = True
            raise BrokenPipeError

    # NO_COLOR counts only when set to something (https://no-color.org): NO_COLOR= is no request.
    no_color = color is Color.never or (color is Color.auto and bool(os.environ.get("NO_COLOR")))
    force = True if color is Color.always else None
    return PipeConsole(stderr=stderr, no_color=no_color, force_terminal=force, emoji=False, highlight=False)


def _silence_stdout() -> None:
    """The reader of stdout went away (`percediag check log | head`): later writes, and the
    interpreter's last flush, go nowhere instead of failing."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _sources(paths: list[str]):
    from percediag.sources import LogSource

    if not paths:
        if sys.stdin is None or sys.stdin.isatty():
            raise UsageError("no log given: pass a path, or '-' to read standard input")
        paths = ["-"]
    for path in paths:
        if path == "-":
            if sys.stdin is None:
                raise UsageError("-: standard input is closed")
            yield LogSource.from_stream(sys.stdin.buffer, "<stdin>")
        else:
            yield LogSource.from_path(path)


@app.command()
def check(
    paths: Annotated[Optional[list[str]], typer.Argument(help="Log files ('-' or none: standard input).", show_default=False)] = None,
    profile: ProfileOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    tried: TriedOpt = None,
    history: HistoryOpt = None,
    formats: Annotated[Optional[list[Format]], typer.Option("--format", "-f", help="Output format (repeatable; auto: github inside GitHub Actions, else text).")] = None,
    outputs: Annotated[Optional[list[str]], typer.Option("--output", "-o", help="Write the format at the same position to FILE ('-': stdout; repeatable).")] = None,
    run: Annotated[str, typer.Option("--run", help="Which run of a log holding several: last, all, or a number from 1.")] = "last",
    fail_on: Annotated[FailOn, typer.Option("--fail-on", help="Lowest overall status that exits 1.")] = FailOn.fail,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the summary line.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="The full text report: tables, per-fold details, every fix with its evidence, notes.")] = False,
    color: Annotated[Color, typer.Option("--color", help="Colour: auto (terminal, no NO_COLOR), always, never.")] = Color.auto,
    baseline: Annotated[Optional[str], typer.Option("--baseline", "-b", help="An earlier log to compare with (adds architecture.param_delta and progression.regression).")] = None,
    events: EventsOpt = None,
    isolated: IsolatedOpt = False,
) -> None:
    """Judge a training log (or a TensorBoard log folder, event file or metrics.csv) against the active profile and rank the next fixes."""
    from percediag.discovery import config_candidates
    from percediag.outputs import Inputs, distinct
    from percediag.pipeline import check_log, history_inputs, parse_source, select_runs, settings_for
    from percediag.rules.registry import load_recipe

    recipe = load_recipe(config, profile, set_, tried, isolated=isolated)
    plan = output_plan(formats or [], outputs or [])
    files = [destination for _, destination in plan if destination != "-"]
    if files:
        inputs = Inputs()
        for path in paths or ["-"]:
            if path == "-":
                inputs.add_stdin()
            _add_input(inputs, path, "the input log")
        _add_input(inputs, events, "the --events input")
        _add_input(inputs, baseline, "the --baseline log")
        for path in history or []:
            _add_input(inputs, path, "the --history file")
        inputs.add(recipe.config_file, "the configuration file in use")
        for candidate in config_candidates():
            inputs.add(candidate, "a configuration file of this project")
        for destination in files:
            inputs.refuse(destination, "--output")
        distinct(files, "--output")
    recipe.history = history_inputs(history or [], recipe.build().ranking.escalation.margin)
    baseline_run = _baseline(baseline)
    # The text report on stdout is printed as each report is made, so many logs never sit in
    # memory together; the other formats are documents of all the reports and hold them.
    streamed = ("text", "-") in plan
    held = [(name, destination) for name, destination in plan if (name, destination) != ("text", "-")]
    # A quiet check piped or redirected writes plain lines: rich is loaded only to style them.
    plain = streamed and quiet and not _styled(color)
    console = _console(color) if streamed and not plain else None
    # JSON keeps each report as its compressed text (json_format.Parts), so a check of many
    # logs does not grow with their number; the other document formats keep the reports.
    json_parts = None
    if any(name == "json" for name, _ in held):
        from percediag.report.json_format import Parts

        json_parts = Parts()
    keep = any(name != "json" for name, _ in held)
    reports = []
    made = 0
    failed = False
    for log, label in _logs(paths or [], events, progress=not quiet):
        for index in select_runs(log, run):
            settings, choice = settings_for(recipe, log, index)
            report = check_log(log, settings, index, label, baseline_run, choice)
            failed = failed or report.failed(fail_on.value)
            if plain:
                _print_quiet(report)
            elif streamed:
                _print_text(console, report, made, quiet, verbose)
            made += 1
            if keep:
                reports.append(report)
            if json_parts is not None:
                json_parts.add(report)
        del log
    for name, destination in held:
        try:
            _emit(name, destination, reports, color, quiet, verbose, json_parts)
        except BrokenPipeError:
            if destination != "-":
                raise
            # The verdict does not depend on who reads it: the exit code below still gates CI.
            _silence_stdout()
    if any(name == "github" for name, _ in held):
        _step_summary(reports)
    raise typer.Exit(EXIT_FAIL if failed else EXIT_OK)


def _step_summary(reports) -> None:
    """With the GitHub format, the Markdown report is appended to the job summary, the file
    `$GITHUB_STEP_SUMMARY` names (when set). A summary that cannot be written is said on
    stderr, and the verdict stands."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return
    from percediag.report import renderer

    try:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(renderer("markdown")(reports) + "\n")
    except OSError as exc:
        from percediag.report.sanitize import clean

        sys.stderr.write(f"percediag: warning: job summary {clean(target)}: {exc.strerror or exc}\n")


def _styled(color: Color) -> bool:
    """Would the console style its output? Asked for, or a terminal (as rich decides: FORCE_COLOR
    and TTY_COMPATIBLE=1 make one of any stream)."""
    if color is Color.always or os.environ.get("FORCE_COLOR") or os.environ.get("TTY_COMPATIBLE") == "1":
        return True
    isatty = getattr(sys.stdout, "isatty", None)
    return bool(isatty and isatty())


def _print_quiet(report) -> None:
    """The quiet line as plain text (what the console prints unstyled); a reader gone is not an error."""
    from percediag.report.quiet import quiet_text

    try:
        sys.stdout.write(quiet_text(report) + "\n")
    except BrokenPipeError:
        _silence_stdout()


def _print_text(console, report, number: int, quiet: bool, verbose: bool = False) -> None:
    """One text report on stdout (a rule between reports); a reader gone is not an error."""
    from percediag.report.text import print_report, quiet_line

    try:
        if quiet:
            # Exactly one line per log (per run with --run all), never wrapped whatever the width.
            console.print(quiet_line(report), soft_wrap=True)
            return
        if number:
            console.rule()
        print_report(report, console, quiet=quiet, verbose=verbose)
    except BrokenPipeError:
        # The verdict does not depend on who reads it: the exit code still gates CI.
        _silence_stdout()


EventsOpt = Annotated[Optional[str], typer.Option(
    "--events", help="The run's TensorBoard log folder (or one event file, or a Lightning metrics.csv): "
                     "joined with the log by fold and epoch.")]


def _logs(paths: list[str], events: str | None = None, progress: bool = False):
    """(parsed log, line labeller) per input: a text log (joined with `events` when given), or a
    TensorBoard folder, event file or metrics.csv read alone. `progress`: a bar on a terminal's
    stderr while a large or slow log is read."""
    from percediag.pipeline import is_scalar_input, parse_source, read_source, scalar_input

    if events is not None and len(paths) != 1:
        raise UsageError("--events: give exactly one log to join the event files with")
    if events is not None and is_scalar_input(paths[0]):
        raise UsageError(f"--events: {paths[0]} is itself an event folder or file; pass the stdout log first")
    for path in paths or [None]:
        if path is not None and is_scalar_input(path):
            yield scalar_input(path), None
            continue
        source = next(iter(_sources([path] if path is not None else [])))
        yield read_source(source, events, _parse_with_progress if progress else parse_source)


def _parse_with_progress(source):
    """Parse `source`, with a progress bar on stderr when it is a terminal and the read is large or slow."""
    from percediag.pipeline import parse_source
    from percediag.report.progress import ReadProgress, wanted

    if not wanted(sys.stderr, quiet=False):
        return parse_source(source)
    bar = ReadProgress(source.name, source.size, sys.stderr)
    source.progress = bar
    try:
        return parse_source(source)
    finally:
        bar.close()


def _read_log(path: str):
    """A log file, or a TensorBoard folder, event file or metrics.csv read as a log (diff, history)."""
    from percediag.pipeline import is_scalar_input, parse_source, scalar_input
    from percediag.sources import LogSource

    return scalar_input(path) if is_scalar_input(path) else parse_source(LogSource.from_path(path))


def _baseline(path: str | None):
    if path is None:
        return None
    from percediag.pipeline import is_scalar_input, parse_source, scalar_input
    from percediag.sources import LogSource

    if is_scalar_input(path):  # an event folder, file or metrics.csv, read as check reads it
        return scalar_input(path).runs[-1]
    return parse_source(LogSource.from_path(path)).runs[-1]


class CompareFormat(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"
    html = "html"


@app.command()
def diff(
    old: Annotated[str, typer.Argument(help="The earlier log (the baseline).")],
    new: Annotated[str, typer.Argument(help="The later log.")],
    profile: ProfileOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    output_format: Annotated[CompareFormat, typer.Option("--format", "-f", help="Output format.")] = CompareFormat.text,
    color: Annotated[Color, typer.Option("--color", help="Colour: auto, always, never.")] = Color.auto,
    isolated: IsolatedOpt = False,
) -> None:
    """Compare two runs: architecture, configuration, metrics, R2, findings that changed; exit 1 if NEW regressed."""
    from percediag.compare.diff import diff as make_diff
    from percediag.compare.summary import summarise
    from percediag.pipeline import check_log, compare_runs, parse_source, settings_for
    from percediag.roundtable import summary_milestones
    from percediag.rules.registry import load_recipe
    from percediag.sources import LogSource

    recipe = load_recipe(config, profile, set_, isolated=isolated)
    old_log, new_log = (_read_log(p) for p in (old, new))
    old_settings, old_choice = settings_for(recipe, old_log)
    settings, new_choice = settings_for(recipe, new_log)
    old_report = check_log(old_log, old_settings, choice=old_choice)
    new_report = check_log(new_log, settings, choice=new_choice)
    comparison = compare_runs(new_log.runs[-1], old_log.runs[-1], settings)
    milestones = summary_milestones(settings.progression.milestones)
    regression = settings.rule("progression.regression")
    result = make_diff(summarise(old_report, milestones), summarise(new_report, milestones), comparison,
                       regression.tolerance, regression.decisive_gain)
    if output_format is CompareFormat.json:
        from percediag.report.sanitize import model_json

        sys.stdout.write(model_json(result))
    elif output_format is CompareFormat.markdown:
        from percediag.report.comparison import diff_markdown

        sys.stdout.write(diff_markdown(result))
    elif output_format is CompareFormat.html:
        from percediag.report.html import diff_html

        sys.stdout.write(diff_html(result, old_report, new_report))
    else:
        from percediag.report.comparison import diff_renderables, print_all

        print_all(_console(color), diff_renderables(result))
    failed = result.verdict in ("regressed", "no-data") or any(f.status == "fail" for f in comparison)
    raise typer.Exit(EXIT_FAIL if failed else EXIT_OK)


class SortOrder(str, Enum):
    given = "given"
    mtime = "mtime"


@app.command()
def history(
    logs: Annotated[list[str], typer.Argument(help="Log files or glob patterns (quoted), one row per run.")],
    profile: ProfileOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    sort: Annotated[SortOrder, typer.Option("--sort", help="Row order: as given, or by modification time.")] = SortOrder.given,
    output_format: Annotated[CompareFormat, typer.Option("--format", "-f", help="Output format.")] = CompareFormat.text,
    color: Annotated[Color, typer.Option("--color", help="Colour: auto, always, never.")] = Color.auto,
    write_rounds: Annotated[Optional[Path], typer.Option("--write-rounds", help="Also write the logs as a rounds file (round, best R2, fixes applied, outcome) for `check --history`; never over an input log or the configuration in use.")] = None,
    isolated: IsolatedOpt = False,
) -> None:
    """The experiment log table: one row per run with its architecture, activations, R2 milestones and status."""
    import glob

    from percediag.compare.history import History
    from percediag.compare.summary import summarise
    from percediag.discovery import config_candidates
    from percediag.pipeline import check_log, parse_source, rounds_file, settings_for
    from percediag.roundtable import summary_milestones
    from percediag.rules.registry import load_recipe
    from percediag.sources import LogSource

    recipe = load_recipe(config, profile, set_, isolated=isolated)
    settings = recipe.build()
    paths: list[str] = []
    for item in logs:
        if any(ch in item for ch in "*?[") and not Path(item).exists():
            matched = sorted(glob.glob(item))
            if not matched:
                raise UsageError(f"{item}: no file matches")
            paths.extend(matched)
        else:
            paths.append(item)
    if sort is SortOrder.mtime:
        missing = [p for p in paths if not Path(p).exists()]
        if missing:
            raise UsageError(f"{missing[0]}: no such file")
        paths.sort(key=lambda p: Path(p).stat().st_mtime)
    if write_rounds is not None:
        from percediag.outputs import Inputs

        if str(write_rounds) == "-":
            raise UsageError("--write-rounds -: give a file name (standard output carries the history table)")
        inputs = Inputs()
        for path in paths:
            _add_input(inputs, path, "the input log")
        inputs.add(recipe.config_file, "the configuration file in use")
        for candidate in config_candidates():
            inputs.add(candidate, "a configuration file of this project")
        inputs.refuse(str(write_rounds), "--write-rounds")
    milestones = summary_milestones(settings.progression.milestones)
    logs = [_read_log(p) for p in paths]
    summaries = []
    for log in logs:
        log_settings, choice = settings_for(recipe, log)
        summaries.append(summarise(check_log(log, log_settings, choice=choice), milestones))
    table = History(runs=summaries)
    if write_rounds is not None:
        from percediag.outputs import write_atomic

        write_atomic(write_rounds, rounds_file(list(zip(logs, paths)), settings.ranking.escalation.margin), "--write-rounds")
    if output_format is CompareFormat.json:
        from percediag.report.sanitize import model_json

        sys.stdout.write(model_json(table))
    elif output_format is CompareFormat.markdown:
        from percediag.report.comparison import history_markdown

        sys.stdout.write(history_markdown(table))
    elif output_format is CompareFormat.html:
        from percediag.report.html import history_html

        sys.stdout.write(history_html(table))
    else:
        from percediag.report.comparison import history_table, print_all

        print_all(_console(color), [history_table(table)])


class WatchFormat(str, Enum):
    text = "text"
    jsonl = "jsonl"


class ExitOn(str, Enum):
    fail = "fail"
    warn = "warn"


@app.command()
def watch(
    target: Annotated[Optional[list[str]], typer.Argument(help="A log file, a TensorBoard log folder, an event file or a metrics.csv to follow, or after `--` a command to run.", show_default=False)] = None,
    events: EventsOpt = None,
    profile: ProfileOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    tried: TriedOpt = None,
    exit_on: Annotated[Optional[ExitOn], typer.Option("--exit-on", help="End with exit 1 at the first finding at this level (and stop the command).")] = None,
    exec_: Annotated[Optional[str], typer.Option("--exec", help="Run this command on each alert, the finding as JSON on its stdin (beside the watch, never blocking it; killed after --exec-timeout).")] = None,
    exec_timeout: Annotated[float, typer.Option("--exec-timeout", help="Seconds an --exec hook may run before it is killed (0.1 to 3,600).")] = 30.0,
    output_format: Annotated[WatchFormat, typer.Option("--format", "-f", help="text (a live view on a terminal, else lines) or jsonl (one JSON event per change).")] = WatchFormat.text,
    tee: Annotated[Optional[Path], typer.Option("--tee", help="With -- COMMAND: also write the command's output to this file (replacing it; see --append). Never a file named in the command, nor the configuration in use.")] = None,
    append: Annotated[bool, typer.Option("--append", help="With --tee: append to the file instead of replacing it (as tee -a).")] = False,
    grace: Annotated[float, typer.Option("--grace", help="Seconds between SIGINT and SIGTERM when stopping the command (0 to 3,600).")] = 10.0,
    interval: Annotated[float, typer.Option("--interval", help="Seconds between polls of the file (0.01 to 60).")] = 0.1,
    idle_exit: Annotated[Optional[float], typer.Option("--idle-exit", help="Stop after the input has not grown for this many seconds (0 to 1,000,000).")] = None,
    pty: Annotated[Optional[bool], typer.Option("--pty/--pipe", help="With -- COMMAND: run it on a pseudo-terminal (the default when stdout is a terminal) or on a pipe.", show_default=False)] = None,
    fail_on: Annotated[FailOn, typer.Option("--fail-on", help="Gate of the final status, when the watch ends on its own.")] = FailOn.fail,
    color: Annotated[Color, typer.Option("--color", help="Colour: auto, always, never.")] = Color.auto,
    isolated: IsolatedOpt = False,
) -> None:
    """Follow a training log or a TensorBoard log folder as it grows (or run the training command) and alert the moment a finding turns bad."""
    from percediag.live.session import WatchOptions, check_seconds, run_watch
    from percediag.rules.registry import load_recipe

    if not target:
        raise UsageError("watch needs a log file, or `-- COMMAND ARGS...`")
    for option, value in (("--grace", grace), ("--interval", interval), ("--idle-exit", idle_exit), ("--exec-timeout", exec_timeout)):
        check_seconds(option, value)
    command_mode = "--" in sys.argv[sys.argv.index("watch") + 1:] if "watch" in sys.argv else False
    if not command_mode and len(target) > 1:
        raise UsageError("watch follows one log file; to run a command put it after `--`")
    if command_mode and isinstance(getattr(sys.stdout, "_stream", sys.stdout), _Closed):
        raise UsageError("standard output is closed: the command's output would have nowhere to go; not starting it")
    if not command_mode and pty is not None:
        raise UsageError("--pty and --pipe apply to `-- COMMAND`")
    if events is not None:
        from percediag.live.scalars import is_scalar_target

        if not command_mode and is_scalar_target(target[0]):
            raise UsageError(f"--events: {target[0]} is itself an event folder or file; pass the stdout log first")
        if not is_scalar_target(events) and Path(events).exists():
            raise UsageError(f"--events {events}: not a TensorBoard log folder, an event file or a metrics.csv")
    recipe = load_recipe(config, profile, set_, tried, isolated=isolated)
    if append and tee is None:
        raise UsageError("--append applies to --tee FILE")
    if tee is not None:
        _check_tee(tee, target, command_mode, recipe.config_file, events)
    console = None
    if output_format is WatchFormat.text and not command_mode and color is not Color.never and sys.stdout.isatty():
        console = _console(color)
    options = WatchOptions(
        target=target, command=command_mode, exit_on=exit_on.value if exit_on else None, exec_command=exec_,
        fmt=output_format.value, tee=tee, tee_append=append, grace=grace, interval=interval, idle_exit=idle_exit, fail_on=fail_on.value,
        pty=pty, exec_timeout=exec_timeout, events=events,
    )
    raise typer.Exit(run_watch(recipe, options, console))


def _check_tee(tee: Path, target: list[str], command_mode: bool, config_file: Path | None,
               events: str | None = None) -> None:
    """--tee never opens (and so truncates) a file the watch reads: the followed log, a file the
    command names (`tail -f train.log`, `--log=train.log`, its script), the configuration in use."""
    from percediag.discovery import config_candidates
    from percediag.outputs import Inputs

    inputs = Inputs()
    if command_mode:
        for argument in target:
            _add_input(inputs, argument, "the command's argument")
            if argument.startswith("-") and "=" in argument:
                _add_input(inputs, argument.partition("=")[2], "the command's argument")
    else:
        _add_input(inputs, target[0], "the log being followed")
    _add_input(inputs, events, "the --events input")
    inputs.add(config_file, "the configuration file in use")
    if command_mode:
        inputs.add_stdin()  # the command reads percediag's stdin (`-- cat < train.log`)
    for candidate in config_candidates():
        inputs.add(candidate, "a configuration file of this project")
    inputs.refuse(str(tee), "--tee")
    if not command_mode:
        raise UsageError("--tee copies a command's output: use it with `watch --tee FILE -- COMMAND ...`")


def _add_input(inputs, path: str | None, role: str) -> None:
    """Remember `path` and, for a TensorBoard folder, event file or metrics.csv, every scalar file
    it reads: an output must not replace an event file any more than the log itself."""
    if path is None or path == "-":
        return
    inputs.add(path, role)
    from percediag.errors import InputError
    from percediag.events.tree import find_scalar_files
    from percediag.pipeline import is_scalar_input

    try:
        if not is_scalar_input(path):
            return
        found = find_scalar_files(Path(path))
    except (InputError, OSError):
        return  # unreadable: reading it fails next, with its own one-line error, before any write
    for files in found.values():
        for file in files:
            inputs.add(file, f"a file read from {role} {path}:")


def output_plan(formats: list[Format], outputs: list[str]) -> list[tuple[str, str]]:
    """Pair each --output with the --format at the same position; the rest go to stdout.

    `auto` is `github` inside GitHub Actions (GITHUB_ACTIONS=true), else `text`.
    """
    chosen = [f.value for f in formats] or ["auto"]
    if len(outputs) > len(chosen):
        raise UsageError(f"{len(outputs)} --output for {len(chosen)} --format: give each output its format")
    from percediag.outputs import standard_stream

    auto = "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"
    # `-o /dev/stdout` (or the file stdout is appended to) is stdout: one stream, written in order.
    destinations = ["-" if i < len(outputs) and outputs[i] != "-" and standard_stream(outputs[i]) == 1
                    else outputs[i] if i < len(outputs) else "-" for i in range(len(chosen))]
    plan = [(auto if name == "auto" else name, destination) for name, destination in zip(chosen, destinations)]
    if sum(1 for _, destination in plan if destination == "-") > 1:
        raise UsageError("only one --format can go to stdout; give the others an --output FILE")
    return plan


def _emit(name: str, destination: str, reports, color: Color, quiet: bool, verbose: bool = False,
          json_parts=None) -> None:
    from percediag.report import renderer

    if destination == "-" and name == "text":
        from percediag.report.text import print_report

        console = _console(color)
        for number, report in enumerate(reports):
            if number and not quiet:
                console.rule()
            print_report(report, console, quiet=quiet, verbose=verbose)
        return
    if name == "json" and json_parts is not None:
        text = json_parts.chunks()  # written piece by piece: the whole document is never in memory
    else:
        text = renderer(name)(reports, verbose=verbose) if name == "text" else renderer(name)(reports)
    if destination == "-":
        for chunk in [text] if isinstance(text, str) else text:
            sys.stdout.write(chunk)
        return
    from percediag.outputs import write_atomic

    write_atomic(destination, text, "--output")


@app.command()
def parse(
    paths: Annotated[Optional[list[str]], typer.Argument(help="Log files ('-' or none: standard input).", show_default=False)] = None,
    output_format: Annotated[ParseFormat, typer.Option("--format", "-f", help="Output format.")] = ParseFormat.json,
) -> None:
    """Dump the parsed records (runs, folds, blocks, with line numbers) as JSON."""
    from percediag.pipeline import parse_source
    from percediag.report.sanitize import model_json

    logs = [parse_source(source) for source in _sources(paths or [])]
    for log in logs:
        sys.stdout.write(model_json(log))
    raise typer.Exit(EXIT_OK)


@app.command()
def schema() -> None:
    """Print the JSON Schema of `check --format json` (a Report, or a ReportSet for several)."""
    import json

    from percediag.report.json_format import schema as json_schema

    sys.stdout.write(json.dumps(json_schema(), indent=2) + "\n")


@app.command()
def rules(
    profile: ProfileOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    isolated: IsolatedOpt = False,
    output_format: ListFormatOpt = ListFormat.text,
) -> None:
    """List every rule: id, whether enabled, its thresholds in the active configuration, and why."""
    from percediag.rules.registry import catalogue, load_settings

    settings = load_settings(config, profile, set_, isolated=isolated)
    rows = [(e.id, e.enabled, e.severity, e.thresholds, e.reason) for e in catalogue(settings).entries]
    _listing(("rule", "enabled", "severity", "thresholds", "reason"), rows, output_format,
             title=f"Rules (profile {settings.profile})", extra={"profile": settings.profile}, key="rules")


@app.command()
def explain(rule_id: Annotated[str, typer.Argument(help="A rule id, e.g. activation.logit_std or progression.epoch_10.")]) -> None:
    """Print a rule's full documentation."""
    import difflib

    from percediag.rules import registry

    rule = registry.rule_for(rule_id)
    if rule is None:
        known = registry.module_ids()
        hint = difflib.get_close_matches(rule_id, known, n=1)
        raise UsageError(f"unknown rule '{rule_id}'" + (f"; did you mean '{hint[0]}'?" if hint else "; see `percediag rules`"))
    sys.stdout.write(rule.doc + "\n")


@app.command()
def profiles(output_format: ListFormatOpt = ListFormat.text) -> None:
    """List the bundled profiles and what each expects."""
    from percediag.rules.registry import build_settings
    from percediag.settings import configs_dir, profile_names, read_yaml

    rows = []
    for name in profile_names():
        settings = build_settings(name)
        raw = read_yaml(configs_dir() / "profiles" / f"{name}.yaml")
        head = settings.rule("architecture.prediction_head")
        lr = settings.rule("architecture.learning_rate")
        applied = {fix: entry.round for fix, entry in sorted(settings.applied.items(), key=lambda i: i[1].round)}
        rows.append((name, raw.get("extends"), settings.round, head.expected if head.enabled and head.expected else None,
                     lr.expected if lr.enabled and lr.expected else None, applied,
                     dict(settings.progression.milestones), {k: b.r2 for k, b in settings.baselines.items()}, settings.title))
    _listing(("profile", "extends", "round", "head", "learning_rate", "applied_fixes", "milestones", "baselines", "title"),
             rows, output_format)


@app.command()
def fixes(output_format: ListFormatOpt = ListFormat.text) -> None:
    """List the fix catalog: id, cost, prior, the causes each addresses, and the change to make."""
    from percediag.diagnose.tables import tables

    rows = [(fix.id, fix.cost, fix.prior, list(fix.addresses), fix.change) for fix in tables().fixes]
    _listing(("fix", "cost", "prior", "addresses", "change"), rows, output_format)


@app.command(name="config")
def show_config(
    profile: ProfileOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    tried: TriedOpt = None,
    isolated: IsolatedOpt = False,
    output_format: ListFormatOpt = ListFormat.text,
) -> None:
    """Print the effective configuration, the configuration file used, and where each value came from.

    Text is YAML (`key: value  # origin`, the header as comments): it loads back with any YAML reader."""
    import yaml

    from percediag.discovery import discover
    from percediag.rules.registry import load_settings

    settings = load_settings(config, profile, set_, tried, isolated=isolated)
    if settings.config_origin is not None:
        how = "--config" if config is not None else "discovered"
        file_line, config_file = f"{settings.config_origin} ({how})", str(settings.config_origin)
    elif isolated:
        file_line, config_file = "none (--isolated: discovery skipped)", None
    else:
        searched = discover().searched
        span = f"{searched[0]}" + (f" up to {searched[-1]}" if len(searched) > 1 else "")
        file_line, config_file = f"none (searched {span})", None
    values = {key: _plain(_lookup(settings, key)) for key in sorted(settings.origins)}
    if output_format is ListFormat.json:
        import json

        document = {"profile": settings.profile, "config_file": config_file,
                    "values": {key: {"value": value, "origin": settings.origins[key]} for key, value in values.items()}}
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
        return
    sys.stdout.write(f"# profile: {settings.profile}\n# config file: {file_line}\n")
    width = max((len(k) for k in values), default=10)
    for key, value in values.items():
        # One flow-style mapping per line, its braces dropped: a valid `key: value` line whatever the value.
        entry = yaml.safe_dump({key: value}, default_flow_style=True, width=1 << 30, sort_keys=False, allow_unicode=True).strip()[1:-1]
        name, _, text = entry.partition(": ")
        origin = " ".join(str(settings.origins[key]).split())
        sys.stdout.write(f"{name + ':':<{width + 1}} {text:<24}  # {origin}\n")


def _plain(value):
    """A settings value as plain data (YAML and JSON): tuples as lists, enum-like objects as strings."""
    if isinstance(value, dict):
        return {str(k) if not isinstance(k, (str, int, float)) else k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _lookup(settings, dotted: str):
    data = settings.model_dump()
    current = data
    parts = dotted.split(".")
    index = 0
    while index < len(parts):
        if isinstance(current, dict):
            # rule ids contain a dot: try the longest key first
            for length in (2, 1):
                key = ".".join(parts[index:index + length])
                candidates = [key, int(key)] if key.isdigit() else [key]
                found = next((c for c in candidates if c in current), None)
                if found is not None:
                    current = current[found]
                    index += length
                    break
            else:
                return "?"
        else:
            return "?"
    return current


def _main() -> None:
    """Run the app, turning user errors into one line and exit 2."""
    try:
        code = app(standalone_mode=False)
    except PercediagError as exc:
        # Messages quote file names and values the user gave: controls stripped (report.sanitize).
        from percediag.report.sanitize import clean

        sys.stderr.write(f"percediag: error: {clean(str(exc))}\n")
        sys.exit(EXIT_USAGE)
    except TyperException as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":
            # `percediag` alone: the help, as it is (typer raises it as a usage error).
            sys.stderr.write(exc.format_message().rstrip() + "\n")
            sys.exit(EXIT_USAGE)
        # Usage errors (unknown option, bad value): one line, exit 2.
        ctx = getattr(exc, "ctx", None)
        hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        from percediag.report.sanitize import clean

        message = " ".join(clean(exc.format_message()).split())
        sys.stderr.write(f"percediag: error: {message}{hint}\n")
        sys.exit(EXIT_USAGE if exc.exit_code in (1, 2) else exc.exit_code)
    except Abort:
        sys.stderr.write("percediag: interrupted\n")
        sys.exit(130)
    except Exit as exc:
        sys.exit(exc.exit_code)
    except BrokenPipeError:
        # The reader went away (`percediag rules | head`): not an error of ours.
        _silence_stdout()
        sys.exit(EXIT_OK)
    sys.exit(code if isinstance(code, int) else EXIT_OK)


class _Stdout:
    """sys.stdout for a command. A reader that goes away (EPIPE: `percediag diff a b | head`)
    silences the rest of the output instead of failing the command, so every command still
    ends with its own exit code; any other failure to write (a full disk: ENOSPC) is an
    OSError naming standard output."""

    def __init__(self, stream) -> None:
        self._stream = stream
        self.gone = False

    def write(self, text: str) -> int:
        if not self.gone:
            self._call(self._stream.write, text)
        return len(text)

    def flush(self) -> None:
        if not self.gone:
            self._call(self._stream.flush)

    def _call(self, method, *args) -> None:
        try:
            method(*args)
        except BrokenPipeError:
            self.gone = True
            _silence_stdout()
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, "standard output") from exc

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


class _Closed:
    """Standard output (or error) closed before percediag started (`percediag ... >&-`):
    writing to it is an error, said on stderr, not an AttributeError on None."""

    def __init__(self, name: str, fd: int) -> None:
        self.name, self._fd = name, fd
        self.buffer = self

    def write(self, data) -> int:
        raise OSError(errno.EBADF, "closed before percediag started", self.name)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self._fd

    encoding = "utf-8"


def _closed_fd(fd: int) -> bool:
    try:
        os.fstat(fd)
        return False
    except OSError:
        return True


def main() -> None:
    """Entry point: `_main`, with the environment made safe around it. No traceback, whatever
    the input or the environment: a closed or full stdout, an unreadable or over-long path, a
    deleted working directory, a bug (`internal error`, one line; PERCEDIAG_DEBUG=1 shows the
    traceback) all end in one line on stderr and exit 2; stdout is flushed before exiting, so
    a write that fails late fails here, not in the interpreter's shutdown."""
    saved = sys.stdout, sys.stderr
    # A closed descriptor 0-2 would be handed to the next file opened: hold each with /dev/null.
    for fd, name in ((1, "standard output"), (2, "standard error")):
        if _closed_fd(fd):
            os.dup2(os.open(os.devnull, os.O_RDWR), fd)
            if fd == 1:
                sys.stdout = _Closed(name, fd)
            else:
                sys.stderr = open(fd, "w", closefd=False)
    if sys.stdout is None:
        sys.stdout = _Closed("standard output", 1)
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w")
    # A terminal or pipe that cannot encode a character of a log (PYTHONIOENCODING=ascii) gets an
    # escape for it, not an internal error and no verdict.
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    sys.stdout = _Stdout(sys.stdout)
    program = _is_program()
    if program and sys.argv[1:2] and sys.argv[1] in _FORECASTING:
        # numpy's OpenBLAS starts a thread per core when it is imported (40 ms of CPU, measured):
        # a forecast's fits are far too small to use them. Set for the commands that forecast
        # and run no program of the user's (watch does: its command keeps the environment).
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    code = EXIT_OK
    try:
        _main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (EXIT_OK if exc.code is None else EXIT_USAGE)
    except KeyboardInterrupt:
        code = _fatal("interrupted", 130, prefix="percediag: ")
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        code = _fatal(f"{where}{exc.strerror or exc}")
    except MemoryError:
        code = _fatal("out of memory")
    except RecursionError:
        code = _fatal("input nested too deeply")
    except Exception as exc:  # a bug in percediag: still one line (the traceback on request)
        if os.environ.get("PERCEDIAG_DEBUG"):
            import traceback

            traceback.print_exc()
        code = _fatal(f"{type(exc).__name__}: {exc} (set PERCEDIAG_DEBUG=1 for the traceback)", prefix="percediag: internal error: ")
    try:
        sys.stdout.flush()
    except OSError as exc:
        code = _fatal(f"{exc.filename or 'standard output'}: {exc.strerror or exc}")
    finally:
        sys.stdout, sys.stderr = saved
    if program and _nothing_pending():
        # percediag is the program (its entry point or `python -m percediag`), and its output
        # is flushed: end without the interpreter's teardown, which frees every module
        # (numpy, pydantic, rich) one by one (70 ms of CPU for a small check, measured).
        # An in-process caller keeps its interpreter.
        _flush_streams()
        os._exit(code)
    sys.exit(code)


# The commands whose reports hold forecasts (numpy) and that start no program of the user's.
_FORECASTING = ("check", "diff", "history")


def _is_program() -> bool:
    """percediag is the program (its entry point or `python -m percediag`), not a caller's function."""
    return getattr(sys.modules.get("__main__"), "main", None) is main


def _nothing_pending() -> bool:
    """Nothing the teardown would still do: no exit handler registered (by a library or a
    plugin), no thread other than the main one that the interpreter would wait for. Otherwise
    percediag exits the ordinary way, and they run."""
    import atexit
    import threading

    handlers = getattr(atexit, "_ncallbacks", None)  # CPython's count of registered handlers
    if handlers is None or handlers():
        return False
    return all(thread.daemon for thread in threading.enumerate() if thread is not threading.main_thread())


def _flush_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            # Closed or gone: whatever it held was already said to be lost (see _fatal).
            pass


def _fatal(message: str, code: int = EXIT_USAGE, prefix: str = "percediag: error: ") -> int:
    """One line on stderr, after what stdout holds (a report printed before the failure) is
    flushed; if stdout cannot take it either, it is dropped, so nothing fails at exit."""
    from percediag.report.sanitize import clean

    try:
        sys.stdout.flush()
    except Exception:
        if isinstance(sys.stdout, _Stdout):
            sys.stdout.gone = True
        try:
            _silence_stdout()
        except (OSError, ValueError, AttributeError):
            pass
    try:
        sys.stderr.write(prefix + " ".join(clean(message).split()) + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    return code

