"""Plain gradient blocks validated and decoded as a byte matrix, with numpy.

The fast path (`parsers/fast.py`, and the helper of `prescan`) needs the
total, loss and balance of every gradient block between two rare markers,
or to know that one block there is not plain (the gradient kind's declared
plain form, `parsers/gradient.py` PLAIN: flag [OK], unsigned finite
numbers, no context line), in a buffer already normalised (no CRLF, no
ANSI escapes). The caller passes the block header and the plain form
(`prescan.Scan`); this module imports no other of percediag's. The regex
`findall` and `float()` over every block cost about 3.6 s of CPU per GB;
done column-wise here, 1.6 s (docs/benchmarks.md):

- every `[GRAD] Step` is found from the index of `[` bytes (one numpy
  comparison over the region); the next `[` after a header is the one of
  its `[OK]` flag when the block is plain, which gives the block's length;
- blocks of one length are taken as rows of a byte matrix. The first row
  is checked by the regex itself and becomes the template: a column holds
  either the template's byte or, where the template has a digit, any
  digit. PLAIN's variable parts are digit runs between fixed literals, so
  a row that fits the template column for column is matched by PLAIN with
  the same spans, and its numbers sit in the template's columns;
- the numbers are decoded from their digit columns as integers divided by
  a power of ten. Both operands are exact doubles (at most 15 digits, so
  below 2**53), and IEEE division rounds correctly, as `float()` does: the
  values are bit for bit those of `float(text)`.

Any block not confirmed this way (another layout of the same length,
more than 15 digits, no `[` after it, too near the region's end) goes
through the regex, one block at a time; a block the regex does not match
as plain makes the region not plain (None), as `prescan.plain_values`
says. `tests/test_vectorised.py` holds this equal to the regex path on
generated and fuzzed blocks.

It lives beside `prescan`, not under `parsers/`, because the helper process
uses it too: importing `percediag.parsers` would load pydantic and every
block parser there, which the helper does not need. What it assumes of
the plain form (the header opens with `[`, the block ends with its `[OK]`
flag, three captured unsigned decimals) is checked on the declared form
by tests/test_grammar.py.
"""

from __future__ import annotations

import re

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

_BRACKET = ord("[")
_FLAG_END = len(b"[OK]\n")
# A plain block longer than this is read by the regex (no real one comes near it).
MAX_BLOCK = 512
# The most digits a number may have to be decoded exactly from its columns.
MAX_DIGITS = 15
# Templates tried per region before the remaining blocks go to the regex one by one.
MAX_TEMPLATES = 8
# Below this many blocks the regex is as fast as building a matrix.
MIN_BLOCKS = 8
# Rows checked per pass: a slice of the matrix that stays in the processor's cache.
ROWS_PER_PASS = 2048


def plain_array(buf: bytes, start: int, end: int, header: bytes, plain: re.Pattern) -> np.ndarray | None:
    """(total, loss, balance) of each gradient block (`header`, plain form `plain`) of
    buf[start:end] as rows of a float64 array, in order; None when a block is not plain.
    Equal to `prescan.plain_values`."""
    data = np.frombuffer(buf, dtype=np.uint8, count=end - start, offset=start)
    brackets = np.flatnonzero(data == _BRACKET)
    if len(brackets) == 0:
        return np.empty((0, 3), dtype=np.float64)
    # Candidates: a `[` followed by `G` (in a log, nearly always a header;
    # the template's literal columns confirm the rest of `[GRAD] Step`).
    # The last `[` has no `[` after it: it is looked at by the regex.
    following = brackets[1:]
    indices = np.flatnonzero(data[brackets[:-1] + 1] == header[1])
    heads = brackets[indices]
    # The next `[` after a header is its flag's, in a plain block.
    lengths = following[indices] + _FLAG_END - heads
    last = int(brackets[-1])
    if last + 1 < len(data) and data[last + 1] == header[1]:
        heads = np.append(heads, last)
        lengths = np.append(lengths, 0)
    count = len(heads)
    values = np.empty((count, 3), dtype=np.float64)
    # Rows the regex reads (kept is False for a candidate that is no header).
    kept = np.ones(count, dtype=bool)
    if count < MIN_BLOCKS:
        return _by_regex(buf, start, end, header, plain, heads, np.arange(count), values, kept)
    # Rows are read in whole 8-byte words, which must lie in the region.
    fits = (lengths > len(header)) & (lengths <= MAX_BLOCK) & (heads + ((lengths + 7) & ~7) <= len(data))
    pending = np.flatnonzero(fits)
    leftover = [np.flatnonzero(~fits)]
    pending_lengths = lengths[pending]
    # Usually one length (the digit counts change only with the step's): no sort then.
    if len(pending) and pending_lengths.min() == pending_lengths.max():
        groups = [(int(pending_lengths[0]), pending)]
    else:
        groups = [(length, pending[pending_lengths == length]) for length in np.unique(pending_lengths).tolist()]
    for length, rows in groups:
        for _ in range(MAX_TEMPLATES):
            head = start + int(heads[rows[0]])
            if not buf.startswith(header, head):
                kept[rows[0]] = False
                rows = rows[1:]
            else:
                match = plain.match(buf, head, end)
                if match.group(1) is None:
                    return None  # this block is not plain, so neither is the region
                template = Template.of(buf, match, length)
                if template is None:
                    break  # numbers too long to decode from columns: the regex reads these rows
                rows = rows[~template.apply(data, heads[rows], values, rows)]
            if len(rows) == 0:
                break
        leftover.append(rows)
    rest = np.concatenate(leftover)
    if len(rest):
        rest.sort()
        if _by_regex(buf, start, end, header, plain, heads, rest, values, kept) is None:
            return None
    return values if kept.all() else values[kept]


def _by_regex(buf: bytes, start: int, end: int, header: bytes, plain: re.Pattern, heads: np.ndarray,
              rows: np.ndarray, values: np.ndarray, kept: np.ndarray) -> np.ndarray | None:
    """Fill `rows` of values by the regex, block by block; None when one is not plain.

    A row whose candidate is not a header is marked in `kept`; the values of the kept rows are returned."""
    for row, head in zip(rows.tolist(), heads[rows].tolist()):
        if not buf.startswith(header, start + head):
            kept[row] = False
            continue
        match = plain.match(buf, start + head, end)
        if match.group(1) is None:
            return None
        values[row] = [float(number) for number in match.groups()]
    return values if kept.all() else values[kept]


class Template:
    """One block layout: which columns are literal bytes, which are digits, and where the numbers are."""

    def __init__(self, block: bytes, numbers: list[tuple[int, int]]) -> None:
        width = (len(block) + 7) & ~7
        raw = np.zeros(width, dtype=np.uint8)
        raw[:len(block)] = np.frombuffer(block, dtype=np.uint8)
        digit = (raw >= ord("0")) & (raw <= ord("9"))
        digit[len(block):] = False
        # Word-wise tests, 8 columns at a time. XOR with the template (0x30
        # in a digit column) leaves t = 0 in a good literal column and t in
        # 0..9 in a good digit column. Adding 0x7F (literal) or 0x76 (digit)
        # to t's low seven bits sets the byte's high bit exactly when t is
        # out of range (no byte sum passes 0xFF, so nothing carries into the
        # next column), and t's own high bit catches the rest. Columns past
        # the block are masked out.
        inside = np.zeros(width, dtype=bool)
        inside[:len(block)] = True
        self.expected = np.where(digit, 0x30, raw).astype(np.uint8).view(np.uint64)
        self.low7 = np.where(inside, 0x7F, 0).astype(np.uint8).view(np.uint64)
        self.add = np.where(digit, 0x76, np.where(inside, 0x7F, 0)).astype(np.uint8).view(np.uint64)
        self.high = np.where(inside, 0x80, 0).astype(np.uint8).view(np.uint64)
        self.width = width
        # Each number's digit columns, most significant first, and its
        # scale: value = digits as an integer / scale.
        self.numbers = []
        for low, high in numbers:
            point = block.index(b".", low, high)
            columns = [column for column in range(low, high) if column != point]
            self.numbers.append((columns, 10.0 ** (high - point - 1)))

    @classmethod
    def of(cls, buf: bytes, match, length: int) -> Template | None:
        """The template of a plain block (`match` of the plain form), or None when its numbers are too long."""
        head = match.start()
        if match.end() - head != length:
            return None
        spans = [(match.start(group) - head, match.end(group) - head) for group in (1, 2, 3)]
        if any(high - low - 1 > MAX_DIGITS for low, high in spans):
            return None
        return cls(buf[head:match.end()], spans)

    def apply(self, data: np.ndarray, heads: np.ndarray, values: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Check the blocks at `heads` against the layout; fill `values` of those that fit. The fit mask."""
        # A copy of the rows (fancy indexing), ours to change in place.
        matrix = sliding_window_view(data, self.width)[heads]
        words = matrix.view(np.uint64)
        fit = np.ones(len(heads), dtype=bool)
        # In slices of rows that stay in the processor's cache. After the
        # XOR a digit column holds the digit's value, 0 to 9, for decoding.
        for low in range(0, len(heads), ROWS_PER_PASS):
            part = words[low:low + ROWS_PER_PASS]
            part ^= self.expected
            bad = part & self.low7
            bad += self.add
            bad |= part
            bad &= self.high
            if bad.any():  # one flat test first: usually every row fits
                np.logical_not(bad.any(axis=1), out=fit[low:low + ROWS_PER_PASS])
        if not fit.all():
            matrix = matrix[fit]
        for index, (columns, scale) in enumerate(self.numbers):
            # Every partial sum is an integer below 2**53: exact in float64.
            number = matrix[:, columns[0]].astype(np.float64)
            for column in columns[1:]:
                number *= 10.0
                number += matrix[:, column]
            number /= scale
            values[rows[fit], index] = number
        return fit
