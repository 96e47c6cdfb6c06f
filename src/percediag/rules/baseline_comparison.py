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

Example (Round 5 log): the aggregate prints `R2: +0.2584 +/- 0.0514`; that
mean beats the mean prediction and the Bi-LSTM (baseline.mean and
baseline.bilstm pass), not MidiBERT or the HAN SOTA (baseline.midibert and
baseline.han_sota warn).
"""

from __future__ import annotations

from percediag.metrics import best_r2_evidence
from percediag.model import Run
from percediag.rules.base import fmt
from percediag.rules.options import RuleOptions
from percediag.rules.spec import SEVERITY, GeneratedId, RuleSpec, Verdict
from percediag.settings import Settings

Options = RuleOptions


def ids(settings: Settings, options: RuleOptions) -> list[GeneratedId]:
    return [GeneratedId(id=f"{SPEC.id_prefix}{name}", thresholds=f"R2 > {baseline.r2:g} ({baseline.label})",
                        reason=baseline.reason, severity=baseline.severity) for name, baseline in settings.baselines.items()]


def check(run: Run, options: RuleOptions, settings: Settings) -> list[Verdict]:
    seen = best_r2_evidence(run)
    findings = []
    for name, baseline in settings.baselines.items():
        if not baseline.enabled:
            continue
        rule = f"{SPEC.id_prefix}{name}"
        expected = f"> {baseline.r2:g} ({baseline.label})"
        if seen is None:
            findings.append(Verdict(rule=rule, status="missing", expected=expected,
                                    message="no R2 in the log to compare"))
            continue
        value, lines, what = seen
        beaten = value > baseline.r2
        status = "pass" if beaten else SEVERITY
        verb = "beats" if beaten else "does not beat"
        message = f"{what} {fmt(value, 4)} {verb} {baseline.label} ({baseline.r2:g})"
        if not beaten:
            message += f": {baseline.reason}"
        findings.append(Verdict(rule=rule, status=status, value=value, expected=expected,
                                lines=lines, message=message))
    return findings


SPEC = RuleSpec(id="baseline.comparison", category="baseline", order=1, options=Options, check=check,
                final_only="always", id_prefix="baseline.", ids=ids)
