"""progression.learned_std: the spread of the predictions the model learned, epoch by epoch.

What it checks: the validation prediction std the trainer logs to
TensorBoard at every epoch (`val/pred_std`; read with `--events` or from an
event folder or metrics.csv). At the fold's last epoch it must be at least
`min` (default 0.05). Below it, the finding says which of two things
happened: the std was above `min` earlier and lost at least `collapse_drop`
(default half) of its peak, so the predictions collapsed *during
training* (direction `collapsed`); or it never rose to `min` (direction
`below`). A non-finite std fails. Without per-epoch std (a text log alone)
the rule is not applicable and reports nothing.

Why: the activation check measures the first batch, before any training
step, and a collapsed first batch is common and often harmless (the
replica's Round 5: batch-0 std 0.054, yet R2 climbs). The learned std says
what the model does after training. PercePiano's targets have a std of
about 0.106; a predictor that explains a fraction R2 of their variance has
a std of about sqrt(R2) x 0.106, 0.067 at the SOTA's 0.40, so below 0.05
(under half the targets' spread, the trainer's own collapse line) the
model predicts nearly the same score for every performance. A std that
falls during training points at the optimisation (learning rate, gradient
flow), one that never rises at the head or the data.

Example (the replica's Round 9 events, fold 1, as Lightning's metrics.csv):
`val/pred_std` 0.0069 at epoch 0 and 0.0095 at epoch 7: fails, below 0.05
at every epoch.
"""

from __future__ import annotations

import math

from pydantic import Field, model_validator

from percediag.model import Run
from percediag.rules.base import fmt
from percediag.rules.options import RuleOptions
from percediag.rules.spec import SEVERITY, RuleSpec, Verdict
from percediag.settings import Settings


class Options(RuleOptions):
    min: float = Field(ge=0, description="learned prediction std at the last epoch must be at least this")
    collapse_drop: float = Field(gt=0, le=1, description="share of its peak a std must lose to have collapsed in training")
    reasons: dict[str, str] = Field(default_factory=dict, description="why each threshold has its value")

    @model_validator(mode="after")
    def _finite(self) -> Options:
        if math.isnan(self.min) or math.isnan(self.collapse_drop):
            raise ValueError("thresholds cannot be NaN")
        return self


def _first_batch(run: Run, fold_id: int | None, settings: Settings) -> str:
    """A note when the fold's first batch looked collapsed but the learned std is fine."""
    fold = next((f for f in run.folds if f.fold == fold_id), None)
    band = settings.rule("activation.pred_std")
    if fold is None or fold.activation is None or fold.activation.pred_std is None or band.min is None:
        return ""
    if fold.activation.pred_std < band.min:
        return (f"; the first batch's {fmt(fold.activation.pred_std)} (line {fold.activation.lines.get('pred_std', fold.activation.line)}) "
                "was where training started, not a collapse")
    return ""


def check(run: Run, options: Options, settings: Settings) -> list[Verdict]:
    findings = []
    expected = f">= {options.min:g} at the last epoch"
    for fold in run.folds:
        points = [e for e in fold.epochs if e.pred_std is not None]
        if not points:
            continue
        last = points[-1]
        line = last.event_line if last.event_line is not None else last.line
        if not math.isfinite(last.pred_std) or last.pred_std < 0:
            # Not a spread at all: a broken metric, reported as such (never as "nearly constant").
            findings.append(Verdict(status="fail", fold=fold.fold, value=last.pred_std,
                                    expected=expected, lines=[line],
                                    message=f"learned prediction std is {last.pred_std} at epoch {last.epoch}: "
                                            "not a possible std (finite, at least 0)"))
            continue
        finite = [e for e in points if math.isfinite(e.pred_std) and e.pred_std >= 0]
        peak = max(finite, key=lambda e: e.pred_std)
        value = last.pred_std
        if value >= options.min:
            message = f"learned prediction std {fmt(value, 4)} at epoch {last.epoch}{_first_batch(run, fold.fold, settings)}"
            findings.append(Verdict(status="pass", fold=fold.fold, value=value,
                                    expected=expected, lines=[line], message=message))
            continue
        peak_line = peak.event_line if peak.event_line is not None else peak.line
        if peak.pred_std >= options.min and peak.pred_std - value >= options.collapse_drop * peak.pred_std:
            message = (f"collapsed during training: learned prediction std {fmt(peak.pred_std, 4)} at epoch {peak.epoch}, "
                       f"{fmt(value, 4)} at epoch {last.epoch}, below {options.min:g}: {options.reason}")
            findings.append(Verdict(status=SEVERITY, fold=fold.fold, value=value,
                                    expected=expected, lines=[line, peak_line], direction="collapsed", message=message))
            continue
        message = (f"learned prediction std {fmt(value, 4)} at epoch {last.epoch} (at most {fmt(peak.pred_std, 4)} "
                   f"at epoch {peak.epoch}), below {options.min:g}: {options.reason}")
        findings.append(Verdict(status=SEVERITY, fold=fold.fold, value=value,
                                expected=expected, lines=[line, peak_line] if peak_line != line else [line],
                                direction="below", message=message))
    return findings


SPEC = RuleSpec(id="progression.learned_std", category="progression", order=10, options=Options, check=check)
