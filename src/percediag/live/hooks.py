"""`watch --exec CMD`: a hook per alert, run beside the watch, never in its way.

Each hook is started at once and left to run: its finding (JSON) is on its
standard input (from a temporary file, so a hook that never reads cannot
block), and it gets its own process group. Its output (stdout and stderr)
comes back through a pipe that the watch loop reads without waiting and
passes to percediag's stderr, up to OUTPUT_CAP bytes per hook; the rest is
read and dropped, and a warning says how much (a hook that floods cannot
grow percediag's memory or its stderr without bound). The watch loop only
polls: the training command's output keeps flowing while hooks run. A hook
still running after its timeout (`--exec-timeout`, TIMEOUT by default) is
killed (its whole group) with a warning; at most MAX_RUNNING run at once,
and an alert beyond that is skipped with a warning rather than queued
without bound. When the watch ends it waits for the hooks still running,
each within its timeout, so the alert that ended the watch is delivered.
"""

from __future__ import annotations

import os
import select
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

from percediag.live.sinks import jsonl

TIMEOUT = 30.0
MAX_RUNNING = 8
# Output of one hook passed on to stderr; what is beyond is dropped (and counted).
OUTPUT_CAP = 64 << 10
# Read per hook and poll at most this much, so a flooding hook cannot hold up the watch loop.
READ_PER_POLL = 1 << 20
_CHUNK = 65536


def _stderr_write(data: bytes) -> None:
    try:
        sys.stderr.flush()
        sys.stderr.buffer.write(data)
        sys.stderr.buffer.flush()
    except AttributeError:  # a text-only stderr (tests)
        sys.stderr.write(data.decode("utf-8", "replace"))
    except (OSError, ValueError):
        pass


def _warn_to_stderr(message: str) -> None:
    try:
        sys.stderr.write(f"percediag: warning: {message}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


@dataclass
class _Hook:
    process: subprocess.Popen
    deadline: float
    fd: int
    passed: int = 0
    dropped: int = 0
    open: bool = True


class Hooks:
    def __init__(self, command: str, timeout: float = TIMEOUT, write: Callable[[bytes], None] = _stderr_write,
                 warn: Callable[[str], None] = _warn_to_stderr) -> None:
        self.command = command
        self.timeout = timeout
        self.write = write
        self.warn = warn
        self.running: list[_Hook] = []
        try:
            self.argv = shlex.split(command)
        except ValueError as exc:
            self.argv = []
            self.warn(f"--exec {command}: {exc}")

    def run(self, event: dict) -> None:
        """Start the hook for one alert (no waiting)."""
        self.poll()
        if not self.argv:
            return
        if len(self.running) >= MAX_RUNNING:
            self.warn(f"--exec {self.argv[0]}: {MAX_RUNNING} hooks still running; this alert's hook is skipped")
            return
        try:
            with tempfile.TemporaryFile() as stdin:
                stdin.write(jsonl(event).encode())
                stdin.seek(0)
                process = subprocess.Popen(self.argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                           start_new_session=True)
        except (OSError, ValueError) as exc:
            self.warn(f"--exec {self.command}: {getattr(exc, 'strerror', None) or exc}")
            return
        fd = process.stdout.fileno()
        os.set_blocking(fd, False)
        self.running.append(_Hook(process, time.monotonic() + self.timeout, fd))

    def _read(self, hook: _Hook) -> None:
        """Pass on what the hook has written (up to the cap), without waiting."""
        budget = READ_PER_POLL
        while hook.open and budget > 0:
            try:
                data = os.read(hook.fd, _CHUNK)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                hook.open = False
                return
            budget -= len(data)
            room = max(0, OUTPUT_CAP - hook.passed)
            if room:
                self.write(data[:room])
                hook.passed += min(room, len(data))
            hook.dropped += max(0, len(data) - room)

    def _done(self, hook: _Hook) -> None:
        self._read(hook)
        hook.process.stdout.close()
        if hook.dropped:
            self.warn(f"--exec {self.argv[0]}: {hook.dropped:,} byte(s) of its output dropped "
                      f"(beyond the first {OUTPUT_CAP:,} passed on)")

    def poll(self) -> None:
        """Pass on hooks' output; forget finished hooks; kill those past their timeout."""
        now = time.monotonic()
        still = []
        for hook in self.running:
            self._read(hook)
            if hook.process.poll() is not None and not hook.open:
                self._done(hook)
                continue
            if now >= hook.deadline:
                self._kill(hook)
                continue
            still.append(hook)
        self.running = still

    def wait(self) -> None:
        """The watch ends: let running hooks finish, each within its timeout, their output passed on."""
        while self.running:
            self.poll()
            if not self.running:
                break
            fds = [hook.fd for hook in self.running if hook.open]
            left = min(hook.deadline for hook in self.running) - time.monotonic()
            pause = max(0.0, min(0.05, left))
            if fds:
                select.select(fds, [], [], pause)
            else:
                time.sleep(pause)

    def _kill(self, hook: _Hook) -> None:
        self.warn(f"--exec {self.argv[0]}: still running after {self.timeout:g} s; killed")
        try:
            os.killpg(hook.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        hook.process.wait()
        self._done(hook)
