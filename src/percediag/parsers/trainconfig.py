"""Training configuration: `TRAINING CONFIGURATION (SOTA + ROUND 5 FIXES)` and its `key: value` lines.

The title names the round; the values are kept as printed (strings), since
they are compared, not computed with.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from percediag.model import TrainingConfig
from percediag.parsers.block import Block, Feed
from percediag.parsers.grammar import Kind

if TYPE_CHECKING:
    from percediag.parsers.builder import Builder

MARKER = r"TRAINING CONFIGURATION"

_TITLE = re.compile(r"TRAINING CONFIGURATION\s*(?:\((.{0,200})\))?")
# A round number stands alone: "ROUND 1234", "ROUND 1e3" or "ROUND 5.5" name no round.
_ROUND = re.compile(r"ROUND\s+(\d{1,3})(?![\d.eE])", re.IGNORECASE)
_RULE = re.compile(r"^\s*={10,}\s*$")
# Indentation is optional: a paste may have lost it.
_PAIR = re.compile(r"^\s*([A-Za-z_][\w.]{0,80}):\s+(\S.{0,500})$")


class ConfigBlock(Block):
    kind = "training configuration"
    max_noise = 0

    def __init__(self, lineno: int, text: str) -> None:
        super().__init__(lineno)
        match = _TITLE.search(text)
        title = match.group(1) if match else None
        round_match = _ROUND.search(title or "")
        self.record = TrainingConfig(
            line=lineno, title=title, round=int(round_match.group(1)) if round_match else None
        )

    def take(self, lineno: int, text: str) -> Feed | None:
        rec = self.record
        if _RULE.match(text):
            return Feed.TAKEN
        if match := _PAIR.match(text):
            rec.values[match.group(1)] = match.group(2).strip()
            rec.lines[match.group(1)] = lineno
            return Feed.TAKEN
        if not text.strip():
            # Blank lines do not end the block (a paste may gain them); the
            # first line that is not `key: value` does.
            return Feed.TAKEN
        return Feed.REJECT

    def finish(self, builder: Builder) -> None:
        builder.add_config(self.record)


KIND = Kind(name="config", marker=MARKER, scan=(rb"TRAINING CONFIGURATION",), block=ConfigBlock)
