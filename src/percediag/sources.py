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

Reading is streaming: a log file, and a notebook (`percediag.notebook`, a
pull parser), are consumed in chunks and memory does not grow with their
size. A physical line longer than MAX_LINE_CHARS keeps its last redraw
frame (what a reader sees) and is cut to that many characters, with a note.
"""

from __future__ import annotations

import bisect
import bz2
import codecs
import gzip
import io
import itertools
import lzma
import re
import sys
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
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

# Lines inspected to detect a repeated prefix (at most PREFIX_SNIFF_BYTES of
# characters in all), and the share of non-empty lines that must carry it.
PREFIX_SNIFF_LINES = 400
PREFIX_SNIFF_BYTES = 256 << 10
PREFIX_SHARE = 0.6

# A log written by several processes at once without labels repeats lines:
# when at least REPEAT_SHARE of the first non-empty lines repeat the line
# before them (a normal log: almost none), and they are not a few lines
# repeated many times (a warning printed in a loop) but many lines repeated
# (at least REPEAT_DISTINCT of the non-empty lines are different repeated
# texts: up to six copies of each line), each run of one line is read once.
REPEAT_SHARE = 0.35
REPEAT_DISTINCT = 0.15
REPEAT_MIN_LINES = 10

# A physical line is kept up to this many characters: a longer one holds its
# last redraw frame, cut to this length. A block parser sees at most
# parsers.MAX_BLOCK_LINE of a line; no real log line comes near either.
MAX_LINE_CHARS = 1 << 20

# Each prefix pattern consumes the prefix and exactly one separating space,
# so the log line's own indentation survives.
_TIMESTAMP = (
    r"\[?\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:[.,]\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})?\]?"
    r"(?: ?[-|]? ?\[?(?:DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL)\]?)?(?: [-|:])? ?"
)
_PREFIX_PATTERNS: dict[str, re.Pattern[str]] = {
    # Distributed launchers label each process's lines: torchrun (`[rank1]:`,
    # `[default1]:`), Open MPI's --tag-output (`[1,0]<stdout>:`). Group 1 is the rank.
    "rank": re.compile(r"\[(?:rank|default|\d{1,9},)(\d{1,6})\](?:<std(?:out|err)>)?: ?"),
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


# Compressed input is recognised by its first bytes, whatever its name: gzip, bzip2, xz.
MAGIC = ((b"\x1f\x8b", "gzip"), (b"BZh", "bz2"), (b"\xfd7zXZ\x00", "xz"))
_DECOMPRESS = {"gzip": gzip.open, "bz2": bz2.open, "xz": lzma.open}
# What reading a damaged file (compressed or not) raises.
READ_ERRORS = (OSError, EOFError, gzip.BadGzipFile, lzma.LZMAError)


def compression(head: bytes) -> str | None:
    """`gzip`, `bz2` or `xz` when `head` (the first bytes of the input) starts with that format's magic, else None."""
    return next((kind for magic, kind in MAGIC if head.startswith(magic)), None)


def _open_stream(stream: BinaryIO) -> BinaryIO:
    """A binary stream, decompressed when its first bytes say so (peeked, or read and sought back)."""
    head = b""
    try:
        if hasattr(stream, "peek"):
            head = stream.peek(6)[:6]
        elif stream.seekable():
            position = stream.tell()
            head = stream.read(6)
            stream.seek(position)
    except (OSError, ValueError):
        head = b""
    kind = compression(head)
    # The wrapper never closes the stream it reads (stdin stays open).
    return stream if kind is None else _DECOMPRESS[kind](stream, "rb")


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
    # Nothing but whitespace (or nothing at all) in the input: `check` refuses it as bad input.
    blank: bool = False

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


def sniff_encoding(first: bytes, stats: SourceStats) -> tuple[bytes, str]:
    """The encoding the first bytes of an input announce (a UTF-16 byte order mark, else UTF-8),
    and those bytes without a UTF-8 BOM; notes both in `stats`. Shared by `check` and `watch`."""
    encoding = "utf-8"
    if first.startswith(codecs.BOM_UTF8):
        stats.bom = True
        first = first[len(codecs.BOM_UTF8):]
    elif first.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        stats.bom = True
        encoding = "utf-16"
        stats.notes.append("decoded as UTF-16 (byte order mark)")
    stats.encoding = encoding
    return first, encoding


def refuse_binary(sample: bytes, name: str) -> None:
    """Raise InputError when `sample` (the first SNIFF_SIZE bytes of a UTF-8 input) is binary data."""
    if looks_binary(sample):
        raise InputError(f"{name}: binary data, not a text log")


class Decoder:
    """Incremental decoding in `encoding`; bytes that do not decode are replaced and counted in `stats`."""

    def __init__(self, encoding: str, stats: SourceStats) -> None:
        self._decoder = codecs.getincrementaldecoder(encoding)(errors="percediag-count")
        self._stats = stats

    def decode(self, data: bytes, final: bool = False) -> str:
        # Counted per call: decoding is synchronous, so interleaved sources never mix their counts.
        before = _COUNTER.count
        text = self._decoder.decode(data, final)
        self._stats.bad_bytes += _COUNTER.count - before
        return text


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


class LineSplitter:
    """Text in pieces -> physical lines (without their newline), in time linear in the text
    whatever the length of its lines, holding at most about MAX_LINE_CHARS of a line.

    A line longer than that is reduced as it arrives to what `clean_line` would keep of it:
    its last redraw frame (the last `\\r`-separated part that is not blank), cut to
    MAX_LINE_CHARS; `cut` counts the lines cut."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._size = 0
        self._long: _LongLine | None = None
        self.cut = 0

    def feed(self, text: str) -> list[str]:
        if "\n" not in text:
            self._add(text)
            return []
        lines = text.split("\n")
        self._add(lines[0])
        out = [self._take()]
        for line in lines[1:-1]:
            if len(line) > MAX_LINE_CHARS:
                self._add(line)
                line = self._take()
            out.append(line)
        self._add(lines[-1])
        return out

    def pending(self) -> bool:
        """True when part of a line waits for its newline."""
        return bool(self._size or self._long is not None)

    def finish(self) -> str:
        """The partial last line, as a line."""
        return self._take()

    def _add(self, text: str) -> None:
        if not text:
            return
        if self._long is None:
            if self._size + len(text) <= MAX_LINE_CHARS:
                self._parts.append(text)
                self._size += len(text)
                return
            self._long = _LongLine()
            self._long.add("".join(self._parts))
            self._parts, self._size = [], 0
        self._long.add(text)

    def _take(self) -> str:
        if self._long is not None:
            line, cut = self._long.line()
            self.cut += cut
            self._long = None
            return line
        line = "".join(self._parts) if len(self._parts) != 1 else self._parts[0]
        self._parts, self._size = [], 0
        return line


class _LongLine:
    """A line past MAX_LINE_CHARS: the frame being written and the last visible one, each bounded."""

    def __init__(self) -> None:
        self.frame: list[str] = []
        self.size = 0
        self.visible: str | None = None
        self.redrawn = False
        self.cut = False

    def add(self, text: str) -> None:
        if "\r" not in text:
            self._extend(text)
            return
        pieces = text.split("\r")
        self._extend(pieces[0])
        self.redrawn = True
        # The frames this text completes: only the last visible one can matter.
        for piece in reversed(pieces[1:-1]):
            if _visible(piece):
                self.visible = piece[:MAX_LINE_CHARS]
                self.cut = self.cut or len(piece) > MAX_LINE_CHARS
                break
        else:
            frame = "".join(self.frame)
            if _visible(frame):
                self.visible = frame
        self.frame, self.size = [], 0
        self._extend(pieces[-1])

    def _extend(self, piece: str) -> None:
        room = MAX_LINE_CHARS - self.size
        if len(piece) > room:
            piece = piece[:room]
            self.cut = True
        if piece:
            self.frame.append(piece)
            self.size += len(piece)

    def line(self) -> tuple[str, bool]:
        frame = "".join(self.frame)
        if not _visible(frame) and self.visible is not None:
            frame = self.visible
        # The carriage return keeps the line counted as a redraw by clean_line.
        return ("\r" + frame if self.redrawn else frame), self.cut


def _visible(frame: str) -> bool:
    return bool((_ANSI.sub("", frame) if "\x1b" in frame else frame).strip())


def note_cut_lines(stats: SourceStats, cut: int) -> None:
    if cut:
        stats.notes.append(f"{cut} line(s) longer than {MAX_LINE_CHARS:,} characters were cut to that length")


class LineFilter:
    """What the first lines say about the writers of a log, applied to every line.

    - a repeated prefix (timestamps, tags: `detect_prefix`) is stripped;
    - with rank prefixes of several processes (`[rank0]:`, `[rank1]:`), only
      the lowest rank's lines are kept (each rank logs the same run; mixed,
      they would read as restarts), and lines without a prefix;
    - lines written twice in a row by unlabelled processes (REPEAT_SHARE of
      the first lines repeat the one before) are read once.

    `__call__` returns the text to parse, or None for a line left out.
    """

    def __init__(self, head: list[str]) -> None:
        found = detect_prefix(head)
        self.name, self.pattern = found if found else (None, None)
        self.rank: str | None = None
        self.ranks: set[str] = set()
        if self.name == "rank":
            self.ranks = {m.group(1) for m in map(self.pattern.match, head) if m is not None}
            self.rank = min(self.ranks, key=int)
        stripped = [self._strip(text) for text in head] if self.pattern is not None else head
        kept = [text for text in stripped if text is not None]
        visible = [text for text in kept if text.strip()]
        repeated = [text for before, text in zip(kept, kept[1:]) if text.strip() and text == before]
        self.dedupe = (len(visible) >= REPEAT_MIN_LINES and len(repeated) >= REPEAT_SHARE * len(visible)
                       and len(set(repeated)) >= REPEAT_DISTINCT * len(visible))
        self.stripped = self.other_ranks = self.repeats = 0
        self._last: str | None = None

    @property
    def active(self) -> bool:
        return self.pattern is not None or self.dedupe

    def _strip(self, text: str) -> str | None:
        match = self.pattern.match(text)
        if match is None:
            return text
        if self.rank is not None:
            rank = match.group(1)
            if rank != self.rank:
                if len(self.ranks) < 1000:
                    self.ranks.add(rank)
                return None
        return text[match.end():]

    def __call__(self, text: str) -> str | None:
        if self.pattern is not None:
            stripped = self._strip(text)
            if stripped is None:
                self.other_ranks += 1
                return None
            if stripped is not text:
                self.stripped += 1
            text = stripped
        if self.dedupe:
            if text == self._last:
                self.repeats += 1
                return None
            self._last = text
        return text

    def intent(self) -> list[str]:
        """What will be done, said before the counts are known (watch)."""
        notes = []
        if len(self.ranks) > 1:
            notes.append(f"lines of {len(self.ranks)} processes ({_ranks(self.ranks)}): judging rank {self.rank}'s lines only")
        elif self.name is not None:
            notes.append(f"stripping a repeated {self.name} prefix")
        if self.dedupe:
            notes.append("lines are written twice in a row (several processes writing one log?): each repeat is read once")
        return notes

    def notes(self) -> list[str]:
        """What was done, with counts (check)."""
        notes = []
        if len(self.ranks) > 1:
            notes.append(f"lines of {len(self.ranks)} processes ({_ranks(self.ranks)}): judged on rank {self.rank}'s lines; "
                         f"{self.other_ranks} line(s) of other ranks left out")
        elif self.name is not None:
            notes.append(f"stripped a repeated {self.name} prefix from {self.stripped} line(s)")
        if self.dedupe:
            notes.append(f"lines are written twice in a row (several processes writing one log?): "
                         f"{self.repeats} repeated line(s) read once")
        return notes


def _ranks(ranks: set[str]) -> str:
    shown = sorted(ranks, key=int)
    return ", ".join(shown[:8]) + (f" and {len(shown) - 8} more" if len(shown) > 8 else "")


def strip_prefixes(lines: Iterable[tuple[int, str]], stats: SourceStats) -> Iterator[tuple[int, str]]:
    """Judge the first lines (`LineFilter`: a repeated prefix, ranks, repeated lines), then filter every line."""
    iterator = iter(lines)
    head: list[tuple[int, str]] = []
    size = 0
    for item in iterator:
        head.append(item)
        size += len(item[1])
        if len(head) >= PREFIX_SNIFF_LINES or size >= PREFIX_SNIFF_BYTES:
            break
    keep = LineFilter([text for _, text in head])
    if not keep.active:
        yield from head
        yield from iterator
        return
    for lineno, text in itertools.chain(head, iterator):
        text = keep(text)
        if text is not None:
            yield lineno, text
    stats.notes.extend(keep.notes())


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


class _Counted:
    """A binary handle that reports the bytes read so far to a progress callback; the rest is the handle's."""

    def __init__(self, handle: BinaryIO, progress: Callable[[int], None]) -> None:
        self.counted = handle
        self._progress = progress
        self._done = 0

    def read(self, size: int = -1) -> bytes:
        data = self.counted.read(size)
        self._done += len(data)
        self._progress(self._done)
        return data

    def __getattr__(self, name: str):
        return getattr(self.counted, name)


class LogSource:
    """A readable log: a path, a compressed file (gzip, bzip2, xz: known by its first bytes), or a binary stream such as stdin."""

    def __init__(self, name: str, opener, path: str | None = None) -> None:
        self.name = name
        self._opener = opener
        # Set for a plain file on disk: a helper process may read it too.
        self.path = path
        self.stats = SourceStats(name=name)
        # Optional progress report: called with the bytes read so far (the CLI draws a bar on a terminal).
        self.progress: Callable[[int], None] | None = None
        # Bytes to read, when known before reading (a plain file or notebook on disk; not a stream or compressed file).
        self.size: int | None = None

    def label(self, lineno: int) -> str:
        """How to show a line number to the user."""
        return f"line {lineno}"

    @property
    def has_labels(self) -> bool:
        return False

    @classmethod
    def from_path(cls, path: str | Path) -> LogSource:
        path = Path(path)
        try:
            if not path.exists():
                raise InputError(f"{path}: no such file")
            if path.is_dir():
                raise InputError(f"{path}: is a directory, not a log file")
        except OSError as exc:  # an over-long name, a folder that may not be searched
            raise InputError(f"{path}: cannot open: {exc.strerror or exc}") from exc
        if not path.is_file():
            # A pipe or a device (`<(zcat run.log.gz)`, /dev/stdin): read once, its first bytes peeked.
            return cls(str(path), lambda: _open_stream(open(path, "rb")))
        try:
            with open(path, "rb") as handle:
                kind = compression(handle.read(6))
        except OSError as exc:
            raise InputError(f"{path}: cannot open: {exc.strerror or exc}") from exc
        if kind is not None:
            return cls(str(path), lambda: _DECOMPRESS[kind](path, "rb"))
        source = NotebookSource(str(path), lambda: open(path, "rb")) if path.suffix == ".ipynb" \
            else cls(str(path), lambda: open(path, "rb"), path=str(path))
        source.size = _size(path)
        return source

    @classmethod
    def from_stream(cls, stream: BinaryIO, name: str = "<stdin>") -> LogSource:
        return cls(name, lambda: _open_stream(stream))

    @classmethod
    def from_text(cls, text: str, name: str = "<text>") -> LogSource:
        data = text.encode("utf-8")
        return cls(name, lambda: io.BytesIO(data))

    def _open(self):
        try:
            handle = self._opener()
            return handle if self.progress is None else _Counted(handle, self.progress)
        except OSError as exc:
            raise InputError(f"{self.name}: cannot open: {exc.strerror or exc}") from exc

    def _sniff(self, handle: BinaryIO) -> tuple[bytes, str]:
        """The first chunk (BOM removed) and the encoding; refuses binary data."""
        first = handle.read(CHUNK_SIZE)
        self.stats.blank = len(first) < CHUNK_SIZE and not first.strip()
        first, encoding = sniff_encoding(first, self.stats)
        if encoding == "utf-8":
            refuse_binary(first[:SNIFF_SIZE], self.name)
        return first, encoding

    def _close(self, handle: BinaryIO) -> None:
        if getattr(handle, "counted", handle) is not sys.stdin.buffer:
            handle.close()

    def lines(self) -> Iterator[tuple[int, str]]:
        """Yield (1-based physical line number, normalised text)."""
        handle = self._open()
        try:
            first, encoding = self._sniff(handle)
            yield from strip_prefixes(self._decode_lines(handle, first, encoding), self.stats)
        except READ_ERRORS as exc:
            raise InputError(f"{self.name}: cannot read: {getattr(exc, 'strerror', None) or exc}") from exc
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
            if encoding != "utf-8" or LineFilter([clean_line(line) for line in head]).active:
                lines = strip_prefixes(self._decode_lines(handle, first, encoding), self.stats)
                return parse_lines(lines, self.name)
            skip = len(codecs.BOM_UTF8) if self.stats.bom else 0
            return parse_bytes(handle, first, self.name, self.stats, path=self.path, skip=skip)
        except READ_ERRORS as exc:
            raise InputError(f"{self.name}: cannot read: {getattr(exc, 'strerror', None) or exc}") from exc
        finally:
            self._close(handle)

    def _decode_lines(self, handle: BinaryIO, first: bytes, encoding: str) -> Iterator[tuple[int, str]]:
        stats = self.stats
        decoder = Decoder(encoding, stats)
        splitter = LineSplitter()
        lineno = 0
        chunk = first
        while chunk:
            for raw in splitter.feed(decoder.decode(chunk)):
                lineno += 1
                yield lineno, clean_line(raw, stats)
            chunk = handle.read(CHUNK_SIZE)
        for raw in splitter.feed(decoder.decode(b"", final=True)):
            lineno += 1
            yield lineno, clean_line(raw, stats)
        if splitter.pending():
            lineno += 1
            yield lineno, clean_line(splitter.finish(), stats)
        stats.physical_lines = lineno
        stats.note_bad_bytes()
        note_cut_lines(stats, splitter.cut)


class NotebookSource(LogSource):
    """A Jupyter notebook: the text of its outputs, in cell order.

    `stream` outputs give their `text`, results and displays their
    `text/plain`, errors their traceback. Line numbers count the logical
    lines of all outputs; `label()` turns one back into `cell N, line M`.
    The notebook is read as a stream (`percediag.notebook`): memory does not
    grow with its size; a cell's first line number is remembered for the
    first MAX_LABELLED_CELLS cells with output (later lines are labelled
    `line N`).
    """

    MAX_LABELLED_CELLS = 1 << 20

    def __init__(self, name: str, opener) -> None:
        super().__init__(name, opener)
        self._starts = array("q")  # first line number of each cell with output text
        self._cells = array("q")  # and that cell's number
        self._labelled = 0  # lines up to this one have a cell label

    @property
    def has_labels(self) -> bool:
        return True

    def label(self, lineno: int) -> str:
        index = bisect.bisect_right(self._starts, lineno) - 1
        if index >= 0 and lineno <= self._labelled:
            return f"cell {self._cells[index]}, line {lineno - self._starts[index] + 1}"
        return f"line {lineno}"

    def parse(self):
        from percediag.parsers import parse_lines

        return parse_lines(self.lines(), self.name)

    def lines(self) -> Iterator[tuple[int, str]]:
        handle = self._open()
        try:
            self.stats.encoding = "notebook"
            self._starts, self._cells, self._labelled = array("q"), array("q"), 0
            yield from strip_prefixes(self._cell_lines(handle), self.stats)
        except OSError as exc:
            raise InputError(f"{self.name}: cannot read: {exc.strerror or exc}") from exc
        finally:
            handle.close()

    def _cell_lines(self, handle: BinaryIO) -> Iterator[tuple[int, str]]:
        from percediag.notebook import output_texts

        stats = self.stats
        lineno = 0
        current = 0
        splitter = LineSplitter()
        ends_newline = False
        for cell, piece in output_texts(handle, self.name):
            if piece is None:
                # An output text ends: its unfinished last line (or an empty text) is a line.
                raws = [] if ends_newline else [splitter.finish()]
                ends_newline = False
            else:
                if not piece:
                    continue
                raws = splitter.feed(piece)
                ends_newline = piece.endswith("\n")
            for raw in raws:
                lineno += 1
                if cell != current:
                    current = cell
                    if len(self._starts) < self.MAX_LABELLED_CELLS:
                        self._starts.append(lineno)
                        self._cells.append(cell)
                if len(self._starts) < self.MAX_LABELLED_CELLS or cell == self._cells[-1]:
                    self._labelled = lineno
                yield lineno, clean_line(raw, stats)
        stats.physical_lines = lineno
        note_cut_lines(stats, splitter.cut)
