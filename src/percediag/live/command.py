"""Run the training command, pass its output through unchanged, and hand the bytes on.

The command runs in its own session, so a Ctrl-C at the terminal reaches only
percediag, which then stops the command the one graceful way (`stop`). On
Linux the command also gets SIGINT should percediag die without a chance to
(SIGKILL): it is never left running unwatched.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from typing import BinaryIO

from percediag.errors import UsageError


class Terminated(BaseException):
    """percediag was asked to end (SIGTERM, SIGHUP, or its stdout closed: SIGPIPE's number);
    raised like KeyboardInterrupt, so the same graceful stop follows. 128 + signal is the exit code."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def exit_code(returncode: int) -> int:
    """A child's return code as a shell reports it: killed by signal N is 128 + N."""
    return 128 - returncode if returncode < 0 else returncode


def _die_with_parent() -> None:  # pragma: no cover - runs in the child, between fork and exec
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGINT)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class CommandRunner:
    def __init__(self, argv: list[str], tee: BinaryIO | None = None, passthrough: BinaryIO | None = None) -> None:
        try:
            self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True,
                                            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot run {argv[0]}: {getattr(exc, 'strerror', None) or exc}") from exc
        self.tee = tee
        self.out = passthrough if passthrough is not None else sys.stdout.buffer
        self.out_closed = False
        self._fd = self.process.stdout.fileno()
        self.finished = False

    def poll(self, timeout: float) -> bytes:
        """Bytes the command wrote within `timeout` seconds (b'' and `finished` at its end).
        Raises Terminated(SIGPIPE) when percediag's own stdout has closed."""
        if self.finished:
            return b""
        ready, _, _ = select.select([self._fd], [], [], timeout)
        if not ready:
            return b""
        data = os.read(self._fd, 65536)
        if not data:
            self.process.wait()
            self.finished = True
            return b""
        self._pass(data)
        if self.out_closed:
            raise Terminated(signal.SIGPIPE)
        return data

    def _pass(self, data: bytes) -> None:
        if not self.out_closed:
            try:
                self.out.write(data)
                self.out.flush()
            except (BrokenPipeError, ValueError):
                self.out_closed = True
        if self.tee is not None:
            self.tee.write(data)
            self.tee.flush()

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    def stop(self, grace: float) -> None:
        """SIGINT (a training loop's graceful shutdown), then SIGTERM, then SIGKILL; another
        interrupt meanwhile (Ctrl-C again, SIGTERM) skips the rest of the grace."""
        try:
            for sig, wait in ((signal.SIGINT, grace), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
                if self.process.poll() is not None:
                    break
                self._signal(sig)
                deadline = time.monotonic() + wait
                while time.monotonic() < deadline and self.process.poll() is None:
                    self.drain(0.05)
        except (KeyboardInterrupt, Terminated):
            self._signal(signal.SIGKILL)
        self.process.wait()
        self.drain(0.0)
        self.finished = True

    def _signal(self, sig: int) -> None:
        try:
            os.killpg(self.process.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def drain(self, timeout: float) -> None:
        """Keep passing output through while the command shuts down."""
        while not self.finished:
            ready, _, _ = select.select([self._fd], [], [], timeout)
            if not ready:
                return
            data = os.read(self._fd, 65536)
            if not data:
                return
            self._pass(data)
