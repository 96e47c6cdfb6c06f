"""Where percediag writes files: never over what it reads, never half a file.

Every file a command reads (input logs, `--baseline`, `--history` logs and
rounds files, the configuration in use, a file behind redirected standard
input) is remembered by its device and inode, so a destination that is the
same file by any name (the path itself, a symlink to it, a hard link) is
refused before anything is written. Reports and rounds files are written
atomically: a temporary file in the destination's folder, then `os.replace`;
a failed write leaves an existing file as it was. Devices and pipes
(`/dev/stdout`, a FIFO) are written directly: they cannot be replaced. A
destination that is the process's own stdout by another name (`-o /dev/stdout`
with `>> file`) is stdout: written in order, never replacing the file, and it
counts as the one format that may go to stdout.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from percediag.errors import UsageError


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


class Inputs:
    """The files a command reads, by identity (st_dev, st_ino), each with what it is to the command."""

    def __init__(self) -> None:
        self._files: dict[tuple[int, int], str] = {}

    def add(self, path: str | os.PathLike[str] | None, role: str) -> None:
        """Remember `path` (a file that does not exist yet cannot be overwritten: it is skipped)."""
        if path is None or str(path) == "-":
            return
        try:
            info = os.stat(path)
        except (OSError, ValueError):
            return
        if stat.S_ISREG(info.st_mode):
            self._files.setdefault((info.st_dev, info.st_ino), f"{role} {os.fspath(path)}")

    def add_stdin(self) -> None:
        """Standard input redirected from a file (`percediag check < train.log`) is an input too."""
        try:
            info = os.fstat(sys.stdin.fileno())
        except (AttributeError, OSError, ValueError):
            return
        if stat.S_ISREG(info.st_mode):
            self._files.setdefault((info.st_dev, info.st_ino), "the file on standard input")

    def refuse(self, destination: str, option: str) -> None:
        """Raise UsageError when `destination` is a folder, or the same file as any input."""
        if not destination:
            raise UsageError(f"{option}: an empty file name")
        try:
            info = os.stat(destination)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise UsageError(f"{option} {destination}: cannot write: {_reason(exc)}") from exc
        except ValueError as exc:  # an embedded NUL
            raise UsageError(f"{option} {destination!r}: not a valid file name") from exc
        if stat.S_ISDIR(info.st_mode):
            raise UsageError(f"{option} {destination}: is a directory; give a file name")
        what = self._files.get((info.st_dev, info.st_ino))
        if what is not None:
            raise UsageError(f"{option} {destination}: is {what}; refusing to overwrite an input")


def distinct(destinations: list[str], option: str) -> None:
    """Two outputs naming one file would leave only the last: refuse."""
    seen: dict[tuple[int, int] | str, str] = {}
    for destination in destinations:
        try:
            info = os.stat(destination)
            key: tuple[int, int] | str = (info.st_dev, info.st_ino)
            if not stat.S_ISREG(info.st_mode):
                continue  # /dev/null twice is fine
        except (OSError, ValueError):
            key = os.path.realpath(destination)
        if key in seen:
            raise UsageError(f"{option} {destination}: the same file as {option} {seen[key]}; give each output its own file")
        seen[key] = destination


def standard_stream(destination: str | os.PathLike[str]) -> int | None:
    """1 or 2 when `destination` is this process's stdout or stderr under another name
    (`/dev/stdout`, `/proc/self/fd/1`, or the very file stdout is redirected or appended to), else None.
    Such a destination is a stream: replacing it would drop what `>>` appended before."""
    try:
        info = os.stat(destination)
    except (OSError, ValueError):
        return None
    for fd in (1, 2):
        try:
            stream = os.fstat(fd)
        except OSError:
            continue
        if (stream.st_dev, stream.st_ino) == (info.st_dev, info.st_ino):
            return fd
    return None


def _new_file_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _write(handle, text: str | Iterable[str]) -> None:
    for piece in [text] if isinstance(text, str) else text:
        handle.write(piece)


def write_atomic(destination: str | os.PathLike[str], text: str | Iterable[str], option: str) -> None:
    """Write `text` (UTF-8; a string, or pieces of one) to `destination` all or nothing, or raise UsageError with one line.

    A symlink is followed (its target is replaced, the link stays); an existing file keeps its mode
    and must be writable; a device or pipe is written directly."""
    shown = os.fspath(destination)
    if not shown:
        raise UsageError(f"{option}: an empty file name")
    try:
        try:
            info = os.stat(destination)
        except FileNotFoundError:
            info = None
        if info is not None and stat.S_ISDIR(info.st_mode):
            raise UsageError(f"{option} {shown}: is a directory; give a file name")
        if info is not None and not stat.S_ISREG(info.st_mode):
            # /dev/stdout on a pipe, /dev/null, a FIFO: opened by the name given (its target may be no path at all).
            with open(destination, "w", encoding="utf-8") as handle:
                _write(handle, text)
            return
        if info is not None and standard_stream(destination) is not None:
            # stderr redirected to a file (`2>> ci.log`): append as the stream would, never replace it.
            with open(destination, "a", encoding="utf-8") as handle:
                _write(handle, text)
            return
        target = os.path.realpath(destination)
        if info is not None and not os.access(target, os.W_OK):
            raise UsageError(f"{option} {shown}: cannot write: {os.strerror(13)}")
        mode = stat.S_IMODE(info.st_mode) if info is not None else _new_file_mode()
        folder = os.path.dirname(target) or "."
        fd, temporary = tempfile.mkstemp(prefix=f".{Path(target).name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise UsageError(f"{option} {shown}: cannot write: {_reason(exc)}") from exc
    except ValueError as exc:
        raise UsageError(f"{option} {shown!r}: not a valid file name") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            _write(handle, text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException as exc:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise UsageError(f"{option} {shown}: cannot write: {_reason(exc)}; nothing written") from exc
        raise
