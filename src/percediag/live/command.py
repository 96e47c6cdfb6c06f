"""Run the training command, pass its output through unchanged, and hand the bytes on."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from typing import BinaryIO

from percediag.errors import UsageError


class CommandRunner:
    def __init__(self, argv: list[str], tee: BinaryIO | None = None, passthrough: BinaryIO | None = None) -> None:
        try:
            self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True)
        except OSError as exc:
            raise UsageError(f"cannot run {argv[0]}: {exc.strerror or exc}") from exc
        self.tee = tee
        self.out = passthrough if passthrough is not None else sys.stdout.buffer
        self._fd = self.process.stdout.fileno()
        self.finished = False

    def poll(self, timeout: float) -> bytes:
        """Bytes the command wrote within `timeout` seconds (b'' and `finished` at its end)."""
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
        self.out.write(data)
        self.out.flush()
        if self.tee is not None:
            self.tee.write(data)
            self.tee.flush()
        return data

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    def stop(self, grace: float) -> None:
        """SIGINT (a training loop's graceful shutdown), then SIGTERM, then SIGKILL."""
        for sig, wait in ((signal.SIGINT, grace), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            if self.process.poll() is not None:
                break
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline and self.process.poll() is None:
                self.drain(0.05)
        self.drain(0.0)
        self.process.wait()
        self.finished = True

    def drain(self, timeout: float) -> None:
        """Keep passing output through while the command shuts down."""
        while not self.finished:
            ready, _, _ = select.select([self._fd], [], [], timeout)
            if not ready:
                return
            data = os.read(self._fd, 65536)
            if not data:
                return
            self.out.write(data)
            self.out.flush()
            if self.tee is not None:
                self.tee.write(data)
                self.tee.flush()
