"""`watch --exec CMD`: a hook per alert, run beside the watch, never in its way.

Each hook is started at once and left to run: its finding (JSON) is on its
standard input (from a temporary file, so a hook that never reads cannot
block), its output goes to percediag's stderr, and it gets its own process
group. The watch loop only polls: the training command's output keeps flowing
while hooks run. A hook still running after TIMEOUT seconds is killed (its
whole group) with a warning; at most MAX_RUNNING run at once, and an alert
beyond that is skipped with a warning rather than queued without bound. When
the watch ends it waits for the hooks still running, each within its timeout,
so the alert that ended the watch is delivered.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time

from percediag.live.sinks import jsonl

TIMEOUT = 30.0
MAX_RUNNING = 8


def _warn(message: str) -> None:
    try:
        sys.stderr.write(f"percediag: warning: {message}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def _stderr_fd() -> int | None:
    try:
        return sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        return None


class Hooks:
    def __init__(self, command: str, timeout: float = TIMEOUT) -> None:
        self.command = command
        self.timeout = timeout
        self.running: list[tuple[subprocess.Popen, float]] = []
        try:
            self.argv = shlex.split(command)
        except ValueError as exc:
            self.argv = []
            _warn(f"--exec {command}: {exc}")

    def run(self, event: dict) -> None:
        """Start the hook for one alert (no waiting)."""
        self.poll()
        if not self.argv:
            return
        if len(self.running) >= MAX_RUNNING:
            _warn(f"--exec {self.argv[0]}: {MAX_RUNNING} hooks still running; this alert's hook is skipped")
            return
        try:
            with tempfile.TemporaryFile() as stdin:
                stdin.write(jsonl(event).encode())
                stdin.seek(0)
                err = _stderr_fd()
                process = subprocess.Popen(self.argv, stdin=stdin, stdout=err, stderr=err, start_new_session=True)
        except (OSError, ValueError) as exc:
            _warn(f"--exec {self.command}: {getattr(exc, 'strerror', None) or exc}")
            return
        self.running.append((process, time.monotonic() + self.timeout))

    def poll(self) -> None:
        """Forget finished hooks; kill those past their timeout."""
        now = time.monotonic()
        still = []
        for process, deadline in self.running:
            if process.poll() is not None:
                continue
            if now >= deadline:
                self._kill(process)
                continue
            still.append((process, deadline))
        self.running = still

    def wait(self) -> None:
        """The watch ends: let running hooks finish, each within its timeout."""
        for process, deadline in self.running:
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._kill(process)
        self.running = []

    def _kill(self, process: subprocess.Popen) -> None:
        _warn(f"--exec {self.argv[0]}: still running after {self.timeout:g} s; killed")
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        process.wait()
