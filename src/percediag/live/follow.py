"""Follow a growing file like `tail -F`: wait for it, survive truncation, rewriting and rotation."""

from __future__ import annotations

import os
from pathlib import Path

from percediag.errors import InputError
from percediag.sources import jump_sparse, past_zeros

READ_SIZE = 4 << 20
# A rewrite that leaves the size as large or larger is seen by content: the
# first HEAD_BYTES of the file and the TAIL_BYTES just before the offset read
# so far are compared with what was read there, at every poll (two small
# preads). A file rewritten with the very same bytes at both places cannot be
# told from the same file, and needs no starting over.
HEAD_BYTES = 1024
TAIL_BYTES = 256
# After a truncation the writer may go on at its old offset (a file opened without O_APPEND,
# truncated by logrotate's copytruncate): the bytes before it read back as zeros, a hole no
# log holds. That leading run of NUL bytes is skipped, not decoded (it would end the watch as
# binary data); a sparse hole is jumped in one seek (SEEK_DATA), one written as zeros is read.


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
        self._head_at = 0  # where the head starts: after a hole, not at 0
        self._tail = b""
        self._in_hole = False  # at the start of a file read again: zeros here are a hole
        self.hole = 0  # zero bytes skipped since the last restart

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
        self._in_hole, self.hole = True, 0

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
            if self._head and os.pread(fd, len(self._head), self._head_at) != self._head:
                return False
            return not self._tail or os.pread(fd, len(self._tail), self._offset - len(self._tail)) == self._tail
        except OSError as exc:
            raise InputError(f"{self.path}: cannot read: {exc.strerror or exc}") from exc

    def _read(self) -> bytes:
        if self._handle is None:
            return b""
        try:
            if self._in_hole:
                self._skip(jump_sparse(self._handle, growing=True))
            data = self._handle.read(READ_SIZE)
        except OSError as exc:
            raise InputError(f"{self.path}: cannot read: {exc.strerror or exc}") from exc
        if data and self._in_hole:
            kept = past_zeros(data, 0)  # the mark's zeros are in this read: earlier ones are passed on
            self._skip(len(data) - len(kept))
            self._in_hole = not kept
            data = kept
        if data:
            if not self._head:
                self._head_at = self._offset
            self._offset += len(data)
            if len(self._head) < HEAD_BYTES:
                self._head += data[:HEAD_BYTES - len(self._head)]
            self._tail = (self._tail + data[-TAIL_BYTES:])[-TAIL_BYTES:]
        return data

    def take_hole(self) -> int:
        """The zero bytes skipped at the start of the file once the text after them is reached
        (0 before, and after it was taken): the watch says so once per hole."""
        if self._in_hole or not self.hole:
            return 0
        count, self.hole = self.hole, 0
        return count

    def _skip(self, count: int) -> None:
        """`count` zero bytes of a hole are passed over: counted as read (a later truncation is
        still seen against them), never handed on."""
        self._offset += count
        self.hole += count
