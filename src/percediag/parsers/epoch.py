"""Epoch line: `[Fold 0] Epoch   4 | train_loss: ... | val_r2: +0.0170 | ... *best*`.

Epochs are numbered from 0. The line may follow a progress bar's last frame
on the same physical line, so it is searched for, not anchored.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from percediag.model import Epoch
from percediag.parsers.grammar import Kind
from percediag.parsers.numbers import NUM, to_float

if TYPE_CHECKING:
    from percediag.parsers.builder import Builder

MARKER = r"\[Fold \d{1,4}\] Epoch"

_LINE = re.compile(r"\[Fold (\d{1,4})\] Epoch\s{1,40}(\d{1,7})\s*\|(.*)")
_FIELD = re.compile(r"(train_loss|val_loss|val_r2|lr|time):\s*(" + NUM + r")(s?)(\s?%)?")
_FIELDS = {"train_loss": "train_loss", "val_loss": "val_loss", "val_r2": "val_r2", "lr": "lr", "time": "time_s"}


def handle(lineno: int, text: str, builder: Builder) -> None:
    match = _LINE.search(text)
    if match is None:
        builder.warn(lineno, "epoch line without an epoch number")
        return
    rest = match.group(3)
    values = {}
    refused = False
    for key, value, _, percent in _FIELD.findall(rest):
        if percent:
            # A fraction printed with '%' is ambiguous (0.5% of what?): not read, and said.
            builder.warn(lineno, f"{key} printed with '%' ({value}%): not read, these values are fractions")
            refused = True
            continue
        values[_FIELDS[key]] = to_float(value)
    if "val_r2" not in values and not refused:
        builder.warn(lineno, "epoch line without val_r2")
    record = Epoch(
        line=lineno,
        fold=int(match.group(1)),
        epoch=int(match.group(2)),
        best="*best*" in rest,
        **values,
    )
    builder.add_epoch(record)


KIND = Kind(name="epoch", marker=MARKER, scan=(rb"Fold \d{1,4}\] Epoch",), handle=handle)
