"""One `percediag watch` session: the loop that ties input, watcher, sinks and hooks together.

Exit codes: 1 when `--exit-on` fired (the command, if any, is stopped); with
`-- COMMAND`, otherwise the command's own exit code when it failed, else the
final gate; following a file, the final gate when `--idle-exit` ends it,
130 on Ctrl-C.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from percediag.errors import UsageError
from percediag.live.command import CommandRunner
from percediag.live.follow import FileFollower
from percediag.live.sinks import LiveSink, make_sink
from percediag.live.watcher import Watcher
from percediag.settings import SettingsRecipe

EXEC_TIMEOUT = 30.0


@dataclass
class WatchOptions:
    target: list[str]
    command: bool
    exit_on: str | None
    exec_command: str | None
    fmt: str
    tee: Path | None
    grace: float
    interval: float
    idle_exit: float | None
    fail_on: str


def _run_hook(command: str, event: dict) -> None:
    try:
        subprocess.run(shlex.split(command), input=json.dumps(event).encode(), timeout=EXEC_TIMEOUT, check=False,
                       stdout=sys.stderr, stderr=sys.stderr)
    except (OSError, subprocess.TimeoutExpired, ValueError) as exc:
        sys.stderr.write(f"percediag: warning: --exec {command}: {exc}\n")


def run_watch(recipe: SettingsRecipe, options: WatchOptions, console: Console | None) -> int:
    sink = make_sink(options.fmt, to_stderr=options.command, color_console=console)
    name = "<command>" if options.command else options.target[0]
    watcher = Watcher(recipe, sink, name)
    tee_handle = None
    runner = follower = None
    if options.command:
        if options.tee is not None:
            try:
                tee_handle = open(options.tee, "wb")
            except OSError as exc:
                raise UsageError(f"--tee {options.tee}: {exc.strerror or exc}") from exc
        runner = CommandRunner(options.target, tee=tee_handle)
    else:
        if Path(options.target[0]).is_dir():
            raise UsageError(f"{options.target[0]}: is a directory, not a log file")
        follower = FileFollower(options.target[0])
    last_data = time.monotonic()
    fired = None
    try:
        while True:
            if runner is not None:
                data = runner.poll(options.interval)
            else:
                data, event = follower.poll()
                if event in ("truncated", "rotated"):
                    watcher.reset(event)
            if data:
                watcher.feed(data)
                last_data = time.monotonic()
            else:
                watcher.idle()
                if follower is not None:
                    time.sleep(options.interval)
            events = watcher.evaluate()
            if isinstance(sink, LiveSink):
                sink.update(watcher.report)
            if options.exec_command:
                for event in events:
                    if event["event"] == "finding" and event["change"] == "alert":
                        _run_hook(options.exec_command, event)
            fired = watcher.triggered(events, options.exit_on)
            if fired is not None:
                break
            if runner is not None and runner.finished:
                break
            if options.idle_exit is not None and time.monotonic() - last_data > options.idle_exit:
                break
    except KeyboardInterrupt:
        if runner is not None:
            runner.stop(options.grace)
        watcher.evaluate(final=True)
        sink.close()
        return 130
    finally:
        if follower is not None:
            follower.close()
    if fired is not None and runner is not None:
        runner.stop(options.grace)
    watcher.evaluate(final=True)
    sink.close()
    if tee_handle is not None:
        tee_handle.close()
    if fired is not None:
        return 1
    report = watcher.report
    gate = 1 if report is not None and report.failed(options.fail_on) else 0
    if runner is not None and runner.returncode:
        return runner.returncode
    return gate
