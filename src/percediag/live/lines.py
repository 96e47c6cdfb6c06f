"""Incremental bytes -> normalised lines, for data that arrives in pieces (watch).

Decoded by the same decoder as `check` (`percediag.normalize.Normalizer`):
compressed input (gzip, bzip2, xz) is known by its first bytes, whatever
its name, and decompressed as it arrives (`sources.Unpacker`); then the
encoding, binary refusal, bad bytes, CRLF, redraws, ANSI, tabs, long lines
and what the first lines say (repeated prefixes, ranks, doubled lines),
decided on the same first lines as `check` decides them.

What watch adds is only when to decide. Compression is decided once
MAGIC_BYTES have arrived, the encoding once `normalize.ENCODING_BYTES` have,
or earlier when the input is idle, so a short first write is never held
back. Lines that no decision about the first lines could change go out at
once (`normalize.Lines`); from the first that one could, they are held
until they make the head `check` reads, or, when the input is idle with
PREFIX_MIN_LINES held or the first has waited IDLE_DECIDE_SECONDS (or
HOLD_SECONDS while data keeps coming), the decision is taken on the lines
that have arrived, so an early block is never held back for long. A file
read whole (watch of a finished log) is decided on exactly check's head.
"""

from __future__ import annotations

import time

from percediag.normalize import Normalizer
from percediag.sources import MAGIC_BYTES, Unpacker, compression

# With fewer lines than the head, an idle input decides once it has this
# many, or once its first line has waited IDLE_DECIDE_SECONDS; a busy one
# once its first line has waited HOLD_SECONDS.
PREFIX_MIN_LINES = 5
IDLE_DECIDE_SECONDS = 0.5
HOLD_SECONDS = 2.0


class LineStream:
    def __init__(self, name: str = "<stream>") -> None:
        self.name = name
        self._normalizer = Normalizer(name, live=True)
        self.stats = self._normalizer.stats
        self._head = b""  # raw bytes until compression is known
        self._unpacker: Unpacker | None = None
        self._kind_known = False
        self._held_since: float | None = None

    def _bytes(self, data: bytes, settle: bool = False, final: bool = False) -> bytes:
        """The decompressed bytes of `data`; b'' while compression waits for more bytes."""
        if not self._kind_known:
            self._head += data
            if not self._head or (len(self._head) < MAGIC_BYTES and not (settle or final)):
                return b""
            kind = compression(self._head)
            self._unpacker = Unpacker(kind, self.name) if kind is not None else None
            data, self._head, self._kind_known = self._head, b"", True
        if self._unpacker is not None:
            data = self._unpacker.feed(data)
            if final:
                self._unpacker.close()
        return data

    def feed(self, data: bytes) -> list[tuple[int, str]]:
        out = self._normalizer.feed(self._bytes(data))
        return out + self._early(idle=False)

    def idle(self) -> list[tuple[int, str]]:
        """No more data for now: decide the format, and what the first lines say, on what has arrived."""
        data = self._bytes(b"", settle=True)
        out = self._normalizer.feed(data) + self._normalizer.settle()
        return out + self._early(idle=True)

    def close(self) -> list[tuple[int, str]]:
        """End of input: the partial last line becomes a line, and every held line is released."""
        data = self._bytes(b"", settle=True, final=True)
        return self._normalizer.feed(data) + self._normalizer.close()

    def _early(self, idle: bool) -> list[tuple[int, str]]:
        held = self._normalizer.held
        if not held:
            self._held_since = None
            return []
        now = time.monotonic()
        if self._held_since is None:
            self._held_since = now
        waited = now - self._held_since
        if waited >= HOLD_SECONDS or (idle and (held >= PREFIX_MIN_LINES or waited >= IDLE_DECIDE_SECONDS)):
            return self._normalizer.decide()
        return []
