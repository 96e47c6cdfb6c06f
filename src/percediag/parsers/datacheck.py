"""Pre-training data diagnostics: the trainer's checks of one batch before training starts.

Round 9's notebook prints `PRE-TRAINING DATA DIAGNOSTICS` with eight
numbered sections (index ranges, zero-shifted indices, boundary counts,
slice statistics, input and label statistics) and its own summary,
`[ALL CHECKS PASSED] Data pipeline looks correct!` or `[ISSUES FOUND] N
issues`. Round 13's is shorter (`Batch shapes:`, `Index analysis:`, then
`[OK] Data pipeline looks correct`). Every tag is kept as evidence.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from percediag.model import DataCheck, TrainerTag
from percediag.parsers import slices
from percediag.parsers.block import Block, Feed
from percediag.parsers.numbers import NUM, to_float

if TYPE_CHECKING:
    from percediag.parsers.builder import Builder

MARKER = r"PRE-TRAINING DATA DIAGNOSTICS"

_MIN = re.compile(r"(Beat|Measure) indices:\s*min=(-?\d{1,9})")
_RANGE = re.compile(r"(Beat|Measure) range:\s*\[\s*(-?\d{1,9})\s*,")
_SHIFTED = re.compile(r"(Beat|Measure) zero-shifted range:\s*\[\s*(-?\d{1,9})\s*,")
_BACKWARD = re.compile(r"diff < 0 count:\s*(\d{1,9})")
_TOTAL = re.compile(r"Total slices in dataset:\s*(\d{1,9})")
_SAMPLES = re.compile(r"Underlying samples:\s*(\d{1,9})")
_PER_SAMPLE = re.compile(r"Avg slices per sample:\s*(" + NUM + r")")
_TAG = re.compile(r"\[(OK|WARN|WARNING|FAIL|ERROR|ALL CHECKS PASSED|ISSUES FOUND)\]\s*(.*)")
_ISSUES = re.compile(r"(\d{1,6}) issue")


class DataCheckBlock(Block):
    kind = "pre-training data diagnostics"
    max_noise = 40  # the sections print shapes and index lists nothing judges

    def __init__(self, lineno: int, text: str) -> None:
        super().__init__(lineno)
        self.record = DataCheck(line=lineno)

    def owns_marker(self, kind: str, text: str) -> bool:
        return kind == "slices"  # the dataset line of the batch it checks

    def _set(self, field: str, value, lineno: int) -> None:
        setattr(self.record, field, value)
        self.record.lines[field] = lineno

    def take(self, lineno: int, text: str) -> Feed | None:
        rec = self.record
        if not text.strip() or text.strip().startswith("="):
            return Feed.TAKEN
        if (stat := slices.parse(lineno, text)) is not None:
            self._set("slices", stat.slices, lineno)
            self._set("samples", stat.samples, lineno)
            self._set("per_sample", stat.per_sample, lineno)
            return Feed.TAKEN
        if match := _TAG.search(text):
            return self._tag(lineno, match.group(1), match.group(2).strip())
        for pattern, field in ((_MIN, "min"), (_RANGE, "min")):
            if match := pattern.search(text):
                self._set(f"{match.group(1).lower()}_{field}", int(match.group(2)), lineno)
                return Feed.TAKEN
        if match := _SHIFTED.search(text):
            if int(match.group(2)) < 0:
                self._set("negatives", max(rec.negatives or 0, 1), lineno)
            elif rec.negatives is None:
                self._set("negatives", 0, lineno)
            return Feed.TAKEN
        if match := _BACKWARD.search(text):
            return Feed.TAKEN  # the trainer expects these at padding boundaries: not an error by itself
        for pattern, field, cast in ((_TOTAL, "slices", int), (_SAMPLES, "samples", int), (_PER_SAMPLE, "per_sample", to_float)):
            if match := pattern.search(text):
                self._set(field, cast(match.group(1)), lineno)
                return Feed.TAKEN
        if text.startswith((" ", "\t", "[")) or text.rstrip().endswith(":"):
            return Feed.TAKEN
        return None

    def _tag(self, lineno: int, tag: str, message: str) -> Feed:
        rec = self.record
        lowered = message.lower()
        subject = ("nonfinite" if "nan" in lowered else "labels" if "label" in lowered
                   else "indices" if "indices" in lowered or "negative" in lowered or "sequential" in lowered
                   else "summary")
        rec.tags.append(TrainerTag(tag=tag, text=message, line=lineno, subject=subject))
        if subject == "nonfinite":
            self._set("nonfinite", tag != "OK", lineno)
        elif subject == "labels":
            self._set("labels_in_range", tag == "OK", lineno)
        if tag == "ALL CHECKS PASSED" or (tag == "OK" and "pipeline looks correct" in lowered):
            self._set("issues", 0, lineno)
            return Feed.DONE
        if tag == "ISSUES FOUND":
            match = _ISSUES.search(message)
            self._set("issues", int(match.group(1)) if match else None, lineno)
            return Feed.DONE
        return Feed.TAKEN

    def finish(self, builder: Builder) -> None:
        self.record.end_line = self.last_line
        if not self.closed_cleanly:
            builder.warn(self.record.line, "pre-training data diagnostics ended without their summary (truncated?)")
        builder.add_data_check(self.record)
