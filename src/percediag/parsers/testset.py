"""Test set: `TEST SET EVALUATION`, the per-fold test table and the ensemble.

The per-fold rows are numbered by position, not by fold id.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from percediag.model import TestResults
from percediag.parsers.block import Block, Feed
from percediag.parsers.grammar import Kind
from percediag.parsers.numbers import NUM, to_float
from percediag.parsers.tables import parse_fold_row

if TYPE_CHECKING:
    from percediag.parsers.builder import Builder

MARKER = r"TEST SET EVALUATION"

_SAMPLES = re.compile(r"Test samples:\s*(\d{1,9})")
_METRIC = re.compile(r"^\s*(R2|Pearson|Spearman|MAE|RMSE):\s*(" + NUM + r")%?\s*$")
_POSITIVE = re.compile(r"Positive dimensions:\s*(\d{1,4})/(\d{1,4})")
_GAIN = re.compile(r"Ensemble Gain:\s*(" + NUM + r")")
# Possessive quantifiers keep long blank lines linear (see aggregate._IGNORED).
_IGNORED = re.compile(
    r"^\s*+(?:={10,}+|-{3,}+(?:\s++-{3,}+)*|Per-Fold Test Results:|Ensemble Test Metrics:|Test Dataset:.*"
    r"|Fold\s++R2\s++Pearson.*)\s*+$"
)


class TestSetBlock(Block):
    kind = "test set evaluation"

    def __init__(self, lineno: int, text: str) -> None:
        super().__init__(lineno)
        self.record = TestResults(line=lineno)

    def take(self, lineno: int, text: str) -> Feed | None:
        rec = self.record
        if not text.strip() or _IGNORED.match(text):
            return Feed.TAKEN
        if row := parse_fold_row(lineno, text):
            rec.per_fold.append(row)
            return Feed.TAKEN
        if match := _METRIC.match(text):
            rec.ensemble[match.group(1).lower()] = to_float(match.group(2))
            rec.lines[match.group(1).lower()] = lineno
            return Feed.TAKEN
        if match := _SAMPLES.search(text):
            rec.samples = int(match.group(1))
            return Feed.TAKEN
        if match := _POSITIVE.search(text):
            rec.positive_dims, rec.total_dims = int(match.group(1)), int(match.group(2))
            return Feed.TAKEN
        if match := _GAIN.search(text):
            rec.ensemble_gain = to_float(match.group(1))
            rec.lines["gain"] = lineno
            return Feed.DONE
        return None

    def finish(self, builder: Builder) -> None:
        builder.add_test(self.record)


KIND = Kind(name="testset", marker=MARKER, scan=(rb"TEST SET EVALUATION",), block=TestSetBlock)
