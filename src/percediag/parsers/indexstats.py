"""Post-training index statistics: negative zero-shifted beat and measure indices.

After training (Round 9 on), the notebook's diagnostic cell prints

    INDEX STATISTICS (HIERARCHY HEALTH)
    ======================================================================

      Negative zero-shifted beats: 0
      Negative zero-shifted measures: 0

Each count is the sum over the analysed validation batches of the indices
that fall below their sample's first index after the shift: any count
above 0 means the beat or measure nodes are built from wrong positions.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from percediag.model import IndexStats
from percediag.parsers.block import Block, Feed
from percediag.parsers.grammar import Kind

if TYPE_CHECKING:
    from percediag.parsers.builder import Builder

MARKER = r"INDEX STATISTICS \(HIERARCHY HEALTH\)"

_RULE = re.compile(r"^\s*={10,}\s*$")
_COUNT = re.compile(r"^\s{0,8}Negative zero-shifted (beats|measures):\s{0,8}(\d{1,12})\s*$")


class IndexStatsBlock(Block):
    kind = "index statistics"
    max_noise = 4

    def __init__(self, lineno: int, text: str) -> None:
        super().__init__(lineno)
        self.record = IndexStats(line=lineno)

    def take(self, lineno: int, text: str) -> Feed | None:
        rec = self.record
        if _RULE.match(text):
            return Feed.DONE if rec.lines else Feed.TAKEN
        if not text.strip():
            return Feed.TAKEN
        if match := _COUNT.match(text):
            field = "negative_beats" if match.group(1) == "beats" else "negative_measures"
            setattr(rec, field, int(match.group(2)))
            rec.lines[field] = lineno
            return Feed.TAKEN
        return None

    def finish(self, builder: Builder) -> None:
        self.record.end_line = self.last_line
        if not self.closed_cleanly:
            builder.warn(self.record.line, "index statistics ended without their closing rule (truncated?)")
        builder.add_index_stats(self.record)


KIND = Kind(name="indexstats", marker=MARKER, scan=(rb"INDEX STATISTICS",), block=IndexStatsBlock)
