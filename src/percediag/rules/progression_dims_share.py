"""progression.dims_share: a mean R2 carried by a few dimensions.

What it checks: at each fold's best epoch (highest validation R2) with
per-dimension R2 (`val/r2_<dimension>` from the event files or a
metrics.csv), the share of the summed positive R2 that the `top` best
dimensions hold (default the best 3 of 19) must not exceed `max_share`
(default 0.5). Judged only when the mean R2 at that epoch is at least
`min_mean` (default 0.05): below it the shares of a sum near zero are
noise, and the fold is not judged here (the milestones and the
convergence rule already fail it). Without
per-dimension R2 (a text log alone) the rule is not applicable and reports
nothing.

Why: with R2 spread evenly, 3 of 19 dimensions hold 16% of the sum. When
they hold more than half, the mean R2 says the model is learning while 16
dimensions contribute little: the easy ones (dynamics, tempo) are learned
from a few features, the rest of the hierarchy is not working. A mean R2
that climbs this way will not reach the SOTA range, which needs most
dimensions.

Example: best epoch mean R2 0.12, with dynamic_range 0.55, timbre_loudness
0.48 and tempo 0.41 holding 61% of the positive sum: warns, "the best 3 of 19
dimensions at epoch 7 (dynamic_range 0.550, timbre_loudness 0.480, tempo
0.410) hold 61% of the positive R2 (mean R2 0.1200), above 50%".
"""

from __future__ import annotations

import math

from pydantic import Field

from percediag.metrics import best_epoch
from percediag.model import Run
from percediag.rules.options import RuleOptions
from percediag.rules.spec import SEVERITY, RuleSpec, Verdict
from percediag.settings import Settings


class Options(RuleOptions):
    top: int = Field(ge=1, description="how many of the best dimensions are summed")
    max_share: float = Field(gt=0, le=1, allow_inf_nan=False, description="largest share of the positive R2 they may hold")
    min_mean: float = Field(allow_inf_nan=False, description="mean R2 at the best epoch below which shares are not judged")
    reasons: dict[str, str] = Field(default_factory=dict, description="why each threshold has its value")


def check(run: Run, options: Options, settings: Settings) -> list[Verdict]:
    findings = []
    expected = f"best {options.top} hold <= {options.max_share:.0%} of the positive R2"
    for fold in run.folds:
        best = best_epoch(fold, where=lambda e: bool(e.dim_r2))
        if best is None:
            continue
        line = best.event_line if best.event_line is not None else best.line
        if best.val_r2 < options.min_mean:
            continue
        values = sorted(((v, n) for n, v in best.dim_r2.items() if math.isfinite(v) and v > 0), reverse=True)
        total = sum(v for v, _ in values)
        if total <= 0:
            continue
        top = values[:options.top]
        share = sum(v for v, _ in top) / total
        names = ", ".join(f"{n} {v:.3f}" for v, n in top)
        status = "pass" if share <= options.max_share else SEVERITY
        message = (f"the best {len(top)} of {len(best.dim_r2)} dimensions at epoch {best.epoch} ({names}) hold {share:.0%} "
                   f"of the positive R2 (mean R2 {best.val_r2:.4f})")
        if status != "pass":
            message += f", above {options.max_share:.0%}: {options.reason}"
        findings.append(Verdict(status=status, fold=fold.fold, value=round(share, 4),
                                expected=expected, lines=[line], direction=None if status == "pass" else "above",
                                message=message))
    return findings


SPEC = RuleSpec(id="progression.dims_share", category="progression", order=12, options=Options, check=check)
