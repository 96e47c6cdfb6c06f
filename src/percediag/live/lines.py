"""Incremental bytes -> normalised lines, for data that arrives in pieces.

Same normalisation as `percediag.sources` (BOM, invalid UTF-8 replaced and
counted, CRLF, carriage-return redraws, ANSI, tabs, repeated prefixes). A
partial last line waits for its newline, however long, in time linear in
its length and bounded memory (`sources.LineSplitter`). The prefix is detected once
`PREFIX_LINES` lines have arrived, or earlier when the caller says the input
is idle, so an early block is never held back for long.
"""

from __future__ import annotations

import codecs
import time

from percediag.sources import _COUNTER, LineFilter, LineSplitter, SourceStats, clean_line, note_cut_lines

PREFIX_LINES = 20
# With fewer lines than PREFIX_LINES, an idle input decides once it has this
# many, or once its first line has waited IDLE_DECIDE_SECONDS.
PREFIX_MIN_LINES = 5
IDLE_DECIDE_SECONDS = 0.5


class LineStream:
    def __init__(self, name: str = "<stream>") -> None:
        self.stats = SourceStats(name=name)
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="percediag-count")
        self._splitter = LineSplitter()  # linear on lines of any length, bounded per line
        self._lineno = 0
        self._started = False
        self._held: list[tuple[int, str]] = []
        self._filter: LineFilter | None = None
        self._decided = False
        self._held_since: float | None = None

    def feed(self, data: bytes) -> list[tuple[int, str]]:
        if not self._started and data:
            self._started = True
            if data.startswith(codecs.BOM_UTF8):
                data = data[len(codecs.BOM_UTF8):]
                self.stats.bom = True
        before = _COUNTER.count
        text = self._decoder.decode(data)
        self.stats.bad_bytes += _COUNTER.count - before
        out = []
        for raw in self._splitter.feed(text):
            self._lineno += 1
            out.append((self._lineno, clean_line(raw, self.stats)))
        return self._release(out, idle=False)

    def idle(self) -> list[tuple[int, str]]:
        """No more data for now: decide the prefix on what has arrived and release held lines."""
        return self._release([], idle=True)

    def close(self) -> list[tuple[int, str]]:
        """End of input: the partial last line becomes a line, and every held line is released."""
        out = []
        for raw in self._splitter.feed(self._decoder.decode(b"", final=True)):
            self._lineno += 1
            out.append((self._lineno, clean_line(raw, self.stats)))
        if self._splitter.pending():
            self._lineno += 1
            out.append((self._lineno, clean_line(self._splitter.finish(), self.stats)))
        note_cut_lines(self.stats, self._splitter.cut)
        return self._release(out, idle=True, final=True)  # nothing more will come: decide now

    def _release(self, lines: list[tuple[int, str]], idle: bool, final: bool = False) -> list[tuple[int, str]]:
        if self._decided:
            return self._strip(lines)
        if lines and not self._held:
            self._held_since = time.monotonic()
        self._held.extend(lines)
        if not self._held:
            return []
        waited = time.monotonic() - (self._held_since or 0.0)
        enough = final or len(self._held) >= PREFIX_LINES or (
            idle and (len(self._held) >= PREFIX_MIN_LINES or waited >= IDLE_DECIDE_SECONDS))
        if not enough:
            return []
        keep = LineFilter([text for _, text in self._held])
        self._filter = keep if keep.active else None
        self.stats.notes.extend(keep.intent())
        self._decided = True
        held, self._held = self._held, []
        return self._strip(held)

    def _strip(self, lines: list[tuple[int, str]]) -> list[tuple[int, str]]:
        keep = self._filter
        if keep is None:
            return lines
        out = []
        for lineno, text in lines:
            text = keep(text)
            if text is not None:
                out.append((lineno, text))
        return out
