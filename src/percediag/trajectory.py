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

The trend class (`classify`) looks for oscillation before a decline, and
calls a fold `declining` only when it had a meaningful peak and its recent
epochs sit clearly below it: the patience tail after the best epoch, a
little below the best and within the fold's own noise, is what early
stopping expects, not a decline. `overfitting` is a decline well below the
peak while train loss keeps falling. docs/trajectory.md has the details.

A metrics-level module: it imports only the records (model) and settings,
so the `progression.trajectory` rule and the report share one computation
(`run_forecasts`, cached per fold).
"""

from __future__ import annotations

import itertools
import math
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, NamedTuple

from pydantic import BaseModel, Field

from percediag.model import Fold, Run, possible_r2
from percediag.roundtable import display
from percediag.settings import Settings, Trajectory

# numpy (about 70 ms to import on a quiet machine) is imported by the functions
# that compute with it: a log without validation epochs makes no forecast and never loads it.
if TYPE_CHECKING:
    import numpy as np

TREND_CLASSES = ("rising", "plateau", "declining", "oscillating", "diverged")


class Forecast(BaseModel):
    fold: int | None
    epochs_seen: int
    last_r2: float | None = None
    best_r2: float | None = None
    best_epoch: int | None = Field(default=None, description="completed epochs at the best R2")
    trend: str = Field(description="rising | plateau | declining | oscillating | diverged | unknown")
    overfitting: bool = Field(default=False, description="declining well below the peak while train loss still falls")
    slope: float | None = Field(default=None, description="R2 per epoch over the recent window")
    since_best: int | None = Field(default=None, description="completed epochs after the best epoch")
    recent_r2: float | None = Field(
        default=None, description="mean val R2 of the recent epochs after the best one (what a decline is judged on)"
    )
    train_loss_falling: bool | None = Field(
        default=None, description="train loss fell from the best epoch to the last (None: not printed)"
    )
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
    import numpy as np

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
    import numpy as np

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
    import numpy as np

    parts = [_fit_many(t, ys[start:start + _ROWS_PER_BATCH]) for start in range(0, len(ys), _ROWS_PER_BATCH)]
    return tuple(np.concatenate(column) for column in zip(*parts))


def _fit(t: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    a, b, tau = _fit_many(t, y[None, :])
    return float(a[0]), float(b[0]), float(tau[0])


def _curve(a: float, b: float, tau: float, t: float) -> float:
    return a - b * math.exp(-t / tau)


class Trend(NamedTuple):
    """What `classify` says about a fold's R2 curve."""

    trend: str
    slope: float
    overfitting: bool
    recent: float | None  # mean R2 of the recent epochs after the peak
    loss_falling: bool | None  # train loss fell from the peak to the last epoch


def scatter(y: np.ndarray) -> float:
    """The fold's epoch-to-epoch noise (a std, in R2), from a robust spread of the second differences.

    A second difference cancels any straight trend, rising or falling, and
    the median ignores the few epochs where the curve bends; for independent
    noise of std s the second differences have std s * sqrt(6).
    """
    import numpy as np

    bends = np.diff(y, 2)
    if len(bends) < 2:
        return 0.0
    return 1.4826 * float(np.median(np.abs(bends - np.median(bends)))) / math.sqrt(6)


def _oscillating(y: np.ndarray, cfg: Trajectory) -> bool:
    """Steps that keep reversing, each large, and large against the net change: swings, not a trend."""
    import numpy as np

    steps = np.diff(y)
    if len(y) < cfg.min_points:
        return False
    reversals = np.sum(np.sign(steps[1:]) * np.sign(steps[:-1]) < 0)
    share = reversals / (len(steps) - 1)
    amplitude = float(np.mean(np.abs(steps)))
    net = abs(float(y[-1] - y[0])) / len(steps)
    return share >= cfg.oscillation_share and amplitude >= cfg.oscillation_amplitude and amplitude > cfg.oscillation_trend_ratio * net


def _loss_falling(train_loss: list[float | None]) -> bool | None:
    """Train loss lower at the end than at the start of the list, and falling on a fitted line (None: too few values)."""
    import numpy as np

    points = [(i, v) for i, v in enumerate(train_loss) if v is not None and math.isfinite(v)]
    if len(points) < 2:
        return None
    x, v = np.array(points, dtype=float).T
    return bool(v[-1] < v[0] and np.polyfit(x, v, 1)[0] < 0)


def classify(t: np.ndarray, y: np.ndarray, train_loss: list[float | None], cfg: Trajectory) -> Trend:
    """The trend class of a fold's R2 curve: oscillating, declining, rising or plateau (see docs/trajectory.md).

    Oscillation is recognised first: a fold whose steps keep reversing is
    `oscillating`, and the fall from its best epoch counts as a decline only
    when it clears the fold's own swing. `declining` needs a meaningful peak
    (`decline_min_peak`), `decline_min_epochs` after it, and the recent
    epochs after the peak (their mean, over `recent_window`) below the peak
    by `decline_drop` and by `decline_noise` times the fold's scatter: a
    patience tail within the noise is not a decline. `overfitting` is a
    decline of at least `overfit_drop` while train loss keeps falling.
    """
    import numpy as np

    window = min(cfg.recent_window, len(y))
    slope = float(np.polyfit(t[-window:], y[-window:], 1)[0]) if window >= 2 else 0.0
    peak = int(np.argmax(y))
    after = y[peak + 1:]
    recent = float(np.mean(after[-cfg.recent_window:])) if len(after) else None
    drop = float(y[peak] - recent) if recent is not None else 0.0
    loss_falling = _loss_falling(train_loss[peak:]) if len(after) else None
    # Judged from the peak on: a slow decline hides in a short recent window.
    since_peak = float(np.polyfit(t[peak:], y[peak:], 1)[0]) if len(after) >= 2 else 0.0
    clears_noise = drop >= cfg.decline_drop and drop >= cfg.decline_noise * scatter(y)
    declining = (float(y[peak]) >= cfg.decline_min_peak and len(after) >= cfg.decline_min_epochs
                 and clears_noise and since_peak < 0)
    if _oscillating(y, cfg) and not declining:
        return Trend("oscillating", slope, False, recent, loss_falling)
    if declining:
        overfitting = drop >= cfg.overfit_drop and loss_falling is True
        return Trend("declining", slope, overfitting, recent, loss_falling)
    if slope > cfg.rising_slope:
        return Trend("rising", slope, False, recent, loss_falling)
    return Trend("plateau", slope, False, recent, loss_falling)


def forecast_fold(fold: Fold, cfg: Trajectory, milestones: dict[int, float], target: float | None) -> Forecast:
    epochs = [e for e in fold.epochs if e.val_r2 is not None]
    lines = [e.line for e in epochs]
    values = [e.val_r2 for e in epochs]
    fc = Forecast(fold=fold.fold, epochs_seen=len(fold.epochs), trend="unknown", lines=lines[-1:])
    if not epochs:
        fc.reason = "no epoch lines with val_r2"
        return fc
    finite = [v for v in values if math.isfinite(v)]
    axis = display().r2_axis
    fc.sparkline = sparkline(values, min([*finite, axis.floor]), max([*finite, axis.ceiling]))
    bound = cfg.value_bound
    # An R2 above 1 is as broken as a non-finite one: no curve through it means anything.
    nonfinite = [e for e in fold.epochs
                 if any(v is not None and not (math.isfinite(v) and abs(v) <= bound) for v in (e.val_r2, e.train_loss, e.val_loss))
                 or (e.val_r2 is not None and not possible_r2(e.val_r2))]
    if nonfinite:
        fc.trend, fc.on_track = "diverged", "no"
        fc.reason = f"non-finite (or beyond +/-{bound:g}) loss, or an R2 that is not possible, from epoch {nonfinite[0].epoch}"
        fc.lines = [nonfinite[0].line]
        return fc
    import numpy as np

    t = np.array([e.epoch + 1 for e in epochs], dtype=float)
    y = np.array(values, dtype=float)
    best_index = int(np.argmax(y))
    fc.last_r2, fc.best_r2, fc.best_epoch = float(y[-1]), float(y[best_index]), int(t[best_index])
    trend = classify(t, y, [e.train_loss for e in epochs], cfg)
    fc.trend, fc.slope, fc.overfitting = trend.trend, trend.slope, trend.overfitting
    fc.since_best, fc.recent_r2, fc.train_loss_falling = int(t[-1] - t[best_index]), trend.recent, trend.loss_falling
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
        if fc.overfitting:
            what = "overfitting: train loss still falls"
        elif fc.train_loss_falling:
            what = "past its peak; train loss still falls"
        else:
            what = "past its peak; train loss no longer falls" if fc.train_loss_falling is False else "past its peak"
        fc.reason = (f"R2 peaked at {fc.best_r2:.3f} after {fc.best_epoch} epochs and fell to {fc.last_r2:.3f} "
                     f"{fc.since_best} epochs later (recent mean {fc.recent_r2:.3f}; {what})")
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
    axis = display().r2_axis  # the sparkline's scale is part of a forecast
    settings_key = (cfg.model_dump_json(), tuple(milestones.items()), target, axis.floor, axis.ceiling)
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


def convergence_floor(settings: Settings) -> float | None:
    """The R2 a forecast is judged against: `progression.convergence.min` when that rule is enabled, else none."""
    convergence = settings.rule("progression.convergence")
    return convergence.min if convergence.enabled else None


def run_forecasts(run: Run, settings: Settings) -> list[Forecast]:
    """The forecasts of a run under these settings: the one computation the report and the
    `progression.trajectory` rule share (the second caller is served from the cache)."""
    return forecast_run(run, settings.trajectory, settings.progression.milestones, convergence_floor(settings))


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
