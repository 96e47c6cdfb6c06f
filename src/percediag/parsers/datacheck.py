"""Pre-training data diagnostics: the trainer's checks of one batch before training starts.

Round 9's notebook prints `PRE-TRAINING DATA DIAGNOSTICS` with eight
numbered sections (index ranges, zero-shifted indices, boundary counts,
slice statistics, input and label statistics) and its own summary,
`[ALL CHECKS PASSED] Data pipeline looks correct!` or `[ISSUES FOUND] N
issues`. Round 13's is shorter (`Batch shapes:`, `Index analysis:`, then
`[OK] Data pipeline looks correct`). Every tag is kept as evidence.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

from percediag.model import DataCheck, TrainerTag
from percediag.parsers import slices
from percediag.parsers.block import Block, Feed
from percediag.parsers.builder import MAX_BLOCK_ROWS
from percediag.parsers.grammar import Kind
from percediag.parsers.numbers import NUM, to_float

if TYPE_CHECKING:
    from percediag.parsers.builder import Builder

MARKER = r"PRE-TRAINING DATA DIAGNOSTICS"

_MIN = re.compile(r"(Beat|Measure) indices:\s*min=(" + NUM + r")(?:,\s*max=(" + NUM + r"))?")
_RANGE = re.compile(r"(Beat|Measure) range:\s*\[\s*(" + NUM + r")\s*,\s*(" + NUM + r")?")
_SHIFTED = re.compile(r"(Beat|Measure) zero-shifted range:\s*\[\s*(" + NUM + r")\s*,")
# A numbered section's title: [7] and [8] are the input features' and the labels' statistics.
_SECTION = re.compile(r"^\s{0,4}\[\d{1,2}\]\s*([A-Z]{1,20})")
_OVERALL = re.compile(r"Overall:\s*mean=(" + NUM + r"),\s*std=(" + NUM + r")")
_VALUES = re.compile(r"^\s{0,8}Range:\s*\[\s*(" + NUM + r")\s*,\s*(" + NUM + r")\s*\]")
_BACKWARD = re.compile(r"diff < 0 count:\s*(\d{1,9})")
_TOTAL = re.compile(r"Total slices in dataset:\s*(\d{1,9})")
_SAMPLES = re.compile(r"Underlying samples:\s*(\d{1,9})")
_PER_SAMPLE = re.compile(r"Avg slices per sample:\s*(" + NUM + r")")
_TAG = re.compile(r"\[(OK|WARN|WARNING|FAIL|ERROR|ALL CHECKS PASSED|ISSUES FOUND)\]\s*(.*)")
_ISSUES = re.compile(r"(\d{1,6}) issue")


def _index(value: float | None) -> int | None:
    """A printed index as an int; None for nan, inf or a fraction (an index cannot be any of them)."""
    if value is None or not math.isfinite(value) or value != int(value):
        return None
    return int(value)


class DataCheckBlock(Block):
    kind = "pre-training data diagnostics"
    max_noise = 40  # the sections print shapes and index lists nothing judges

    def __init__(self, lineno: int, text: str) -> None:
        super().__init__(lineno)
        self.record = DataCheck(line=lineno)
        self.section: str | None = None
        # Fields the printed numbers already condemn: a later [OK] tag does not clear them.
        self.condemned: set[str] = set()

    def owns_marker(self, kind: str, text: str) -> bool:
        return kind == "slices"  # the dataset line of the batch it checks

    def _set(self, field: str, value, lineno: int) -> None:
        setattr(self.record, field, value)
        self.record.lines[field] = lineno

    def _invalid(self, what: str, lineno: int) -> None:
        if len(self.record.invalid) < MAX_BLOCK_ROWS:
            self.record.invalid.append(f"{what} (line {lineno})")

    def _condemn(self, field: str, value: bool, lineno: int) -> None:
        self.condemned.add(field)
        self._set(field, value, lineno)

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
        if match := _SECTION.search(text):
            self.section = {"INPUT": "input", "LABEL": "label"}.get(match.group(1))
            return Feed.TAKEN
        if match := _MIN.search(text) or _RANGE.search(text):
            part = match.group(1).lower()
            low, high = to_float(match.group(2)), to_float(match.group(3))
            if _index(low) is None or (high is not None and _index(high) is None):
                shown = f"{low:g}" if high is None else f"{low:g} to {high:g}"
                self._invalid(f"{part} indices {shown} are not integers", lineno)
            else:
                self._set(f"{part}_min", _index(low), lineno)
            return Feed.TAKEN
        if match := _SHIFTED.search(text):
            low = to_float(match.group(2))
            if _index(low) is None:
                self._invalid(f"{match.group(1).lower()} zero-shifted index {low:g} is not an integer", lineno)
            elif low < 0:
                self._set("negatives", max(rec.negatives or 0, 1), lineno)
            elif rec.negatives is None:
                self._set("negatives", 0, lineno)
            return Feed.TAKEN
        if match := _OVERALL.search(text):
            mean, std = to_float(match.group(1)), to_float(match.group(2))
            if not (math.isfinite(mean) and math.isfinite(std)):
                self._condemn("nonfinite", True, lineno)
            if std < 0:
                self._invalid(f"input std {std:g} is negative", lineno)
            return Feed.TAKEN
        if (match := _VALUES.search(text)) and self.section is not None:
            low, high = to_float(match.group(1)), to_float(match.group(2))
            if self.section == "input" and not (math.isfinite(low) and math.isfinite(high)):
                self._condemn("nonfinite", True, lineno)
            elif self.section == "label" and not (0 <= low <= high <= 1):
                self._condemn("labels_in_range", False, lineno)
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
        if len(rec.tags) < MAX_BLOCK_ROWS:
            rec.tags.append(TrainerTag(tag=tag, text=message, line=lineno, subject=subject))
        if subject == "nonfinite" and "nonfinite" not in self.condemned:
            self._set("nonfinite", tag != "OK", lineno)
        elif subject == "labels" and "labels_in_range" not in self.condemned:
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


KIND = Kind(name="datacheck", marker=MARKER, scan=(rb"PRE-TRAINING DATA",), block=DataCheckBlock)
