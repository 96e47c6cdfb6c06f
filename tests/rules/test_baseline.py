import pytest

from tests.helpers import REAL, curve_lines


def test_cv_mean_is_the_evidence(judge):
    findings = {f.rule: f for f in judge((REAL / "round5.log").read_text(), "baseline")}
    assert {k: f.status for k, f in findings.items()} == {
        "baseline.mean": "pass", "baseline.bilstm": "pass", "baseline.midibert": "warn", "baseline.han_sota": "warn"}
    assert "cross-validation mean" in findings["baseline.mean"].message


@pytest.mark.parametrize(("best", "mean_status"), [(0.0, "fail"), (0.0001, "pass")])
def test_beaten_means_strictly_above(judge, best, mean_status):
    text = curve_lines(0, [-0.1, best]) + "\n`Trainer.fit` stopped: `max_epochs=2` reached.\n"
    findings = {f.rule: f for f in judge(text, "baseline")}
    assert findings["baseline.mean"].status == mean_status
    assert "finished fold" in findings["baseline.mean"].message


def test_unfinished_run_says_so(judge):
    findings = {f.rule: f for f in judge(curve_lines(0, [0.2]), "baseline")}
    assert "no fold finished" in findings["baseline.bilstm"].message and findings["baseline.bilstm"].status == "pass"


def test_missing_without_r2(judge):
    assert {f.status for f in judge("nothing\n", "baseline")} == {"missing"}


def test_generic_profile_has_no_baselines(judge):
    assert judge(curve_lines(0, [0.2]), "baseline", profile="generic") == []
