"""Round 13's post-training analysis of the trained model.

The Round 13 notebook evaluates the model it just trained (still in
memory) on the validation fold and prints:

    POST-TRAINING ANALYSIS: han
    FOLD 1 RESULTS
      Model:   han
      R2:      -0.3185
      Pearson: +0.3124
      MAE:     0.0889
      Prediction std: 0.0292 (target: 0.1073)
      [WARN] Prediction collapse detected!
    PER-DIMENSION R2
      balance                           +0.1846       [OK]
      ...
      Positive R2: 8/19
    COMPARISON TO BASELINE
      Baseline (7-layer BiLSTM)         +0.1931      ~0.19
      han                               -0.3185      ~0.40
      Hierarchy Gain                    -0.5116
      [NONE] No hierarchy contribution (may be hurting)

(with `=` rules between the sections). The baseline R2 is a constant of
the notebook (the author's validated baseline on the real fold 2), not a
model trained in this run: the gain is this run's R2 minus that number.
The `PER-DIMENSION R2` title inside it is part of this block, not the
cross-fold table of `parsers/dimensions.py`; the dataset line it prints is
passed on as a slice record.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from percediag.model import DimensionRow, PostAnalysis, SliceStat, TrainerTag
from percediag.parsers import slices
from percediag.parsers.block import Block, Feed
from percediag.parsers.grammar import Kind
from percediag.parsers.numbers import NUM, to_float

if TYPE_CHECKING:
    from percediag.parsers.builder import Builder

MARKER = r"POST-TRAINING ANALYSIS: \w"

_HEADER = re.compile(r"POST-TRAINING ANALYSIS:\s*(\w{1,40})")
_FOLD = re.compile(r"^\s*FOLD (\d{1,4}) RESULTS\s*$")
_SCALAR = re.compile(r"^\s{0,8}(Model|R2|Pearson|MAE):\s{0,20}(\S{1,40})\s*$")
_PRED = re.compile(r"Prediction std:\s*(" + NUM + r")\s*\(target:\s*(" + NUM + r")\)")
_DIM = re.compile(r"^\s{0,8}([a-z][a-z_]{0,60})\s{1,40}(" + NUM + r")\s{1,20}\[(\w{1,20})\]\s*$")
_POSITIVE = re.compile(r"Positive R2:\s*(\d{1,4})\s*/\s*(\d{1,4})")
_COMPARED = re.compile(r"^\s{0,8}(\S.{0,60}?)\s{2,40}(" + NUM + r")\s{1,20}(~\S{1,20})\s*$")
_GAIN = re.compile(r"^\s{0,8}Hierarchy Gain\s{1,40}(" + NUM + r")\s*$")
_TAG = re.compile(r"^\s{0,8}\[([A-Z]{2,12})\]\s*(.{0,300}?)\s*$")
_RULE = re.compile(r"^\s*(?:={10,}|-{10,}(?:\s+-{3,})*)\s*$")
_TITLES = ("PER-DIMENSION R2", "COMPARISON TO BASELINE")


class PostAnalysisBlock(Block):
    kind = "post-training analysis"
    max_noise = 6

    def __init__(self, lineno: int, text: str) -> None:
        super().__init__(lineno)
        match = _HEADER.search(text)
        self.record = PostAnalysis(line=lineno, model=match.group(1) if match else None)
        self.section = "results"
        self.slices: list[SliceStat] = []

    def owns_marker(self, kind: str, text: str) -> bool:
        # Its own per-dimension section and the dataset line of the fold it evaluates.
        return kind in ("dimensions", "slices")

    def _set(self, field: str, value, lineno: int) -> None:
        setattr(self.record, field, value)
        self.record.lines[field] = lineno

    def take(self, lineno: int, text: str) -> Feed | None:
        rec = self.record
        stripped = text.strip()
        if not stripped or _RULE.match(text):
            return Feed.TAKEN
        if (stat := slices.parse(lineno, text)) is not None:
            self.slices.append(stat)
            return Feed.TAKEN
        if match := _FOLD.match(text):
            self._set("fold", int(match.group(1)), lineno)
            return Feed.TAKEN
        if stripped in _TITLES:
            self.section = "dims" if stripped == _TITLES[0] else "comparison"
            return Feed.TAKEN
        if stripped.startswith(("Dimension ", "Model ")) and stripped.endswith(("Status", "Expected")):
            return Feed.TAKEN  # table headers
        if self.section == "results":
            return self._results(lineno, text)
        if self.section == "dims":
            if match := _DIM.match(text):
                rec.dims.append(DimensionRow(name=match.group(1), mean_r2=to_float(match.group(2)),
                                             status=match.group(3), line=lineno))
                return Feed.TAKEN
            if match := _POSITIVE.search(text):
                self._set("positive_dims", int(match.group(1)), lineno)
                rec.total_dims = int(match.group(2))
                return Feed.TAKEN
            return None
        if match := _GAIN.match(text):
            self._set("gain", to_float(match.group(1)), lineno)
            return Feed.TAKEN
        if rec.gain is not None and (match := _TAG.match(text)):
            rec.tags.append(TrainerTag(tag=match.group(1), text=match.group(2), line=lineno, subject="gain"))
            return Feed.DONE  # the verdict closes the analysis
        if match := _COMPARED.match(text):
            label, value = match.group(1).strip(), to_float(match.group(2))
            rec.expected[label] = match.group(3)
            if label.lower().startswith("baseline"):
                rec.baseline = label
                self._set("baseline_r2", value, lineno)
            else:
                self._set("model_r2", value, lineno)
            return Feed.TAKEN
        return None

    def _results(self, lineno: int, text: str) -> Feed | None:
        rec = self.record
        if match := _SCALAR.match(text):
            name, value = match.group(1), match.group(2)
            if name == "Model":
                rec.model = rec.model or value
                rec.lines["model"] = lineno
                return Feed.TAKEN
            try:
                self._set(name.lower(), float(value), lineno)
            except ValueError:
                return None  # not a number: not this line
            return Feed.TAKEN
        if match := _PRED.search(text):
            self._set("pred_std", to_float(match.group(1)), lineno)
            self._set("target_std", to_float(match.group(2)), lineno)
            return Feed.TAKEN
        if match := _TAG.match(text):
            rec.tags.append(TrainerTag(tag=match.group(1), text=match.group(2), line=lineno, subject="pred_std"))
            return Feed.TAKEN
        return None

    def finish(self, builder: Builder) -> None:
        self.record.end_line = self.last_line
        if not self.closed_cleanly:
            builder.warn(self.record.line, "post-training analysis ended before its verdict (truncated?)")
        for stat in self.slices:
            builder.add_slices(stat)
        builder.add_post_analysis(self.record)


KIND = Kind(name="postanalysis", marker=MARKER, scan=(rb"POST-TRAINING ANALYSIS",), block=PostAnalysisBlock)
