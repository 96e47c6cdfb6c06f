"""Follow a growing file like `tail -F`: wait for it, survive truncation and rotation."""

from __future__ import annotations

import os
from pathlib import Path

READ_SIZE = 4 << 20


class FileFollower:
    """Poll a path for new bytes. `poll()` returns (data, event) where event is
    None, 'appeared', 'truncated' or 'rotated' (the caller starts over on the last two)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._handle = None
        self._identity: tuple[int, int] | None = None
        self._offset = 0

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def _open(self) -> bool:
        try:
            handle = open(self.path, "rb")
        except FileNotFoundError:
            return False
        except IsADirectoryError:
            raise
        status = os.fstat(handle.fileno())
        self._handle, self._identity, self._offset = handle, (status.st_dev, status.st_ino), 0
        return True

    def poll(self) -> tuple[bytes, str | None]:
        if self._handle is None:
            return (self._read(), "appeared") if self._open() else (b"", None)
        try:
            status = os.stat(self.path)
        except FileNotFoundError:
            return self._read(), None  # moved away; keep draining until a new file appears
        if (status.st_dev, status.st_ino) != self._identity:
            self.close()
            self._open()
            return self._read(), "rotated"
        if status.st_size < self._offset:
            self._handle.seek(0)
            self._offset = 0
            return self._read(), "truncated"
        return self._read(), None

    def _read(self) -> bytes:
        if self._handle is None:
            return b""
        data = self._handle.read(READ_SIZE)
        self._offset += len(data)
        return data
