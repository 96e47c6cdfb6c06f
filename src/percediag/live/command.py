"""Run the training command, pass its output through unchanged, and hand the bytes on.

Its output reaches percediag as it is written, whatever the command:

- on a terminal (percediag's stdout is one), the command runs on a
  pseudo-terminal of its own, so it draws progress bars and colours as it
  would without percediag, and stdio line-buffers as on a terminal. The
  pseudo-terminal does no output processing (no `\\n` -> `\\r\\n`), so the
  bytes passed on are the command's own; its window size follows
  percediag's terminal (`resize`, on SIGWINCH). It is not the command's
  controlling terminal: job control and `/dev/tty` stay those of the shell.
- otherwise (or with `--pipe`), a pipe, with the environment variables that
  make runtimes write through a pipe at once (UNBUFFERED_ENV) set for it.

Either way stdout and stderr share the one stream, so their order is the
order they were written, and the command's stdin is percediag's own (a
`breakpoint()` or an `input()` in the script works).

The command runs in its own session, so a Ctrl-C at the terminal reaches only
percediag, which then stops the command the one graceful way (`stop`). On
Linux the command also gets SIGINT should percediag die without a chance to
(SIGKILL): it is never left running unwatched.
"""

from __future__ import annotations

import errno
import fcntl
import os
import select
import shutil
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from typing import BinaryIO

from percediag.errors import UsageError

# After SIGTERM, the command gets this long before SIGKILL: SIGTERM is the last signal it can
# act on (a trainer may write its log or a checkpoint there); a process that survives it this
# long is stuck, not saving.
TERM_TO_KILL = 5.0
# After the command has exited, its output is read until the stream closes, for at most this
# long: a process it left behind (a data loader worker) may hold the stream open.
DRAIN_AFTER_EXIT = 2.0
READ_SIZE = 65536
# Runtimes that block-buffer a pipe but write at once when told so by the environment.
UNBUFFERED_ENV = {"PYTHONUNBUFFERED": "1"}


class Terminated(BaseException):
    """percediag was asked to end (SIGTERM, SIGHUP, or its stdout closed: SIGPIPE's number);
    raised like KeyboardInterrupt, so the same graceful stop follows. 128 + signal is the exit code."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class OutputFailed(BaseException):
    """percediag cannot write the command's output (stdout full, --tee on a full disk): the
    command is stopped the graceful way, then `error` ends percediag (one line, exit 2)."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error)
        self.error = error


def exit_code(returncode: int) -> int:
    """A child's return code as a shell reports it: killed by signal N is 128 + N."""
    return 128 - returncode if returncode < 0 else returncode


def _die_with_parent() -> None:  # pragma: no cover - runs in the child, between fork and exec
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGINT)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def _open(fd: int) -> bool:
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False


def terminal_size() -> tuple[int, int]:
    """(rows, columns) of percediag's terminal (stdout, stderr or stdin), else $LINES/$COLUMNS or 24x80."""
    for fd in (1, 2, 0):
        try:
            rows, columns = struct.unpack("hhhh", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))[:2]
        except OSError:
            continue
        if rows > 0 and columns > 0:
            return rows, columns
    size = shutil.get_terminal_size((80, 24))
    return size.lines, size.columns


class CommandRunner:
    def __init__(self, argv: list[str], tee: BinaryIO | None = None, passthrough: BinaryIO | None = None,
                 pty: bool = False, tee_name: str = "--tee") -> None:
        self.pty = pty
        env = None
        slave = None
        # The command reads percediag's stdin; a closed one stays closed for it (as /dev/null).
        stdin = None if _open(0) else subprocess.DEVNULL
        if pty:
            try:
                self._fd, slave = os.openpty()
            except OSError as exc:
                raise UsageError(f"cannot open a pseudo-terminal for the command: {exc.strerror or exc}; "
                                 "run it on a pipe with --pipe") from exc
            attributes = termios.tcgetattr(slave)
            attributes[1] &= ~termios.OPOST  # the command's bytes as written, no "\r\n" for "\n"
            termios.tcsetattr(slave, termios.TCSANOW, attributes)
            self._set_size(*terminal_size())
            stdout, stderr = slave, slave
        else:
            env = {**os.environ}
            for key, value in UNBUFFERED_ENV.items():
                if not env.get(key):
                    env[key] = value
            stdout, stderr = subprocess.PIPE, subprocess.STDOUT
        try:
            self.process = subprocess.Popen(argv, stdin=stdin, stdout=stdout, stderr=stderr, env=env, start_new_session=True,
                                            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)
        except (OSError, ValueError) as exc:
            if pty:
                os.close(self._fd)
            raise UsageError(f"cannot run {argv[0]}: {getattr(exc, 'strerror', None) or exc}") from exc
        finally:
            if slave is not None:
                os.close(slave)  # the command holds it now: its end is our end of file
        if not pty:
            self._fd = self.process.stdout.fileno()
        self.tee = tee
        self.tee_name = tee_name
        self.out = passthrough if passthrough is not None else sys.stdout.buffer
        self.out_closed = False
        self.failure: OSError | None = None
        self.finished = False
        self.at_line_start = True  # the command's output so far ends a line (or there is none)
        # Bytes read while the command is being stopped go here too (the watcher), so the final
        # verdict judges what it printed while shutting down.
        self.on_data: Callable[[bytes], None] | None = None
        self.stopping = False
        self.stop_error: Exception | None = None  # raised by on_data during the stop

    def _set_size(self, rows: int, columns: int) -> None:
        fcntl.ioctl(self._fd, termios.TIOCSWINSZ, struct.pack("hhhh", rows, columns, 0, 0))

    def resize(self) -> None:
        """percediag's terminal changed size: the command's pseudo-terminal follows, and the
        command is told (SIGWINCH, as a terminal tells its foreground programs)."""
        if not self.pty or self.finished:
            return
        try:
            self._set_size(*terminal_size())
        except OSError:
            return
        self._signal(signal.SIGWINCH)

    def _read(self) -> bytes:
        try:
            return os.read(self._fd, READ_SIZE)
        except OSError as exc:
            if exc.errno == errno.EIO:  # a pseudo-terminal whose last writer has gone: its end of file
                return b""
            raise

    def poll(self, timeout: float) -> bytes:
        """Bytes the command wrote within `timeout` seconds (b'' and `finished` at its end).
        Raises Terminated(SIGPIPE) when percediag's own stdout has closed, OutputFailed when
        it or the --tee file cannot be written."""
        if self.finished:
            return b""
        ready, _, _ = select.select([self._fd], [], [], timeout)
        if not ready:
            if self.process.poll() is not None:
                self._finish()  # what is left goes to on_data
                self._raise_failure()
            return b""
        data = self._read()
        if not data:
            self._end()
            return b""
        self._pass(data)
        self._raise_failure()
        return data

    def _raise_failure(self) -> None:
        if self.failure is not None:
            raise OutputFailed(self.failure)
        if self.out_closed:
            raise Terminated(signal.SIGPIPE)

    def _pass(self, data: bytes) -> None:
        """To stdout and --tee; a destination that fails is given up (and the failure kept), never
        raised here: this runs while the command is being stopped, too."""
        self.at_line_start = data.endswith(b"\n")
        if not self.out_closed:
            try:
                self.out.write(data)
                self.out.flush()
            except BrokenPipeError:
                self.out_closed = True
            except ValueError:  # closed under us
                self.out_closed = True
            except OSError as exc:
                self.out_closed = True
                self.failure = self.failure or OSError(exc.errno, exc.strerror, "standard output")
        if self.tee is not None:
            try:
                self.tee.write(data)
                self.tee.flush()
            except OSError as exc:
                self.tee = None
                self.failure = self.failure or OSError(exc.errno, exc.strerror, self.tee_name)

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    def stop(self, grace: float) -> None:
        """SIGINT (a training loop's graceful shutdown), then SIGTERM after `grace`, then SIGKILL
        after TERM_TO_KILL; another interrupt meanwhile (Ctrl-C again, SIGTERM) skips the rest.
        Its output keeps flowing (and is judged) meanwhile, to the last byte."""
        self.stopping = True
        try:
            for sig, wait in ((signal.SIGINT, grace), (signal.SIGTERM, TERM_TO_KILL), (signal.SIGKILL, TERM_TO_KILL)):
                if self.process.poll() is not None:
                    break
                self._signal(sig)
                deadline = time.monotonic() + wait
                while time.monotonic() < deadline and self.process.poll() is None:
                    self.drain(0.05)
        except (KeyboardInterrupt, Terminated):
            self._signal(signal.SIGKILL)
        self.process.wait()
        if not self.finished:
            self._finish()

    def _signal(self, sig: int) -> None:
        try:
            os.killpg(self.process.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def _finish(self) -> None:
        """The command has exited: pass on what it left in the stream, until the stream closes
        or DRAIN_AFTER_EXIT has passed (a process it left behind may hold the stream open)."""
        deadline = time.monotonic() + DRAIN_AFTER_EXIT
        while True:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._fd], [], [], max(0.0, left))
            if not ready:
                break
            data = self._read()
            if not data:
                break
            self._pass(data)
            self._hand_on(data)
            if left <= 0:
                break
        self._end()

    def _end(self) -> None:
        self.process.wait()
        self.finished = True
        if self.pty:
            os.close(self._fd)
        else:
            self.process.stdout.close()

    def _hand_on(self, data: bytes) -> None:
        if self.on_data is None:
            return
        if not self.stopping:
            self.on_data(data)
            return
        try:
            self.on_data(data)
        except Exception as exc:  # kept for after the stop: an error must not cut the stop short
            self.on_data = None
            self.stop_error = exc

    def drain(self, timeout: float) -> None:
        """Keep passing output through (and on to the watcher) while the command shuts down, for
        at most `timeout` seconds: a command that never stops writing must not hold up its stop."""
        deadline = time.monotonic() + timeout
        while not self.finished:
            ready, _, _ = select.select([self._fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                return
            data = self._read()
            if not data:
                return
            self._pass(data)
            self._hand_on(data)
            if time.monotonic() >= deadline:
                return
