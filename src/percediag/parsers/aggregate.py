"""Cross-validation aggregate: `AGGREGATE RESULTS (K-Fold Cross-Validation)`.

Holds the mean +/- std metrics, the per-fold table, the dimension analysis,
the trainer's baseline comparison and its one-line verdict.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from percediag.model import Aggregate, DimensionScore
from percediag.parsers.block import Block, Feed
from percediag.parsers.grammar import Kind
from percediag.parsers.numbers import NUM, to_float
from percediag.parsers.tables import parse_fold_row

if TYPE_CHECKING:
    from percediag.parsers.builder import Builder

MARKER = r"AGGREGATE RESULTS"

_HEADER = re.compile(r"AGGREGATE RESULTS\s*\((\d{1,4})-Fold")
_TIME = re.compile(r"Total training time:\s*(" + NUM + r") minutes")
_METRIC = re.compile(r"^\s*(R2|Pearson|Spearman|MAE|RMSE):\s*(" + NUM + r")%?\s*\+/-\s*(" + NUM + r")")
_DIMS = re.compile(r"Dimension Analysis:\s*(\d{1,4})/(\d{1,4}) positive R2(?:,\s*(\d{1,4})/\d{1,4} strong)?")
_EXTREME = re.compile(r"(Best|Worst):\s*(\w{1,60})\s*\(R2=(" + NUM + r")%?\)")
_BASELINE = re.compile(r"(Bi-LSTM|MidiBERT|HAN SOTA)\s*\(published\):\s*R2\s*=\s*(" + NUM + r")")
_OURS = re.compile(r"Ours:\s*R2\s*=\s*(" + NUM + r")(?:\s*\+/-\s*(" + NUM + r"))?")
_VERDICT = re.compile(r"-->\s*(.*\S)")
# Table rules are dash runs separated by spaces. Possessive quantifiers: a
# whitespace run is never split two ways, so a long blank line stays linear.
_IGNORED = re.compile(
    r"^\s*+(?:={10,}+|-{3,}+(?:\s++-{3,}+)*|Overall Metrics.*|Per-Fold Results:|Baseline Comparison:"
    r"|Fold\s++R2\s++Pearson.*)\s*+$"
)
_BASELINE_IDS = {"Bi-LSTM": "bilstm", "MidiBERT": "midibert", "HAN SOTA": "han_sota"}


class AggregateBlock(Block):
    kind = "aggregate results"

    def __init__(self, lineno: int, text: str) -> None:
        super().__init__(lineno)
        match = _HEADER.search(text)
        self.record = Aggregate(line=lineno, n_folds=int(match.group(1)) if match else None)

    def take(self, lineno: int, text: str) -> Feed | None:
        rec = self.record
        if not text.strip() or _IGNORED.match(text):
            return Feed.TAKEN
        if match := _METRIC.match(text):
            name = match.group(1).lower()
            rec.metrics[name] = to_float(match.group(2))
            rec.metrics_std[name] = to_float(match.group(3))
            rec.lines[name] = lineno
            return Feed.TAKEN
        if row := parse_fold_row(lineno, text):
            rec.per_fold.append(row)
            return Feed.TAKEN
        if match := _TIME.search(text):
            rec.total_time_min = to_float(match.group(1))
            return Feed.TAKEN
        if match := _DIMS.search(text):
            rec.positive_dims, rec.total_dims = int(match.group(1)), int(match.group(2))
            rec.strong_dims = int(match.group(3)) if match.group(3) else None
            rec.lines["dimensions"] = lineno
            return Feed.TAKEN
        if match := _EXTREME.search(text):
            score = DimensionScore(name=match.group(2), r2=to_float(match.group(3)), line=lineno)
            if match.group(1) == "Best":
                rec.best_dim = score
            else:
                rec.worst_dim = score
            return Feed.TAKEN
        if match := _BASELINE.search(text):
            rec.baselines[_BASELINE_IDS[match.group(1)]] = to_float(match.group(2))
            return Feed.TAKEN
        if match := _OURS.search(text):
            rec.ours_r2 = to_float(match.group(1))
            rec.ours_r2_std = to_float(match.group(2))
            rec.lines["ours"] = lineno
            return Feed.TAKEN
        if match := _VERDICT.search(text):
            rec.verdict = match.group(1)
            rec.lines["verdict"] = lineno
            return Feed.DONE
        return None

    def finish(self, builder: Builder) -> None:
        builder.add_aggregate(self.record)


KIND = Kind(name="aggregate", marker=MARKER, scan=(rb"TE RESULTS",), block=AggregateBlock)
