"""data.slices_per_sample: slice sampling gives more than one slice per sample.

What it checks: the training set's `KFold Dataset: ... slices=N (R/sample)`
lines (else the data check's `Avg slices per sample`) show at least `min`
slices per sample.

Why: Round 8 added slice sampling (`make_slicing_indexes_by_measure`) so
that each performance yields several training windows. With `slice_len`
5000 and every sample shorter than that, it returns one slice per sample:
the sampling is in place but does nothing (Round 9 and 13: 1.0/sample;
the real data's 51-413 notes per sample give the same). The minimum is a
judgement call: anything above 1.0 shows slicing took effect.

A ratio that is nan, infinite or negative (the data check's `Avg slices
per sample: inf`) is impossible: always `fail`, never `pass`.

Example (round9.log, line 126):

    KFold Dataset: fold=1, mode=train, samples=22, slices=22 (1.0/sample)

warns: "1.00 training slices per sample, below >= 1.1".
"""

from __future__ import annotations

import math

from pydantic import Field

from percediag.model import Run
from percediag.rules.base import range_status
from percediag.rules.options import RangeOptions
from percediag.rules.spec import RuleSpec, Verdict
from percediag.settings import Settings


class Options(RangeOptions):
    required: bool = False


def check(run: Run, options: Options, settings: Settings) -> list[Verdict]:
    expected = options.describe()
    rows = [(s.slices / s.samples, s.line) for s in run.slices if s.mode == "train" and s.samples]
    if not rows and run.data_check is not None and run.data_check.per_sample is not None:
        rows = [(run.data_check.per_sample, run.data_check.lines.get("per_sample", run.data_check.line))]
    if not rows:
        if not options.required:
            return []
        return [Verdict(status="missing", expected=expected,
                        message="no slice counts in the log (slice sampling prints them from Round 8 on)")]
    if impossible := [(value, line) for value, line in rows if not math.isfinite(value) or value < 0]:
        value, line = impossible[0]
        return [Verdict(status="fail", expected=expected, lines=[line],
                        message=f"impossible slices per sample {value:g}: a count ratio is a finite number >= 0")]
    value, line = min(rows)
    status = range_status(value, options)
    lines = sorted({line for _, line in rows})[:4]
    if status == "pass":
        return [Verdict(status="pass", value=round(value, 3), expected=expected, lines=lines,
                        message=f"{value:.2f} training slices per sample")]
    return [Verdict(status=status, value=round(value, 3), expected=expected, lines=lines,
                    direction="below", message=f"{value:.2f} training slices per sample, below {expected}: {options.reason}")]


SPEC = RuleSpec(id="data.slices_per_sample", category="data", order=1, options=Options, check=check)
