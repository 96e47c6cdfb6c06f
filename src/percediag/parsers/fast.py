"""Fast path: parse a log from bytes, touching in Python only the lines that matter.

A large log is mostly progress-bar redraws, warnings and gradient blocks.
One compiled scan finds the rare block markers (`percediag.prescan`, with
the `Scan` the grammar builds from the parser modules' declarations);
the lines at and after a marker go to the ordinary line parser for as long
as its block is open. Between markers, gradient blocks in their plain form
(flag [OK], finite numbers, no context line) are validated and decoded
together as a byte matrix (`percediag.gradient_matrix`, equal to one regex
`findall` per region) and folded into the fold's statistics with numpy; a region holding
anything else (a context line, another flag, nan) goes through the line
parser. The first steps of each fold always go through the line parser, so
the kept sample and the context-vector lines are exactly those of the slow
path.

On a large file a helper process does part of this work ahead, on the
second core: the marker scan, the line counts, and the plain blocks of
every few regions (`prescan.Answer`). The parser uses an answer only
where its own region is the one the helper read.

The result equals the line-by-line parse (tests/parsers/test_fast.py checks
it on every example and real log, in every shape, with and without the
helper). Lines are decoded only when parsed: invalid UTF-8 is counted in
those lines.
"""

from __future__ import annotations

import re
from typing import BinaryIO

from percediag.prescan import Answer, Helper, buffers, find_markers, line_start, normalize
from percediag.model import GradientStep, Log
from percediag.parsers import GRAMMAR, Parser
from percediag.parsers.gradient_stats import SAMPLE_HEAD, SAMPLE_TAIL
from percediag.parsers.grammar import Grammar
from percediag.normalize import SourceStats, decode_line, note_cut_lines


class FastParser:
    def __init__(self, name: str, stats: SourceStats, grammar: Grammar = GRAMMAR) -> None:
        self.parser = Parser(name, grammar)
        self.scan = grammar.scan
        self.stats = stats
        self.lineno = 0
        # The helper's answer for the buffer being fed, and the line number its counts start from.
        self.answer: Answer | None = None
        self.buffer_base = 0

    # -- one line through the ordinary parser ----------------------------

    def _line(self, raw: bytes) -> None:
        self.lineno += 1
        self.parser.feed(self.lineno, decode_line(raw, self.stats))

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
            first = buf.find(self.scan.header, start, end)
            if first == -1:
                self.lineno = self._lineno_at(buf, start, end)
                return
            grad_line = line_start(buf, start, first)
            self.lineno += buf.count(b"\n", start, grad_line)
            start = grad_line
            accumulator = self._accumulator()
            if accumulator is None or accumulator.steps < SAMPLE_HEAD:
                # The fold's first steps (the sample, the context lines): line by line.
                stop = buf.index(b"\n", start, end)
                self._line(buf[start:stop])
                start = stop + 1
                continue
            self._bulk(buf, start, end, accumulator)
            return

    def _lineno_at(self, buf: bytes, start: int, end: int) -> int:
        """The line number at `end` (a region's end), from `start`'s (self.lineno)."""
        if self.answer is not None and end in self.answer.lines_at:
            return self.buffer_base + self.answer.lines_at[end]
        return self.lineno + buf.count(b"\n", start, end)

    def _values(self, buf: bytes, start: int, end: int):
        """(totals, losses, balances) arrays of the region's plain blocks, or None when one is not plain."""
        # Here, not at the top: a small check that reads no plain region does not load numpy.
        import numpy as np

        from percediag.gradient_matrix import plain_array

        done = None if self.answer is None else self.answer.gaps.get(end)
        if done is not None and done[0] == start:
            if done[1] is None:
                return None
            rows = np.frombuffer(done[1], dtype=np.float64).reshape(-1, 3)
        else:
            rows = plain_array(buf, start, end, self.scan.header, self.scan.plain_form)
            if rows is None:
                return None
        # Rows of (total, loss, balance): each column is a strided view, as the statistics need.
        return rows.T

    def _bulk(self, buf: bytes, start: int, end: int, accumulator) -> None:
        arrays = self._values(buf, start, end)
        if arrays is None:
            self._lines(buf, start, end)  # something out of the ordinary: the line parser decides
            return
        count = len(arrays[0])
        base = self.lineno
        end_line = self._lineno_at(buf, start, end)
        header, plain = self.scan.header, self.scan.plain_form
        first_pos = buf.find(header, start, end)
        first_line = base + buf.count(b"\n", start, first_pos) + 1
        # The tail sample: the region's last steps, as records with their lines.
        tail_start = end
        for _ in range(min(SAMPLE_TAIL, count)):
            tail_start = buf.rfind(header, start, tail_start)
        tail_start = line_start(buf, start, tail_start)
        tail_bytes = buf[tail_start:end]
        tail_base = end_line - tail_bytes.count(b"\n")
        last_pos = tail_bytes.rfind(header)
        last_line = tail_base + tail_bytes.count(b"\n", 0, last_pos) + 3  # a plain block is three lines

        def line_of(index: int) -> int:
            match = next(m for i, m in enumerate(plain.finditer(buf, start, end)) if i == index)
            return base + buf.count(b"\n", start, match.start()) + 1

        accumulator.add_plain_batch(*arrays, first_line=first_line, last_line=last_line,
                                    tail=lambda: _tail_steps(tail_bytes, tail_base, header, plain), line_of=line_of)
        self.parser.builder.version += 1
        self.lineno = end_line

    # -- the whole input ----------------------------------------------------

    def feed(self, buf: bytes, answer: Answer | None = None) -> None:
        """Whole lines (buf ends with a newline); `answer` from the helper, when it has one."""
        if answer is None:
            buf, positions, crlf = find_markers(buf, self.scan)
        else:
            positions, crlf = answer.positions, 0
            if not answer.normal:
                buf, crlf = normalize(buf)
        self.stats.crlf_lines += crlf
        self.answer, self.buffer_base = answer, self.lineno
        index = 0
        pos, size = 0, len(buf)
        while pos < size:
            if self.parser.block is not None:
                stop = buf.index(b"\n", pos)
                self._line(buf[pos:stop])
                pos = stop + 1
                continue
            # The first marker at or after pos (pos is a line start, and no
            # marker spans lines, so this is what a search from pos finds).
            while index < len(positions) and positions[index] < pos:
                index += 1
            found = positions[index] if index < len(positions) else None
            marker_line = size if found is None else line_start(buf, pos, found)
            self._region(buf, pos, marker_line)
            if found is None:
                return
            pos = marker_line
            stop = buf.index(b"\n", pos)
            self._line(buf[pos:stop])
            pos = stop + 1

    def finish(self) -> Log:
        self.parser.lineno = self.lineno  # lines skipped in bulk count too
        return self.parser.finish()


def _tail_steps(tail: bytes, base: int, header: bytes, plain) -> list[GradientStep]:
    """The records of the plain gradient blocks (`header`, plain form `plain`) in `tail`, whose first line is base + 1."""
    steps = []
    for match in plain.finditer(tail):
        line = base + tail.count(b"\n", 0, match.start()) + 1
        step_no = int(tail[match.start() + len(header) + 1:tail.index(b":", match.start())])
        total, loss, balance = (float(v) for v in match.groups())
        steps.append(GradientStep(line=line, step=step_no, total=total, loss=loss, balance=balance,
                                  balance_flag="OK", **_components(match.group(0))))
    return steps


def _components(block: bytes) -> dict[str, float]:
    values = dict(re.findall(rb"(han|contractor|attn|head)=(\d+\.\d+)", block))
    return {key.decode(): float(value) for key, value in values.items()}


def parse_bytes(handle: BinaryIO, first: bytes, name: str, stats: SourceStats, path: str | None = None,
                skip: int = 0, grammar: Grammar = GRAMMAR) -> Log:
    """Parse a stream whose first chunk (`first`, without the `skip` bytes of a BOM) was already read.

    For a large regular file (`path`) a helper process does the stateless
    work ahead (`prescan`), looking for what the grammar's scan says.
    """
    parser = FastParser(name, stats, grammar)
    helper = None if path is None else Helper.start(path, len(first) + skip, skip, grammar.scan)
    try:
        for buf, forced in buffers(handle, first, grammar.scan):
            parser.feed(buf, None if helper is None else helper.answer(buf))
            if forced:
                parser.lineno -= 1  # the newline was added, not read
    finally:
        if helper is not None:
            helper.release()
    if helper is not None and helper.failure is not None:
        stats.notes.append(f"did the helper's work in-process: {helper.failure}")
    stats.physical_lines = parser.lineno
    stats.note_bad_bytes()
    note_cut_lines(stats)
    return parser.finish()
