"""gradient.total_norm: the total gradient norm is in range and stable.

What it checks: per fold, the median of `[GRAD] Step N: total=...` over all
logged steps must lie in the profile's range (default 0.5-2.0); and no step
may exceed `max_spike` times that median (default 10x), which the seed calls
"stable".

Why: the seed's table: a total norm out of range is an "LR or init issue".
A tiny norm (Round 6 logs 0.01) means almost no learning signal reaches the
weights; a large or spiking one means the step size is too big for the
loss surface (Round 1's explosion).

Example (Round 5 log, fold 1): steps 0-4 print totals 0.099-0.186, median
0.144: fails, below 0.5-2.0.
"""

from __future__ import annotations

from pydantic import Field

from percediag.model import Run
from percediag.rules.base import direction, fmt, outside, per_fold, range_status
from percediag.rules.options import RangeOptions
from percediag.rules.spec import SEVERITY, RuleSpec, Verdict
from percediag.settings import Settings


class Options(RangeOptions):
    max_spike: float = Field(default=10.0, gt=1, description="largest step / median step allowed")


def check(run: Run, options: Options, settings: Settings) -> list[Verdict]:
    findings = []
    expected = f"{options.describe()}, spikes <= {options.max_spike:g}x median"
    for fold_id, grads in per_fold(run, "gradients"):
        if grads is None or grads.total.median is None:
            findings.append(Verdict(status="missing", fold=fold_id, expected=expected,
                                    message="no finite gradient totals logged in this fold"))
            continue
        series = grads.total
        median = series.median
        status = range_status(median, options)
        lines = [grads.first_line] if grads.first_line else []
        parts = [f"median total norm {fmt(median)} over {series.count} logged step(s) (range {fmt(series.min)}-{fmt(series.max)})"]
        if status != "pass":
            parts.append(f"{direction(median, options)} {options.describe()}: {options.reason}")
        if median > 0 and series.max is not None and series.max / median > options.max_spike:
            # A spike is the rule's severity, also for a median in the warn band (the worse of the two).
            status = SEVERITY
            parts.append(f"a step reached {fmt(series.max)}, {series.max / median:.0f}x the median (unstable)")
            if series.max_line:
                lines.append(series.max_line)
        side = outside(median, options, range_status(median, options))
        if side is None and status != "pass":
            side = "above"  # in range but spiking: steps too large
        findings.append(Verdict(status=status, fold=fold_id, value=median,
                                expected=expected, lines=lines, message="; ".join(parts), direction=side))
    return findings


SPEC = RuleSpec(id="gradient.total_norm", category="gradient", order=1, options=Options, check=check)
