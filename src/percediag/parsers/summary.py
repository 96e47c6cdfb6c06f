"""Fold summary: `FOLD N SUMMARY`, printed when a fold finishes.

Note that `Training: 11 epochs` is printed when 10 epoch lines were: rules
count the epoch lines themselves.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from percediag.model import DimensionScore, FoldSummary
from percediag.parsers.block import Block, Feed
from percediag.parsers.grammar import Kind
from percediag.parsers.numbers import NUM, to_float

if TYPE_CHECKING:
    from percediag.parsers.builder import Builder

MARKER = r"FOLD \d{1,4} SUMMARY"

_HEADER = re.compile(r"FOLD (\d{1,4}) SUMMARY")
_TRAINING = re.compile(r"Training:\s*(\d{1,7}) epochs\s*\((" + NUM + r")s\)(?:\s*\|\s*Best epoch:\s*(\d{1,7}))?")
_SAMPLES = re.compile(r"Samples:\s*train=(\d{1,9}),\s*val=(\d{1,9})")
_METRIC = re.compile(r"^\s*(R2|Pearson|Spearman|MAE|RMSE):\s*(" + NUM + r")%?\s*$")
_RANGE = re.compile(r"Pred range:\s*\[(" + NUM + r"),\s*(" + NUM + r")\]")
_STD = re.compile(r"Pred std:\s*(" + NUM + r")\s*\(target std:\s*(" + NUM + r")\)")
_COLLAPSED = re.compile(r"(\d{1,4})/(\d{1,4}) dimensions have collapsed predictions(?:\s*\(std\s*<\s*(" + NUM + r")\))?")
_SECTION = re.compile(r"(Top|Bottom) \d{1,3} Dimensions")
_DIM = re.compile(r"(\w{1,60})\s+R2=(" + NUM + r")%?(?:\s+r=(" + NUM + r"))?(\s+NEGATIVE)?")
_IGNORED = re.compile(r"^\s*(?:[─-]{10,}|Overall Metrics:|Prediction Health:)\s*$")
_END = re.compile(r"Results saved to")


class SummaryBlock(Block):
    kind = "fold summary"

    def __init__(self, lineno: int, text: str) -> None:
        super().__init__(lineno)
        self.record = FoldSummary(line=lineno, fold=int(_HEADER.search(text).group(1)))
        self.section: list[DimensionScore] | None = None

    def take(self, lineno: int, text: str) -> Feed | None:
        rec = self.record
        if not text.strip() or _IGNORED.match(text):
            return Feed.TAKEN
        if _END.search(text):
            return Feed.DONE
        if match := _TRAINING.search(text):
            rec.epochs_reported = int(match.group(1))
            rec.time_s = to_float(match.group(2))
            rec.best_epoch = int(match.group(3)) if match.group(3) else None
            rec.lines["training"] = lineno
            return Feed.TAKEN
        if match := _SAMPLES.search(text):
            rec.train_samples, rec.val_samples = int(match.group(1)), int(match.group(2))
            return Feed.TAKEN
        if match := _METRIC.match(text):
            rec.metrics[match.group(1).lower()] = to_float(match.group(2))
            rec.lines[match.group(1).lower()] = lineno
            return Feed.TAKEN
        if match := _RANGE.search(text):
            rec.pred_min, rec.pred_max = to_float(match.group(1)), to_float(match.group(2))
            return Feed.TAKEN
        if match := _STD.search(text):
            rec.pred_std, rec.target_std = to_float(match.group(1)), to_float(match.group(2))
            rec.lines["pred_std"] = lineno
            return Feed.TAKEN
        if match := _COLLAPSED.search(text):
            rec.collapsed_dims, rec.total_dims = int(match.group(1)), int(match.group(2))
            rec.collapse_threshold = to_float(match.group(3))
            rec.lines["collapsed_dims"] = lineno
            return Feed.TAKEN
        if match := _SECTION.search(text):
            self.section = rec.top_dims if match.group(1) == "Top" else rec.bottom_dims
            return Feed.TAKEN
        if self.section is not None and (match := _DIM.search(text)):
            self.section.append(
                DimensionScore(
                    name=match.group(1),
                    r2=to_float(match.group(2)),
                    r=to_float(match.group(3)),
                    negative=bool(match.group(4)),
                    line=lineno,
                )
            )
            return Feed.TAKEN
        return None

    def finish(self, builder: Builder) -> None:
        builder.add_summary(self.record)


KIND = Kind(name="summary", marker=MARKER, scan=(rb"FOLD \d{1,4} SUMMARY",), block=SummaryBlock)
