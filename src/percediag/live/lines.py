"""Incremental bytes -> normalised lines, for data that arrives in pieces.

Decoded exactly as `check` decodes a file (`percediag.sources`): compressed
input (gzip, bzip2, xz) known by its first bytes, whatever its name, and
decompressed as it arrives; a UTF-16 byte order mark decodes as UTF-16, a
UTF-8 one is dropped; binary data (judged on the same first SNIFF_SIZE bytes
as `check`) is refused with the same error; invalid UTF-8 is replaced and
counted; then CRLF, carriage-return redraws, ANSI, tabs, repeated prefixes.
The format is decided once enough bytes have arrived (ENCODING_BYTES; the
binary test once SNIFF_SIZE have, or at the end), or earlier when the
caller says the input is idle, so a short first write is never held back.
A partial last line waits for its newline, however long, in time linear in
its length and bounded memory (`sources.LineSplitter`). The prefix is
detected once `PREFIX_LINES` lines have arrived, or earlier when the caller
says the input is idle, so an early block is never held back for long.
"""

from __future__ import annotations

import bz2
import lzma
import time
import zlib

from percediag.errors import InputError
from percediag.sources import (
    MAGIC,
    SNIFF_SIZE,
    Decoder,
    LineFilter,
    LineSplitter,
    SourceStats,
    clean_line,
    compression,
    note_cut_lines,
    refuse_binary,
    sniff_encoding,
)

PREFIX_LINES = 20
# With fewer lines than PREFIX_LINES, an idle input decides once it has this
# many, or once its first line has waited IDLE_DECIDE_SECONDS.
PREFIX_MIN_LINES = 5
IDLE_DECIDE_SECONDS = 0.5
# Bytes that decide compression (the longest magic) and the encoding (a byte order mark).
MAGIC_BYTES = max(len(magic) for magic, _ in MAGIC)
ENCODING_BYTES = 4


class _Unpacker:
    """Incremental decompression of a gzip, bzip2 or xz stream of one or more members, as
    `gzip.open`, `bz2.open` and `lzma.open` read them for `check`."""

    def __init__(self, kind: str, name: str) -> None:
        self.kind, self.name = kind, name
        self._new()

    def _new(self) -> None:
        if self.kind == "gzip":
            self._engine = zlib.decompressobj(wbits=31)
        elif self.kind == "bz2":
            self._engine = bz2.BZ2Decompressor()
        else:
            self._engine = lzma.LZMADecompressor()
        self._started = False

    def feed(self, data: bytes) -> bytes:
        out = []
        try:
            while data:
                self._started = True
                out.append(self._engine.decompress(data))
                if not self._engine.eof:
                    break
                # A member ended: what follows is the next member (or padding gzip tolerates).
                data = self._engine.unused_data
                self._new()
                if self.kind == "gzip":
                    data = data.lstrip(b"\x00")
        except (zlib.error, OSError, EOFError, lzma.LZMAError) as exc:
            raise InputError(f"{self.name}: cannot read: {exc}") from exc
        return b"".join(out)

    def close(self) -> None:
        if self._started:
            raise InputError(f"{self.name}: cannot read: Compressed file ended before the end-of-stream marker was reached")


class LineStream:
    def __init__(self, name: str = "<stream>") -> None:
        self.name = name
        self.stats = SourceStats(name=name)
        self._head = b""  # raw bytes until compression is known
        self._unpacker: _Unpacker | None = None
        self._kind_known = False
        self._text_head = b""  # decoded-to-be bytes until the encoding is known
        self._decoder: Decoder | None = None
        self._sample: bytearray | None = bytearray()  # the first SNIFF_SIZE bytes, for the binary test
        self._splitter = LineSplitter()  # linear on lines of any length, bounded per line
        self._lineno = 0
        self._held: list[tuple[int, str]] = []
        self._filter: LineFilter | None = None
        self._decided = False
        self._held_since: float | None = None

    def _text(self, data: bytes, settle: bool = False, final: bool = False) -> str:
        """Bytes -> text as `check` decodes it; '' while the format waits for more bytes."""
        if not self._kind_known:
            self._head += data
            if not self._head or (len(self._head) < MAGIC_BYTES and not settle):
                return ""
            kind = compression(self._head)
            self._unpacker = _Unpacker(kind, self.name) if kind is not None else None
            data, self._head, self._kind_known = self._head, b"", True
        if self._unpacker is not None:
            data = self._unpacker.feed(data)
            if final:
                self._unpacker.close()
        if self._decoder is None:
            self._text_head += data
            if not self._text_head or (len(self._text_head) < ENCODING_BYTES and not settle):
                return ""
            data, encoding = sniff_encoding(self._text_head, self.stats)
            self._text_head = b""
            self._decoder = Decoder(encoding, self.stats)
            if encoding != "utf-8":
                self._sample = None
        if self._sample is not None:
            self._sample += data[:SNIFF_SIZE - len(self._sample)]
            if len(self._sample) >= SNIFF_SIZE or final:
                sample, self._sample = bytes(self._sample), None
                refuse_binary(sample, self.name)
        return self._decoder.decode(data, final)

    def _lines(self, text: str) -> list[tuple[int, str]]:
        out = []
        for raw in self._splitter.feed(text):
            self._lineno += 1
            out.append((self._lineno, clean_line(raw, self.stats)))
        return out

    def feed(self, data: bytes) -> list[tuple[int, str]]:
        return self._release(self._lines(self._text(data)), idle=False)

    def idle(self) -> list[tuple[int, str]]:
        """No more data for now: decide the prefix on what has arrived and release held lines."""
        return self._release(self._lines(self._text(b"", settle=True)), idle=True)

    def close(self) -> list[tuple[int, str]]:
        """End of input: the partial last line becomes a line, and every held line is released."""
        out = self._lines(self._text(b"", settle=True, final=True))
        if self._splitter.pending():
            self._lineno += 1
            out.append((self._lineno, clean_line(self._splitter.finish(), self.stats)))
        self.stats.physical_lines = self._lineno
        self.stats.note_bad_bytes()
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
