"""Fold header: `FOLD N/M` and the lines under its frame.

`M` is the last fold id, so `FOLD 1/3` is fold 1 of folds 0..3. The header
prints `Model parameters:` for fold 0 only (and before Round 5 that is the
only parameter count in the log).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from percediag.model import FoldHeader
from percediag.parsers.block import Block, Feed
from percediag.parsers.grammar import Kind
from percediag.parsers.numbers import to_int

if TYPE_CHECKING:
    from percediag.parsers.builder import Builder

MARKER = r"FOLD \d{1,4}/\d{1,4}"

_HEADER = re.compile(r"FOLD (\d{1,4})/(\d{1,4})")
_RULE = re.compile(r"^\s*={10,}\s*$")
_SAMPLES = re.compile(r"Train samples:\s*(\d{1,9})\s*\|\s*Val samples:\s*(\d{1,9})")
# From Round 8 on the header counts slices instead of samples.
_SLICES = re.compile(r"Train slices:\s*(\d{1,9})\s*\|\s*Val slices:\s*(\d{1,9})")
_BATCH = re.compile(r"Batch size:\s*(\d{1,9})\s*\|\s*Max epochs:\s*(\d{1,9})(?:\s*\|\s*Early stop patience:\s*(\d{1,9}))?")
_PARAMS = re.compile(r"Model parameters:\s*(\S+)")


class FoldHeaderBlock(Block):
    kind = "fold header"
    max_noise = 0

    def __init__(self, lineno: int, text: str) -> None:
        super().__init__(lineno)
        match = _HEADER.search(text)
        self.record = FoldHeader(line=lineno, fold=int(match.group(1)), last_fold=int(match.group(2)))

    def take(self, lineno: int, text: str) -> Feed | None:
        rec = self.record
        if _RULE.match(text) or not text.strip():
            return Feed.TAKEN
        if match := _SAMPLES.search(text):
            rec.train_samples, rec.val_samples = int(match.group(1)), int(match.group(2))
            rec.lines["samples"] = lineno
            return Feed.TAKEN
        if match := _SLICES.search(text):
            rec.train_slices, rec.val_slices = int(match.group(1)), int(match.group(2))
            rec.lines["slices"] = lineno
            return Feed.TAKEN
        if match := _BATCH.search(text):
            rec.batch_size, rec.max_epochs = int(match.group(1)), int(match.group(2))
            rec.patience = int(match.group(3)) if match.group(3) else None
            rec.lines["batch"] = lineno
            return Feed.TAKEN
        if match := _PARAMS.search(text):
            rec.param_count = to_int(match.group(1))
            rec.lines["param_count"] = lineno
            return Feed.DONE
        return Feed.REJECT

    def finish(self, builder: Builder) -> None:
        builder.add_fold_header(self.record)


# The header is the whole line: the marker alone also matches inside other text.
KIND = Kind(name="fold", marker=MARKER, scan=(rb"FOLD \d{1,4}/",), block=FoldHeaderBlock, fills_line=True)
