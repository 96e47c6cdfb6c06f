"""Which model the run trains (Round 13 on): the model-type table and the training header.

    PHASE 2 MODEL TYPES
      baseline                  7-layer BiLSTM (expected R2 ~0.19)
      baseline_beat             + Beat hierarchy (expected R2 ~0.25-0.30)
    ...
    TRAINING: baseline_beat

`TRAINING: NAME` names the model. The trainer's own `Model type: HAN
(Hierarchical)` line is not read: its constructor prints it for every type
but `baseline`, baseline_beat included.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from percediag.model import ModelType
from percediag.parsers.block import Block, Feed
from percediag.parsers.grammar import Kind

if TYPE_CHECKING:
    from percediag.parsers.builder import Builder

MARKER = r"PHASE \d{1,2} MODEL TYPES|TRAINING: \w"

_TRAINING = re.compile(r"^\s*TRAINING:\s*(\w{1,40})\s*$")
_ROW = re.compile(r"^\s{1,8}(\w{1,40})\s{2,40}(\S.{0,200})$")
_RULE = re.compile(r"^\s*={10,}\s*$")


class ModelTypesBlock(Block):
    kind = "model types"
    max_noise = 2

    def __init__(self, lineno: int, text: str) -> None:
        super().__init__(lineno)
        self.table: dict[str, str] = {}
        self.header = "MODEL TYPES" not in text
        match = _TRAINING.match(text) if self.header else None
        # A line that only contains "TRAINING: x" among other text names no model.
        self.name: str | None = match.group(1) if match else None

    def take(self, lineno: int, text: str) -> Feed | None:
        if self.header:
            return Feed.REJECT  # the training header is one line
        if _RULE.match(text):
            return Feed.DONE if self.table else Feed.TAKEN
        if match := _ROW.match(text):
            self.table[match.group(1)] = match.group(2).strip()
            return Feed.TAKEN
        return None

    def finish(self, builder: Builder) -> None:
        if self.name is not None:
            builder.add_model_type(ModelType(line=self.start_line, name=self.name, where="training header"))
        elif not self.header:
            builder.add_model_table(self.start_line, self.table)


KIND = Kind(name="modeltype", marker=MARKER, scan=(rb"PHASE \d{1,2} MODEL", rb"TRAINING: \w"), block=ModelTypesBlock)
