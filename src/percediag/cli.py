"""The command line: a thin typer app over the pipeline.

Exit codes (ruff/pytest style): 0 no finding fails the gate, 1 a finding
does (including `log.no_data`), 2 usage error, unreadable input or bad
configuration, printed as one line on stderr.
"""

from __future__ import annotations

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


ProfileOpt = Annotated[Optional[str], typer.Option("--profile", "-p", help="Bundled profile to start from (see `percediag profiles`).")]
ConfigOpt = Annotated[Optional[Path], typer.Option("--config", "-c", help="Configuration file (default: .percediag.yaml upward, then pyproject.toml).")]
SetOpt = Annotated[Optional[list[str]], typer.Option("--set", help="Override one value, e.g. activation.logit_std.min=0.4 (repeatable).")]
TriedOpt = Annotated[Optional[list[str]], typer.Option("--tried", help="A fix already tried, as ID or ID=OUTCOME (helped, no-effect, worse): demoted, not dropped (repeatable).")]
HistoryOpt = Annotated[Optional[list[str]], typer.Option("--history", help="An earlier round: its log, or a rounds file (.yaml) as `history --write-rounds` writes (repeatable).")]


def _console(color: Color, stderr: bool = False):
    from rich.console import Console

    class PipeConsole(Console):
        def on_broken_pipe(self) -> None:
            # rich exits with 1 here; percediag lets the command decide (see _silence_stdout).
            self.quiet = True
            raise BrokenPipeError

    no_color = color is Color.never or (color is Color.auto and "NO_COLOR" in os.environ)
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
    color: Annotated[Color, typer.Option("--color", help="Colour: auto (terminal, no NO_COLOR), always, never.")] = Color.auto,
    baseline: Annotated[Optional[str], typer.Option("--baseline", "-b", help="An earlier log to compare with (adds architecture.param_delta and progression.regression).")] = None,
) -> None:
    """Judge a training log against the active profile and rank the next fixes."""
    from percediag.discovery import load_recipe
    from percediag.pipeline import check_log, history_inputs, parse_source, select_runs, settings_for

    recipe = load_recipe(config, profile, set_, tried)
    recipe.history = history_inputs(history or [], recipe.build().ranking.escalation.margin)
    plan = output_plan(formats or [], outputs or [])
    baseline_run = _baseline(baseline)
    reports = []
    for source in _sources(paths or []):
        log = parse_source(source)
        label = source.label if source.has_labels else None
        for index in select_runs(log, run):
            settings, choice = settings_for(recipe, log, index)
            reports.append(check_log(log, settings, index, label, baseline_run, choice))
    for name, destination in plan:
        try:
            _emit(name, destination, reports, color, quiet)
        except BrokenPipeError:
            if destination != "-":
                raise
            # The verdict does not depend on who reads it: the exit code below still gates CI.
            _silence_stdout()
    failed = any(report.failed(fail_on.value) for report in reports)
    raise typer.Exit(EXIT_FAIL if failed else EXIT_OK)


def _baseline(path: str | None):
    if path is None:
        return None
    from percediag.pipeline import parse_source
    from percediag.sources import LogSource

    return parse_source(LogSource.from_path(path)).runs[-1]


class CompareFormat(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"


@app.command()
def diff(
    old: Annotated[str, typer.Argument(help="The earlier log (the baseline).")],
    new: Annotated[str, typer.Argument(help="The later log.")],
    profile: ProfileOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    output_format: Annotated[CompareFormat, typer.Option("--format", "-f", help="Output format.")] = CompareFormat.text,
    color: Annotated[Color, typer.Option("--color", help="Colour: auto, always, never.")] = Color.auto,
) -> None:
    """Compare two runs: architecture, configuration, metrics, R2, findings that changed; exit 1 if NEW regressed."""
    from percediag.compare.diff import diff as make_diff
    from percediag.compare.summary import summarise
    from percediag.discovery import load_recipe
    from percediag.pipeline import check_log, compare_runs, parse_source, settings_for
    from percediag.sources import LogSource

    recipe = load_recipe(config, profile, set_)
    old_log, new_log = (parse_source(LogSource.from_path(p)) for p in (old, new))
    old_settings, old_choice = settings_for(recipe, old_log)
    settings, new_choice = settings_for(recipe, new_log)
    old_report = check_log(old_log, old_settings, choice=old_choice)
    new_report = check_log(new_log, settings, choice=new_choice)
    comparison = compare_runs(new_log.runs[-1], old_log.runs[-1], settings)
    milestones = sorted({5, 10, 20, *settings.progression.milestones})
    regression = settings.rule("progression.regression")
    result = make_diff(summarise(old_report, milestones), summarise(new_report, milestones), comparison,
                       regression.tolerance, regression.decisive_gain)
    if output_format is CompareFormat.json:
        sys.stdout.write(result.model_dump_json(indent=2) + "\n")
    elif output_format is CompareFormat.markdown:
        from percediag.report.comparison import diff_markdown

        sys.stdout.write(diff_markdown(result))
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
    write_rounds: Annotated[Optional[Path], typer.Option("--write-rounds", help="Also write the logs as a rounds file (round, best R2, fixes applied, outcome) for `check --history`.")] = None,
) -> None:
    """The experiment log table: one row per run with its architecture, activations, R2 milestones and status."""
    import glob

    from percediag.compare.history import History
    from percediag.compare.summary import summarise
    from percediag.discovery import load_recipe
    from percediag.pipeline import check_log, parse_source, rounds_file, settings_for
    from percediag.sources import LogSource

    recipe = load_recipe(config, profile, set_)
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
    milestones = sorted({5, 10, 20, *settings.progression.milestones})
    logs = [parse_source(LogSource.from_path(p)) for p in paths]
    summaries = []
    for log in logs:
        log_settings, choice = settings_for(recipe, log)
        summaries.append(summarise(check_log(log, log_settings, choice=choice), milestones))
    table = History(runs=summaries)
    if write_rounds is not None:
        text = rounds_file(list(zip(logs, paths)), settings.ranking.escalation.margin)
        try:
            write_rounds.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"--write-rounds {write_rounds}: cannot write: {exc.strerror or exc}") from exc
    if output_format is CompareFormat.json:
        sys.stdout.write(table.model_dump_json(indent=2) + "\n")
    elif output_format is CompareFormat.markdown:
        from percediag.report.comparison import history_markdown

        sys.stdout.write(history_markdown(table))
    else:
        from percediag.report.comparison import history_table

        _console(color).print(history_table(table))


class WatchFormat(str, Enum):
    text = "text"
    jsonl = "jsonl"


class ExitOn(str, Enum):
    fail = "fail"
    warn = "warn"


@app.command()
def watch(
    target: Annotated[Optional[list[str]], typer.Argument(help="A log file to follow, or after `--` a command to run.", show_default=False)] = None,
    profile: ProfileOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    tried: TriedOpt = None,
    exit_on: Annotated[Optional[ExitOn], typer.Option("--exit-on", help="End with exit 1 at the first finding at this level (and stop the command).")] = None,
    exec_: Annotated[Optional[str], typer.Option("--exec", help="Run this command on each alert, the finding as JSON on its stdin.")] = None,
    output_format: Annotated[WatchFormat, typer.Option("--format", "-f", help="text (a live view on a terminal, else lines) or jsonl (one JSON event per change).")] = WatchFormat.text,
    tee: Annotated[Optional[Path], typer.Option("--tee", help="With -- COMMAND: also write the command's output to this file.")] = None,
    grace: Annotated[float, typer.Option("--grace", help="Seconds between SIGINT and SIGTERM when stopping the command.")] = 10.0,
    interval: Annotated[float, typer.Option("--interval", help="Seconds between polls of the file.")] = 0.1,
    idle_exit: Annotated[Optional[float], typer.Option("--idle-exit", help="Stop following after the file has not grown for this many seconds.")] = None,
    fail_on: Annotated[FailOn, typer.Option("--fail-on", help="Gate of the final status, when the watch ends on its own.")] = FailOn.fail,
    color: Annotated[Color, typer.Option("--color", help="Colour: auto, always, never.")] = Color.auto,
) -> None:
    """Follow a training log as it grows (or run the training command) and alert the moment a finding turns bad."""
    from percediag.discovery import load_recipe
    from percediag.live.session import WatchOptions, run_watch

    if not target:
        raise UsageError("watch needs a log file, or `-- COMMAND ARGS...`")
    command_mode = "--" in sys.argv[sys.argv.index("watch") + 1:] if "watch" in sys.argv else False
    if not command_mode and len(target) > 1:
        raise UsageError("watch follows one log file; to run a command put it after `--`")
    recipe = load_recipe(config, profile, set_, tried)
    console = None
    if output_format is WatchFormat.text and not command_mode and color is not Color.never and sys.stdout.isatty():
        console = _console(color)
    options = WatchOptions(
        target=target, command=command_mode, exit_on=exit_on.value if exit_on else None, exec_command=exec_,
        fmt=output_format.value, tee=tee, grace=grace, interval=interval, idle_exit=idle_exit, fail_on=fail_on.value,
    )
    raise typer.Exit(run_watch(recipe, options, console))


def output_plan(formats: list[Format], outputs: list[str]) -> list[tuple[str, str]]:
    """Pair each --output with the --format at the same position; the rest go to stdout.

    `auto` is `github` inside GitHub Actions (GITHUB_ACTIONS=true), else `text`.
    """
    chosen = [f.value for f in formats] or ["auto"]
    if len(outputs) > len(chosen):
        raise UsageError(f"{len(outputs)} --output for {len(chosen)} --format: give each output its format")
    auto = "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"
    plan = [(auto if name == "auto" else name, outputs[i] if i < len(outputs) else "-") for i, name in enumerate(chosen)]
    if sum(1 for _, destination in plan if destination == "-") > 1:
        raise UsageError("only one --format can go to stdout; give the others an --output FILE")
    return plan


def _emit(name: str, destination: str, reports, color: Color, quiet: bool) -> None:
    from percediag.report import renderer

    if destination == "-" and name == "text":
        from percediag.report.text import print_report

        console = _console(color)
        for number, report in enumerate(reports):
            if number and not quiet:
                console.rule()
            print_report(report, console, quiet=quiet)
        return
    text = renderer(name)(reports)
    if destination == "-":
        sys.stdout.write(text)
        return
    try:
        Path(destination).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--output {destination}: cannot write: {exc.strerror or exc}") from exc


@app.command()
def parse(
    paths: Annotated[Optional[list[str]], typer.Argument(help="Log files ('-' or none: standard input).", show_default=False)] = None,
    output_format: Annotated[ParseFormat, typer.Option("--format", "-f", help="Output format.")] = ParseFormat.json,
) -> None:
    """Dump the parsed records (runs, folds, blocks, with line numbers) as JSON."""
    from percediag.pipeline import parse_source

    logs = [parse_source(source) for source in _sources(paths or [])]
    for log in logs:
        sys.stdout.write(log.model_dump_json(indent=2) + "\n")
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
) -> None:
    """List every rule: id, whether enabled, its thresholds in the active configuration, and why."""
    from rich.table import Table

    from percediag.discovery import load_settings
    from percediag.rules import registry

    settings = load_settings(config, profile, set_)
    table = Table(box=None, pad_edge=False, header_style="bold", title=f"Rules (profile {settings.profile})", title_justify="left")
    for column in ("rule", "on", "severity", "thresholds", "reason"):
        table.add_column(column, overflow="fold")
    for module in registry.modules():
        options = settings.rule(module.ID)
        for rule_id in (module.ids(settings) if hasattr(module, "ids") else [module.ID]):
            severity, thresholds, reason = options.severity, _thresholds(options), options.reason
            if rule_id.startswith("progression.epoch_"):
                epoch = int(rule_id.rsplit("_", 1)[1])
                thresholds = f"R2 > {settings.progression.milestones[epoch]:g} after {epoch} epochs"
                reason = settings.progression.notes.get(epoch, reason)
            elif rule_id.startswith("baseline.") and rule_id != module.ID:
                baseline = settings.baselines[rule_id.split(".", 1)[1]]
                severity, thresholds, reason = baseline.severity, f"R2 > {baseline.r2:g} ({baseline.label})", baseline.reason
            table.add_row(rule_id, "yes" if options.enabled else "no", severity, thresholds, reason)
    _console(Color.auto).print(table)


def _thresholds(options) -> str:
    skip = {"enabled", "severity", "reason", "reasons"}
    parts = [f"{k}={v}" for k, v in options.model_dump().items() if k not in skip and v not in (None, "")]
    return ", ".join(parts) or "-"


@app.command()
def explain(rule_id: Annotated[str, typer.Argument(help="A rule id, e.g. activation.logit_std or progression.epoch_10.")]) -> None:
    """Print a rule's full documentation."""
    import difflib

    from percediag.rules import registry

    module = registry.module_for(rule_id)
    if module is None:
        known = registry.module_ids()
        hint = difflib.get_close_matches(rule_id, known, n=1)
        raise UsageError(f"unknown rule '{rule_id}'" + (f"; did you mean '{hint[0]}'?" if hint else "; see `percediag rules`"))
    sys.stdout.write((module.__doc__ or "").strip() + "\n")


@app.command()
def profiles() -> None:
    """List the bundled profiles and what each expects."""
    from rich.table import Table

    from percediag.settings import build_settings, profile_names

    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("profile", "extends", "round", "head", "learning rate", "applied fixes (round)", "milestones", "baselines", "title"):
        table.add_column(column, overflow="fold")
    from percediag.settings import configs_dir, read_yaml

    for name in profile_names():
        settings = build_settings(name)
        raw = read_yaml(configs_dir() / "profiles" / f"{name}.yaml")
        head = settings.rule("architecture.prediction_head")
        lr = settings.rule("architecture.learning_rate")
        milestones = ", ".join(f"{e}:{v:g}" for e, v in settings.progression.milestones.items()) or "-"
        baselines = ", ".join(f"{k} {b.r2:g}" for k, b in settings.baselines.items()) or "-"
        applied = ", ".join(f"{fix} ({entry.round})" for fix, entry in sorted(settings.applied.items(), key=lambda i: i[1].round)) or "-"
        table.add_row(name, raw.get("extends") or "-", str(settings.round) if settings.round is not None else "-",
                      head.expected if head.enabled and head.expected else "-",
                      f"{lr.expected:.1e}" if lr.enabled and lr.expected else "-", applied, milestones, baselines, settings.title)
    _console(Color.auto).print(table)


@app.command()
def fixes() -> None:
    """List the fix catalog: id, cost, prior, the causes each addresses, and the change to make."""
    from rich.table import Table

    from percediag.diagnose.tables import tables

    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("fix", "cost", "prior", "addresses", "change"):
        table.add_column(column, overflow="fold")
    for fix in tables().fixes:
        table.add_row(fix.id, fix.cost, f"{fix.prior:.2f}", ", ".join(fix.addresses), fix.change)
    _console(Color.auto).print(table)


@app.command(name="config")
def show_config(
    profile: ProfileOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    tried: TriedOpt = None,
) -> None:
    """Print the effective configuration and where each value came from."""
    from percediag.discovery import load_settings

    settings = load_settings(config, profile, set_, tried)
    width = max((len(k) for k in settings.origins), default=10)
    sys.stdout.write(f"profile: {settings.profile}\n")
    for key in sorted(settings.origins):
        value = " ".join(str(_lookup(settings, key)).split())
        sys.stdout.write(f"{key:<{width}}  {value:<24}  # {settings.origins[key]}\n")


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


def main() -> None:
    """Entry point: run the app, turning user errors into one line and exit 2."""
    try:
        code = app(standalone_mode=False)
    except PercediagError as exc:
        sys.stderr.write(f"percediag: error: {exc}\n")
        sys.exit(EXIT_USAGE)
    except TyperException as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":
            # `percediag` alone: the help, as it is (typer raises it as a usage error).
            sys.stderr.write(exc.format_message().rstrip() + "\n")
            sys.exit(EXIT_USAGE)
        # Usage errors (unknown option, bad value): one line, exit 2.
        ctx = getattr(exc, "ctx", None)
        hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        message = " ".join(exc.format_message().split())
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
