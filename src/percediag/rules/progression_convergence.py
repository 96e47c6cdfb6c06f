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

import math

from percediag.findings import Finding
from percediag.model import Fold, Run, possible_r2
from percediag.rules.base import fmt
from percediag.settings import RangeOptions, Settings

ID = "progression.convergence"
CATEGORY = "progression"
ORDER = 2
Options = RangeOptions


def best_of(fold: Fold) -> tuple[float, int] | None:
    """The fold's best R2 and its line: its best finite epoch R2, else its summary's R2.
    An R2 of inf, nan or above 1 is a broken metric, not a best (gradient.finite and log.impossible_values
    report it): a fold whose every R2 is non-finite has best nan, at its first epoch, which no
    comparison passes."""
    scored = [e for e in fold.epochs if e.val_r2 is not None]
    finite = [e for e in scored if possible_r2(e.val_r2)]
    if finite:
        best = max(finite, key=lambda e: e.val_r2)
        return best.val_r2, best.line
    if scored:
        return math.nan, scored[0].line
    if fold.summary is not None and "r2" in fold.summary.metrics:
        value = fold.summary.metrics["r2"]
        return (value if possible_r2(value) else math.nan), fold.summary.lines["r2"]
    return None


def _judge(value: float, options: RangeOptions) -> str:
    if not possible_r2(value):
        return options.severity
    return "pass" if options.min is None or value >= options.min else options.severity


def check(run: Run, options: RangeOptions, settings: Settings) -> list[Finding]:
    expected = f">= {options.min:g} (SOTA range {options.describe()})"
    findings = []
    for fold in run.folds:
        if not fold.finished:
            findings.append(Finding(rule=ID, category=CATEGORY, status="missing", fold=fold.fold, expected=expected,
                                    message="fold did not finish; convergence not judged"))
            continue
        best = best_of(fold)
        if best is None:
            findings.append(Finding(rule=ID, category=CATEGORY, status="missing", fold=fold.fold, expected=expected,
                                    message="finished fold without any R2"))
            continue
        value, line = best
        status = _judge(value, options)
        message = f"best R2 {fmt(value, 4)}" + ("" if status == "pass" else f", below {options.min:g}: {options.reason}")
        findings.append(Finding(rule=ID, category=CATEGORY, status=status, fold=fold.fold, value=value,
                                expected=expected, lines=[line], message=message))
    agg = run.aggregate
    if agg is not None and "r2" in agg.metrics:
        value = agg.metrics["r2"]
        status = _judge(value, options)
        std = agg.metrics_std.get("r2")
        shown = f"cross-validation mean R2 {fmt(value, 4)}" + (f" +/- {fmt(std, 4)}" if std is not None else "")
        message = shown + ("" if status == "pass" else f", below {options.min:g}: {options.reason}")
        findings.append(Finding(rule=ID, category=CATEGORY, status=status, value=value, expected=expected,
                                lines=[agg.lines["r2"]], message=message))
    if not findings:
        findings.append(Finding(rule=ID, category=CATEGORY, status="missing", expected=expected,
                                message="no finished fold and no cross-validation aggregate"))
    return findings
