"""Prescan: the work on a log's buffers that needs no parser state.

The fast path (`parsers/fast.py`) reads a log as buffers of whole lines.
Finding the rare block markers in a buffer, counting its lines and reading
the numbers of its plain gradient blocks do not depend on what came before,
so for a large regular file a helper process does them ahead, on the
second core (an isolated interpreter running `main`, as `python -m
percediag.prescan PATH FIRST SKIP CHUNK SHARE SCAN` would): it reads the same
file, cuts it into the same buffers (`buffers`), and writes one `Answer`
per buffer, with the buffer's length and a sample of its bytes.

The parser checks each answer against its own buffer before
trusting it, does the work itself where an answer does not fit (the file
changed under it) or when the helper is gone, and says so in the report's
input notes.

What is looked for (`Scan`: the rare markers, the gradient blocks read in
bulk and their plain form) is not written here: `parsers.grammar` builds
it from the parser modules' declarations, and the parser hands it to the
helper on its command line (`Scan.to_arg`).

This module imports only the standard library when loaded (no parser, no
pydantic), so the helper starts fast; numpy, for the vectorised passes,
is loaded on first use.
"""

from __future__ import annotations

import marshal
import os
import re
import stat
import struct
import subprocess
import sys
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from itertools import chain
from typing import BinaryIO

from percediag.normalize import normalize_bytes

# The size of each read after the first (the first is the source's sniff chunk).
CHUNK = 4 << 20


# In dense text (more than one candidate first byte in CANDIDATE_SHARE
# bytes) the scan's regex search is cheaper than finding each candidate.
CANDIDATE_SHARE = 256
# Bytes that open much of a log's bulk (the progress bars' `[`): a marker
# piece opening with one is searched for by its first two bytes.
COMMON_LEADS = b"["
# What normalisation would change. A regex search for the literal CRLF
# skips ahead faster than `in`, whose loop stops at every newline.
_CRLF = re.compile(rb"\r\n")


class Scan:
    """What the fast path looks for, as the parser modules declare it (`parsers.grammar`).

    `markers`: byte regexes, pieces of the rare markers, each opening with
    a literal; a line with a match goes to the line parser. Their union may
    match more than the real markers (the line parser decides), it must
    never miss one. `header`: the line start of the blocks read in bulk
    between markers (`[GRAD] Step`); `plain`: the regex of their plain
    form (flag [OK], finite numbers, no context line), capturing total,
    loss and balance; any other block after the header matches its empty
    alternative, so `findall` gives one tuple per header and a plain
    region is one whose tuples all hold numbers.

    `firsts` are the bytes the markers' matches open with (`_lead`):
    finding each with bytes.find (memchr) and trying `pattern` only there
    costs a quarter of running `pattern` over the buffer, whose alternation
    tests a set of first bytes at every byte.
    """

    __slots__ = ("markers", "header", "plain", "pattern", "firsts", "plain_form")

    def __init__(self, markers: tuple[bytes, ...], header: bytes, plain: bytes) -> None:
        self.markers = tuple(markers)
        self.header = header
        self.plain = plain
        self.pattern = re.compile(b"|".join(self.markers))
        leads = list(dict.fromkeys(_lead(piece) for piece in self.markers))
        # A lead that extends a shorter one finds nothing the shorter misses.
        self.firsts = tuple(lead for lead in leads if not any(other != lead and lead.startswith(other) for other in leads))
        self.plain_form = re.compile(plain)

    def to_arg(self) -> str:
        """The scan as one command-line argument (hex, comma-separated: header, plain, markers...)."""
        return ",".join(part.hex() for part in (self.header, self.plain, *self.markers))

    @classmethod
    def from_arg(cls, arg: str) -> Scan:
        """The scan `to_arg` wrote; ValueError for anything else."""
        header, plain, *markers = (bytes.fromhex(part) for part in arg.split(","))
        return cls(tuple(markers), header, plain)


_META = b".^$*+?{}[]|()"


def _lead(piece: bytes) -> bytes:
    """The literal bytes every match of `piece` opens with, as many as the search needs:
    one, or two when the first is common in the bulk (COMMON_LEADS)."""
    if _top_level_bar(piece):
        raise ValueError(f"scan piece {piece!r} is an alternation: declare each branch as a piece")
    lead = b""
    at = 0
    while len(lead) < (2 if lead[:1] and lead[:1] in COMMON_LEADS else 1):
        byte = piece[at:at + 1]
        if byte == b"\\" and piece[at + 1:at + 2] and not piece[at + 1:at + 2].isalnum():
            byte = piece[at + 1:at + 2]
            at += 2
        elif byte and byte not in _META and byte != b"\\":
            at += 1
        else:
            raise ValueError(f"scan piece {piece!r} does not open with a literal")
        if piece[at:at + 1] and piece[at:at + 1] in b"*?{":
            raise ValueError(f"scan piece {piece!r} opens with an optional byte")
        lead += byte
    return lead


def _top_level_bar(piece: bytes) -> bool:
    """Does `piece` hold a `|` outside any group or character class?"""
    depth = 0
    at = 0
    in_class = False
    while at < len(piece):
        byte = piece[at:at + 1]
        if byte == b"\\":
            at += 2
            continue
        if in_class:
            in_class = byte != b"]"
        elif byte == b"[":
            in_class = True
        elif byte == b"(":
            depth += 1
        elif byte == b")":
            depth -= 1
        elif byte == b"|" and depth == 0:
            return True
        at += 1
    return False


# How the parser tells the helper's buffer from its own: the length, the
# last EDGE bytes and every SAMPLE_STRIDE-th byte (a strided slice costs
# microseconds; a checksum of every byte would cost the parser a tenth of
# its time). A log is appended to, never rewritten in place; a rewrite
# that kept the length and changed none of the sampled bytes would go
# unseen, as it would by any reader of a file changing under it.
EDGE = 64
SAMPLE_STRIDE = 127
# A log smaller than this is scanned in-process: starting the helper costs more than it saves.
HELPER_MIN_BYTES = 48 << 20
# The share (in percent) of the regions between markers whose plain
# gradient blocks the helper reads too, spread evenly, so that both
# processes have about as much to do (measured with bench/run.py).
HELPER_SHARE = 30

# Kernel pipe capacity asked for the helper's answers: several buffers' worth.
PIPE_BYTES = 1 << 20

_HEADER = struct.Struct("<Q")


def line_start(buf: bytes, low: int, pos: int) -> int:
    """Start of the line holding `pos`, not before `low` (itself a line start)."""
    newline = buf.rfind(b"\n", low, pos)
    return low if newline == -1 else newline + 1


def normalize(buf: bytes) -> tuple[bytes, int]:
    """The buffer without ANSI escapes and with CRLF made LF, and the number of CRLF line ends
    (the decoding core's decision: `percediag.normalize.normalize_bytes`)."""
    return normalize_bytes(buf)


def find_markers(buf: bytes, scan: Scan) -> tuple[bytes, list[int], int]:
    """(normalised buffer, start of every marker match in it, CRLF line ends removed)."""
    buf, positions, crlf, _ = markers_and_bytes(buf, scan)
    return buf, positions, crlf


def markers_and_bytes(buf: bytes, scan: Scan):
    """find_markers, and the normalised buffer's bytes as a numpy array (None for a small buffer).

    In a buffer of VECTOR_MIN_BYTES or more, the CRLF test compares
    two-byte words at even and at odd offsets (two vectorised passes),
    where a search for CRLF stops at each carriage return of the progress
    bars. A smaller buffer (a small log: its whole text) is tested with
    the regex, so a small check does not load numpy for it.
    """
    crlf = 0
    if len(buf) < VECTOR_MIN_BYTES:
        if b"\x1b" in buf or _CRLF.search(buf) is not None:
            buf, crlf = normalize(buf)
        return buf, marker_positions(buf, scan), crlf, None
    import numpy as np

    data = np.frombuffer(buf, dtype=np.uint8)
    # A buffer without a carriage return (most logs) holds no CRLF: memchr answers that at several
    # GB/s, the two-word compare only runs where a CR is (measured: 0.15 against 0.76 ms per 4 MiB).
    if b"\x1b" in buf or (b"\r" in buf and _has_crlf(data)):
        buf, crlf = normalize(buf)
        data = np.frombuffer(buf, dtype=np.uint8)
    return buf, marker_positions(buf, scan), crlf, data


def _has_crlf(data) -> bool:
    """Does data hold CR LF anywhere?"""
    even = len(data) // 2 * 2
    odd = (len(data) - 1) // 2 * 2
    return bool((data[:even].view("<u2") == _CRLF_WORD).any() or (data[1:odd + 1].view("<u2") == _CRLF_WORD).any())


# CR LF read as a little-endian two-byte word.
_CRLF_WORD = 0x0A0D
# From this buffer size on, the CRLF test and the two-byte marker search use numpy.
VECTOR_MIN_BYTES = 1 << 20


def marker_positions(buf: bytes, scan: Scan) -> list[int]:
    """The first `scan.pattern` match of every line that has one, in order.

    One per line is all the parser needs (it goes to the line of the first
    marker past where it stands), and it keeps the list as short as the
    buffer's lines whatever a line holds.
    """
    budget = len(buf) // CANDIDATE_SHARE + 64
    found = []
    firsts = scan.firsts
    match = scan.pattern.match
    pairs = _pair_finders(buf, [first for first in firsts if len(first) > 1]) if len(buf) >= VECTOR_MIN_BYTES else {}
    for first in firsts:
        find = pairs.get(first, buf.find)
        position = find(first)
        while position != -1:
            budget -= 1
            if budget < 0:
                return _scan_lines(buf, scan)
            if match(buf, position) is None:
                position = find(first, position + 1)
                continue
            found.append(position)
            # The rest of this line adds nothing: go on from the next one.
            next_line = buf.find(b"\n", position) + 1
            position = find(first, next_line) if next_line else -1
    found.sort()
    return _first_per_line(buf, found)


def _pair_finders(buf: bytes, pairs: list[bytes]) -> dict:
    """A `find(pair, start)` for each two-byte first byte pair of a scan, like bytes.find.

    A two-byte needle opening with a common byte (`[`) makes bytes.find stop
    at each of them: about 3 ms per 4 MiB of progress bars and gradient
    blocks, for each needle. One numpy pass finds every lead byte, and the
    byte after each tells the pairs apart (about 1.8 ms for both; comparing
    two-byte words, as the CRLF test does, measured slower here).
    """
    if not pairs:
        return {}
    import numpy as np

    data = np.frombuffer(buf, dtype=np.uint8)
    finders = {}
    for lead in {pair[0] for pair in pairs}:
        at = np.flatnonzero(data[:-1] == lead)
        after = data[at + 1]
        for pair in pairs:
            if pair[0] == lead:
                finders[pair] = partial(_find_in, at[after == pair[1]].tolist())
    return finders


def _find_in(starts: list[int], _pair: bytes, start: int = 0) -> int:
    """The first of the sorted `starts` at or after `start`, or -1."""
    index = bisect_left(starts, start)
    return starts[index] if index < len(starts) else -1


def _scan_lines(buf: bytes, scan: Scan) -> list[int]:
    """marker_positions by the regex scan, from each match on to the next line."""
    found = []
    position = 0
    search = scan.pattern.search
    while (match := search(buf, position)) is not None:
        found.append(match.start())
        position = buf.find(b"\n", match.end()) + 1
        if position == 0:
            break
    return found


def _first_per_line(buf: bytes, positions: list[int]) -> list[int]:
    """The first of the sorted `positions` on each line."""
    kept: list[int] = []
    for position in positions:
        if not kept or buf.rfind(b"\n", kept[-1], position) != -1:
            kept.append(position)
    return kept


def plain_values(buf: bytes, start: int, end: int, scan: Scan) -> list[bytes] | None:
    """Total, loss and balance of each gradient block of buf[start:end], as printed and in one
    flat list (t0, l0, b0, t1, ...); None when a block is not plain."""
    flat = list(chain.from_iterable(scan.plain_form.findall(buf, start, end)))
    if b"" in flat:
        return None
    return flat


def buffers(handle: BinaryIO, first: bytes, scan: Scan, chunk_size: int | None = None) -> Iterator[tuple[bytes, bool]]:
    """(buffer of whole lines, forced) in file order; the same cuts in any process.

    A buffer never ends inside a gradient block: the last block is carried
    over, so the bulk path sees whole blocks. `forced` marks a line longer
    than any log line, cut and given a newline it did not have.
    Reads after the first are `chunk_size` bytes (CHUNK by default).
    """
    size = CHUNK if chunk_size is None else chunk_size
    header = scan.header
    carry = b""
    chunk = first
    while chunk:
        if len(chunk) > _TAIL_WINDOW:
            # The usual case, with a single copy: the cut is found in the
            # chunk, and carry + chunk[:cut] is joined without slicing first.
            cut = _cut(chunk, header)
            if cut:
                yield b"".join((carry, memoryview(chunk)[:cut])), False
                carry = chunk[cut:]
            else:
                carry += chunk
        else:
            buf = carry + chunk
            cut = _cut(buf, header)
            if cut:
                yield buf[:cut], False
                carry = buf[cut:]
            else:
                carry = buf
        if len(carry) > size * 4:
            yield carry + b"\n", True
            carry = b""
        chunk = handle.read(size)
    if carry:
        yield (carry if carry.endswith(b"\n") else carry + b"\n"), False


# Where the last gradient block is looked for, from the end of a chunk.
_TAIL_WINDOW = 4096


def _cut(buf: bytes, header: bytes) -> int:
    """Where to cut buf: after its last newline, but before a gradient block (`header`) in its last bytes."""
    cut = buf.rfind(b"\n") + 1
    last_block = buf.rfind(header, max(0, len(buf) - _TAIL_WINDOW))
    if last_block > 0:
        cut = min(cut, line_start(buf, 0, last_block))
    return cut


@dataclass
class Answer:
    """What the helper found in one buffer.

    `lines_at` maps the start of each marker line to the newlines before it;
    `gaps` maps the end of a region between markers (a marker line start, or
    the buffer's end) to (start of its first gradient block line, the
    float64 (total, loss, balance) of each of its blocks packed in order, or
    None when a block is not plain).
    """

    normal: bool
    positions: list[int]
    lines_at: dict[int, int]
    gaps: dict[int, tuple[int, bytes | None]]


def survey(buf: bytes, share: int, scan: Scan) -> Answer:
    """The helper's work on one buffer: markers, line counts and the plain blocks of `share` percent of its regions."""
    import numpy as np

    normal_buf, positions, _, data = markers_and_bytes(buf, scan)
    # Line counts from a newline mask: one vectorised pass, where bytes.count is 7 times slower.
    newline = (np.frombuffer(normal_buf, dtype=np.uint8) if data is None else data) == 10
    normal = normal_buf is buf
    buf = normal_buf
    lines_at: dict[int, int] = {}
    gaps: dict[int, tuple[int, bytes | None]] = {}
    lines = 0
    counted = 0
    region = 0
    for index, end in enumerate(_region_ends(buf, positions)):
        lines += int(np.count_nonzero(newline[counted:end]))
        counted = end
        lines_at[end] = lines
        if (index + 1) * share // 100 > index * share // 100 and region < end:
            first = buf.find(scan.header, region, end)
            if first != -1:
                start = line_start(buf, region, first)
                gaps[end] = (start, _packed_values(buf, start, end, scan))
        if end < len(buf):
            region = buf.index(b"\n", end) + 1
    return Answer(normal, positions, lines_at, gaps)


def _region_ends(buf: bytes, positions: list[int]) -> Iterator[int]:
    """The start of each marker line, then the buffer's end.

    `positions` holds one marker per line (marker_positions), so a newline
    lies between any two: the search back stops at the previous one, which
    keeps it linear however long the lines.
    """
    previous = 0
    for position in positions:
        yield buf.rfind(b"\n", previous, position) + 1
        previous = position
    yield len(buf)


def _packed_values(buf: bytes, start: int, end: int, scan: Scan) -> bytes | None:
    """plain_values as float64 bytes, read by the byte matrix (numpy, loaded on the helper's first region)."""
    from percediag.gradient_matrix import plain_array

    values = plain_array(buf, start, end, scan.header, scan.plain_form)
    return None if values is None else values.tobytes()


def _answer(buf: bytes, share: int, scan: Scan) -> bytes:
    answer = survey(buf, share, scan)
    data = marshal.dumps((len(buf), buf[::SAMPLE_STRIDE], buf[-EDGE:], answer.normal, answer.positions,
                          answer.lines_at, answer.gaps))
    return _HEADER.pack(len(data)) + data


def helper_main(path: str, first_size: int, skip: int, chunk_size: int, share: int, scan: Scan) -> int:
    """The helper: answer for every buffer of the file, in order, on stdout.

    The parser's first read ended at byte `first_size`, of which it dropped
    the first `skip` (a byte order mark, a hole of zeros before the text:
    sought past, never read, however large); later reads were `chunk_size` bytes.
    """
    out = sys.stdout.buffer
    _widen_pipe(out)
    keep_freed_memory()
    try:
        with open(path, "rb") as handle:
            handle.seek(skip)
            first = handle.read(first_size - skip)
            for buf, _ in buffers(handle, first, scan, chunk_size):
                out.write(_answer(buf, share, scan))
        out.flush()
    except BrokenPipeError:
        # The parser stopped reading (it finished or failed): nothing is owed.
        os._exit(0)
    except OSError as exc:
        print(f"prescan: {exc}", file=sys.stderr)
        return 1
    return 0


class Helper:
    """The parser's side: one answer per buffer, checked against the buffer."""

    def __init__(self, process: subprocess.Popen, errors) -> None:
        self.process = process
        # The helper's stderr goes to a file: a pipe nobody reads could fill and stall it.
        self.errors = errors
        self.failure: str | None = None

    @classmethod
    def start(cls, path: str, first_size: int, skip: int, scan: Scan) -> Helper | None:
        """A helper for a large regular file on a machine with a second core, else None."""
        # A frozen application's executable is not an interpreter that takes -I -c.
        if not sys.executable or getattr(sys, "frozen", False) or _cores() < 2:
            return None
        try:
            info = os.stat(path)
            # A pipe, a device or a /proc file cannot be read twice the same way.
            if not stat.S_ISREG(info.st_mode) or info.st_size < HELPER_MIN_BYTES:
                return None
            import tempfile  # here, not at the top: a small log's cold start does not pay for it

            errors = tempfile.TemporaryFile()
            keep_freed_memory()
        except OSError:
            # Not a file we can stat, or no temporary file: the parser works in-process, with the same result.
            return None
        try:
            process = subprocess.Popen(
                [sys.executable, "-I", "-c", _BOOT, _PACKAGE_ROOT, path, str(first_size), str(skip), str(CHUNK),
                 str(HELPER_SHARE), scan.to_arg()],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors,
            )
        except OSError:
            # No helper (no such interpreter, no processes left): the parser
            # works in-process, with the same result.
            errors.close()
            return None
        return cls(process, errors)

    def _read(self, size: int) -> bytes:
        data = self.process.stdout.read(size)
        if len(data) != size:
            raise EOFError
        return data

    def answer(self, buf: bytes) -> Answer | None:
        """The helper's answer for `buf`, or None to do the work in-process."""
        if self.failure is not None:
            return None
        try:
            (size,) = _HEADER.unpack(self._read(_HEADER.size))
            length, sample, tail, *fields = marshal.loads(self._read(size))
            answer = Answer(*fields)
        except (EOFError, ValueError, TypeError, struct.error) as exc:
            self.close()
            self.errors.seek(0)
            said = self.errors.read().decode("utf-8", "replace").strip().splitlines()
            self.failure = f"the helper stopped answering ({said[-1] if said else type(exc).__name__})"
            return None
        if length != len(buf) or tail != buf[-EDGE:] or sample != buf[::SAMPLE_STRIDE]:
            # The file changed between the two reads: its answers no longer fit.
            self.failure = "the file changed while it was read"
            self.close()
            return None
        return answer

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.process.stdout.close()

    def release(self) -> None:
        self.close()
        self.errors.close()


# glibc hands memory freed above M_TRIM_THRESHOLD back to the kernel, and
# maps every allocation above M_MMAP_THRESHOLD afresh: with 4 MiB buffers and
# their numpy temporaries, each buffer then costs about a thousand page
# faults, and a large log a third of each process's time in the kernel.
# Raised for a large file (bench/run.py: about 0.4 s less kernel time per GB
# in the parser, 0.25 s in the helper), memory once freed is reused instead.
# Allocations above 12 MiB (a forced cut of an endless line) are still mapped
# and returned at once: a higher threshold let the heap grow past 150 MB on
# a 60 MB line of markers (tests/test_hostile.py), this one keeps it lower
# than the defaults did (140 MB against 143 MB).
_MALLOPT = ((-3, 12 << 20), (-1, 32 << 20), (-2, 4 << 20))  # M_MMAP_THRESHOLD, M_TRIM_THRESHOLD, M_TOP_PAD


def keep_freed_memory() -> None:
    """Ask glibc's allocator to keep freed memory for reuse (see _MALLOPT); elsewhere nothing to do."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        # Not glibc (musl has no such settings): its defaults only cost time.
        return
    for parameter, value in _MALLOPT:
        mallopt(parameter, value)


def _widen_pipe(stream) -> None:
    """Let the helper run further ahead of the parser (Linux pipes hold 64 KiB by default)."""
    try:
        import fcntl

        fcntl.fcntl(stream.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except (ImportError, AttributeError, OSError):
        # Not Linux, or not a pipe, or over the system's limit: the default size only costs speed.
        return


def _cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def main(argv: list[str]) -> int:
    """The helper's command line: PATH FIRST SKIP CHUNK SHARE SCAN (`Scan.to_arg`)."""
    try:
        if len(argv) != 6 or not all(arg.isdigit() for arg in argv[1:5]):
            raise ValueError("wrong arguments")
        scan = Scan.from_arg(argv[5])
    except (ValueError, re.error):
        print("usage: python -m percediag.prescan PATH FIRST SKIP CHUNK SHARE SCAN", file=sys.stderr)
        return 2
    return helper_main(argv[0], *(int(arg) for arg in argv[1:5]), scan)


# How the parser starts the helper: an isolated interpreter (-I: no
# PYTHONPATH, no user site, no working directory on sys.path, so nothing of
# the caller's can shadow a module) that finds this package where the
# caller found it, appended after the standard library.
_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_BOOT = "import sys; sys.path.append(sys.argv.pop(1)); from percediag.prescan import main; raise SystemExit(main(sys.argv[1:]))"


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
