"""The `check` command, without typer: judge each log, then print the reports or write them
(`output_plan`, shared with the typer app). Where the logs come from is cli.inputs."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from percediag.cli.choices import EXIT_FAIL, EXIT_OK, Color, FailOn, Format
from percediag.cli.inputs import add_input, logs, read_baseline
from percediag.cli.streams import open_console, silence_stdout, styled
from percediag.errors import UsageError


def run_check(
    paths: list[str] | None = None,
    profile: str | None = None,
    config: Path | None = None,
    set_: list[str] | None = None,
    tried: list[str] | None = None,
    history: list[str] | None = None,
    formats: list[Format] | None = None,
    outputs: list[str] | None = None,
    run: str = "last",
    fail_on: FailOn = FailOn.fail,
    quiet: bool = False,
    verbose: bool = False,
    color: Color = Color.auto,
    baseline: str | None = None,
    events: str | None = None,
    isolated: bool = False,
) -> int:
    """`percediag check`, as the typer app and the quick reader both call it: judge each log,
    print or write the reports, and return the exit code (EXIT_FAIL when a report fails the
    --fail-on gate)."""
    from percediag.discovery import config_candidates
    from percediag.outputs import Inputs, distinct
    from percediag.pipeline import check_log, history_inputs, select_runs, settings_for
    from percediag.rules.registry import load_recipe

    recipe = load_recipe(config, profile, set_, tried, isolated=isolated)
    plan = output_plan(formats or [], outputs or [])
    files = [destination for _, destination in plan if destination != "-"]
    if files:
        inputs = Inputs()
        for path in paths or ["-"]:
            if path == "-":
                inputs.add_stdin()
            add_input(inputs, path, "the input log")
        add_input(inputs, events, "the --events input")
        add_input(inputs, baseline, "the --baseline log")
        for path in history or []:
            add_input(inputs, path, "the --history file")
        inputs.add(recipe.config_file, "the configuration file in use")
        for candidate in config_candidates():
            inputs.add(candidate, "a configuration file of this project")
        for destination in files:
            inputs.refuse(destination, "--output")
        distinct(files, "--output")
    recipe.history = history_inputs(history or [], recipe.build().ranking.escalation.margin)
    baseline_run = read_baseline(baseline)
    # The text report on stdout is printed as each report is made, so many logs never sit in
    # memory together; the other formats are documents of all the reports and hold them.
    streamed = ("text", "-") in plan
    held = [(name, destination) for name, destination in plan if (name, destination) != ("text", "-")]
    # A quiet check piped or redirected writes plain lines: rich is loaded only to style them.
    plain = streamed and quiet and not styled(color)
    console = open_console(color) if streamed and not plain else None
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
    for log, label in logs(paths or [], events, progress=not quiet):
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
            silence_stdout()
    if any(name == "github" for name, _ in held):
        _step_summary(reports)
    return EXIT_FAIL if failed else EXIT_OK


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


def _print_quiet(report) -> None:
    """The quiet line as plain text (what the console prints unstyled); a reader gone is not an error."""
    from percediag.report.quiet import quiet_text

    try:
        sys.stdout.write(quiet_text(report) + "\n")
    except BrokenPipeError:
        silence_stdout()


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
        silence_stdout()


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

        console = open_console(color)
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
