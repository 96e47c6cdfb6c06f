"""Row syntax shared by the per-fold tables of the aggregate and test blocks."""

from __future__ import annotations

import re

from percediag.model import FoldRow
from percediag.parsers.numbers import NUM, to_float

# `1         +0.2562    +0.6556     0.0825       11` (Epochs only in the CV table)
_ROW = re.compile(
    r"^\s*(\d{1,4}|Mean|Std|Ens\.?)\s+(" + NUM + r")%?\s+(" + NUM + r")%?\s+(" + NUM + r")(?:\s+(\d{1,7}))?\s*$"
)


def parse_fold_row(lineno: int, text: str) -> FoldRow | None:
    match = _ROW.match(text)
    if match is None:
        return None
    return FoldRow(
        label=match.group(1),
        r2=to_float(match.group(2)),
        pearson=to_float(match.group(3)),
        mae=to_float(match.group(4)),
        epochs=int(match.group(5)) if match.group(5) else None,
        line=lineno,
    )
