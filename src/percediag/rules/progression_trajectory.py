"""progression.trajectory: each fold's R2 curve is heading for the SOTA range, not away from it.

What it checks: the trend and forecast of each fold's validation R2 (the
same computation as the report's "R2 trajectory by fold" table; the
`trajectory:` section of the profile holds every threshold, and
docs/trajectory.md explains them). One finding per fold, in training
order; its value is the forecast R2 when there is one, else the last R2.

- fail (the rule's severity):
  - `declining`: R2 rose to a meaningful peak (`trajectory.decline_min_peak`)
    and the recent epochs after it sit clearly below it (at least
    `decline_drop`, and `decline_noise` times the fold's own scatter),
    with the peak below the convergence floor (or no floor is set). The
    message names the peak and its epoch, the last R2, the epochs since
    the peak and whether train loss still falls (overfitting when the fall
    reaches `overfit_drop`).
  - `diverged`: R2 or a loss became non-finite.
  - the forecast's 90% interval lies wholly below the convergence floor
    (`progression.convergence.min`, when that rule is enabled), and the
    fold finished or its R2 has levelled off (plateau).
- warn:
  - declining from a peak already at or above the floor: early stopping
    keeps that best checkpoint, but the fall says regularisation could
    hold the peak;
  - oscillating R2 (no curve describes it);
  - no trustworthy forecast (too noisy, or an interval too wide);
  - the interval straddles the floor;
  - the interval lies below the floor while the fold is still training
    and still rising: the forecast horizon is only
    `extrapolation_factor` times the epochs seen, so a climbing fold may
    still get there, and `percediag watch` must not stop a healthy run at
    epoch 6.
- pass: the fold's best R2 already reached the floor, or the forecast's
  whole interval reaches it; with no floor set, a rising or flat curve
  that can be forecast.
- missing: no epoch line with a val R2, or fewer than
  `trajectory.min_points` of them (a fold that has just started).

The patience tail is not a decline: a fold that stops a few epochs after
its best, R2 a little below the best and within its noise, passes.

Why: the milestones look at three epochs, and a fold can clear all three
on the way up to an early peak and then lose R2 for twenty epochs; the
convergence rule judges only finished folds. Without this rule such a run
passed the gate while the assessment said it was not on trajectory.

Example (examples/logs/early-peak-decline.log, a log saved while fold 1
was still training): R2 0.2194 after 5 epochs, 0.2499 after 10, 0.2103
after 20 (every milestone passes), but

    [Fold 1] Epoch   7 | train_loss: 0.0176 | ... | val_r2: +0.2601 | ... *best*
    ...
    [Fold 1] Epoch  26 | train_loss: 0.0083 | ... | val_r2: +0.1803 | ...

fails progression.trajectory: "overfitting: R2 peaked at 0.260 after 8
epochs and is 0.180 19 epochs later (recent mean 0.180); train loss still
falling (0.0176 at the peak, 0.0083 now); the peak is below 0.3: training
on moves R2 away from the target". `percediag check` exits 1.
"""

from __future__ import annotations

import math

from percediag.model import Epoch, Fold, Run
from percediag.rules.base import fmt
from percediag.rules.options import RuleOptions
from percediag.rules.spec import SEVERITY, RuleSpec, Verdict
from percediag.settings import Settings
from percediag.trajectory import Forecast, convergence_floor, run_forecasts

Options = RuleOptions


def _expected(floor: float | None) -> str:
    return "no decline" + (f"; forecast >= {floor:g}" if floor is not None else "")


def _best(fold: Fold, fc: Forecast) -> Epoch | None:
    """The epoch line of the fold's best R2."""
    return next((e for e in fold.epochs if fc.best_epoch is not None and e.epoch + 1 == fc.best_epoch
                 and e.val_r2 is not None and math.isfinite(e.val_r2) and e.val_r2 == fc.best_r2), None)


def _lines(fold: Fold, fc: Forecast) -> list[int]:
    """The best epoch's line and the last one (the evidence of a peak and where R2 is now)."""
    best = _best(fold, fc)
    return sorted({line for line in [best.line if best else None, *fc.lines] if line is not None})


def _loss_text(fold: Fold, fc: Forecast) -> str:
    if fc.train_loss_falling is None:
        return "train loss not printed"
    best = _best(fold, fc)
    last = next((e for e in reversed(fold.epochs) if e.val_r2 is not None), None)
    numbers = (f" ({best.train_loss:.4f} at the peak, {last.train_loss:.4f} now)"
               if best and last and best.train_loss is not None and last.train_loss is not None else "")
    return ("train loss still falling" if fc.train_loss_falling else "train loss no longer falling") + numbers


def _declined(fold: Fold, fc: Forecast) -> str:
    what = "overfitting" if fc.overfitting else "declining"
    return (f"{what}: R2 peaked at {fmt(fc.best_r2)} after {fc.best_epoch} epochs and is {fmt(fc.last_r2)} "
            f"{fc.since_best} epochs later (recent mean {fmt(fc.recent_r2)}); {_loss_text(fold, fc)}")


def _judge(fold: Fold, fc: Forecast, floor: float | None, settings: Settings, severity: str) -> tuple[str, str, str | None]:
    """(status, message, direction) of one fold's forecast."""
    cfg = settings.trajectory
    points = sum(1 for e in fold.epochs if e.val_r2 is not None)
    if fc.trend == "unknown":
        return "missing", "no epoch line with a val R2; trajectory not judged", None
    if fc.trend == "diverged":
        return severity, f"diverged: {fc.reason}", None
    if fc.trend == "declining":
        if floor is not None and fc.best_r2 >= floor:
            return ("warn", f"{_declined(fold, fc)}; the peak reached {floor:g} and early stopping keeps it, "
                            "but regularisation could hold it", "below")
        below = f"the peak is below {floor:g}: " if floor is not None else ""
        return severity, f"{_declined(fold, fc)}; {below}training on moves R2 away from the target", "below"
    if points < cfg.min_points:
        return "missing", f"only {points} epoch(s) with R2; a trajectory needs {cfg.min_points}", None
    shape = f"{fc.trend}, best R2 {fmt(fc.best_r2)} after {fc.best_epoch} epochs, last {fmt(fc.last_r2)}"
    if fc.trend == "oscillating":
        return "warn", f"{shape}: R2 oscillates, so no forecast is made", None
    if floor is not None and fc.best_r2 >= floor:
        return "pass", f"{shape}: already at or above {floor:g}", None
    if fc.projected is None:
        return "warn", f"{shape}; {fc.reason}", None
    if floor is None:
        return "pass", f"{shape}; {fc.reason} (no convergence floor set)", None
    if fc.on_track == "yes":
        return "pass", f"{shape}; {fc.reason}", None
    if fc.on_track == "no":
        if fold.finished or fc.trend == "plateau":
            why = "the fold has stopped" if fold.finished else "R2 has levelled off"
            return severity, f"{shape}; {fc.reason} even if it kept training, and {why}", "below"
        return "warn", f"{shape}; {fc.reason}, but the fold is still training and rising", "below"
    return "warn", f"{shape}; {fc.reason}", None


def check(run: Run, options: RuleOptions, settings: Settings) -> list[Verdict]:
    floor = convergence_floor(settings)
    expected = _expected(floor)
    forecasts = iter(run_forecasts(run, settings))  # one per fold that has epoch lines, in order
    findings = []
    for fold in run.folds:
        if not fold.epochs:
            findings.append(Verdict(status="missing", fold=fold.fold, expected=expected,
                                    lines=[fold.line], message="no epoch lines in this fold; trajectory not judged"))
            continue
        fc = next(forecasts)
        status, message, direction = _judge(fold, fc, floor, settings, SEVERITY)
        value = fc.projected if fc.projected is not None else fc.last_r2
        findings.append(Verdict(status=status, fold=fold.fold, value=value,
                                expected=expected, lines=_lines(fold, fc), message=message,
                                direction=direction if status != "pass" else None))
    if not findings:
        findings.append(Verdict(status="missing", expected=expected,
                                message="no fold with epoch lines; trajectory not judged"))
    return findings


SPEC = RuleSpec(id="progression.trajectory", category="progression", order=4, options=Options, check=check)
