"""Diff of two checked runs: what changed, in which direction, and a one-line verdict."""

from __future__ import annotations

import math

from pydantic import BaseModel, Field

from percediag.compare.summary import METRICS, RunSummary
from percediag.findings import Finding

# Which direction is better for each compared number: +1 higher, -1 lower,
# 0 "closer to the range" (judged by the findings, not by the number).
_BETTER = {"collapsed_dims": -1}


class Change(BaseModel):
    name: str
    fold: str | None = Field(default=None, description="fold id, or None for the run-level value")
    old: float | int | str | None = None
    new: float | int | str | None = None
    delta: float | None = None


class StatusChange(BaseModel):
    rule: str
    fold: str | None = None
    old: str | None = None
    new: str | None = None
    kind: str = Field(description="fixed | regressed | new | gone | changed")


class Diff(BaseModel):
    schema_version: int = 1
    old: RunSummary
    new: RunSummary
    architecture: list[Change]
    config: list[Change] = Field(description="training configuration keys whose value changed")
    metrics: list[Change] = Field(description="activation and gradient metrics, mean over folds then per fold")
    r2: list[Change] = Field(description="milestones, best R2 and its epoch, cross-validation mean, per fold")
    findings: list[StatusChange]
    comparison: list[Finding] = Field(default_factory=list, description="findings of the comparison rules")
    verdict: str = Field(description="improved | regressed | mixed | unchanged | no-data")
    reason: str


def _delta(old, new) -> float | None:
    if isinstance(old, (int, float)) and isinstance(new, (int, float)) and math.isfinite(old) and math.isfinite(new):
        return new - old
    return None


def _change(name, old, new, fold=None) -> Change:
    return Change(name=name, fold=fold, old=old, new=new, delta=_delta(old, new))


_BAD = {"warn", "fail"}


def _status_changes(old: RunSummary, new: RunSummary) -> list[StatusChange]:
    changes = []
    for key in list(dict.fromkeys([*old.statuses, *new.statuses])):
        rule, _, fold = key.partition("|")
        before, after = old.statuses.get(key), new.statuses.get(key)
        if before == after:
            continue
        if before is None:
            kind = "new"
        elif after is None:
            kind = "gone"
        elif before in _BAD and after == "pass":
            kind = "fixed"
        elif before == "pass" and after in _BAD:
            kind = "regressed"
        elif before == "warn" and after == "fail":
            kind = "regressed"
        elif before == "fail" and after == "warn":
            kind = "fixed"
        else:
            kind = "changed"
        changes.append(StatusChange(rule=rule, fold=fold or None, old=before, new=after, kind=kind))
    return changes


def diff(old: RunSummary, new: RunSummary, comparison: list[Finding], tolerance: float,
         decisive_gain: float | None = None) -> Diff:
    """`tolerance` and `decisive_gain` are progression.regression's options (see its docstring)."""
    architecture = [_change("parameters", old.params, new.params), _change("prediction head", old.head, new.head),
                    _change("learning rate", old.learning_rate, new.learning_rate)]
    config = [_change(key, old.config.get(key), new.config.get(key))
              for key in dict.fromkeys([*old.config, *new.config]) if old.config.get(key) != new.config.get(key)]
    common = [f for f in new.folds if f in old.folds]
    metrics = []
    for metric in METRICS:
        metrics.append(_change(metric, old.means.get(metric), new.means.get(metric)))
        metrics += [_change(metric, old.folds[f].metrics.get(metric), new.folds[f].metrics.get(metric), f) for f in common]
    r2 = []
    for epochs_done in new.milestones:
        r2.append(_change(f"R2 after {epochs_done} epochs", old.milestones.get(epochs_done), new.milestones.get(epochs_done)))
        r2 += [_change(f"R2 after {epochs_done} epochs", old.folds[f].milestones.get(epochs_done),
                       new.folds[f].milestones.get(epochs_done), f) for f in common]
    r2.append(_change("best R2", old.best_r2, new.best_r2))
    r2.append(_change("best R2 epoch", old.best_epoch, new.best_epoch))
    r2 += [_change("best R2", old.folds[f].best_r2, new.folds[f].best_r2, f) for f in common]
    r2.append(_change("cross-validation mean R2", old.cv_mean, new.cv_mean))
    statuses = _status_changes(old, new)
    verdict, reason = _verdict(old, new, statuses, comparison, tolerance, decisive_gain)
    return Diff(old=old, new=new, architecture=architecture, config=config, metrics=metrics, r2=r2,
                findings=statuses, comparison=comparison, verdict=verdict, reason=reason)


def _verdict(old: RunSummary, new: RunSummary, statuses: list[StatusChange], comparison: list[Finding],
             tolerance: float, decisive_gain: float | None = None) -> tuple[str, str]:
    """improved | regressed | mixed | unchanged | no-data, and why.

    The headline R2 (cross-validation mean when both logs print one, else
    the best R2) moves by more than `tolerance` or not; findings were fixed
    or regressed. A change of at least `decisive_gain` decides alone: a
    best-R2 gain that large, with the headline not down, is "improved" when
    what regressed beside it only turned to warn (incidental); a headline
    fall that large is "regressed" whatever was fixed.
    """
    # Two logs without training data are not "unchanged": nothing was compared.
    empty = [name for name, summary in (("OLD", old), ("NEW", new)) if summary.statuses.get("log.no_data|") == "fail"]
    if empty:
        return "no-data", f"{' and '.join(empty)} hold{'s' if len(empty) == 1 else ''} no training data: nothing to compare"
    fixed = [s for s in statuses if s.kind == "fixed"]
    regressed = [s for s in statuses if s.kind == "regressed"]
    # One measure on both sides: the cross-validation mean only when both logs print one.
    both_cv = old.cv_mean is not None and new.cv_mean is not None
    headline_old = old.cv_mean if both_cv else old.best_r2
    headline_new = new.cv_mean if both_cv else new.best_r2
    what = "cross-validation mean R2" if both_cv else "best R2"
    r2_delta = _delta(headline_old, headline_new)
    best_delta = _delta(old.best_r2, new.best_r2)
    r2_up = r2_delta is not None and r2_delta > tolerance
    r2_down = r2_delta is not None and r2_delta < -tolerance
    parts = []
    if old.round is not None or new.round is not None:
        parts.append(f"{_round(old)} -> {_round(new)}")
    parts.append(f"{len(fixed)} finding(s) fixed, {len(regressed)} regressed")
    if r2_delta is not None:
        parts.append(f"{what} {headline_old:.4f} -> {headline_new:.4f} ({r2_delta:+.4f})")
    if best_delta is not None and what != "best R2":
        parts.append(f"best R2 {old.best_r2:.4f} -> {new.best_r2:.4f} ({best_delta:+.4f})")
    failing_rules = [f.rule for f in comparison if f.status == "fail"]
    if failing_rules:
        parts.append("failing: " + ", ".join(dict.fromkeys(failing_rules)))
    serious = [s for s in regressed if s.new == "fail"]
    if decisive_gain is not None:
        if r2_delta is not None and r2_delta <= -decisive_gain:
            parts.append(f"{what} fell by {-r2_delta:.4f}, at least the decisive {decisive_gain:g}")
            return "regressed", "; ".join(parts)
        if best_delta is not None and best_delta >= decisive_gain and not r2_down and not serious and not failing_rules:
            if regressed:
                parts.append(f"best R2 rose by {best_delta:.4f}, at least the decisive {decisive_gain:g}: "
                             f"the {len(regressed)} finding(s) that turned to warn are incidental")
            return "improved", "; ".join(parts)
    reason = "; ".join(parts)
    better = bool(fixed) or r2_up
    worse = bool(regressed) or r2_down or bool(failing_rules)
    if better and worse:
        return "mixed", reason
    if better:
        return "improved", reason
    if worse:
        return "regressed", reason
    return "unchanged", reason


def _round(summary: RunSummary) -> str:
    return f"Round {summary.round}" if summary.round is not None else "an unnamed round"
