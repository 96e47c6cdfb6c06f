"""progression.regression: no milestone, fold best or cross-validation mean fell against a baseline log.

What it checks: only with a baseline (`check NEW --baseline OLD`): for every
milestone epoch and fold present in both logs, the new R2 must not be more
than `tolerance` (default 0.02 R2, the epoch-to-epoch noise of these runs)
below the baseline's; likewise each fold's best R2 and the cross-validation
mean. One finding per comparison that regressed, or one pass.

Why: a CI gate on a new round must fail when the round made R2 worse, even
if both rounds miss the absolute milestones.

Example: a Round 5 rerun against the Round 5 log (fold 1 R2 after 10
epochs 0.2562, new 0.1980): fails, "R2 after 10 epochs fell from 0.2562 to
0.1980 (-0.0582)", beyond 0.02 (so do R2 after 5 epochs and the best R2).

`percediag diff` reads two more numbers from these options for its
verdict: `tolerance` is the least change of the headline R2 (the
cross-validation mean when both logs print one, else the best R2) that
counts as better or worse; `decisive_gain` is a change so large that it
decides the verdict on its own. A best-R2 gain of at least `decisive_gain`
(with the headline R2 not down) is "improved" even when some findings
turned to warn beside it (incidental); only a finding that turned to fail,
or a failing comparison rule, keeps it "mixed". A headline R2 fall of at
least `decisive_gain` is "regressed" whatever findings were fixed.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from percediag.metrics import common_folds, fold_best_r2, fold_by_id, r2_after
from percediag.model import Run
from percediag.rules.options import RuleOptions
from percediag.rules.spec import SEVERITY, RuleSpec, Verdict
from percediag.settings import Settings


class Options(RuleOptions):
    tolerance: float = Field(default=0.02, ge=0)
    decisive_gain: float = Field(default=0.05, gt=0, description="an R2 change that decides `percediag diff`'s verdict alone")
    reasons: dict[str, str] = Field(default_factory=dict, description="why each threshold has its value")

    @model_validator(mode="after")
    def _decisive_above_noise(self) -> Options:
        if self.decisive_gain <= self.tolerance:
            raise ValueError(f"decisive_gain ({self.decisive_gain:g}) must be above tolerance ({self.tolerance:g})")
        return self


def comparisons(run: Run, baseline: Run, settings: Settings):
    """(label, fold, old, new, line) for every R2 both logs report."""
    folds = common_folds(run, baseline)
    for epochs_done in settings.progression.milestones:
        for fold in folds:
            old, new = r2_after(baseline, fold, epochs_done), r2_after(run, fold, epochs_done)
            if old is not None and new is not None:
                yield f"R2 after {epochs_done} epochs", fold, old.val_r2, new.val_r2, new.line
    for fold in folds:
        old = fold_best_r2(fold_by_id(baseline, fold))
        new = fold_best_r2(fold_by_id(run, fold))
        if old is not None and new is not None:
            yield "best R2", fold, old.value, new.value, new.line
    if run.aggregate and baseline.aggregate and "r2" in run.aggregate.metrics and "r2" in baseline.aggregate.metrics:
        old_mean, new_mean = baseline.aggregate.metrics["r2"], run.aggregate.metrics["r2"]
        if old_mean is not None and new_mean is not None:
            yield "cross-validation mean R2", None, old_mean, new_mean, run.aggregate.lines["r2"]


def check(run: Run, options: Options, settings: Settings, baseline: Run) -> list[Verdict]:
    expected = f"no drop beyond {options.tolerance:g} R2"
    compared = list(comparisons(run, baseline, settings))
    if not compared:
        return [Verdict(status="missing", expected=expected,
                        message="no R2 that both logs report (no common fold reached a milestone)")]
    findings = []
    for label, fold, old, new, line in compared:
        if new < old - options.tolerance:
            findings.append(Verdict(status=SEVERITY, fold=fold, value=new - old,
                                    expected=expected, lines=[line], direction="below",
                                    message=f"{label} fell from {old:.4f} to {new:.4f} ({new - old:+.4f}): {options.reason}"))
    if not findings:
        findings.append(Verdict(status="pass", expected=expected,
                                message=f"none of {len(compared)} R2 comparisons fell beyond {options.tolerance:g}"))
    return findings


SPEC = RuleSpec(id="progression.regression", category="progression", order=3, options=Options, check=check,
                needs_baseline=True)
