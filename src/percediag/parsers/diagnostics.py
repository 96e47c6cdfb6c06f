"""Hierarchy diagnostics: the per-stage activation std, attention entropy and hierarchy contribution.

In training (from Round 9 on), `DiagnosticCallback` prints
`DIAGNOSTIC SUMMARY - Epoch N` every few epochs: `[1] INDEX ANALYSIS`
(beat and measure index ranges), `[2] ACTIVATION VARIANCES (std)` (one row
per stage of the HAN forward pass, each with the trainer's `[OK]`,
`[LOW - ISSUE]` or `[HIGH]`), `[3] ATTENTION ENTROPY` (1.000 = uniform) and
`[4] HIERARCHY CONTRIBUTION` (each part's share of the variance, with
`[WARNING]` lines). After training, the notebook's diagnostic cell prints
the same measurements as `ACTIVATION VARIANCE ANALYSIS` (mean, min and max
std over five batches) and `HIERARCHY CONTRIBUTION ANALYSIS` (shares with
a bar of `#`). Both forms become a `DiagnosticSummary`; the builder decides
whether an epoch-0 block is Lightning's sanity-check pass.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from percediag.model import DiagnosticSummary, StageStd, TrainerTag
from percediag.parsers.block import Block, Feed
from percediag.parsers.builder import MAX_BLOCK_ROWS
from percediag.parsers.grammar import Kind
from percediag.parsers.numbers import NUM, to_float

if TYPE_CHECKING:
    from percediag.parsers.builder import Builder

MARKER = r"DIAGNOSTIC SUMMARY - Epoch|ACTIVATION VARIANCE ANALYSIS|HIERARCHY CONTRIBUTION ANALYSIS"

_EPOCH = re.compile(r"DIAGNOSTIC SUMMARY - Epoch\s{0,4}(\d{1,7})")
_RULE = re.compile(r"^\s*={10,}\s*$")
_STATUS = re.compile(r"\[([A-Z][A-Z -]{0,20})\]\s*$")
# A printed number, loosely: too many digits or an overflow still reads as a number (inf), not as a label.
_NUMBER = re.compile(r"[+-]?(?:(?i:nan|inf(?:inity)?)|[0-9.]+(?:[eE][+-]?[0-9]+)?)")
_RANGE = re.compile(r"(Beat|Measure) range:\s*\[\s*(-?\d{1,9})\s*,\s*(-?\d{1,9})\s*\]")
_ZERO_SHIFT = re.compile(r"Zero-shifted values:\s*(\w{1,20})")
_ENTROPY = re.compile(r"(Beat|Measure) attention:\s*(" + NUM + r")")
_SHARE = re.compile(r"^\s{0,8}(hidden_out \(Bi-LSTM\)|beat_spanned|measure_spanned|Bi-LSTM \(note\+voice\)"
                    r"|Beat hierarchy|Measure hierarchy):?\s{1,40}(" + NUM + r")%")
_WARNING = re.compile(r"\[(WARNING|WARN|OK)\]\s*(.*)")

# Printed stage label (lower case) -> canonical stage. The post-training table names them in words.
STAGES = {
    "input": "input", "input features": "input",
    "x_embedded": "x_embedded", "after embedding": "x_embedded",
    "note_out (lstm)": "note_out", "note_out": "note_out", "note lstm": "note_out",
    "voice_out": "voice_out", "voice lstm": "voice_out",
    "hidden_out": "hidden_out", "hidden (note+voice)": "hidden_out",
    "beat_nodes": "beat_nodes", "beat nodes": "beat_nodes",
    "beat_out": "beat_out", "beat lstm": "beat_out",
    "beat_spanned": "beat_spanned", "beat spanned": "beat_spanned",
    "measure_nodes": "measure_nodes", "measure nodes": "measure_nodes",
    "measure_out": "measure_out", "measure lstm": "measure_out",
    "measure_spanned": "measure_spanned", "measure spanned": "measure_spanned",
    "total_note_cat": "total_note_cat",
    "contracted": "contracted",
    "aggregated": "aggregated",
    "logits": "logits",
    "predictions": "predictions",
}
_SHARES = {
    "hidden_out (Bi-LSTM)": "lstm", "Bi-LSTM (note+voice)": "lstm",
    "beat_spanned": "beat", "Beat hierarchy": "beat",
    "measure_spanned": "measure", "Measure hierarchy": "measure",
}


def _number(word: str) -> float | None:
    """A printed number (5,000 nines or 1e309 read as inf, which the rules reject), or None."""
    if _NUMBER.fullmatch(word) is None:
        return None
    try:
        return float(word)
    except ValueError:  # `1.2.3`: not a number
        return None


def stage_row(lineno: int, text: str) -> StageStd | None:
    """`  note_out (LSTM)   0.0295 [LOW - ISSUE]` or `Note LSTM  0.0354  0.0335  0.0371 [LOW - ISSUE]`, tag optional."""
    status = _STATUS.search(text)
    # Without its status tag (a line cut at the parser's line limit, a number of thousands of digits),
    # a known stage and its number are still a row: leaving it out would hide an impossible value.
    words = (text if status is None else text[:status.start()]).split()
    numbers: list[float] = []
    while words and len(numbers) < 3 and (value := _number(words[-1])) is not None:
        words.pop()
        numbers.insert(0, value)
    label = " ".join(words)
    stage = STAGES.get(label.lower())
    if stage is None or not numbers or len(numbers) == 2:
        return None
    low, high = (numbers[1], numbers[2]) if len(numbers) == 3 else (None, None)
    return StageStd(stage=stage, label=label, std=numbers[0], min=low, max=high, tag=status and status.group(1), line=lineno)


class DiagnosticsBlock(Block):
    kind = "diagnostic summary"
    max_noise = 12

    def __init__(self, lineno: int, text: str) -> None:
        super().__init__(lineno)
        match = _EPOCH.search(text)
        post = match is None
        self.record = DiagnosticSummary(line=lineno, epoch=int(match.group(1)) if match else None,
                                        phase="post-training" if post else "epoch")
        self.content = False

    def take(self, lineno: int, text: str) -> Feed | None:
        rec = self.record
        if _RULE.match(text):
            return Feed.DONE if self.content else Feed.TAKEN
        if not text.strip():
            return Feed.TAKEN
        self.content = True
        if row := stage_row(lineno, text):
            if len(rec.stages) < MAX_BLOCK_ROWS:
                rec.stages.append(row)
            return Feed.TAKEN
        if match := _SHARE.search(text):
            part = _SHARES[match.group(1)]
            rec.contribution[part] = round(float(match.group(2)) / 100, 6)
            rec.lines[f"contribution.{part}"] = lineno
            return Feed.TAKEN
        if match := _ENTROPY.search(text):
            part = match.group(1).lower()
            rec.entropy[part] = to_float(match.group(2))
            rec.lines[f"entropy.{part}"] = lineno
            return Feed.TAKEN
        if match := _RANGE.search(text):
            values = [int(match.group(2)), int(match.group(3))]
            field = "beat_range" if match.group(1) == "Beat" else "measure_range"
            setattr(rec, field, values)
            rec.lines[field] = lineno
            return Feed.TAKEN
        if match := _ZERO_SHIFT.search(text):
            rec.negatives = 0 if match.group(1) == "OK" else None
            rec.lines["negatives"] = lineno
            return Feed.TAKEN
        if match := _WARNING.search(text):
            if len(rec.tags) >= MAX_BLOCK_ROWS:
                return Feed.TAKEN
            rec.tags.append(TrainerTag(tag=match.group(1), text=match.group(2).strip(), line=lineno,
                                       subject="contribution" if "contributing" in text else None))
            return Feed.TAKEN
        if text.lstrip().startswith(("[", "Component", "---", "Fraction")):
            return Feed.TAKEN  # section titles and table headers
        return None

    def finish(self, builder: Builder) -> None:
        self.record.end_line = self.last_line
        if not self.closed_cleanly:
            builder.warn(self.record.line, "diagnostic summary ended without its closing rule (truncated?)")
        builder.add_diagnostics(self.record)


KIND = Kind(
    name="diagnostics", marker=MARKER,
    scan=(rb"C SUMMARY - Epoch", rb"CTIVATION VARIANCE", rb"CONTRIBUTION ANALYSIS"),
    block=DiagnosticsBlock,
)
