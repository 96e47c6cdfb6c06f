"""progression.convergence: the run converges into the SOTA range.

What it checks: the best validation R2 of each finished fold (its best
epoch line, or its summary's R2), and the cross-validation mean when the
aggregate block is present (reported with no fold), must reach the
profile's `min` (default 0.30; the range 0.30-0.40 is the seed's "SOTA
range achieved", and above it is better still). A fold that did not finish
is `missing`.

Why: the published results on the piece split: MidiBERT 0.313, the HAN
SOTA 0.397. A replica converging below 0.30 has not reproduced the paper.

Example (Round 5 log): the aggregate prints `R2: +0.2584 +/- 0.0514`: fails,
below 0.30.
"""

from __future__ import annotations

from percediag.metrics import fold_best_r2
from percediag.model import Run, possible_r2
from percediag.rules.base import fmt
from percediag.rules.options import RangeOptions
from percediag.rules.spec import SEVERITY, RuleSpec, Verdict
from percediag.settings import Settings

Options = RangeOptions


def _judge(value: float, options: RangeOptions) -> str:
    if not possible_r2(value):
        return SEVERITY
    return "pass" if options.min is None or value >= options.min else SEVERITY


def check(run: Run, options: RangeOptions, settings: Settings) -> list[Verdict]:
    expected = f">= {options.min:g} (SOTA range {options.describe()})"
    findings = []
    for fold in run.folds:
        if not fold.finished:
            findings.append(Verdict(status="missing", fold=fold.fold, expected=expected,
                                    message="fold did not finish; convergence not judged"))
            continue
        best = fold_best_r2(fold)
        if best is None:
            findings.append(Verdict(status="missing", fold=fold.fold, expected=expected,
                                    message="finished fold without any R2"))
            continue
        value, line = best
        status = _judge(value, options)
        message = f"best R2 {fmt(value, 4)}" + ("" if status == "pass" else f", below {options.min:g}: {options.reason}")
        findings.append(Verdict(status=status, fold=fold.fold, value=value,
                                expected=expected, lines=[line], message=message))
    agg = run.aggregate
    if agg is not None and "r2" in agg.metrics:
        value = agg.metrics["r2"]
        status = _judge(value, options)
        std = agg.metrics_std.get("r2")
        shown = f"cross-validation mean R2 {fmt(value, 4)}" + (f" +/- {fmt(std, 4)}" if std is not None else "")
        message = shown + ("" if status == "pass" else f", below {options.min:g}: {options.reason}")
        findings.append(Verdict(status=status, value=value, expected=expected,
                                lines=[agg.lines["r2"]], message=message))
    if not findings:
        findings.append(Verdict(status="missing", expected=expected,
                                message="no finished fold and no cross-validation aggregate"))
    return findings


SPEC = RuleSpec(id="progression.convergence", category="progression", order=2, options=Options, check=check,
                final_only="run-level")
