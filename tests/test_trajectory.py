import math

import numpy as np
import pytest

from percediag.settings import build_settings
from percediag.trajectory import forecast_fold, sparkline
from tests.helpers import curve_lines, parse_text

CFG = build_settings("round5").trajectory
MILESTONES = {5: 0.0, 10: 0.05, 20: 0.15}


def forecast(values, losses=None):
    fold = parse_text(curve_lines(0, values, losses)).folds[0]
    return forecast_fold(fold, CFG, MILESTONES, 0.30)


def saturating(a, b, tau, n, noise=0.0, seed=1):
    rng = np.random.default_rng(seed)
    return [round(a - b * math.exp(-(t + 1) / tau) + rng.normal(0, noise), 4) for t in range(n)]


def test_rising_curve_is_forecast_above_its_best_with_an_interval():
    fc = forecast(saturating(0.36, 0.45, 12.0, 20, noise=0.004))
    assert fc.trend == "rising"
    assert fc.projected > fc.best_r2
    low, high = fc.interval
    assert low <= fc.projected <= high and high - low <= CFG.max_interval
    assert fc.horizon == 40
    assert fc.epochs_to["R2>0"] is not None


def test_recovers_the_asymptote_of_an_exact_curve():
    fc = forecast(saturating(0.35, 0.45, 3.0, 25))
    assert abs(fc.asymptote - 0.35) < 0.005 and fc.on_track == "yes"


def test_plateau_near_zero_is_not_on_track():
    fc = forecast(saturating(0.02, 0.12, 2.0, 25, noise=0.003))
    assert fc.trend == "plateau" and fc.on_track == "no"


def test_few_points_are_uncertain_without_a_number():
    fc = forecast([0.0, 0.05, 0.09])
    assert fc.on_track == "uncertain" and fc.projected is None and "needs 5" in fc.reason


def test_noisy_points_are_uncertain_without_a_number():
    rng = np.random.default_rng(3)
    fc = forecast([round(0.1 + 0.01 * t + rng.normal(0, 0.06), 4) for t in range(10)])
    assert fc.on_track == "uncertain" and fc.projected is None


def test_declining_with_falling_train_loss_is_overfitting():
    values = [0.05, 0.12, 0.18, 0.21, 0.22, 0.20, 0.18, 0.16, 0.14, 0.12]
    losses = [0.02 - 0.0015 * i for i in range(10)]
    fc = forecast(values, losses)
    assert fc.trend == "declining" and fc.overfitting and fc.best_epoch == 5


def test_oscillating():
    fc = forecast([0.05, 0.15, 0.03, 0.16, 0.02, 0.14, 0.04, 0.15, 0.03, 0.16])
    assert fc.trend == "oscillating"


def test_diverged():
    fc = forecast([0.05, 0.1, float("nan")])
    assert fc.trend == "diverged" and fc.on_track == "no"


def test_reproducible():
    values = saturating(0.3, 0.4, 8.0, 15, noise=0.01)
    assert forecast(values) == forecast(values)


def test_sparkline_is_ascii():
    line = sparkline([0.0, 0.2, 0.4, float("nan")], 0.0, 0.4)
    assert line == " =@!" and line.isascii()


def test_long_sparklines_are_bucketed():
    line = sparkline([i / 1000 for i in range(400)], 0.0, 0.4)
    assert len(line) == 40 and line[0] == " " and line[-1] == "@"


def test_milestones_are_marked_on_the_curve():
    from percediag.trajectory import mark_milestones

    assert mark_milestones("abcdefghijkl", 12, [5, 10, 20]) == "abcde|fghij|kl"
    assert mark_milestones("abc", 300, [5]) == "abc"  # bucketed curves are left alone


def test_unchanged_folds_reuse_their_forecast(monkeypatch):
    import percediag.trajectory as trajectory
    from percediag.pipeline import parse

    run = parse(str(__import__("tests.helpers", fromlist=["REAL"]).REAL / "round5.log")).runs[0]
    # round5-interrupted.log's folds are this log's, cut short: an earlier test may have cached them.
    trajectory._CACHE.clear()
    first = trajectory.forecast_run(run, CFG, MILESTONES, 0.3)
    calls = []
    monkeypatch.setattr(trajectory, "forecast_fold", lambda *a: calls.append(a) or first[0])
    again = trajectory.forecast_run(run, CFG, MILESTONES, 0.3)
    assert calls == [] and again == first
    run.folds[0].epochs.pop()
    trajectory.forecast_run(run, CFG, MILESTONES, 0.3)
    assert len(calls) == 1  # only the fold that changed is refitted


def _four_fold_run():
    text = "\n".join(curve_lines(fold, saturating(0.3 + fold / 100, 0.4, 20.0, 60, noise=0.003, seed=fold)) for fold in range(4))
    return parse_text(text)


def test_folds_forecast_in_two_threads_match_one_thread(monkeypatch):
    import percediag.trajectory as trajectory

    run = _four_fold_run()
    monkeypatch.setattr(trajectory, "PARALLEL_MIN_EPOCHS", 10**9)
    trajectory._CACHE.clear()
    one = trajectory.forecast_run(run, CFG, MILESTONES, 0.3)
    monkeypatch.setattr(trajectory, "PARALLEL_MIN_EPOCHS", 0)
    trajectory._CACHE.clear()
    threads = []
    real = trajectory.forecast_fold

    def recording(*args):
        import threading
        import time

        threads.append(threading.current_thread().name)
        time.sleep(0.02)  # lets the other thread take the next fold, as the real fits do
        return real(*args)

    monkeypatch.setattr(trajectory, "forecast_fold", recording)
    two = trajectory.forecast_run(run, CFG, MILESTONES, 0.3)
    assert [f.model_dump() for f in two] == [f.model_dump() for f in one]
    assert "percediag-forecast" in threads and len(set(threads)) == 2


def test_an_error_in_the_forecast_thread_reaches_the_caller(monkeypatch):
    import pytest

    import percediag.trajectory as trajectory

    run = _four_fold_run()
    monkeypatch.setattr(trajectory, "PARALLEL_MIN_EPOCHS", 0)
    trajectory._CACHE.clear()

    def failing(fold, *rest):
        raise ValueError(f"fold {fold.fold}")

    monkeypatch.setattr(trajectory, "forecast_fold", failing)
    with pytest.raises(ValueError, match="fold"):
        trajectory.forecast_run(run, CFG, MILESTONES, 0.3)


# -- trend classes: early stopping is not overfitting (issue 13, point 7) ------

RISE = [-0.12, -0.02, 0.05, 0.11, 0.15, 0.19, 0.21, 0.23, 0.25, 0.26, 0.27, 0.28, 0.285, 0.29, 0.296, 0.30, 0.305, 0.309,
        0.311, 0.315, 0.312, 0.316, 0.314, 0.318]


def test_an_early_stopping_tail_a_little_below_the_best_is_not_a_decline():
    # Best 0.318 after 24 epochs, then five epochs of patience; the last one is 0.035 below the best
    # (the old rule, last epoch against the peak, called this declining), the tail's mean only 0.019.
    values = RISE + [0.310, 0.305, 0.300, 0.295, 0.283]
    losses = [0.02 * 0.96**i for i in range(len(values))]
    fc = forecast(values, losses)
    assert fc.best_epoch == 24 and fc.since_best == 5 and fc.train_loss_falling is True
    assert fc.trend not in ("declining", "oscillating") and not fc.overfitting
    assert fc.recent_r2 == pytest.approx(0.2986)


@pytest.mark.parametrize("seed", range(8))
def test_a_patience_tail_within_a_noisy_folds_scatter_is_not_a_decline(seed):
    # A fold that rose to a noisy plateau (epoch-to-epoch scatter 0.02) and was stopped 20 epochs after
    # its best: the best is a lucky epoch, several hundredths above the tail's mean.
    rng = np.random.default_rng(seed)
    values, best, since = [], -1.0, 0
    while since < 20:
        values.append(round(0.28 - 0.4 * math.exp(-(len(values) + 1) / 8) + rng.normal(0, 0.02), 4))
        best, since = (values[-1], 0) if values[-1] > best else (best, since + 1)
    fc = forecast(values, [0.02 * 0.97**i for i in range(len(values))])
    assert fc.since_best == 20
    assert fc.trend != "declining" and not fc.overfitting


def test_oscillation_is_recognised_before_a_decline():
    # The best epoch is the top of one swing and the last is the bottom of another: a fall from the
    # best of 0.17 that the old order (decline first) called declining.
    values = [0.10, 0.18, 0.08, 0.20, 0.09, 0.24, 0.10, 0.19, 0.08, 0.17, 0.07]
    fc = forecast(values, [0.02 * 0.97**i for i in range(len(values))])
    assert fc.trend == "oscillating" and not fc.overfitting
    assert fc.on_track == "uncertain" and fc.projected is None


def test_a_decline_through_the_swings_is_still_a_decline():
    # Epochs scattering by 0.025 around a fall of 0.24 from epoch 3: the fall clears the fold's scatter.
    rng = np.random.default_rng(2)
    values = [round(min(0.3, 0.1 + 0.1 * i) - 0.016 * max(0, i - 2) + rng.normal(0, 0.025), 4) for i in range(18)]
    fc = forecast(values, [0.02 * 0.97**i for i in range(len(values))])
    assert fc.trend == "declining" and fc.overfitting


def test_a_decline_needs_a_meaningful_peak():
    # Round 13 (real log): R2 never rose above -0.29; falling from there is not a fit that got worse.
    values = [-0.3796, -0.3465, -0.3188, -0.3006, -0.2923, -0.3268, -0.3234, -0.3692]
    losses = [0.0167, 0.0138, 0.0138, 0.0120, 0.0115, 0.0102, 0.0083, 0.0074]
    fc = forecast(values, losses)
    assert fc.best_r2 < CFG.decline_min_peak
    assert fc.trend != "declining" and not fc.overfitting


def test_a_small_decline_is_declining_but_not_overfitting():
    # 0.035 below the peak on average: a decline, not yet "well below" (overfit_drop 0.04).
    values = [0.05, 0.10, 0.15, 0.19, 0.21, 0.22, 0.215, 0.205, 0.195, 0.19, 0.187, 0.185, 0.186, 0.184, 0.183]
    fc = forecast(values, [0.02 - 0.0015 * i for i in range(len(values))])
    assert fc.trend == "declining" and not fc.overfitting
    assert CFG.decline_drop <= fc.best_r2 - fc.recent_r2 < CFG.overfit_drop


def test_a_decline_with_flat_train_loss_is_not_overfitting():
    values = [0.05, 0.12, 0.18, 0.21, 0.22, 0.20, 0.18, 0.16, 0.14, 0.12]
    fc = forecast(values, [0.02, 0.015, 0.012, 0.011, 0.010, 0.0101, 0.0102, 0.0101, 0.0103, 0.0104])
    assert fc.trend == "declining" and fc.train_loss_falling is False and not fc.overfitting
    assert "train loss no longer falls" in fc.reason


def test_the_decline_thresholds_come_from_the_yaml():
    values = [0.05, 0.12, 0.18, 0.21, 0.22, 0.20, 0.18, 0.16, 0.14, 0.12]
    losses = [0.02 - 0.0015 * i for i in range(10)]
    fold = parse_text(curve_lines(0, values, losses)).folds[0]
    strict = CFG.model_copy(update={"decline_min_peak": 0.25})
    assert forecast_fold(fold, strict, MILESTONES, 0.30).trend != "declining"
    patient = CFG.model_copy(update={"decline_min_epochs": 6})
    assert forecast_fold(fold, patient, MILESTONES, 0.30).trend != "declining"
    lenient = CFG.model_copy(update={"overfit_drop": 0.2})
    fc = forecast_fold(fold, lenient, MILESTONES, 0.30)
    assert fc.trend == "declining" and not fc.overfitting
