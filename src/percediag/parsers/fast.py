"""Fast path: parse a log from bytes, touching in Python only the lines that matter.

A large log is mostly progress-bar redraws, warnings and gradient blocks.
One compiled scan finds the rare block markers (every alternative starts
with a literal character, so the regex engine skips ahead in C); the lines
at and after a marker go to the ordinary line parser for as long as its
block is open. Between markers, gradient blocks in their plain form (flag
[OK], finite numbers, no context line) are read by one `findall` per region
and folded into the fold's statistics with numpy; a region holding anything
else (a context line, another flag, nan) goes through the line parser. The
first steps of each fold always go through the line parser, so the kept
sample and the context-vector lines are exactly those of the slow path.

The result equals the line-by-line parse (tests/parsers/test_fast.py checks
it on every example and real log, in every shape). Lines are decoded only
when parsed: invalid UTF-8 is counted in those lines.
"""

from __future__ import annotations

import re
from typing import BinaryIO

import numpy as np

from percediag.model import GradientStep, Log
from percediag.parsers import Parser
from percediag.parsers.gradient import SAMPLE_HEAD, SAMPLE_TAIL
from percediag.sources import _ANSI, _COUNTER, SourceStats, clean_line

CHUNK = 4 << 20

# Every rare marker of parsers.MARKERS, each alternative opening with a
# literal character. It may match more than the real markers (the line
# parser decides); it must never miss one.
SCAN = re.compile(
    rb"\[Fold \d{1,4}\] Epoch|ACTIVATION CHECK|AGGREGATE RESULTS|FOLD \d{1,4}[/ ]|TEST SET EVALUATION"
    rb"|TRAINING CONFIGURATION|Traceback \(most recent|Total params|PER-DIMENSION R2|Signaling Trainer"
    rb"|Detected KeyboardInterrupt|`Trainer\.fit`|FOLD CROSS-VALIDATION"
)
GRAD = b"[GRAD] Step"
PLAIN = re.compile(
    rb"\[GRAD\] Step \d{1,12}: total=(\d{1,20}\.\d{1,20}), loss=(\d{1,20}\.\d{1,20})\n"
    rb" {4}han=\d{1,20}\.\d{1,20}, contractor=\d{1,20}\.\d{1,20}, attn=\d{1,20}\.\d{1,20}, head=\d{1,20}\.\d{1,20}\n"
    rb" {4}Balance \(head/encoder\): (\d{1,20}\.\d{1,20})x \[OK\]\n"
)
_ANSI_BYTES = re.compile(_ANSI.pattern.encode())


def _line_start(buf: bytes, low: int, pos: int) -> int:
    """Start of the line holding `pos`, not before `low` (itself a line start)."""
    newline = buf.rfind(b"\n", low, pos)
    return low if newline == -1 else newline + 1


class FastParser:
    def __init__(self, name: str, stats: SourceStats) -> None:
        self.parser = Parser(name)
        self.stats = stats
        self.lineno = 0

    # -- one line through the ordinary parser ----------------------------

    def _line(self, raw: bytes) -> None:
        self.lineno += 1
        before = _COUNTER.count
        text = raw.decode("utf-8", errors="percediag-count")
        self.stats.bad_bytes += _COUNTER.count - before
        self.parser.feed(self.lineno, clean_line(text, self.stats))

    def _lines(self, buf: bytes, start: int, end: int) -> None:
        """Every line of buf[start:end] (whole lines) through the line parser."""
        while start < end:
            stop = buf.index(b"\n", start, end)
            self._line(buf[start:stop])
            start = stop + 1

    # -- regions without rare markers --------------------------------------

    def _accumulator(self):
        builder = self.parser.builder
        fold = builder.fold
        if fold is None or fold.finished:
            return None
        return builder._gradients.get(id(fold))

    def _region(self, buf: bytes, start: int, end: int) -> None:
        """Whole lines buf[start:end] that hold no rare marker."""
        while start < end:
            if self.parser.block is not None:
                stop = buf.index(b"\n", start, end)
                self._line(buf[start:stop])
                start = stop + 1
                continue
            first = buf.find(GRAD, start, end)
            if first == -1:
                self.lineno += buf.count(b"\n", start, end)
                return
            line_start = _line_start(buf, start, first)
            self.lineno += buf.count(b"\n", start, line_start)
            start = line_start
            accumulator = self._accumulator()
            if accumulator is None or accumulator.steps < SAMPLE_HEAD:
                # The fold's first steps (the sample, the context lines): line by line.
                stop = buf.index(b"\n", start, end)
                self._line(buf[start:stop])
                start = stop + 1
                continue
            self._bulk(buf, start, end, accumulator)
            return

    def _bulk(self, buf: bytes, start: int, end: int, accumulator) -> None:
        count = buf.count(GRAD, start, end)
        found = PLAIN.findall(buf, start, end)
        if len(found) != count:
            self._lines(buf, start, end)  # something out of the ordinary: the line parser decides
            return
        base = self.lineno
        first_pos = buf.find(GRAD, start, end)
        first_line = base + buf.count(b"\n", start, first_pos) + 1
        # The tail sample: the region's last steps, as records with their lines.
        tail_start = end
        for _ in range(min(SAMPLE_TAIL, count)):
            tail_start = buf.rfind(GRAD, start, tail_start)
        tail_start = _line_start(buf, start, tail_start)
        tail_base = base + buf.count(b"\n", start, tail_start)
        tail_bytes = buf[tail_start:end]
        last_pos = tail_bytes.rfind(GRAD)
        last_line = tail_base + tail_bytes.count(b"\n", 0, last_pos) + 3  # a plain block is three lines

        def line_of(index: int) -> int:
            match = next(m for i, m in enumerate(PLAIN.finditer(buf, start, end)) if i == index)
            return base + buf.count(b"\n", start, match.start()) + 1

        columns = list(zip(*found))
        arrays = [np.fromiter(map(float, column), dtype=float, count=count) for column in columns]
        accumulator.add_plain_batch(*arrays, first_line=first_line, last_line=last_line,
                                    tail=lambda: _tail_steps(tail_bytes, tail_base), line_of=line_of)
        self.parser.builder.version += 1
        self.lineno = base + buf.count(b"\n", start, end)

    # -- the whole input ----------------------------------------------------

    def feed(self, buf: bytes) -> None:
        """Whole lines (buf ends with a newline)."""
        if b"\x1b" in buf:
            buf = _ANSI_BYTES.sub(b"", buf)
        if b"\r\n" in buf:
            self.stats.crlf_lines += buf.count(b"\r\n")
            buf = buf.replace(b"\r\n", b"\n")
        pos, size = 0, len(buf)
        while pos < size:
            if self.parser.block is not None:
                stop = buf.index(b"\n", pos)
                self._line(buf[pos:stop])
                pos = stop + 1
                continue
            match = SCAN.search(buf, pos)
            marker_line = size if match is None else _line_start(buf, pos, match.start())
            self._region(buf, pos, marker_line)
            if match is None:
                return
            pos = marker_line
            stop = buf.index(b"\n", pos)
            self._line(buf[pos:stop])
            pos = stop + 1

    def finish(self) -> Log:
        self.parser.lineno = self.lineno  # lines skipped in bulk count too
        return self.parser.finish()


def _tail_steps(tail: bytes, base: int) -> list[GradientStep]:
    """The records of the plain gradient blocks in `tail`, whose first line is base + 1."""
    steps = []
    for match in PLAIN.finditer(tail):
        line = base + tail.count(b"\n", 0, match.start()) + 1
        step_no = int(tail[match.start() + 12:tail.index(b":", match.start())])
        total, loss, balance = (float(v) for v in match.groups())
        steps.append(GradientStep(line=line, step=step_no, total=total, loss=loss, balance=balance,
                                  balance_flag="OK", **_components(match.group(0))))
    return steps


def _components(block: bytes) -> dict[str, float]:
    values = dict(re.findall(rb"(han|contractor|attn|head)=(\d+\.\d+)", block))
    return {key.decode(): float(value) for key, value in values.items()}


def parse_bytes(handle: BinaryIO, first: bytes, name: str, stats: SourceStats) -> Log:
    """Parse a stream whose first chunk (`first`, BOM removed) was already read."""
    parser = FastParser(name, stats)
    carry = b""
    chunk = first
    while chunk:
        buf = carry + chunk
        cut = buf.rfind(b"\n") + 1
        # Never cut through a gradient block: a cut block sends its whole
        # region through the line parser. Carry the last block over instead.
        last_block = buf.rfind(GRAD, max(0, len(buf) - 4096))
        if last_block > 0:
            cut = min(cut, _line_start(buf, 0, last_block))
        if cut:
            parser.feed(buf[:cut])
            carry = buf[cut:]
        else:
            carry = buf
        if len(carry) > CHUNK * 4:
            # A line longer than any log line: parse what there is as one line.
            parser.feed(carry + b"\n")
            parser.lineno -= 1
            carry = b""
        chunk = handle.read(CHUNK)
    if carry:
        parser.feed(carry if carry.endswith(b"\n") else carry + b"\n")
    stats.physical_lines = parser.lineno
    stats.note_bad_bytes()
    return parser.finish()
