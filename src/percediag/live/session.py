"""One `percediag watch` session: the loop that ties input, watcher, sinks and hooks together.

Exit codes: 1 when `--exit-on` fired (the command, if any, is stopped); with
`-- COMMAND`, otherwise the command's own exit code when it failed (128 + N
when a signal N ended it), else the final gate; following a file, the final
gate when `--idle-exit` ends it. Ended from outside, 128 + the signal: 130 on
Ctrl-C, 143 on SIGTERM, 129 on SIGHUP, and 141 (SIGPIPE) when percediag's
stdout closes while it passes a command's output through; each of them stops
the command the same graceful way first. Whatever ends the watch, even an
error, the command is stopped, never left running unwatched. When percediag
cannot write the command's output (stdout or the --tee file full or failing),
the command gets that same graceful stop, then one error line and exit 2.
"""

from __future__ import annotations

import math
import os
import signal
import stat
import sys
import termios
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from rich.console import Console

from percediag.errors import UsageError
from percediag.live.command import CommandRunner, OutputFailed, Terminated, exit_code
from percediag.live.follow import FileFollower
from percediag.live.hooks import TIMEOUT, Hooks
from percediag.live.scalars import JoinedWatcher, ScalarFollower, ScalarWatcher, is_scalar_target
from percediag.live.sinks import LiveSink, make_sink
from percediag.live.watcher import Watcher
from percediag.report.sanitize import clean
from percediag.settings import SettingsRecipe
from percediag.sources import HOLE_CAUSE

# The numeric options, in seconds: (lowest, highest). Below --interval's lowest a poll loop
# spins a core for nothing (the alert latency is dominated by it: see the README); above the
# highest values a number is a typo (and beyond what sleep and select accept everywhere).
RANGES = {
    "--interval": (0.01, 60.0),
    "--grace": (0.0, 3600.0),
    "--idle-exit": (0.0, 1_000_000.0),
    "--exec-timeout": (0.1, 3600.0),
}


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
    pty: bool | None = None  # --pty / --pipe; None: a pseudo-terminal when stdout is a terminal
    exec_timeout: float = TIMEOUT
    events: str | None = None  # --events DIR: the run's event folder, joined with the text log


class _Signals:
    """SIGTERM and SIGHUP end the watch as Ctrl-C does (the command, if any, is stopped
    gracefully) instead of killing percediag on the spot and leaving the command behind.
    Armed, a signal raises (Terminated, or KeyboardInterrupt for SIGINT); disarmed, while
    the watch winds up, it is only recorded, and decides the exit code."""

    def __init__(self) -> None:
        self.armed = True
        self.received: int | None = None
        # Set by an armed signal: the raise may land in code that swallows it (once in about
        # sixty runs a stop was lost inside the forecast's numpy calls), so the loop asks again.
        self.pending: int | None = None
        self._previous: dict[int, object] = {}

    def _handler(self, signum, frame) -> None:
        if self.armed:
            self.pending = signum
            self.raise_pending()
        self.received = self.received or signum

    def raise_pending(self) -> None:
        """Raise for an armed signal received and not yet acted on (KeyboardInterrupt for SIGINT)."""
        signum = self.pending
        if signum is None:
            return
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise Terminated(signum)

    def __enter__(self) -> _Signals:
        try:
            for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
                self._previous[sig] = signal.signal(sig, self._handler)
        except ValueError:  # not the main thread: signals stay as they are
            pass
        return self

    def on_resize(self, callback) -> None:
        """SIGWINCH (percediag's terminal changed size) calls `callback`."""
        try:
            self._previous[signal.SIGWINCH] = signal.signal(signal.SIGWINCH, lambda signum, frame: callback())
        except ValueError:  # not the main thread
            pass

    def disarm(self) -> None:
        self.armed = False

    def __exit__(self, *exc) -> None:
        for sig, old in self._previous.items():
            signal.signal(sig, old)


def check_seconds(option: str, value: float | None) -> None:
    """Raise UsageError (one line) unless `value` is finite and within the option's RANGES."""
    if value is None:
        return
    low, high = RANGES[option]
    if not math.isfinite(value) or not low <= value <= high:
        raise UsageError(f"{option} {value:g}: give a number of seconds from {low:g} to {high:,.0f}")


class _LineGuard:
    """percediag's own lines (events, warnings, hook output) on stderr start on a line of their
    own when the command's output, on the same terminal or file, has stopped mid-line (a
    progress bar): a line break goes first, on stderr; the command's bytes are never touched."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.runner: CommandRunner | None = None
        self.shared = _same_file(1, 2)

    def _break(self) -> None:
        runner = self.runner
        if self.shared and runner is not None and not runner.at_line_start:
            self.stream.write("\n")
            runner.at_line_start = True

    def write(self, text: str) -> int:
        self._break()
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()

    def write_bytes(self, data: bytes) -> None:
        try:
            self._break()
            self.stream.flush()
            buffer = getattr(self.stream, "buffer", None)
            if buffer is None:
                self.stream.write(data.decode("utf-8", "replace"))
            else:
                buffer.write(data)
                buffer.flush()
        except (OSError, ValueError):
            pass

    def warn(self, message: str) -> None:
        try:
            self.write(f"percediag: warning: {message}\n")
            self.flush()
        except (OSError, ValueError):
            pass


def _warn(guard: _LineGuard | None, message: str) -> None:
    """A warning on stderr (on a line of its own after the command's output, when it shares the terminal)."""
    if guard is not None:
        guard.warn(message)
        return
    try:
        sys.stderr.write(f"percediag: warning: {message}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass  # stderr gone: the warning has nowhere to go, and the watch goes on


def _same_file(a: int, b: int) -> bool:
    try:
        first, second = os.fstat(a), os.fstat(b)
    except OSError:
        return False
    return (first.st_dev, first.st_ino) == (second.st_dev, second.st_ino)


class _Terminal:
    """The terminal on percediag's stdin, which the command reads too: if the command leaves it
    changed (a debugger killed in raw mode), it is set back as it was."""

    def __init__(self) -> None:
        self.saved = None
        try:
            if os.isatty(0):
                self.saved = termios.tcgetattr(0)
        except (OSError, termios.error):
            self.saved = None

    def restore(self) -> None:
        if self.saved is None:
            return
        try:
            if termios.tcgetattr(0) != self.saved:
                termios.tcsetattr(0, termios.TCSADRAIN, self.saved)
        except (OSError, termios.error):
            pass


def run_watch(recipe: SettingsRecipe, options: WatchOptions, console: Console | None) -> int:
    with _Signals() as signals:
        return _run_watch(recipe, options, console, signals)


def use_pty(choice: bool | None) -> bool:
    """A pseudo-terminal when asked (`--pty`), or by default when percediag's stdout is a terminal."""
    if choice is not None:
        return choice
    try:
        return os.isatty(1)
    except OSError:
        return False


def _run_watch(recipe: SettingsRecipe, options: WatchOptions, console: Console | None, signals: _Signals) -> int:
    guard = _LineGuard(sys.stderr) if options.command else None
    if guard is not None:
        sink = make_sink(options.fmt, to_stderr=True, color_console=None, stream=guard)
    else:
        sink = make_sink(options.fmt, to_stderr=False, color_console=console)
    name = "<command>" if options.command else options.target[0]
    # A TensorBoard folder, an event file or a metrics.csv is followed by file, record by record.
    scalars = not options.command and is_scalar_target(options.target[0])
    joined = ScalarFollower(options.events) if options.events is not None else None
    follower: FileFollower | ScalarFollower | None = None
    if scalars:
        follower = ScalarFollower(options.target[0])
        watcher = ScalarWatcher(recipe, sink, name, follower)
    elif joined is not None:
        watcher = JoinedWatcher(recipe, sink, name, joined)
    else:
        watcher = Watcher(recipe, sink, name)
    tee_handle = None
    runner: CommandRunner | None = None
    hooks = None
    if options.exec_command:
        hooks = Hooks(options.exec_command, options.exec_timeout) if guard is None else \
            Hooks(options.exec_command, options.exec_timeout, write=guard.write_bytes, warn=guard.warn)
    terminal = _Terminal() if options.command else None
    if options.command:
        created = False
        if options.tee is not None:
            # Opened without truncating: a command that cannot start leaves the file as it was;
            # it is emptied (without --append) only once the command runs.
            created = not os.path.lexists(options.tee)
            try:
                tee_handle = open(options.tee, "ab")
            except OSError as exc:
                raise UsageError(f"--tee {options.tee}: {exc.strerror or exc}") from exc
        try:
            runner = CommandRunner(options.target, tee=tee_handle, pty=use_pty(options.pty), tee_name=f"--tee {options.tee}")
        except BaseException:
            if tee_handle is not None:
                tee_handle.close()
                if created:
                    os.unlink(options.tee)
            raise
        if tee_handle is not None and not options.tee_append and stat.S_ISREG(os.fstat(tee_handle.fileno()).st_mode):
            try:
                tee_handle.truncate(0)
            except OSError as exc:
                runner.failure = runner.failure or OSError(exc.errno, exc.strerror, f"--tee {options.tee}")
        runner.on_data = watcher.feed
        guard.runner = runner
        if runner.pty:
            signals.on_resize(runner.resize)
    elif not scalars:
        follower = FileFollower(options.target[0])
    last_data = time.monotonic()
    fired = None
    interrupted: int | None = None
    failure: OSError | None = None
    try:
        try:
            while True:
                # Never wait past the idle deadline, whatever the interval.
                wait = options.interval
                if options.idle_exit is not None:
                    wait = max(0.0, min(wait, last_data + options.idle_exit - time.monotonic()))
                if runner is not None:
                    data = runner.poll(wait)
                else:
                    data, event = follower.poll()
                    if event in ("truncated", "rewritten", "rotated"):
                        watcher.reset(event)
                    hole = follower.take_hole() if isinstance(follower, FileFollower) else 0  # event files have none
                    if hole:
                        _warn(guard, f"{clean(options.target[0])}: skipped {hole:,} zero byte(s) at its start: {HOLE_CAUSE}")
                if joined is not None:
                    grew, _ = joined.poll()  # a file of it read again from its start is re-judged as it is
                    if grew:
                        watcher.events_grew(grew)
                        last_data = time.monotonic()
                if data:
                    watcher.feed(data)
                    last_data = time.monotonic()
                else:
                    watcher.idle()
                    if follower is not None:
                        time.sleep(wait)
                events = watcher.evaluate()
                signals.raise_pending()
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
                if options.idle_exit is not None and time.monotonic() - last_data >= options.idle_exit:
                    break
        except KeyboardInterrupt:
            interrupted = signal.SIGINT
        except Terminated as exc:
            interrupted = exc.signum
        except OutputFailed as exc:
            failure = exc.error
        if runner is not None and not runner.finished:
            runner.stop(options.grace)  # what it prints while stopping is judged too (on_data)
    finally:
        # Whatever ends the watch (an error included), the command is not left running.
        if runner is not None and not runner.finished:
            runner.on_data = None  # the watcher may be what failed
            runner.stop(options.grace)
        if terminal is not None:
            terminal.restore()
        if follower is not None:
            if isinstance(follower, FileFollower) and follower.hole:
                # The watch ends inside a hole: zeros and no text after them yet.
                _warn(guard, f"{clean(options.target[0])}: {follower.hole:,} zero byte(s) at its start and no text "
                             f"after them: {HOLE_CAUSE}?")
            follower.close()
        signals.disarm()
        if hooks is not None:
            hooks.wait()
    if runner is not None and runner.stop_error is not None:
        raise runner.stop_error
    failure = failure or (runner.failure if runner is not None else None)
    watcher.evaluate(final=True)
    sink.close()
    if tee_handle is not None:
        try:
            tee_handle.close()
        except OSError as exc:
            failure = failure or OSError(exc.errno, exc.strerror, f"--tee {options.tee}")
    if failure is not None:
        raise failure
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
