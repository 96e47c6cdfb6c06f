"""baseline.NAME: the run beats each published baseline.

What it checks: one rule per entry of the profile's `baselines` table
(default: mean 0.00, bilstm 0.185, midibert 0.313, han_sota 0.397, the
published piece-split results). The run's best evidence is compared with
each: the cross-validation mean R2 when the aggregate is printed, else the
mean of the finished folds' best R2, else the best R2 seen so far (said so
in the message). Beaten means strictly above.

Why: the seed's "Baselines to Beat". Not beating the mean prediction means
the model has learned nothing (the default severity is fail); the others
are targets on the way to SOTA (default severity warn).

Example (Round 5 log): CV mean 0.2584 beats mean and Bi-LSTM, not MidiBERT
or the HAN SOTA.
"""

from __future__ import annotations

import math

from percediag.findings import Finding
from percediag.model import Run, possible_r2
from percediag.rules.base import fmt
from percediag.rules.progression_convergence import best_of
from percediag.settings import RuleOptions, Settings

ID = "baseline.comparison"
ID_PREFIX = "baseline."
CATEGORY = "baseline"
ORDER = 1
Options = RuleOptions


def ids(settings: Settings) -> list[str]:
    return [f"{ID_PREFIX}{name}" for name in settings.baselines]


def evidence(run: Run) -> tuple[float, list[int], str] | None:
    """The run's best R2 evidence: (value, lines, what it is)."""
    agg = run.aggregate
    # A non-finite mean (inf) is a broken metric, not evidence: the folds' R2 are used instead.
    if agg is not None and "r2" in agg.metrics and possible_r2(agg.metrics["r2"]):
        return agg.metrics["r2"], [agg.lines["r2"]], "cross-validation mean"
    finished = [(f, best_of(f)) for f in run.folds if f.finished]
    finished = [(f, b) for f, b in finished if b is not None]
    if finished:
        mean = sum(b[0] for _, b in finished) / len(finished)
        return mean, [b[1] for _, b in finished], f"mean best R2 of {len(finished)} finished fold(s)"
    bests = [b for b in (best_of(f) for f in run.folds) if b is not None]
    if bests:
        value, line = max(bests, key=lambda b: b[0] if possible_r2(b[0]) else -math.inf)
        return value, [line], "best R2 so far (no fold finished)"
    return None


def check(run: Run, options: RuleOptions, settings: Settings) -> list[Finding]:
    seen = evidence(run)
    findings = []
    for name, baseline in settings.baselines.items():
        if not baseline.enabled:
            continue
        rule = f"{ID_PREFIX}{name}"
        expected = f"> {baseline.r2:g} ({baseline.label})"
        if seen is None:
            findings.append(Finding(rule=rule, category=CATEGORY, status="missing", expected=expected,
                                    message="no R2 in the log to compare"))
            continue
        value, lines, what = seen
        beaten = value > baseline.r2
        status = "pass" if beaten else baseline.severity
        verb = "beats" if beaten else "does not beat"
        message = f"{what} {fmt(value, 4)} {verb} {baseline.label} ({baseline.r2:g})"
        if not beaten:
            message += f": {baseline.reason}"
        findings.append(Finding(rule=rule, category=CATEGORY, status=status, value=value, expected=expected,
                                lines=lines, message=message))
    return findings
