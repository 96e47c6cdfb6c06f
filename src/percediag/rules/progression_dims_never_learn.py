"""progression.dims_never_learn: dimensions whose validation R2 never rises.

What it checks: the per-dimension validation R2 the trainer logs to
TensorBoard at every epoch (`val/r2_<dimension>`, all 19; read with
`--events` or from an event folder or metrics.csv). In a fold with at
least `min_epochs` epochs of them (default 5), a dimension whose best R2
over all epochs stays at or below `min_r2` (default 0) never learned. At
most `max_dims` such dimensions (default 0) pass. Without per-dimension
curves (a text log alone) the rule is not applicable and reports nothing.

Why: the fold summary prints only the top and bottom five dimensions at
the best epoch, and the mean R2 hides the rest. A dimension that never
beats the mean prediction in any epoch gets no usable signal: its labels
(a shifted or constant column), its loss weight, or the features it needs
are suspect, which no change of learning rate or initialisation repairs.

Example: fold 1 with `val/r2_timing` at -0.12, -0.115, ..., -0.02 over 20
epochs while the other 18 dimensions rise above 0: `timing` never learned;
at max_dims 0 the rule warns (its default severity): "1 of 19 dimensions
never rose above R2 0 in 20 epochs: timing (-0.020)".
"""

from __future__ import annotations

import math

from pydantic import Field

from percediag.model import Run
from percediag.rules.options import RuleOptions
from percediag.rules.spec import SEVERITY, RuleSpec, Verdict
from percediag.settings import Settings


class Options(RuleOptions):
    min_r2: float = Field(allow_inf_nan=False, description="a dimension whose best R2 stays at or below this never learned")
    min_epochs: int = Field(ge=1, description="epochs with per-dimension R2 a fold needs before it is judged")
    max_dims: int = Field(ge=0, description="dimensions that may never learn")
    reasons: dict[str, str] = Field(default_factory=dict, description="why each threshold has its value")


def check(run: Run, options: Options, settings: Settings) -> list[Verdict]:
    findings = []
    expected = f"at most {options.max_dims} with best R2 <= {options.min_r2:g}"
    for fold in run.folds:
        epochs = [e for e in fold.epochs if e.dim_r2]
        if not epochs:
            continue
        lines = [e.event_line if e.event_line is not None else e.line for e in (epochs[0], epochs[-1])]
        if len(epochs) < options.min_epochs:
            findings.append(Verdict(status="missing", fold=fold.fold, expected=expected,
                                    lines=lines[-1:], message=f"per-dimension R2 for {len(epochs)} epoch(s); "
                                    f"{options.min_epochs} are needed to say a dimension never learned"))
            continue
        best: dict[str, float] = {}
        for epoch in epochs:
            for name, value in epoch.dim_r2.items():
                if math.isfinite(value):
                    best[name] = max(best.get(name, -math.inf), value)
        never = sorted((name for name in {n for e in epochs for n in e.dim_r2} if best.get(name, -math.inf) <= options.min_r2),
                       key=lambda n: best.get(n, -math.inf))
        total = len({n for e in epochs for n in e.dim_r2})
        shown = ", ".join(f"{name} ({best[name]:+.3f})" if name in best else f"{name} (no finite value)" for name in never[:6])
        more = f", ... {len(never) - 6} more" if len(never) > 6 else ""
        if len(never) <= options.max_dims:
            message = (f"{total - len(never)} of {total} dimensions rose above R2 {options.min_r2:g} in {len(epochs)} epochs"
                       + (f"; never: {shown}" if never else ""))
            findings.append(Verdict(status="pass", fold=fold.fold, value=len(never),
                                    expected=expected, lines=lines, message=message))
            continue
        message = (f"{len(never)} of {total} dimensions never rose above R2 {options.min_r2:g} in {len(epochs)} epochs: "
                   f"{shown}{more}: {options.reason}")
        findings.append(Verdict(status=SEVERITY, fold=fold.fold, value=len(never),
                                expected=expected, lines=lines, direction="above", message=message))
    return findings


SPEC = RuleSpec(id="progression.dims_never_learn", category="progression", order=11, options=Options, check=check)
