"""progression.regression: no milestone, fold best or cross-validation mean fell against a baseline log.

What it checks: only with a baseline (`check NEW --baseline OLD`): for every
milestone epoch and fold present in both logs, the new R2 must not be more
than `tolerance` (default 0.02 R2, the epoch-to-epoch noise of these runs)
below the baseline's; likewise each fold's best R2 and the cross-validation
mean. One finding per comparison that regressed, or one pass.

Why: a CI gate on a new round must fail when the round made R2 worse, even
if both rounds miss the absolute milestones.

Example: baseline fold 1 R2 after 10 epochs 0.256, new 0.198: fails
(-0.058, beyond 0.02).

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

from percediag.findings import Finding
from percediag.model import Run
from percediag.rules.progression_convergence import best_of
from percediag.settings import RuleOptions, Settings

ID = "progression.regression"
CATEGORY = "progression"
ORDER = 3
NEEDS_BASELINE = True


class Options(RuleOptions):
    tolerance: float = Field(default=0.02, ge=0)
    decisive_gain: float = Field(default=0.05, gt=0, description="an R2 change that decides `percediag diff`'s verdict alone")
    reasons: dict[str, str] = Field(default_factory=dict, description="why each threshold has its value")

    @model_validator(mode="after")
    def _decisive_above_noise(self) -> Options:
        if self.decisive_gain <= self.tolerance:
            raise ValueError(f"decisive_gain ({self.decisive_gain:g}) must be above tolerance ({self.tolerance:g})")
        return self


def _at(run: Run, fold_id: int | None, epochs_done: int):
    for fold in run.folds:
        if fold.fold == fold_id:
            hit = next((e for e in fold.epochs if e.epoch == epochs_done - 1 and e.val_r2 is not None), None)
            if hit is not None:
                return hit.val_r2, hit.line
    return None


def comparisons(run: Run, baseline: Run, settings: Settings):
    """(label, fold, old, new, line) for every R2 both logs report."""
    folds = [f.fold for f in run.folds if any(b.fold == f.fold for b in baseline.folds)]
    for epochs_done in settings.progression.milestones:
        for fold in folds:
            old, new = _at(baseline, fold, epochs_done), _at(run, fold, epochs_done)
            if old is not None and new is not None:
                yield f"R2 after {epochs_done} epochs", fold, old[0], new[0], new[1]
    for fold in folds:
        old = best_of(next(f for f in baseline.folds if f.fold == fold))
        new = best_of(next(f for f in run.folds if f.fold == fold))
        if old is not None and new is not None:
            yield "best R2", fold, old[0], new[0], new[1]
    if run.aggregate and baseline.aggregate and "r2" in run.aggregate.metrics and "r2" in baseline.aggregate.metrics:
        old_mean, new_mean = baseline.aggregate.metrics["r2"], run.aggregate.metrics["r2"]
        if old_mean is not None and new_mean is not None:
            yield "cross-validation mean R2", None, old_mean, new_mean, run.aggregate.lines["r2"]


def check(run: Run, options: Options, settings: Settings, baseline: Run) -> list[Finding]:
    expected = f"no drop beyond {options.tolerance:g} R2"
    compared = list(comparisons(run, baseline, settings))
    if not compared:
        return [Finding(rule=ID, category=CATEGORY, status="missing", expected=expected,
                        message="no R2 that both logs report (no common fold reached a milestone)")]
    findings = []
    for label, fold, old, new, line in compared:
        if new < old - options.tolerance:
            findings.append(Finding(rule=ID, category=CATEGORY, status=options.severity, fold=fold, value=new - old,
                                    expected=expected, lines=[line], direction="below",
                                    message=f"{label} fell from {old:.4f} to {new:.4f} ({new - old:+.4f}): {options.reason}"))
    if not findings:
        findings.append(Finding(rule=ID, category=CATEGORY, status="pass", expected=expected,
                                message=f"none of {len(compared)} R2 comparisons fell beyond {options.tolerance:g}"))
    return findings
