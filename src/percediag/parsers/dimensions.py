"""Per-dimension table: `PER-DIMENSION R2 (Mean +/- Std across folds)`.

One row per perceptual dimension: name, mean R2, std R2 and the trainer's
status word ([GOOD], [OK], [WEAK], ...).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from percediag.model import DimensionRow, DimensionTable
from percediag.parsers.block import Block, Feed
from percediag.parsers.grammar import Kind
from percediag.parsers.numbers import NUM, to_float

if TYPE_CHECKING:
    from percediag.parsers.builder import Builder

MARKER = r"PER-DIMENSION R2"

_ROW = re.compile(r"^\s*([a-z][a-z_]{0,60})\s+(" + NUM + r")%?\s+(" + NUM + r")%?(?:\s+\[(\w{1,20})\])?\s*$")
# Possessive quantifiers keep long blank lines linear (see aggregate._IGNORED).
_IGNORED = re.compile(r"^\s*+(?:={10,}+|-{3,}+(?:\s++-{3,}+)*|Dimension\s++Mean R2.*)\s*+$")
_END = re.compile(r"^\s*Summary:")


class DimensionBlock(Block):
    kind = "per-dimension table"

    def __init__(self, lineno: int, text: str) -> None:
        super().__init__(lineno)
        self.record = DimensionTable(line=lineno)

    def take(self, lineno: int, text: str) -> Feed | None:
        if not text.strip() or _IGNORED.match(text):
            return Feed.TAKEN
        if match := _ROW.match(text):
            self.record.rows.append(
                DimensionRow(
                    name=match.group(1),
                    mean_r2=to_float(match.group(2)),
                    std_r2=to_float(match.group(3)),
                    status=match.group(4),
                    line=lineno,
                )
            )
            return Feed.TAKEN
        if _END.match(text):
            return Feed.DONE
        return None

    def finish(self, builder: Builder) -> None:
        builder.add_dimensions(self.record)


KIND = Kind(name="dimensions", marker=MARKER, scan=(rb"PER-DIMENSION R2",), block=DimensionBlock)
