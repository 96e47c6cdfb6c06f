"""Trajectory: where each fold's validation R2 is heading.

A saturating curve r(t) = a - b * exp(-t / tau) is fitted to val R2 against
completed epochs t. For each tau on a log grid the model is linear in
(a, b), solved by least squares with Huber reweighting (robust to a noisy
epoch); the tau with the smallest robust loss wins. A residual bootstrap
with a fixed seed gives the 90% interval of the forecast.

The forecast is made at a horizon of `extrapolation_factor` times the
epochs seen: "where would this fold be if it kept training". With fewer
than `min_points` epochs, or an interval wider than `max_interval`, the
answer is `uncertain` and no number is given.
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import BaseModel, Field

from percediag.model import Fold, Run
from percediag.settings import Trajectory

TREND_CLASSES = ("rising", "plateau", "declining", "oscillating", "diverged")


class Forecast(BaseModel):
    fold: int | None
    epochs_seen: int
    last_r2: float | None = None
    best_r2: float | None = None
    best_epoch: int | None = Field(default=None, description="completed epochs at the best R2")
    trend: str = Field(description="rising | plateau | declining | oscillating | diverged | unknown")
    overfitting: bool = Field(default=False, description="declining while train loss still falls")
    slope: float | None = Field(default=None, description="R2 per epoch over the recent window")
    horizon: int | None = Field(default=None, description="epoch the forecast is made for")
    projected: float | None = None
    interval: list[float] | None = None
    asymptote: float | None = None
    epochs_to: dict[str, int | None] = Field(
        default_factory=dict, description="milestone or target -> completed epochs needed (None: not within the horizon)"
    )
    on_track: str = Field(default="uncertain", description="yes | no | uncertain, for the SOTA target")
    reason: str = ""
    sparkline: str = ""
    lines: list[int] = Field(default_factory=list)


_SPARK = " .:-=+*#%@"


def sparkline(values: list[float], low: float, high: float) -> str:
    """An ASCII sparkline (no special glyphs, safe in any terminal and CI log)."""
    if not values:
        return ""
    span = high - low or 1.0
    chars = []
    for value in values:
        if not math.isfinite(value):
            chars.append("!")
            continue
        level = int(round((min(max(value, low), high) - low) / span * (len(_SPARK) - 1)))
        chars.append(_SPARK[level])
    return "".join(chars)


def _fit(t: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float] | None:
    """(a, b, tau, robust loss) of the best saturating fit, or None."""
    span = float(t.max() - t.min()) or 1.0
    best = None
    design_one = np.ones_like(t)
    for tau in np.geomspace(0.3, 20.0 * span, 40):
        design = np.column_stack([design_one, -np.exp(-t / tau)])
        weights = np.ones_like(t)
        coef = None
        for _ in range(4):  # Huber IRLS
            sw = np.sqrt(weights)
            coef, *_ = np.linalg.lstsq(design * sw[:, None], y * sw, rcond=None)
            resid = y - design @ coef
            scale = 1.4826 * float(np.median(np.abs(resid))) or 1e-9
            k = 1.345 * scale
            absr = np.abs(resid)
            weights = np.where(absr <= k, 1.0, k / np.maximum(absr, 1e-12))
        resid = y - design @ coef
        loss = float(np.sum(weights * resid**2))
        if best is None or loss < best[3]:
            best = (float(coef[0]), float(coef[1]), float(tau), loss)
    return best


def _curve(a: float, b: float, tau: float, t: float) -> float:
    return a - b * math.exp(-t / tau)


def classify(t: np.ndarray, y: np.ndarray, train_loss: list[float | None], cfg: Trajectory) -> tuple[str, float, bool]:
    """(trend class, recent slope, overfitting)."""
    window = min(cfg.recent_window, len(y))
    recent_t, recent_y = t[-window:], y[-window:]
    slope = float(np.polyfit(recent_t, recent_y, 1)[0]) if window >= 2 else 0.0
    peak = int(np.argmax(y))
    drop = float(y[peak] - y[-1])
    after_peak = len(y) - 1 - peak
    if drop >= cfg.decline_drop and after_peak >= 2 and slope < 0:
        losses = [v for v in train_loss[peak:] if v is not None and math.isfinite(v)]
        overfitting = len(losses) >= 2 and losses[-1] < losses[0]
        return "declining", slope, overfitting
    steps = np.diff(y)
    if len(steps) >= 4:
        reversals = np.sum(np.sign(steps[1:]) * np.sign(steps[:-1]) < 0)
        share = reversals / (len(steps) - 1)
        amplitude = float(np.mean(np.abs(steps)))
        net = abs(float(y[-1] - y[0])) / len(steps)
        if share >= cfg.oscillation_share and amplitude > 2 * max(net, cfg.rising_slope):
            return "oscillating", slope, False
    if slope > cfg.rising_slope:
        return "rising", slope, False
    return "plateau", slope, False


def forecast_fold(fold: Fold, cfg: Trajectory, milestones: dict[int, float], target: float | None) -> Forecast:
    epochs = [e for e in fold.epochs if e.val_r2 is not None]
    lines = [e.line for e in epochs]
    values = [e.val_r2 for e in epochs]
    fc = Forecast(fold=fold.fold, epochs_seen=len(fold.epochs), trend="unknown", lines=lines[-1:])
    if not epochs:
        fc.reason = "no epoch lines with val_r2"
        return fc
    finite = [v for v in values if math.isfinite(v)]
    fc.sparkline = sparkline(values, min(min(finite, default=0.0), 0.0), max(max(finite, default=0.4), 0.4))
    nonfinite = [e for e in fold.epochs if any(v is not None and not math.isfinite(v) for v in (e.val_r2, e.train_loss, e.val_loss))]
    if nonfinite:
        fc.trend, fc.on_track = "diverged", "no"
        fc.reason = f"non-finite loss or R2 from epoch {nonfinite[0].epoch}"
        fc.lines = [nonfinite[0].line]
        return fc
    t = np.array([e.epoch + 1 for e in epochs], dtype=float)
    y = np.array(values, dtype=float)
    best_index = int(np.argmax(y))
    fc.last_r2, fc.best_r2, fc.best_epoch = float(y[-1]), float(y[best_index]), int(t[best_index])
    fc.trend, fc.slope, fc.overfitting = classify(t, y, [e.train_loss for e in epochs], cfg)
    if len(y) < cfg.min_points:
        fc.on_track = "uncertain"
        fc.reason = f"only {len(y)} epoch(s); a forecast needs {cfg.min_points}"
        return fc
    # The question is "where would this fold be if it kept training", so the
    # horizon is bounded by the evidence (a multiple of the epochs seen), not
    # by the run's own max_epochs.
    horizon = max(int(t[-1] * cfg.extrapolation_factor), int(t[-1]))
    fc.horizon = horizon
    if fc.trend == "declining":
        fc.projected, fc.interval = None, None
        fc.on_track = "no" if target is not None and fc.best_r2 < target else "uncertain"
        what = "overfitting: train loss still falls" if fc.overfitting else "past its peak"
        fc.reason = f"R2 peaked at {fc.best_r2:.3f} after {fc.best_epoch} epochs and fell to {fc.last_r2:.3f} ({what})"
        return fc
    fit = _fit(t, y)
    a, b, tau, _ = fit
    fitted = np.array([_curve(a, b, tau, ti) for ti in t])
    resid = y - fitted
    rng = np.random.default_rng(cfg.seed)
    samples = []
    for _ in range(cfg.bootstrap):
        y_star = fitted + rng.choice(resid, size=len(resid), replace=True)
        boot = _fit(t, y_star)
        samples.append(_curve(boot[0], boot[1], boot[2], horizon))
    low, high = (float(v) for v in np.percentile(samples, [5, 95]))
    point = _curve(a, b, tau, horizon)
    if high - low > cfg.max_interval:
        fc.on_track = "uncertain"
        fc.reason = f"too noisy to forecast: the 90% interval at epoch {horizon} spans {high - low:.3f} R2"
        return fc
    fc.projected, fc.interval = point, [low, high]
    if tau <= t[-1]:
        fc.asymptote = a  # the curve has bent within the data: its ceiling is supported
    goals = {f"R2>{m:g}": m for m in milestones.values()}
    if target is not None:
        goals[f"target {target:g}"] = target
    for name, goal in goals.items():
        fc.epochs_to[name] = _epochs_to(a, b, tau, goal, t, y, horizon)
    if target is None:
        fc.reason = f"projected R2 {point:.3f} [{low:.3f}, {high:.3f}] at epoch {horizon}"
        return fc
    if low >= target:
        fc.on_track = "yes"
        fc.reason = f"projected R2 {point:.3f} [{low:.3f}, {high:.3f}] at epoch {horizon} reaches {target:g}"
    elif high < target:
        fc.on_track = "no"
        fc.reason = f"projected R2 {point:.3f} [{low:.3f}, {high:.3f}] at epoch {horizon} stays below {target:g}"
    else:
        fc.on_track = "uncertain"
        fc.reason = f"projected R2 {point:.3f} [{low:.3f}, {high:.3f}] at epoch {horizon} straddles {target:g}"
    return fc


def _epochs_to(a: float, b: float, tau: float, goal: float, t: np.ndarray, y: np.ndarray, horizon: int) -> int | None:
    reached = [ti for ti, yi in zip(t, y) if yi > goal]
    if reached:
        return int(reached[0])
    if b <= 0 or a <= goal:
        return None
    needed = -tau * math.log((a - goal) / b)
    if not math.isfinite(needed) or needed > horizon:
        return None
    return max(int(math.ceil(needed)), int(t[-1]) + 1)


def forecast_run(run: Run, cfg: Trajectory, milestones: dict[int, float], target: float | None) -> list[Forecast]:
    forecasts = []
    for fold in run.folds:
        if not fold.epochs:
            continue
        forecasts.append(forecast_fold(fold, cfg, milestones, target))
    return forecasts
