"""The issue's acceptance scenarios for the ranking, on the shipped example logs."""

import pytest

from percediag.pipeline import check
from tests.helpers import EXAMPLES, REAL


def top(report, n=2):
    return [f.id for f in report.fixes if f.rank is not None][:n]


def targeted(report, n=2):
    """The ranked fixes below the escalation (compare-original, check-preprocessing) if any."""
    return [f.id for f in report.fixes if f.rank is not None and f.status != "escalated"][:n]


def test_plateau_near_zero_does_not_get_more_epochs_first():
    report = check(EXAMPLES / "round5-plateau.log")
    assert all(fc.trend == "plateau" for fc in report.forecast)
    assert top(report, 1) != ["more-epochs"]
    ranked = [f.id for f in report.fixes if f.rank]
    assert "more-epochs" not in ranked[:3]


def test_steady_climb_missing_milestones_gets_more_epochs_with_a_forecast_above_best():
    report = check(EXAMPLES / "slow-climb.log")
    failing = {f.rule for f in report.findings if f.status == "fail"}
    assert {"progression.epoch_10", "progression.epoch_20"} <= failing
    assert "more-epochs" in targeted(report, 1)
    assert all(fc.trend == "rising" for fc in report.forecast)
    assert any(fc.projected is not None and fc.projected > fc.best_r2 for fc in report.forecast)


def test_overshoot_gets_an_initialisation_fix():
    """Judged as Round 3 (the real overshoot round): its custom head init is the suspect."""
    report = check(EXAMPLES / "overshoot.log", "round3")
    ratios = [f.value for f in report.findings if f.rule == "activation.std_ratio"]
    assert all(r > 2 for r in ratios)
    assert set(targeted(report, 3)) & {"pytorch-default-init", "rescale-head-init"}


def test_non_finite_gradients_get_lr_or_clipping():
    report = check(EXAMPLES / "nan-gradients.log")
    assert any(f.rule == "gradient.finite" and f.status == "fail" for f in report.findings)
    assert set(top(report)) & {"lower-lr", "clip-gradients", "lr-warmup"}
    assert report.forecast[0].trend == "diverged"


def test_peak_then_decline_gets_regularisation_above_more_epochs():
    report = check(EXAMPLES / "overfit-decline.log")
    assert sum(fc.trend == "declining" for fc in report.forecast) >= 3
    ranked = targeted(report, 99)
    assert ranked[0] == "regularise-early-stop"
    if "more-epochs" in ranked:
        assert ranked.index("regularise-early-stop") < ranked.index("more-epochs")


def test_tried_demotes_a_fix_and_the_next_moves_up():
    before = check(EXAMPLES / "round5-plateau.log", "generic")
    first, second = top(before)
    after = check(EXAMPLES / "round5-plateau.log", "generic", tried=[f"{first}=no-effect"])
    assert top(after, 1) == [second]
    tried = [f for f in after.fixes if f.tried]
    assert [f.id for f in tried] == [first] and tried[0].rank > 1 and tried[0].status == "tried"


def test_healthy_run_gets_no_fix():
    report = check(EXAMPLES / "healthy-sota.log", "round6")
    assert report.status == "pass" and not [f for f in report.fixes if f.rank]


def test_crash_ranks_the_crash_fix_first():
    assert top(check(REAL / "round6-startup-crash.log"), 1) == ["fix-crash"]


def test_cause_contributions_explain_the_score():
    report = check(REAL / "round6.log", "round6")
    init = next(c for c in report.causes if c.id == "init-scale")
    odds = init.prior / (1 - init.prior)
    for contribution in init.contributions:
        odds *= contribution.ratio
    assert init.probability == pytest.approx(odds / (1 + odds))
    assert any(c.evidence == "activation.logit_std:below" for c in init.contributions)


def test_ranking_changes_with_the_evidence():
    assert top(check(REAL / "round5.log"), 1) != top(check(REAL / "round6-startup-crash.log"), 1)
