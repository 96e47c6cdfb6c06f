"""percediag's standard streams: the rich console of the text report, stdout that survives a
reader going away, and stand-ins for a stream closed before percediag started."""

from __future__ import annotations

import errno
import os
import sys

from percediag.cli.choices import Color


def open_console(color: Color, stderr: bool = False):
    from rich.console import Console

    class PipeConsole(Console):
        def on_broken_pipe(self) -> None:
            # rich exits with 1 here; percediag lets the command decide (see silence_stdout).
            self.quiet = True
            raise BrokenPipeError

    # NO_COLOR counts only when set to something (https://no-color.org): NO_COLOR= is no request.
    no_color = color is Color.never or (color is Color.auto and bool(os.environ.get("NO_COLOR")))
    force = True if color is Color.always else None
    return PipeConsole(stderr=stderr, no_color=no_color, force_terminal=force, emoji=False, highlight=False)


def styled(color: Color) -> bool:
    """Would the console style its output? Asked for, or a terminal (as rich decides: FORCE_COLOR
    and TTY_COMPATIBLE=1 make one of any stream)."""
    if color is Color.always or os.environ.get("FORCE_COLOR") or os.environ.get("TTY_COMPATIBLE") == "1":
        return True
    isatty = getattr(sys.stdout, "isatty", None)
    return bool(isatty and isatty())


def silence_stdout() -> None:
    """The reader of stdout went away (`percediag check log | head`): later writes, and the
    interpreter's last flush, go nowhere instead of failing."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


class _Guarded:
    """A text stream whose write failures are the subclass's to handle (`_failed`); once it is
    `gone`, writes are dropped."""

    def __init__(self, stream) -> None:
        self._stream = stream
        self.gone = False

    def write(self, text: str) -> int:
        if not self.gone:
            self._call(self._stream.write, text)
        return len(text)

    def flush(self) -> None:
        if not self.gone:
            self._call(self._stream.flush)

    def _call(self, method, *args) -> None:
        try:
            method(*args)
        except OSError as exc:
            self._failed(exc)

    def _failed(self, exc: OSError) -> None:
        raise NotImplementedError

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


class Stdout(_Guarded):
    """sys.stdout for a command. A reader that goes away (EPIPE: `percediag diff a b | head`)
    silences the rest of the output instead of failing the command, so every command still
    ends with its own exit code; any other failure to write (a full disk: ENOSPC) is an
    OSError naming standard output."""

    def _failed(self, exc: OSError) -> None:
        if isinstance(exc, BrokenPipeError):
            self.gone = True
            silence_stdout()
            return
        raise OSError(exc.errno, exc.strerror, "standard output") from exc


class Stderr(_Guarded):
    """sys.stderr for a command. A reader of the messages that goes away (EPIPE: `2>&1 | head`,
    a CI log collector gone) or a stderr that cannot take them (full) costs the messages, never
    the verdict: the write is dropped and the command ends with its own exit code."""

    def _failed(self, exc: OSError) -> None:
        self.gone = True  # nowhere to say anything more: the exit code still says how it ended


class Closed:
    """Standard output (or error) closed before percediag started (`percediag ... >&-`):
    writing to it is an error, said on stderr, not an AttributeError on None."""

    def __init__(self, name: str, fd: int) -> None:
        self.name, self._fd = name, fd
        self.buffer = self

    def write(self, data) -> int:
        raise OSError(errno.EBADF, "closed before percediag started", self.name)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self._fd

    encoding = "utf-8"


def closed_fd(fd: int) -> bool:
    try:
        os.fstat(fd)
        return False
    except OSError:
        return True
