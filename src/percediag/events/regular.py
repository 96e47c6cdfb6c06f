"""Opening a scalar file only when it is a regular file.

A FIFO named `metrics.csv` or `events.out.tfevents.1` would block `open()`
(and every read after it) until a writer appears: `check` would hang
instead of answering. The path is stat'ed first (a device is never
opened), then opened non-blocking and its type checked again on the open
descriptor (the path may change between the two); anything but a regular
file (a FIFO, socket or device) is refused.
"""

from __future__ import annotations

import os
import stat
from typing import BinaryIO

from percediag.errors import InputError

_KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISDIR, "a folder"))


def kind_of(mode: int) -> str | None:
    """What a non-regular file is ("a FIFO", ...); None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def open_regular(path: str, name: str) -> BinaryIO:
    """`path` opened for binary reading; InputError when it cannot be opened or is not a regular file."""
    try:
        kind = kind_of(os.stat(path).st_mode)
    except OSError as exc:
        raise InputError(f"{name}: cannot open: {exc.strerror or exc}") from exc
    if kind is not None:
        raise InputError(f"{name}: {kind}, not a regular file: only regular files are read")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise InputError(f"{name}: cannot open: {exc.strerror or exc}") from exc
    try:
        kind = kind_of(os.fstat(fd).st_mode)
    except OSError as exc:
        os.close(fd)
        raise InputError(f"{name}: cannot open: {exc.strerror or exc}") from exc
    if kind is not None:
        os.close(fd)
        raise InputError(f"{name}: {kind}, not a regular file: only regular files are read")
    return os.fdopen(fd, "rb")
