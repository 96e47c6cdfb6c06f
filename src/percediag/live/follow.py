"""Follow a growing file like `tail -F`: wait for it, survive truncation, rewriting and rotation."""

from __future__ import annotations

import os
from pathlib import Path

from percediag.errors import InputError

READ_SIZE = 4 << 20
# A rewrite that leaves the size as large or larger is seen by content: the
# first HEAD_BYTES of the file and the TAIL_BYTES just before the offset read
# so far are compared with what was read there, at every poll (two small
# preads). A file rewritten with the very same bytes at both places cannot be
# told from the same file, and needs no starting over.
HEAD_BYTES = 1024
TAIL_BYTES = 256


class FileFollower:
    """Poll a path for new bytes. `poll()` returns (data, event) where event is None,
    'appeared', 'truncated' (shorter than what was read), 'rewritten' (the same file
    with other bytes where it was read: truncated and written again between two
    polls, to the same size or beyond) or 'rotated' (another file at the path); the
    caller starts over on the last three."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._handle = None
        self._identity: tuple[int, int] | None = None
        self._offset = 0
        self._head = b""
        self._tail = b""

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def _open(self) -> bool:
        try:
            handle = open(self.path, "rb")
        except FileNotFoundError:
            return False
        except IsADirectoryError as exc:
            # A TensorBoard folder that did not exist when the watch began was taken for a log file.
            raise InputError(f"{self.path}: is a directory, not a log file (to wait for a TensorBoard log folder, "
                             "end its name with /)") from exc
        except OSError as exc:
            raise InputError(f"{self.path}: cannot open: {exc.strerror or exc}") from exc
        status = os.fstat(handle.fileno())
        self._handle, self._identity = handle, (status.st_dev, status.st_ino)
        self._restart()
        return True

    def _restart(self) -> None:
        self._handle.seek(0)
        self._offset = 0
        self._head = self._tail = b""

    def poll(self) -> tuple[bytes, str | None]:
        if self._handle is None:
            return (self._read(), "appeared") if self._open() else (b"", None)
        try:
            status = os.stat(self.path)
        except FileNotFoundError:
            return self._read(), None  # moved away; keep draining until a new file appears
        except OSError as exc:
            raise InputError(f"{self.path}: cannot read: {exc.strerror or exc}") from exc
        if (status.st_dev, status.st_ino) != self._identity:
            self.close()
            self._open()
            return self._read(), "rotated"
        if status.st_size < self._offset:
            self._restart()
            return self._read(), "truncated"
        if not self._same_bytes():
            self._restart()
            return self._read(), "rewritten"
        return self._read(), None

    def _same_bytes(self) -> bool:
        fd = self._handle.fileno()
        try:
            if self._head and os.pread(fd, len(self._head), 0) != self._head:
                return False
            return not self._tail or os.pread(fd, len(self._tail), self._offset - len(self._tail)) == self._tail
        except OSError as exc:
            raise InputError(f"{self.path}: cannot read: {exc.strerror or exc}") from exc

    def _read(self) -> bytes:
        if self._handle is None:
            return b""
        try:
            data = self._handle.read(READ_SIZE)
        except OSError as exc:
            raise InputError(f"{self.path}: cannot read: {exc.strerror or exc}") from exc
        if data:
            self._offset += len(data)
            if len(self._head) < HEAD_BYTES:
                self._head += data[:HEAD_BYTES - len(self._head)]
            self._tail = (self._tail + data[-TAIL_BYTES:])[-TAIL_BYTES:]
        return data
