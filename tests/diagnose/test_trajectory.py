import math

import numpy as np

from percediag.diagnose.trajectory import forecast_fold, sparkline
from percediag.settings import build_settings
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
    from percediag.diagnose.trajectory import mark_milestones

    assert mark_milestones("abcdefghijkl", 12, [5, 10, 20]) == "abcde|fghij|kl"
    assert mark_milestones("abc", 300, [5]) == "abc"  # bucketed curves are left alone


def test_unchanged_folds_reuse_their_forecast(monkeypatch):
    import percediag.diagnose.trajectory as trajectory
    from percediag.pipeline import parse

    run = parse(str(__import__("tests.helpers", fromlist=["REAL"]).REAL / "round5.log")).runs[0]
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
    import percediag.diagnose.trajectory as trajectory

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

    import percediag.diagnose.trajectory as trajectory

    run = _four_fold_run()
    monkeypatch.setattr(trajectory, "PARALLEL_MIN_EPOCHS", 0)
    trajectory._CACHE.clear()

    def failing(fold, *rest):
        raise ValueError(f"fold {fold.fold}")

    monkeypatch.setattr(trajectory, "forecast_fold", failing)
    with pytest.raises(ValueError, match="fold"):
        trajectory.forecast_run(run, CFG, MILESTONES, 0.3)
