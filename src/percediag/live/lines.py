"""Incremental bytes -> normalised lines, for data that arrives in pieces.

Same normalisation as `percediag.sources` (BOM, invalid UTF-8 replaced and
counted, CRLF, carriage-return redraws, ANSI, tabs, repeated prefixes). A
partial last line waits for its newline. The prefix is detected once
`PREFIX_LINES` lines have arrived, or earlier when the caller says the input
is idle, so an early block is never held back for long.
"""

from __future__ import annotations

import codecs
import re
import time

from percediag.sources import _COUNTER, SourceStats, clean_line, detect_prefix

PREFIX_LINES = 20
# With fewer lines than PREFIX_LINES, an idle input decides once it has this
# many, or once its first line has waited IDLE_DECIDE_SECONDS.
PREFIX_MIN_LINES = 5
IDLE_DECIDE_SECONDS = 0.5


class LineStream:
    def __init__(self, name: str = "<stream>") -> None:
        self.stats = SourceStats(name=name)
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="percediag-count")
        self._pending = ""
        self._lineno = 0
        self._started = False
        self._held: list[tuple[int, str]] = []
        self._prefix: re.Pattern[str] | None = None
        self._decided = False
        self._held_since: float | None = None

    def feed(self, data: bytes) -> list[tuple[int, str]]:
        if not self._started and data:
            self._started = True
            if data.startswith(codecs.BOM_UTF8):
                data = data[len(codecs.BOM_UTF8):]
                self.stats.bom = True
        before = _COUNTER.count
        text = self._pending + self._decoder.decode(data)
        self.stats.bad_bytes += _COUNTER.count - before
        parts = text.split("\n")
        self._pending = parts.pop()
        out = []
        for raw in parts:
            self._lineno += 1
            out.append((self._lineno, clean_line(raw, self.stats)))
        return self._release(out, idle=False)

    def idle(self) -> list[tuple[int, str]]:
        """No more data for now: decide the prefix on what has arrived and release held lines."""
        return self._release([], idle=True)

    def close(self) -> list[tuple[int, str]]:
        """End of input: the partial last line becomes a line, and every held line is released."""
        tail = self._pending + self._decoder.decode(b"", final=True)
        self._pending = ""
        out = []
        if tail:
            self._lineno += 1
            out.append((self._lineno, clean_line(tail, self.stats)))
        self._held_since = 0.0  # nothing more will come: decide now
        return self._release(out, idle=True)

    def _release(self, lines: list[tuple[int, str]], idle: bool) -> list[tuple[int, str]]:
        if self._decided:
            return self._strip(lines)
        if lines and not self._held:
            self._held_since = time.monotonic()
        self._held.extend(lines)
        if not self._held:
            return []
        waited = time.monotonic() - (self._held_since or 0.0)
        enough = len(self._held) >= PREFIX_LINES or (
            idle and (len(self._held) >= PREFIX_MIN_LINES or waited >= IDLE_DECIDE_SECONDS))
        if not enough:
            return []
        found = detect_prefix([text for _, text in self._held])
        self._prefix = found[1] if found else None
        if found:
            self.stats.notes.append(f"stripping a repeated {found[0]} prefix")
        self._decided = True
        held, self._held = self._held, []
        return self._strip(held)

    def _strip(self, lines: list[tuple[int, str]]) -> list[tuple[int, str]]:
        if self._prefix is None:
            return lines
        out = []
        for lineno, text in lines:
            match = self._prefix.match(text)
            out.append((lineno, text[match.end():] if match else text))
        return out
