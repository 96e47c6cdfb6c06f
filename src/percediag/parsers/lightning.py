"""Lightning's own lines that matter: stop reasons, interruption, model size, the CV header.

`Trainer.fit` stopped (max epochs), early stopping's `Signaling Trainer to
stop`, `Detected KeyboardInterrupt`, the model summary's `Total params`, and
the trainer's `K-FOLD CROSS-VALIDATION` banner (a new run starts there).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from percediag.model import ModelSummary, StopEvent
from percediag.parsers.grammar import Kind
from percediag.parsers.numbers import NUM, to_float

if TYPE_CHECKING:
    from percediag.parsers.builder import Builder

MARKER = (
    r"`Trainer\.fit` stopped|Signaling Trainer to stop|Detected KeyboardInterrupt|Total params"
    r"|FOLD CROSS-VALIDATION"
)

# The number sits right after "Total params:" (rich box) or right before "Total params" (plain table).
_AFTER = re.compile(r"Total params:?\s{0,40}(" + NUM + r")\s{0,4}([KMB])?")
_BEFORE = re.compile(r"(" + NUM + r")\s{0,4}([KMB])?\s{1,40}$")
# The banner is a line of its own (not "STARTING 4-FOLD CROSS-VALIDATION TRAINING").
# (one whitespace run, then optional #s and one more run: never two adjacent
# runs that could split the same spaces, which backtracks quadratically)
_CV = re.compile(r"^\s*(?:#+\s*)?(\d{1,3})-FOLD CROSS-VALIDATION\s*$")
_SCALE = {None: 1, "": 1, "K": 1e3, "M": 1e6, "B": 1e9}


def handle(lineno: int, text: str, builder: Builder) -> None:
    if "Trainer.fit" in text:
        builder.add_stop(StopEvent(line=lineno, kind="max_epochs", text=text.strip()))
    elif "Signaling Trainer to stop" in text:
        builder.add_stop(StopEvent(line=lineno, kind="early_stopping", text=text.strip()))
    elif "Detected KeyboardInterrupt" in text:
        builder.add_stop(StopEvent(line=lineno, kind="interrupted", text=text.strip()))
    elif "Total params" in text:
        at = text.index("Total params")
        match = _AFTER.match(text, at) or _BEFORE.search(text[max(0, at - 80):at])
        if match:
            number, scale = match.group(1), match.group(2)
            value = to_float(number)
            total = value * _SCALE[scale] if value is not None else None
            builder.add_model_summary(ModelSummary(line=lineno, total_params=total, text=text.strip()))
    elif match := _CV.search(text):
        builder.start_cross_validation(lineno, int(match.group(1)))


KIND = Kind(
    name="lightning", marker=MARKER,
    scan=(rb"Trainer", rb"Interrupt", rb"Total params", rb"CROSS-VALIDATION"),
    handle=handle,
)
