"""Sources: turn bytes into logical lines, each with the line it came from.

All normalisation lives here and only here, so that no block parser has to
know how the text reached us:

- UTF-8 with or without a BOM (UTF-16 with a BOM is decoded as such); bytes
  that are not valid UTF-8 are replaced and counted;
- CRLF line ends;
- carriage-return redraws: a piped progress bar writes many `\\r`-separated
  frames on one physical line; we keep the last non-empty frame, which is
  what a reader sees and where a log line printed after the bar lands;
- ANSI escape sequences (colour, cursor moves);
- tabs become spaces.

Reading is streaming: the file is consumed in chunks and memory does not grow
with its size.
"""

from __future__ import annotations

import codecs
import gzip
import io
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from percediag.errors import InputError

CHUNK_SIZE = 1 << 20
# How much of the start of the input is inspected to refuse binary data.
SNIFF_SIZE = 8192
# Share of control bytes (other than tab, CR, LF, ESC, FF) above which a
# sample is taken to be binary rather than a text log with a few bad bytes.
BINARY_CONTROL_SHARE = 0.10

_ANSI = re.compile(r"\x1b(?:\[[0-9;?<=>]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13, 27))


@dataclass
class SourceStats:
    """What normalisation did, for the report."""

    name: str
    physical_lines: int = 0
    bad_bytes: int = 0
    bom: bool = False
    crlf_lines: int = 0
    redraw_lines: int = 0
    ansi_lines: int = 0
    encoding: str = "utf-8"
    notes: list[str] = field(default_factory=list)


class _ReplacementCounter:
    """A codecs error handler that counts the bytes it replaces."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, error: UnicodeDecodeError) -> tuple[str, int]:
        self.count += error.end - error.start
        return "\ufffd", error.end


_COUNTER = _ReplacementCounter()
codecs.register_error("percediag-count", _COUNTER)


def looks_binary(sample: bytes) -> bool:
    """True for data that is not a text log (an early NUL, or mostly control bytes)."""
    if not sample:
        return False
    if b"\x00" in sample:
        return True
    controls = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    return controls / len(sample) > BINARY_CONTROL_SHARE


def clean_line(raw: str, stats: SourceStats | None = None) -> str:
    """Normalise one physical line (without its newline)."""
    if raw.endswith("\r"):
        raw = raw.rstrip("\r")
        if stats is not None:
            stats.crlf_lines += 1
    if "\x1b" in raw:
        raw = _ANSI.sub("", raw)
        if stats is not None:
            stats.ansi_lines += 1
    if "\r" in raw:
        frames = [frame for frame in raw.split("\r") if frame.strip()]
        raw = frames[-1] if frames else ""
        if stats is not None:
            stats.redraw_lines += 1
    if "\t" in raw:
        raw = raw.expandtabs(4)
    return raw


class LogSource:
    """A readable log: a path, a gzip file, or a binary stream such as stdin."""

    def __init__(self, name: str, opener) -> None:
        self.name = name
        self._opener = opener
        self.stats = SourceStats(name=name)

    @classmethod
    def from_path(cls, path: str | Path) -> LogSource:
        path = Path(path)
        if not path.exists():
            raise InputError(f"{path}: no such file")
        if path.is_dir():
            raise InputError(f"{path}: is a directory, not a log file")
        if path.suffix == ".gz":
            return cls(str(path), lambda: gzip.open(path, "rb"))
        return cls(str(path), lambda: open(path, "rb"))

    @classmethod
    def from_stream(cls, stream: BinaryIO, name: str = "<stdin>") -> LogSource:
        return cls(name, lambda: stream)

    @classmethod
    def from_text(cls, text: str, name: str = "<text>") -> LogSource:
        data = text.encode("utf-8")
        return cls(name, lambda: io.BytesIO(data))

    def lines(self) -> Iterator[tuple[int, str]]:
        """Yield (1-based physical line number, normalised text)."""
        stats = self.stats
        try:
            handle = self._opener()
        except OSError as exc:
            raise InputError(f"{self.name}: cannot open: {exc.strerror or exc}") from exc
        try:
            yield from self._decode_lines(handle, stats)
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise InputError(f"{self.name}: cannot read: {exc}") from exc
        finally:
            if handle is not sys.stdin.buffer:
                handle.close()

    def _decode_lines(self, handle: BinaryIO, stats: SourceStats) -> Iterator[tuple[int, str]]:
        first = handle.read(CHUNK_SIZE)
        encoding = "utf-8"
        if first.startswith(codecs.BOM_UTF8):
            stats.bom = True
            first = first[len(codecs.BOM_UTF8):]
        elif first.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            stats.bom = True
            encoding = "utf-16"
            stats.notes.append("decoded as UTF-16 (byte order mark)")
        if encoding == "utf-8" and looks_binary(first[:SNIFF_SIZE]):
            raise InputError(f"{self.name}: binary data, not a text log")
        stats.encoding = encoding
        decoder = codecs.getincrementaldecoder(encoding)(errors="percediag-count")
        lineno = 0
        pending = ""
        chunk = first
        while chunk:
            # Counted per call: decoding is synchronous, so interleaved
            # sources never mix their counts.
            before = _COUNTER.count
            text = pending + decoder.decode(chunk)
            stats.bad_bytes += _COUNTER.count - before
            parts = text.split("\n")
            pending = parts.pop()
            for raw in parts:
                lineno += 1
                yield lineno, clean_line(raw, stats)
            chunk = handle.read(CHUNK_SIZE)
        before = _COUNTER.count
        tail = pending + decoder.decode(b"", final=True)
        stats.bad_bytes += _COUNTER.count - before
        if tail:
            lineno += 1
            yield lineno, clean_line(tail, stats)
        stats.physical_lines = lineno
        if stats.bad_bytes:
            stats.notes.append(f"{stats.bad_bytes} byte(s) were not valid {encoding} and were replaced")
