"""One `percediag watch` session: the loop that ties input, watcher, sinks and hooks together.

Exit codes: 1 when `--exit-on` fired (the command, if any, is stopped); with
`-- COMMAND`, otherwise the command's own exit code when it failed (128 + N
when a signal N ended it), else the final gate; following a file, the final
gate when `--idle-exit` ends it. Ended from outside, 128 + the signal: 130 on
Ctrl-C, 143 on SIGTERM, 129 on SIGHUP, and 141 (SIGPIPE) when percediag's
stdout closes while it passes a command's output through; each of them stops
the command the same graceful way first. Whatever ends the watch, even an
error, the command is stopped, never left running unwatched.
"""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from percediag.errors import UsageError
from percediag.live.command import CommandRunner, Terminated, exit_code
from percediag.live.follow import FileFollower
from percediag.live.hooks import Hooks
from percediag.live.sinks import LiveSink, make_sink
from percediag.live.watcher import Watcher
from percediag.settings import SettingsRecipe


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
    tee_append: bool = False  # --append: add to the --tee file instead of replacing it


class _Signals:
    """SIGTERM and SIGHUP end the watch as Ctrl-C does (the command, if any, is stopped
    gracefully) instead of killing percediag on the spot and leaving the command behind.
    Armed, a signal raises (Terminated, or KeyboardInterrupt for SIGINT); disarmed, while
    the watch winds up, it is only recorded, and decides the exit code."""

    def __init__(self) -> None:
        self.armed = True
        self.received: int | None = None
        self._previous: dict[int, object] = {}

    def _handler(self, signum, frame) -> None:
        if self.armed:
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            raise Terminated(signum)
        self.received = self.received or signum

    def __enter__(self) -> _Signals:
        try:
            for sig in (signal.SIGTERM, signal.SIGHUP):
                self._previous[sig] = signal.signal(sig, self._handler)
        except ValueError:  # not the main thread: signals stay as they are
            pass
        return self

    def disarm(self) -> None:
        self.armed = False
        if self._previous:
            self._previous[signal.SIGINT] = signal.signal(signal.SIGINT, self._handler)

    def __exit__(self, *exc) -> None:
        for sig, old in self._previous.items():
            signal.signal(sig, old)


def run_watch(recipe: SettingsRecipe, options: WatchOptions, console: Console | None) -> int:
    with _Signals() as signals:
        return _run_watch(recipe, options, console, signals)


def _run_watch(recipe: SettingsRecipe, options: WatchOptions, console: Console | None, signals: _Signals) -> int:
    sink = make_sink(options.fmt, to_stderr=options.command, color_console=console)
    name = "<command>" if options.command else options.target[0]
    watcher = Watcher(recipe, sink, name)
    tee_handle = None
    runner = follower = None
    hooks = Hooks(options.exec_command) if options.exec_command else None
    if options.command:
        if options.tee is not None:
            try:
                tee_handle = open(options.tee, "ab" if options.tee_append else "wb")
            except OSError as exc:
                raise UsageError(f"--tee {options.tee}: {exc.strerror or exc}") from exc
        runner = CommandRunner(options.target, tee=tee_handle)
    else:
        if Path(options.target[0]).is_dir():
            raise UsageError(f"{options.target[0]}: is a directory, not a log file")
        follower = FileFollower(options.target[0])
    last_data = time.monotonic()
    fired = None
    interrupted: int | None = None
    try:
        try:
            while True:
                if runner is not None:
                    data = runner.poll(options.interval)
                else:
                    data, event = follower.poll()
                    if event in ("truncated", "rewritten", "rotated"):
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
                if hooks is not None:
                    hooks.poll()
                    for event in events:
                        if event["event"] == "finding" and event["change"] == "alert":
                            hooks.run(event)
                fired = watcher.triggered(events, options.exit_on)
                if fired is not None:
                    break
                if runner is not None and runner.finished:
                    break
                if options.idle_exit is not None and time.monotonic() - last_data > options.idle_exit:
                    break
        except KeyboardInterrupt:
            interrupted = signal.SIGINT
        except Terminated as exc:
            interrupted = exc.signum
        if runner is not None and (fired is not None or interrupted is not None):
            runner.stop(options.grace)
    finally:
        # Whatever ends the watch (an error included), the command is not left running.
        if runner is not None and not runner.finished:
            runner.stop(options.grace)
        if follower is not None:
            follower.close()
        signals.disarm()
        if hooks is not None:
            hooks.wait()
    watcher.evaluate(final=True)
    sink.close()
    if tee_handle is not None:
        tee_handle.close()
    interrupted = interrupted or signals.received
    if interrupted is not None:
        return 128 + interrupted
    if fired is not None:
        return 1
    report = watcher.report
    gate = 1 if report is not None and report.failed(options.fail_on) else 0
    if runner is not None and runner.returncode:
        return exit_code(runner.returncode)
    return gate
