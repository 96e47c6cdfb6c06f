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
- tabs become spaces;
- a per-line prefix that repeats over the log (a timestamp with its log
  level, `[stdout] `, a constant `[tag] ` or `name | `, Kaggle's time and
  line counter) is detected on the first lines and stripped from every line
  that carries it.

A notebook (`.ipynb`) is read as the text of its outputs, cell by cell, and
each line remembers its cell and its line within that cell's output.

Reading is streaming: a log file is consumed in chunks and memory does not
grow with its size (a notebook is one JSON document and is read whole).
"""

from __future__ import annotations

import codecs
import gzip
import io
import itertools
import json
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from percediag.errors import InputError
from percediag.prescan import ANSI_PATTERN

CHUNK_SIZE = 1 << 20
# How much of the start of the input is inspected to refuse binary data.
SNIFF_SIZE = 8192
# Share of control bytes (other than tab, CR, LF, ESC, FF) above which a
# sample is taken to be binary rather than a text log with a few bad bytes.
BINARY_CONTROL_SHARE = 0.10

# Lines inspected to detect a repeated prefix, and the share of non-empty
# lines that must carry it.
PREFIX_SNIFF_LINES = 400
PREFIX_SNIFF_BYTES = 256 << 10
PREFIX_SHARE = 0.6

# Each prefix pattern consumes the prefix and exactly one separating space,
# so the log line's own indentation survives.
_TIMESTAMP = (
    r"\[?\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:[.,]\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})?\]?"
    r"(?: ?[-|]? ?\[?(?:DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL)\]?)?(?: [-|:])? ?"
)
_PREFIX_PATTERNS: dict[str, re.Pattern[str]] = {
    "timestamp": re.compile(_TIMESTAMP),
    "time of day": re.compile(r"\[?\d{2}:\d{2}:\d{2}(?:[.,]\d{1,6})?\]? ?"),
    "stream tag": re.compile(r"\[(?:stdout|stderr)\] ?"),
    "kaggle": re.compile(r" {0,8}\d{1,7}(?:\.\d{1,3})?s {1,8}\d{1,9} "),
    "tag": re.compile(r"\[[^\]\s]{1,40}\] "),
    "name": re.compile(r"[\w.-]{1,40} \| "),
}
# Patterns whose matched text must also be the same on the lines that carry it.
_CONSTANT_PREFIXES = {"tag", "name"}

_ANSI = re.compile(ANSI_PATTERN)
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

    def note_bad_bytes(self) -> None:
        """Called by each decoding path when it is done."""
        if self.bad_bytes:
            self.notes.append(f"{self.bad_bytes} byte(s) were not valid {self.encoding} and were replaced")


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


def detect_prefix(sample: list[str]) -> tuple[str, re.Pattern[str]] | None:
    """The prefix pattern carried by most non-empty lines of `sample`, if any."""
    lines = [line for line in sample if line.strip()]
    if len(lines) < 3:
        return None
    for name, pattern in _PREFIX_PATTERNS.items():
        matches = [m.group(0) for m in map(pattern.match, lines) if m is not None]
        if len(matches) < PREFIX_SHARE * len(lines):
            continue
        if name in _CONSTANT_PREFIXES:
            text, count = Counter(matches).most_common(1)[0]
            if count < PREFIX_SHARE * len(lines):
                continue
            return name, re.compile(re.escape(text))
        return name, pattern
    return None


def strip_prefixes(lines: Iterable[tuple[int, str]], stats: SourceStats) -> Iterator[tuple[int, str]]:
    """Detect a repeated prefix on the first lines, then strip it wherever it appears."""
    iterator = iter(lines)
    head: list[tuple[int, str]] = []
    for item in iterator:
        head.append(item)
        if len(head) >= PREFIX_SNIFF_LINES:
            break
    found = detect_prefix([text for _, text in head])
    if found is None:
        yield from head
        yield from iterator
        return
    name, pattern = found
    stripped = 0
    match = pattern.match
    for lineno, text in itertools.chain(head, iterator):
        m = match(text)
        if m is not None:
            stripped += 1
            text = text[m.end():]
        yield lineno, text
    stats.notes.append(f"stripped a repeated {name} prefix from {stripped} line(s)")


class LogSource:
    """A readable log: a path, a gzip file, or a binary stream such as stdin."""

    def __init__(self, name: str, opener, path: str | None = None) -> None:
        self.name = name
        self._opener = opener
        # Set for a plain file on disk: a helper process may read it too.
        self.path = path
        self.stats = SourceStats(name=name)

    def label(self, lineno: int) -> str:
        """How to show a line number to the user."""
        return f"line {lineno}"

    @property
    def has_labels(self) -> bool:
        return False

    @classmethod
    def from_path(cls, path: str | Path) -> LogSource:
        path = Path(path)
        if not path.exists():
            raise InputError(f"{path}: no such file")
        if path.is_dir():
            raise InputError(f"{path}: is a directory, not a log file")
        if path.suffix == ".gz":
            return cls(str(path), lambda: gzip.open(path, "rb"))
        if path.suffix == ".ipynb":
            return NotebookSource(str(path), lambda: open(path, "rb"))
        return cls(str(path), lambda: open(path, "rb"), path=str(path))

    @classmethod
    def from_stream(cls, stream: BinaryIO, name: str = "<stdin>") -> LogSource:
        return cls(name, lambda: stream)

    @classmethod
    def from_text(cls, text: str, name: str = "<text>") -> LogSource:
        data = text.encode("utf-8")
        return cls(name, lambda: io.BytesIO(data))

    def _open(self):
        try:
            return self._opener()
        except OSError as exc:
            raise InputError(f"{self.name}: cannot open: {exc.strerror or exc}") from exc

    def _sniff(self, handle: BinaryIO) -> tuple[bytes, str]:
        """The first chunk (BOM removed) and the encoding; refuses binary data."""
        first = handle.read(CHUNK_SIZE)
        encoding = "utf-8"
        if first.startswith(codecs.BOM_UTF8):
            self.stats.bom = True
            first = first[len(codecs.BOM_UTF8):]
        elif first.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            self.stats.bom = True
            encoding = "utf-16"
            self.stats.notes.append("decoded as UTF-16 (byte order mark)")
        if encoding == "utf-8" and looks_binary(first[:SNIFF_SIZE]):
            raise InputError(f"{self.name}: binary data, not a text log")
        self.stats.encoding = encoding
        return first, encoding

    def _close(self, handle: BinaryIO) -> None:
        if handle is not sys.stdin.buffer:
            handle.close()

    def lines(self) -> Iterator[tuple[int, str]]:
        """Yield (1-based physical line number, normalised text)."""
        handle = self._open()
        try:
            first, encoding = self._sniff(handle)
            yield from strip_prefixes(self._decode_lines(handle, first, encoding), self.stats)
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise InputError(f"{self.name}: cannot read: {exc}") from exc
        finally:
            self._close(handle)

    def parse(self):
        """Parse the whole source into a Log: the bytes fast path where it applies, else line by line."""
        from percediag.parsers import parse_lines
        from percediag.parsers.fast import parse_bytes

        handle = self._open()
        try:
            first, encoding = self._sniff(handle)
            head = first[:PREFIX_SNIFF_BYTES].decode("utf-8", errors="replace").split("\n")[:PREFIX_SNIFF_LINES]
            if encoding != "utf-8" or detect_prefix([clean_line(line) for line in head]) is not None:
                lines = strip_prefixes(self._decode_lines(handle, first, encoding), self.stats)
                return parse_lines(lines, self.name)
            skip = len(codecs.BOM_UTF8) if self.stats.bom else 0
            return parse_bytes(handle, first, self.name, self.stats, path=self.path, skip=skip)
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise InputError(f"{self.name}: cannot read: {exc}") from exc
        finally:
            self._close(handle)

    def _decode_lines(self, handle: BinaryIO, first: bytes, encoding: str) -> Iterator[tuple[int, str]]:
        stats = self.stats
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
        stats.note_bad_bytes()


class NotebookSource(LogSource):
    """A Jupyter notebook: the text of its outputs, in cell order.

    `stream` outputs give their `text`, results and displays their
    `text/plain`, errors their traceback. Line numbers count the logical
    lines of all outputs; `label()` turns one back into `cell N, line M`.
    """

    MAX_BYTES = 512 << 20

    def __init__(self, name: str, opener) -> None:
        super().__init__(name, opener)
        self._locations: list[tuple[int, int]] = []

    @property
    def has_labels(self) -> bool:
        return True

    def label(self, lineno: int) -> str:
        if 1 <= lineno <= len(self._locations):
            cell, line = self._locations[lineno - 1]
            return f"cell {cell}, line {line}"
        return f"line {lineno}"

    def parse(self):
        from percediag.parsers import parse_lines

        return parse_lines(self.lines(), self.name)

    def lines(self) -> Iterator[tuple[int, str]]:
        try:
            with self._opener() as handle:
                data = handle.read(self.MAX_BYTES + 1)
        except OSError as exc:
            raise InputError(f"{self.name}: cannot read: {exc.strerror or exc}") from exc
        if len(data) > self.MAX_BYTES:
            raise InputError(f"{self.name}: notebook larger than {self.MAX_BYTES >> 20} MiB")
        try:
            notebook = json.loads(data.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"{self.name}: not a valid notebook (JSON): {exc}") from exc
        cells = notebook.get("cells") if isinstance(notebook, dict) else None
        if not isinstance(cells, list):
            raise InputError(f"{self.name}: not a notebook: no 'cells' list")
        self.stats.encoding = "notebook"
        self._locations = []
        yield from strip_prefixes(self._cell_lines(cells), self.stats)

    def _cell_lines(self, cells: list) -> Iterator[tuple[int, str]]:
        lineno = 0
        for cell_number, cell in enumerate(cells, 1):
            if not isinstance(cell, dict):
                continue
            line_in_cell = 0
            for text in _output_texts(cell.get("outputs") or []):
                for raw in text.split("\n")[:-1] if text.endswith("\n") else text.split("\n"):
                    lineno += 1
                    line_in_cell += 1
                    self._locations.append((cell_number, line_in_cell))
                    yield lineno, clean_line(raw, self.stats)
        self.stats.physical_lines = lineno


def _output_texts(outputs: list) -> Iterator[str]:
    for output in outputs:
        if not isinstance(output, dict):
            continue
        kind = output.get("output_type")
        if kind == "stream":
            yield _joined(output.get("text", ""))
        elif kind in ("execute_result", "display_data"):
            data = output.get("data") or {}
            if "text/plain" in data:
                yield _joined(data["text/plain"])
        elif kind == "error":
            yield "\n".join(_joined(line) for line in output.get("traceback", []))


def _joined(value: object) -> str:
    if isinstance(value, list):
        return "".join(str(part) for part in value)
    return str(value)
