"""Round 13's training summary lines: each fold's best R2 and the cross-fold mean.

    Fold 1 Best Val R2: -0.3185
    ...
    ============================================================
    TRAINING COMPLETE
    ============================================================

      Mean R2: -0.3185
      Std R2:  0.0000

`Fold N Best Val R2` is one line; `TRAINING COMPLETE` (alone on its line:
`FOLD 1 TRAINING COMPLETE` is the fold's own banner, and Round 9 prints a
bare `TRAINING COMPLETE` after its sync cell with nothing after it) takes
the `Mean R2` and `Std R2` lines that follow it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from percediag.parsers.block import Block, Feed
from percediag.parsers.grammar import Kind
from percediag.parsers.numbers import NUM, to_float

if TYPE_CHECKING:
    from percediag.parsers.builder import Builder

MARKER = r"Fold \d{1,4} Best Val R2:|TRAINING COMPLETE"

_BEST = re.compile(r"^\s*Fold (\d{1,4}) Best Val R2:\s*(" + NUM + r")\s*$")
_COMPLETE = re.compile(r"^\s*TRAINING COMPLETE\s*$")
_STAT = re.compile(r"^\s{1,8}(Mean|Std) R2:\s{1,8}(" + NUM + r")\s*$")
_RULE = re.compile(r"^\s*={10,}\s*$")


class TrainingSummaryBlock(Block):
    kind = "training summary"
    max_noise = 0

    def __init__(self, lineno: int, text: str) -> None:
        super().__init__(lineno)
        self.best = _BEST.match(text)
        self.complete = self.best is None and _COMPLETE.match(text) is not None
        self.stats: dict[str, tuple[float | None, int]] = {}

    def take(self, lineno: int, text: str) -> Feed | None:
        if not self.complete:
            return Feed.REJECT  # a best-R2 line is one line; another line that merely contains the words is nothing
        if not text.strip() or (_RULE.match(text) and not self.stats):
            return Feed.TAKEN
        if match := _STAT.match(text):
            self.stats[match.group(1).lower()] = (to_float(match.group(2)), lineno)
            return Feed.DONE if len(self.stats) == 2 else Feed.TAKEN
        return Feed.REJECT

    def finish(self, builder: Builder) -> None:
        if self.best is not None:
            builder.add_fold_best(self.start_line, self.best.group(1), to_float(self.best.group(2)))
        elif self.complete:
            builder.add_training_complete(self.start_line, self.stats)


KIND = Kind(
    name="trainingsummary", marker=MARKER,
    scan=(rb"Fold \d{1,4} Best Val", rb"TRAINING COMPLETE"),
    block=TrainingSummaryBlock,
)
