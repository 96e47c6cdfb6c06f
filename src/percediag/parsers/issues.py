"""The post-training issue list: the trainer's own verdict on the stages it analysed.

After training (Round 9 on), the notebook's diagnostic cell closes with a
`DIAGNOSTIC SUMMARY` (not the per-epoch `DIAGNOSTIC SUMMARY - Epoch N`):

    [12 ISSUES DETECTED]
      1. Note LSTM: std=0.0354 < 0.1
      ...
    Likely root causes:
      - LSTM outputs have very low variance

Each numbered item is a stage whose mean std fell below the trainer's low
threshold; the root causes are canned hints chosen by keywords. The block
opens on its count line (the bare `DIAGNOSTIC SUMMARY` title also heads
the pre-training data check). The numbers decide: an item the stage table
does not bear out is a trainer-tag disagreement (diagnostics.stage_std).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from percediag.model import IssueList, StageIssue
from percediag.parsers.block import Block, Feed
from percediag.parsers.diagnostics import STAGES
from percediag.parsers.grammar import Kind
from percediag.parsers.numbers import NUM, to_float

if TYPE_CHECKING:
    from percediag.parsers.builder import Builder

MARKER = r"\[\d{1,6} ISSUES? DETECTED\]"

_COUNT = re.compile(r"\[(\d{1,6}) ISSUES? DETECTED\]")
_RULE = re.compile(r"^\s*={10,}\s*$")
_ITEM = re.compile(r"^\s{0,8}\d{1,6}\.\s{1,4}(\S.{0,200}?)\s*$")
_STD = re.compile(r"^(.{1,80}?):\s*std=(" + NUM + r")\s*<\s*(" + NUM + r")$")
_CAUSE = re.compile(r"^\s{0,8}-\s{1,4}(\S.{0,300}?)\s*$")


class IssueListBlock(Block):
    kind = "issue list"
    max_noise = 4

    def __init__(self, lineno: int, text: str) -> None:
        super().__init__(lineno)
        match = _COUNT.search(text)
        self.record = IssueList(line=lineno, count=int(match.group(1)) if match else None, lines={"count": lineno})

    def take(self, lineno: int, text: str) -> Feed | None:
        rec = self.record
        if _RULE.match(text):
            return Feed.DONE
        if not text.strip():
            return Feed.TAKEN
        if match := _ITEM.match(text):
            item = match.group(1)
            std = _STD.match(item)
            label = std.group(1).strip() if std else item.split(":", 1)[0].strip()
            rec.issues.append(StageIssue(label=label, stage=STAGES.get(label.lower()), line=lineno,
                                         std=to_float(std.group(2)) if std else None,
                                         bound=to_float(std.group(3)) if std else None))
            return Feed.TAKEN
        if text.strip() == "Likely root causes:":
            rec.lines["root_causes"] = lineno
            return Feed.TAKEN
        if "root_causes" in rec.lines and (match := _CAUSE.match(text)):
            rec.root_causes.append(match.group(1))
            return Feed.TAKEN
        return None

    def finish(self, builder: Builder) -> None:
        self.record.end_line = self.last_line
        if not self.closed_cleanly:
            builder.warn(self.record.line, "issue list ended without its closing rule (truncated?)")
        builder.add_issue_list(self.record)


KIND = Kind(name="issues", marker=MARKER, scan=(rb"ISSUES? DETECTED\]",), block=IssueListBlock)
