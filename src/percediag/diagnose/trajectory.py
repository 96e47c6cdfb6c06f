"""Trajectory: where each fold's validation R2 is heading.

A saturating curve r(t) = a - b * exp(-t / tau) is fitted to val R2 against
completed epochs t. For each tau on a log grid the model is linear in
(a, b), solved in closed form with Huber reweighting (robust to a noisy
epoch); the tau with the smallest robust loss wins. A residual bootstrap
with a fixed seed gives the 90% interval of the forecast; all bootstrap
fits are solved together as one array computation.

The forecast is made at a horizon of `extrapolation_factor` times the
epochs seen: "where would this fold be if it kept training". With fewer
than `min_points` epochs, points scattering around the curve by more than
`max_residual`, an oscillating fold, or an interval wider than
`max_interval`, the answer is `uncertain` and no number is given.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections import OrderedDict

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
SPARK_WIDTH = 40


def sparkline(values: list[float], low: float, high: float, width: int = SPARK_WIDTH) -> str:
    """An ASCII sparkline (no special glyphs, safe in any terminal and CI log).

    Longer series are shown as `width` buckets, each at its best value; a
    bucket holding a non-finite value shows `!`.
    """
    if not values:
        return ""
    if len(values) > width:
        size = len(values) / width
        buckets = [values[int(i * size):int((i + 1) * size)] for i in range(width)]
        values = [
            float("nan") if any(not math.isfinite(v) for v in bucket) else max(bucket)
            for bucket in buckets if bucket
        ]
    span = high - low or 1.0
    chars = []
    for value in values:
        if not math.isfinite(value):
            chars.append("!")
            continue
        level = int(round((min(max(value, low), high) - low) / span * (len(_SPARK) - 1)))
        chars.append(_SPARK[level])
    return "".join(chars)


_TAUS = 24
_IRLS_ROUNDS = 3


def mark_milestones(spark: str, epochs: int, milestones: list[int]) -> str:
    """The sparkline with a `|` after each milestone epoch (when it has one character per epoch)."""
    if len(spark) != epochs:
        return spark  # bucketed: epochs no longer map to characters
    chars = list(spark)
    for epoch in sorted(milestones, reverse=True):
        if epoch <= len(chars):
            chars.insert(epoch, "|")
    return "".join(chars)


def _fit_many(t: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best saturating fit for each row of `ys` (shape (m, n)): arrays a, b, tau of length m.

    For a fixed tau the model is linear in (a, b); the 2x2 weighted normal
    equations are solved in closed form for every (row, tau) pair at once,
    with a few rounds of Huber reweighting, and each row keeps the tau with
    the smallest robust loss. The weighted sums are contractions (einsum),
    so no (m, k, n) product is built for them; the first round, unweighted,
    needs none at all.
    """
    span = float(t.max() - t.min()) or 1.0
    taus = np.geomspace(0.3, 20.0 * span, _TAUS)
    rows, k = ys.shape[0], taus.size
    e = np.exp(-t[None, :] / taus[:, None])  # (k, n)
    ee = e * e
    y = ys[:, None, :]  # (m, 1, n)
    ey = e[None, :, :] * y  # (m, k, n)
    w = None
    for _ in range(_IRLS_ROUNDS):
        if w is None:
            sw = np.full((rows, k), float(t.size))
            swe = np.broadcast_to(e.sum(-1), (rows, k))
            swee = np.broadcast_to(ee.sum(-1), (rows, k))
            swy = np.broadcast_to(ys.sum(-1)[:, None], (rows, k))
            swey = ey.sum(-1)
        else:
            sw = w.sum(-1)
            swe = np.einsum("mkn,kn->mk", w, e)
            swee = np.einsum("mkn,kn->mk", w, ee)
            swy = np.einsum("mkn,mn->mk", w, ys)
            swey = np.einsum("mkn,mkn->mk", w, ey)
        det = sw * swee - swe * swe
        det = np.where(np.abs(det) < 1e-12, 1e-12, det)
        a = (swee * swy - swe * swey) / det
        b = (swe * swy - sw * swey) / det
        resid = y - (a[..., None] - b[..., None] * e)
        absr = np.abs(resid)
        scale = 1.4826 * np.median(absr, axis=-1, keepdims=True)
        cutoff = 1.345 * np.maximum(scale, 1e-9)
        w = np.where(absr <= cutoff, 1.0, cutoff / np.maximum(absr, 1e-12))
    loss = np.einsum("mkn,mkn->mk", w, resid * resid)
    best = np.argmin(loss, axis=1)
    index = np.arange(rows)
    return a[index, best], b[index, best], taus[best]


def _binned(values: np.ndarray, most: int) -> np.ndarray:
    """`values` as they are, or, when longer than `most`, the means of `most` consecutive runs of them."""
    if len(values) <= most:
        return values
    starts = np.linspace(0, len(values), most + 1).astype(int)[:-1]
    counts = np.diff(np.append(starts, len(values)))
    return np.add.reduceat(values, starts) / counts


# Bootstrap rows fitted together: the working arrays hold rows x taus x
# points floats, so this bounds the forecast's memory (about 4 MB each).
_ROWS_PER_BATCH = 64


def _fit_rows(t: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`_fit_many` over the rows of `ys`, a batch of rows at a time."""
    parts = [_fit_many(t, ys[start:start + _ROWS_PER_BATCH]) for start in range(0, len(ys), _ROWS_PER_BATCH)]
    return tuple(np.concatenate(column) for column in zip(*parts))


def _fit(t: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    a, b, tau = _fit_many(t, y[None, :])
    return float(a[0]), float(b[0]), float(tau[0])


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
    # Judged from the peak on: a slow decline hides in a short recent window.
    since_peak = float(np.polyfit(t[peak:], y[peak:], 1)[0]) if after_peak >= 2 else 0.0
    if drop >= cfg.decline_drop and after_peak >= 2 and since_peak < 0:
        losses = [v for v in train_loss[peak:] if v is not None and math.isfinite(v)]
        overfitting = len(losses) >= 2 and losses[-1] < losses[0]
        return "declining", slope, overfitting
    steps = np.diff(y)
    if len(steps) >= 4:
        reversals = np.sum(np.sign(steps[1:]) * np.sign(steps[:-1]) < 0)
        share = reversals / (len(steps) - 1)
        amplitude = float(np.mean(np.abs(steps)))
        net = abs(float(y[-1] - y[0])) / len(steps)
        if share >= cfg.oscillation_share and amplitude >= cfg.oscillation_amplitude and amplitude > 2 * net:
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
    # A very long fold is fitted on the means of equal runs of epochs: the
    # bootstrap's work and memory grow with points x resamples.
    fit_t, fit_y = _binned(t, cfg.max_fit_points), _binned(y, cfg.max_fit_points)
    a, b, tau = _fit(fit_t, fit_y)
    resid = y - (a - b * np.exp(-t / tau))
    scatter = 1.4826 * float(np.median(np.abs(resid - np.median(resid))))
    if fc.trend == "oscillating" or scatter > cfg.max_residual:
        fc.on_track = "uncertain"
        fc.reason = (f"too noisy to forecast: R2 scatters by {scatter:.3f} around the fitted curve"
                     if scatter > cfg.max_residual else "R2 oscillates: no curve describes it")
        return fc
    rng = np.random.default_rng(cfg.seed)
    fit_fitted = a - b * np.exp(-fit_t / tau)
    fit_resid = fit_y - fit_fitted
    y_star = fit_fitted[None, :] + rng.choice(fit_resid, size=(cfg.bootstrap, len(fit_resid)), replace=True)
    boot_a, boot_b, boot_tau = _fit_rows(fit_t, y_star)
    samples = boot_a - boot_b * np.exp(-horizon / boot_tau)
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


# Forecasts of folds whose epochs did not change are reused: `percediag watch`
# re-judges the run many times, and only the fold being trained moves.
_CACHE: OrderedDict[tuple, Forecast] = OrderedDict()
CACHE_SIZE = 256


# Folds forecast side by side when there is this much work: numpy releases
# the GIL inside the bootstrap fits, so a second thread uses the second
# core (a 4 x 200-epoch run: 0.36 s -> 0.19 s). Below it, one thread.
PARALLEL_MIN_EPOCHS = 100


def forecast_run(run: Run, cfg: Trajectory, milestones: dict[int, float], target: float | None) -> list[Forecast]:
    settings_key = (cfg.model_dump_json(), tuple(milestones.items()), target)
    keyed = [
        ((fold.fold, settings_key, tuple((e.line, e.epoch, e.val_r2, e.train_loss, e.val_loss) for e in fold.epochs)), fold)
        for fold in run.folds if fold.epochs
    ]
    missing = [(key, fold) for key, fold in keyed if key not in _CACHE]
    for (key, _), forecast in zip(missing, _forecast_folds([fold for _, fold in missing], cfg, milestones, target)):
        _CACHE[key] = forecast
    forecasts = []
    for key, _ in keyed:
        _CACHE.move_to_end(key)
        forecasts.append(_CACHE[key].model_copy(deep=True))
    while len(_CACHE) > CACHE_SIZE:
        _CACHE.popitem(last=False)
    return forecasts


def _forecast_folds(folds: list[Fold], cfg: Trajectory, milestones: dict[int, float], target: float | None) -> list[Forecast]:
    """forecast_fold of each fold, in order; two threads when there are two folds and enough epochs."""
    if len(folds) < 2 or sum(len(fold.epochs) for fold in folds) < PARALLEL_MIN_EPOCHS:
        return [forecast_fold(fold, cfg, milestones, target) for fold in folds]
    results: list[Forecast | None] = [None] * len(folds)
    errors: list[BaseException] = []
    indices = itertools.count()

    def work() -> None:
        while (index := next(indices)) < len(folds):
            try:
                results[index] = forecast_fold(folds[index], cfg, milestones, target)
            except BaseException as exc:  # re-raised in the calling thread, below
                errors.append(exc)
                return

    helper = threading.Thread(target=work, name="percediag-forecast", daemon=True)
    helper.start()
    work()
    helper.join()
    if errors:
        raise errors[0]
    return results
