"""Sources: where a log's bytes come from, each line keeping its origin.

A log is a path, a compressed file (gzip, bzip2, xz: known by its first
bytes, whatever its name), a binary stream such as stdin, or a notebook
(`.ipynb`), read as the text of its outputs cell by cell, each line
remembering its cell and its line within that cell's output. Turning the
bytes into normalised lines (encoding, CRLF, redraws, ANSI, prefixes, bad
bytes) is `percediag.normalize`'s, the one decoder `check`, the bytes fast
path and `watch` all drive; parsing a source is the parse layer's
(`percediag.parsers.read`).

Reading is streaming: a log file, and a notebook (`percediag.notebook`, a
pull parser), are consumed in chunks and memory does not grow with their
size.
"""

from __future__ import annotations

import bisect
import bz2
import errno
import gzip
import io
import lzma
import os
import re
import sys
import zlib
from array import array
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from percediag.errors import InputError
from percediag.normalize import Lines, Normalizer, Plan, SourceStats, plan, sniff_encoding

CHUNK_SIZE = 1 << 20

# Compressed input is recognised by its first bytes, whatever its name: gzip, bzip2, xz.
MAGIC = ((b"\x1f\x8b", "gzip"), (b"BZh", "bz2"), (b"\xfd7zXZ\x00", "xz"))
MAGIC_BYTES = max(len(magic) for magic, _ in MAGIC)
_DECOMPRESS = {"gzip": gzip.open, "bz2": bz2.open, "xz": lzma.open}
# What reading a damaged file (compressed or not) raises.
READ_ERRORS = (OSError, EOFError, gzip.BadGzipFile, lzma.LZMAError)


def compression(head: bytes) -> str | None:
    """`gzip`, `bz2` or `xz` when `head` (the first bytes of the input) starts with that format's magic, else None."""
    return next((kind for magic, kind in MAGIC if head.startswith(magic)), None)


# A notebook is a JSON object with a `cells` list and an `nbformat` number (nbformat writes
# `cells` first; others write `metadata` first, `nbformat` after it). A log line that is a JSON
# record with a `cells` count is not one. Read in the first NOTEBOOK_PEEK bytes of the text.
_JSON_OBJECT = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*\{")
_NOTEBOOK_KEY = re.compile(rb'"cells"\s*:\s*\[|"nbformat"\s*:\s*\d')
NOTEBOOK_PEEK = 65536


def is_notebook(head: bytes) -> bool:
    """Do these first bytes open a Jupyter notebook (a JSON object holding `"cells": [` or `"nbformat": N`)?"""
    return _JSON_OBJECT.match(head) is not None and _NOTEBOOK_KEY.search(head) is not None


UTF16_BE_MARK = b"\xfe\xff"
HOLE_CAUSE = "a hole left when the file was truncated while its writer went on (as logrotate's copytruncate leaves it)"


def hole_note(count: int) -> str:
    """What a report says of the zero bytes skipped at the start of a log."""
    return f"the first {count:,} byte(s) were zeros and were skipped: {HOLE_CAUSE}; line numbers count from the text after it"


def _past_hole(handle: BinaryIO, first: bytes, name: str) -> tuple[bytes, int]:
    """A log that opens with zero bytes, a hole no writer put there (see hole_note): the first
    chunk of the text after them, topped up to a chunk, and how many were skipped. Zeros and
    nothing else are no log."""
    hole = 0
    while True:
        kept = past_zeros(first, hole)
        hole += len(first) - len(kept)
        if kept:
            if len(first) == CHUNK_SIZE:
                kept += handle.read(CHUNK_SIZE - len(kept))
            return kept, hole
        if len(first) < CHUNK_SIZE:
            raise InputError(f"{name}: {hole:,} zero byte(s) and no text: not a log")
        hole += jump_sparse(handle, growing=False)
        first = handle.read(CHUNK_SIZE)


def past_zeros(data: bytes, zeros_before: int) -> bytes:
    """`data` without the zero bytes that open it (a hole), but for the two that open a UTF-32 BE
    byte order mark (00 00 FE FF), counting `zeros_before` skipped just before `data`."""
    kept = data.lstrip(b"\0")
    if kept.startswith(UTF16_BE_MARK) and zeros_before + len(data) - len(kept) >= 2:
        return b"\0\0" + kept
    return kept


def jump_sparse(handle: BinaryIO, growing: bool) -> int:
    """Seek a plain file past the sparse hole at its position (SEEK_DATA): how many bytes that
    passed (0 where the file system cannot say, or the handle is not a plain file). A hole that
    runs to the end of the file (ENXIO) is jumped to its end, unless the file is `growing` (a
    followed log: a writer may be filling it as we look)."""
    if not (isinstance(handle, io.BufferedReader) and isinstance(handle.raw, io.FileIO)):
        return 0
    here = handle.tell()
    try:
        data = os.lseek(handle.fileno(), here, os.SEEK_DATA)
    except OSError as exc:
        # Otherwise no SEEK_DATA here, or data may yet come: the zeros are read and skipped.
        data = os.fstat(handle.fileno()).st_size if exc.errno == errno.ENXIO and not growing else here
    handle.seek(data)  # lseek moved the descriptor under the buffer: put both back in step
    return data - here


def _file_kind(path: Path, head: bytes) -> tuple[str | None, bool]:
    """(compression, is a notebook) of a plain file whose first bytes are `head`: a notebook is
    named .ipynb (`run.ipynb.gz` too), or its text opens one (see is_notebook)."""
    kind = compression(head[:6])
    if path.name.endswith(".ipynb") or (kind is not None and path.name.endswith(".ipynb" + path.suffix)):
        return kind, True
    if kind is not None:
        head = _decompressed_head(lambda: _DECOMPRESS[kind](path, "rb"))
    return kind, is_notebook(head)


def is_notebook_file(path: str) -> bool:
    """Is `path` a plain file holding a notebook (see _file_kind)? False when it cannot be read or
    is not a plain file: the reader that opens it says why, and a pipe is read once, by it."""
    try:
        if not os.path.isfile(path):
            return False
        with open(path, "rb") as handle:
            head = handle.read(NOTEBOOK_PEEK)
    except OSError:
        return False
    return _file_kind(Path(path), head)[1]


def _decompressed_head(opener: Callable[[], BinaryIO]) -> bytes:
    """The first decompressed bytes of a compressed file (b'' when they cannot be read: reading it
    again, as a log, then says why in one line)."""
    try:
        with opener() as handle:
            return handle.read(NOTEBOOK_PEEK)
    except READ_ERRORS:
        return b""


class _Prefixed(io.RawIOBase):
    """A stream whose first bytes were read to see what it holds (`head`), given back before
    the rest of it; closing it closes `closes` (the streams it opened), never standard input."""

    def __init__(self, head: bytes, rest: BinaryIO, closes: tuple[BinaryIO, ...] = ()) -> None:
        super().__init__()
        self._head, self._rest, self._closes = head, rest, closes

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._head:
            count = min(len(buffer), len(self._head))
            buffer[:count] = self._head[:count]
            self._head = self._head[count:]
            return count
        readinto = getattr(self._rest, "readinto", None)
        if readinto is not None:
            return readinto(buffer)  # straight into the reader's buffer: no copy of a large log
        data = self._rest.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            for stream in self._closes:
                stream.close()
        super().close()


def _head_of(stream: BinaryIO, name: str) -> bytes:
    """The first NOTEBOOK_PEEK bytes of a stream (fewer at its end), however slowly they come."""
    try:
        return stream.read(NOTEBOOK_PEEK)
    except READ_ERRORS as exc:
        raise InputError(f"{name}: cannot read: {getattr(exc, 'strerror', None) or exc}") from exc


def _looked_at(stream: BinaryIO, name: str, owned: bool) -> tuple[BinaryIO, bytes]:
    """A stream read once (a pipe, standard input), decompressed when its first bytes say so, and
    the first bytes of its text: read to decide, then given back in front of the rest. `owned`:
    percediag opened it (a pipe given by path), so closing the result closes it."""
    head = _head_of(stream, name)
    whole = io.BufferedReader(_Prefixed(head, stream, (stream,) if owned else ()))
    kind = compression(head[:6])
    if kind is None:
        return whole, head
    unpacked = _DECOMPRESS[kind](whole, "rb")  # closing it leaves `whole` open: closed with it below
    text = _head_of(unpacked, name)
    return io.BufferedReader(_Prefixed(text, unpacked, (unpacked, whole))), text


class Unpacker:
    """Incremental decompression of bytes pushed as they arrive (watch): a gzip, bzip2 or xz
    stream of one or more members, as `gzip.open`, `bz2.open` and `lzma.open` read them for `check`."""

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


class Reading:
    """An open byte input with its first chunk read and planned (`normalize.plan`): read on as
    normalised lines (`lines`), or, when the plan says the bytes are plain, as bytes (`body`)."""

    def __init__(self, source: LogSource, handle: BinaryIO, first: bytes, hole: int = 0) -> None:
        self.source = source
        self.handle = handle
        self.first = first
        self.hole = hole  # zero bytes skipped before `first` (hole_note)
        self.plan: Plan = plan(first, len(first) < CHUNK_SIZE, source.name)

    def lines(self) -> Iterator[tuple[int, str]]:
        """(1-based physical line number, normalised text) of the whole input."""
        normalizer = Normalizer(self.source.name, self.source.stats)
        chunk = self.first
        while chunk:
            yield from normalizer.feed(chunk)
            chunk = self.handle.read(CHUNK_SIZE)
        yield from normalizer.close()

    def body(self) -> bytes:
        """The first chunk without its byte order mark, the plan noted in the stats: the bytes
        fast path reads on from here (`handle`)."""
        self.plan.note(self.source.stats)
        return self.first[self.plan.bom:]


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

    # Bytes that the fast path may read as bytes (a notebook is JSON: lines only).
    reads_bytes = True

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
            # A pipe or a device (`<(zcat run.log.gz)`, /dev/stdin): read once, as a stream.
            try:
                handle = open(path, "rb")
            except OSError as exc:
                raise InputError(f"{path}: cannot open: {exc.strerror or exc}") from exc
            return cls._stream(handle, str(path), owned=True)
        try:
            with open(path, "rb") as handle:
                head = handle.read(NOTEBOOK_PEEK)
        except OSError as exc:
            raise InputError(f"{path}: cannot open: {exc.strerror or exc}") from exc
        kind, notebook = _file_kind(path, head)
        if kind is not None:
            opener = lambda: _DECOMPRESS[kind](path, "rb")  # noqa: E731 - one opener for both classes
            return NotebookSource(str(path), opener) if notebook else cls(str(path), opener)
        if notebook:
            source: LogSource = NotebookSource(str(path), lambda: open(path, "rb"))
        else:
            source = cls(str(path), lambda: open(path, "rb"), path=str(path))
        source.size = _size(path)
        return source

    @classmethod
    def from_stream(cls, stream: BinaryIO, name: str = "<stdin>") -> LogSource:
        """A stream (stdin): a notebook when its text opens one (`cat run.ipynb | percediag check -`), else a log."""
        return cls._stream(stream, name, owned=False)

    @classmethod
    def _stream(cls, stream: BinaryIO, name: str, owned: bool) -> LogSource:
        opened, text = _looked_at(stream, name, owned)
        if is_notebook(text):
            return NotebookSource(name, lambda: opened)
        return cls(name, lambda: opened)

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

    def _close(self, handle: BinaryIO) -> None:
        if getattr(handle, "counted", handle) is not sys.stdin.buffer:
            handle.close()

    @contextmanager
    def reading(self) -> Iterator[Reading]:
        """The input opened, its first chunk read and planned; a read error is an InputError."""
        handle = self._open()
        try:
            first = handle.read(CHUNK_SIZE)
            hole = 0
            if first[:1] == b"\0" and sniff_encoding(first)[0] == "utf-8":  # not UTF-32 BE's mark (00 00 FE FF)
                first, hole = _past_hole(handle, first, self.name)
                self.stats.notes.append(hole_note(hole))
            self.stats.blank = len(first) < CHUNK_SIZE and not first.strip()
            yield Reading(self, handle, first, hole)
        except READ_ERRORS as exc:
            raise InputError(f"{self.name}: cannot read: {getattr(exc, 'strerror', None) or exc}") from exc
        finally:
            self._close(handle)

    def lines(self) -> Iterator[tuple[int, str]]:
        """Yield (1-based physical line number, normalised text)."""
        with self.reading() as reading:
            yield from reading.lines()

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
    reads_bytes = False

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

    def lines(self) -> Iterator[tuple[int, str]]:
        handle = self._open()
        try:
            self.stats.encoding = "notebook"
            self._starts, self._cells, self._labelled = array("q"), array("q"), 0
            yield from self._cell_lines(handle)
        except OSError as exc:
            raise InputError(f"{self.name}: cannot read: {exc.strerror or exc}") from exc
        finally:
            self._close(handle)  # never stdin

    def _cell_lines(self, handle: BinaryIO) -> Iterator[tuple[int, str]]:
        # Here, not at the top: a check of a plain log does not load the notebook reader.
        from percediag.notebook import output_texts

        lines = Lines(self.stats)
        ends_newline = False
        for cell, piece in output_texts(handle, self.name):
            before = lines.count
            if piece is None:
                # An output text ends: its unfinished last line (or an empty text) is a line.
                out = [] if ends_newline else lines.end_line()
                ends_newline = False
            else:
                if not piece:
                    continue
                out = lines.feed(piece)
                ends_newline = piece.endswith("\n")
            if lines.count > before:
                self._note_cell(cell, before + 1, lines.count)
            yield from out
        yield from lines.close()

    def _note_cell(self, cell: int, first: int, last: int) -> None:
        """Lines first..last came from `cell`."""
        if not self._cells or cell != self._cells[-1]:
            if len(self._starts) >= self.MAX_LABELLED_CELLS:
                return
            self._starts.append(first)
            self._cells.append(cell)
        self._labelled = last
