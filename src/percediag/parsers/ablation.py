"""Hierarchy ablation: the full model's R2 against the same model without its hierarchy.

In training (from Round 9 on), `HierarchyAblationCallback` prints a group
of `[ABLATION]` lines every few epochs:

    [ABLATION] Running hierarchy ablation test at epoch 0...
    [ABLATION] Full R2: -0.4530
    [ABLATION] Ablated (Bi-LSTM only) R2: -0.4590
    [ABLATION] Hierarchy gain: +0.0060
    [ABLATION] WARNING: Hierarchy contributing < 0.01 R2!

(Round 13 names them `Full HAN R2` and `Baseline (zeroed hierarchy) R2`.)
After training, the notebook's `MANUAL ABLATION TEST` cell prints a table
of the same three numbers (`Full Model`, `Bi-LSTM Only (ablated)`,
`Hierarchy Gain`), or `Model not loaded` when it had no checkpoint. Both
forms become an `Ablation`; in both the "baseline" is the full model with
the beat and measure outputs zeroed, not a separately trained Bi-LSTM.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from percediag.model import Ablation, TrainerTag
from percediag.parsers.block import Block, Feed
from percediag.parsers.builder import MAX_BLOCK_ROWS
from percediag.parsers.grammar import Kind
from percediag.parsers.numbers import NUM, to_float

if TYPE_CHECKING:
    from percediag.parsers.builder import Builder

MARKER = r"\[ABLATION\]|MANUAL ABLATION TEST"

_RULE = re.compile(r"^\s*={10,}\s*$")
_RUNNING = re.compile(r"Running (.{1,80}?) test at epoch\s{0,4}(\d{1,7})")
_FULL = re.compile(r"^\s{0,8}(?:\[ABLATION\]\s*)?Full (?:HAN )?(?:R2:|Model\s)\s*(" + NUM + r")")
_ABLATED = re.compile(r"^\s{0,8}(?:\[ABLATION\]\s*)?(Ablated \(Bi-LSTM only\)|Baseline \([^)]{1,60}\)|Bi-LSTM Only \(ablated\)"
                      r"|Bi-LSTM 7-layer)(?: R2:)?\s{1,40}(" + NUM + r")")
_GAIN = re.compile(r"Hierarchy (?:gain:|Gain)\s{0,40}(" + NUM + r")")
_NOTE = re.compile(r"\[ABLATION\]\s*(WARNING|NOTE):\s*(.*)")


class AblationBlock(Block):
    kind = "ablation"
    max_noise = 4

    def __init__(self, lineno: int, text: str) -> None:
        super().__init__(lineno)
        self.manual = "MANUAL ABLATION TEST" in text
        self.record = Ablation(line=lineno, phase="post-training" if self.manual else "epoch")
        self.content = False
        if not self.manual:
            self.take(lineno, text)

    def owns_marker(self, kind: str, text: str) -> bool:
        # The in-training form is a run of [ABLATION] lines; a new "Running" line starts the next group.
        return kind == "ablation" and not self.manual and _RUNNING.search(text) is None

    def take(self, lineno: int, text: str) -> Feed | None:
        rec = self.record
        if self.manual:
            if _RULE.match(text):
                return Feed.DONE if self.content else Feed.TAKEN
            if not text.strip():
                return Feed.TAKEN
            self.content = True
        elif "[ABLATION]" not in text:
            return Feed.REJECT
        if match := _RUNNING.search(text):
            rec.epoch = int(match.group(2))
            rec.lines["epoch"] = lineno
            if "ZEROED" in match.group(1).upper():
                rec.baseline = "zeroed hierarchy"
            return Feed.TAKEN
        if match := _FULL.search(text):
            rec.full_r2 = to_float(match.group(1))
            rec.lines["full_r2"] = lineno
            return Feed.TAKEN
        if match := _ABLATED.search(text):
            rec.ablated_r2 = to_float(match.group(2))
            rec.baseline = match.group(1)
            rec.zeroed = "7-layer" not in match.group(1)
            rec.lines["ablated_r2"] = lineno
            return Feed.TAKEN
        if match := _GAIN.search(text):
            rec.gain = to_float(match.group(1))
            rec.lines["gain"] = lineno
            return Feed.DONE if self.manual else Feed.TAKEN
        if match := _NOTE.search(text):
            if len(rec.tags) >= MAX_BLOCK_ROWS:
                return Feed.TAKEN
            rec.tags.append(TrainerTag(tag=match.group(1), text=match.group(2).strip(), line=lineno,
                                       subject="gain" if "contributing" in text else "baseline"))
            return Feed.TAKEN
        if self.manual:
            if "Model not loaded" in text and len(rec.tags) < MAX_BLOCK_ROWS:
                rec.tags.append(TrainerTag(tag="SKIPPED", text=text.strip(), line=lineno, subject="not_run"))
            return Feed.TAKEN
        return Feed.TAKEN

    def finish(self, builder: Builder) -> None:
        rec = self.record
        rec.end_line = self.last_line
        if rec.epoch is None and not self.manual:
            # The callback's creation warning (zeroed-hierarchy mode) carries no numbers: kept as a notice only.
            builder.add_ablation_notice(rec)
            return
        builder.add_ablation(rec)


KIND = Kind(name="ablation", marker=MARKER, scan=(rb"\[ABLATION\]", rb"ION TEST"), block=AblationBlock)
