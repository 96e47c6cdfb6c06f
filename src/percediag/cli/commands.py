"""The typer app: every command's options, help and usage errors. `check` is a thin wrapper
over cli.check.run_check (which a plain check line reaches without typer, see cli.quick);
the other commands are written here."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from typer.exceptions import Abort, Exit, TyperException

from percediag.cli.check import run_check
from percediag.cli.inputs import add_input, read_log, sources
from percediag.cli.choices import EXIT_FAIL, EXIT_OK, EXIT_USAGE, Color, FailOn, Format
from percediag.cli.streams import Closed, open_console
from percediag.errors import UsageError

app = typer.Typer(
    name="percediag",
    help="Read a PercePiano replica training log: what is healthy, what is broken, and which fix to try next.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


class ParseFormat(str, Enum):
    json = "json"


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


PAD_LIMIT = 60


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
        open_console(Color.auto).print(table)
        return
    # A column is padded to its widest value up to PAD_LIMIT: one long value (a rule's table of
    # stage bands) lengthens its own row, not every row of the listing. Nothing is cut.
    widths = [min(max(len(c) for c in column), PAD_LIMIT) for column in zip(columns, *cells)]
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


EventsOpt = Annotated[Optional[str], typer.Option(
    "--events", help="The run's TensorBoard log folder (or one event file, or a Lightning metrics.csv): "
                     "joined with the log by fold and epoch.")]


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
    # A plain `check` line never gets here: cli.quick reads it and calls run_check directly;
    # help, errors and any option cli.quick does not take are typer's.
    raise typer.Exit(run_check(paths=paths, profile=profile, config=config, set_=set_, tried=tried, history=history,
                               formats=formats, outputs=outputs, run=run, fail_on=fail_on, quiet=quiet, verbose=verbose,
                               color=color, baseline=baseline, events=events, isolated=isolated))


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
    from percediag.pipeline import check_log, compare_runs, settings_for
    from percediag.roundtable import summary_milestones
    from percediag.rules.registry import load_recipe

    recipe = load_recipe(config, profile, set_, isolated=isolated)
    old_log, new_log = (read_log(p) for p in (old, new))
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

        print_all(open_console(color), diff_renderables(result))
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
    from percediag.pipeline import check_log, rounds_file, settings_for
    from percediag.roundtable import summary_milestones
    from percediag.rules.registry import load_recipe

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
            add_input(inputs, path, "the input log")
        inputs.add(recipe.config_file, "the configuration file in use")
        for candidate in config_candidates():
            inputs.add(candidate, "a configuration file of this project")
        inputs.refuse(str(write_rounds), "--write-rounds")
    milestones = summary_milestones(settings.progression.milestones)
    logs = [read_log(p) for p in paths]
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

        print_all(open_console(color), [history_table(table)])


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
    if not command_mode:
        from percediag.sources import is_notebook_file

        if is_notebook_file(target[0]):
            raise UsageError(f"{target[0]}: a notebook is saved whole, not written line by line: check it with "
                             f"`percediag check {target[0]}`, or watch the training with `percediag watch -- COMMAND`")
    if command_mode and isinstance(getattr(sys.stdout, "_stream", sys.stdout), Closed):
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
        console = open_console(color)
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
            add_input(inputs, argument, "the command's argument")
            if argument.startswith("-") and "=" in argument:
                add_input(inputs, argument.partition("=")[2], "the command's argument")
    else:
        add_input(inputs, target[0], "the log being followed")
    add_input(inputs, events, "the --events input")
    inputs.add(config_file, "the configuration file in use")
    if command_mode:
        inputs.add_stdin()  # the command reads percediag's stdin (`-- cat < train.log`)
    for candidate in config_candidates():
        inputs.add(candidate, "a configuration file of this project")
    inputs.refuse(str(tee), "--tee")
    if not command_mode:
        raise UsageError("--tee copies a command's output: use it with `watch --tee FILE -- COMMAND ...`")


@app.command()
def parse(
    paths: Annotated[Optional[list[str]], typer.Argument(help="Log files ('-' or none: standard input).", show_default=False)] = None,
    output_format: Annotated[ParseFormat, typer.Option("--format", "-f", help="Output format.")] = ParseFormat.json,
) -> None:
    """Dump the parsed records (runs, folds, blocks, with line numbers) as JSON."""
    from percediag.pipeline import parse_source
    from percediag.report.sanitize import model_json

    logs = [parse_source(source) for source in sources(paths or [])]
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


def run_app() -> int:
    """Run the typer app on sys.argv; its usage errors become one line and exit 2. percediag's
    own errors (PercediagError) and a reader gone (BrokenPipeError) go up to the caller, which
    handles them the same for the quick path."""
    try:
        code = app(standalone_mode=False)
    except TyperException as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":
            # `percediag` alone: the help, as it is (typer raises it as a usage error).
            sys.stderr.write(exc.format_message().rstrip() + "\n")
            return EXIT_USAGE
        # Usage errors (unknown option, bad value): one line, exit 2.
        ctx = getattr(exc, "ctx", None)
        hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        from percediag.report.sanitize import clean

        message = " ".join(clean(exc.format_message()).split())
        sys.stderr.write(f"percediag: error: {message}{hint}\n")
        return EXIT_USAGE if exc.exit_code in (1, 2) else exc.exit_code
    except Abort:
        sys.stderr.write("percediag: interrupted\n")
        return 130
    except Exit as exc:
        return exc.exit_code
    return code if isinstance(code, int) else EXIT_OK
