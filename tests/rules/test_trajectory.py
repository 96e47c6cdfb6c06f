"""progression.trajectory: the trend and forecast judged per fold, counted by the gate (issue 13, points 7 and 8)."""

import json
import math

import numpy as np
import pytest

from tests.helpers import EXAMPLES, curve_lines, run_cli

RULE = "progression.trajectory"
EARLY_STOP = "\nMonitored metric val/mean_r2 did not improve in the last {n} records. Best score: {best:.3f}. Signaling Trainer to stop.\n"
MAX_EPOCHS = "\n`Trainer.fit` stopped: `max_epochs={n}` reached.\n"


def falling_loss(n):
    return [round(0.02 * 0.96**i, 4) for i in range(n)]


def early_peak(n=27):
    """R2 0.22 after 5 epochs, a peak of 0.26 after 8, then a steady fall: every round5 milestone passes."""
    rng = np.random.default_rng(4)
    return [round(-0.15 + 0.42 * (1 - math.exp(-(e + 1) / 2.3)) - 0.005 * max(0, e + 1 - 8) + rng.normal(0, 0.006), 4)
            for e in range(n)]


def test_peak_then_decline_fails_while_every_milestone_passes(judge):
    values = early_peak()
    text = curve_lines(1, values, falling_loss(len(values)))
    milestones = judge(text, "progression.epoch_")
    assert [f.status for f in milestones] == ["pass", "pass", "pass"]
    [finding] = judge(text, RULE)
    assert finding.status == "fail" and finding.fold == 1 and finding.direction == "below"
    best = max(values)
    peak_epoch = values.index(best) + 1
    assert f"peaked at {best:.3f} after {peak_epoch} epochs" in finding.message
    assert f"{len(values) - peak_epoch} epochs later" in finding.message
    assert f"is {values[-1]:.3f}" in finding.message and "train loss still falling" in finding.message
    assert finding.message.startswith("overfitting:")
    assert finding.value == values[-1] and finding.expected == "no decline; forecast >= 0.3"
    assert finding.lines == [peak_epoch, len(values)]  # the best epoch's line and the last one


def test_an_early_stopping_tail_passes(judge):
    # Best 0.318 after 24 epochs, stopped by early stopping five epochs later, the tail a little below.
    values = [-0.12, -0.02, 0.05, 0.11, 0.15, 0.19, 0.21, 0.23, 0.25, 0.26, 0.27, 0.28, 0.285, 0.29, 0.296, 0.30,
              0.305, 0.309, 0.311, 0.315, 0.312, 0.316, 0.314, 0.318, 0.310, 0.305, 0.300, 0.295, 0.283]
    text = curve_lines(0, values, falling_loss(len(values))) + EARLY_STOP.format(n=5, best=0.318)
    [finding] = judge(text, RULE)
    assert finding.status == "pass" and "declin" not in finding.message and "overfitting" not in finding.message
    # Without a convergence floor (the generic profile) the tail passes too.
    [finding] = judge(text, RULE, profile="generic")
    assert finding.status == "pass"


def test_an_early_stopping_tail_below_the_floor_is_judged_on_its_forecast_not_as_a_decline(judge):
    values = [round(0.18 - 0.3 * math.exp(-(e + 1) / 4), 4) for e in range(20)] + [0.172, 0.175, 0.170, 0.168]
    text = curve_lines(0, values, falling_loss(len(values))) + EARLY_STOP.format(n=4, best=max(values))
    [finding] = judge(text, RULE)
    assert finding.status == "fail" and "declin" not in finding.message
    assert "stays below 0.3 even if it kept training" in finding.message


def test_oscillating_r2_warns_and_is_not_a_decline(judge):
    values = [0.10, 0.18, 0.08, 0.20, 0.09, 0.24, 0.10, 0.19, 0.08, 0.17, 0.07]
    [finding] = judge(curve_lines(0, values, falling_loss(len(values))), RULE)
    assert finding.status == "warn" and finding.message.startswith("oscillating")


def test_a_peak_in_the_sota_range_that_declines_warns(judge):
    # Early stopping keeps the 0.36 checkpoint: not a gate failure, but the fall is reported.
    values = [0.05, 0.15, 0.24, 0.30, 0.34, 0.36, 0.35, 0.34, 0.33, 0.32, 0.31, 0.30, 0.295]
    [finding] = judge(curve_lines(0, values, falling_loss(len(values))), RULE)
    assert finding.status == "warn" and "peak reached 0.3" in finding.message


def test_a_forecast_below_the_floor_fails_a_finished_fold_and_warns_a_climbing_one(judge):
    rising = [round(0.12 - 0.25 * math.exp(-(e + 1) / 12), 4) for e in range(12)]
    [finding] = judge(curve_lines(0, rising), RULE)
    assert finding.status == "warn" and "still training and rising" in finding.message
    [finding] = judge(curve_lines(0, rising) + MAX_EPOCHS.format(n=12), RULE)
    assert finding.status == "fail" and "the fold has stopped" in finding.message


def test_a_forecast_that_reaches_the_floor_passes(judge):
    values = [round(0.36 - 0.45 * math.exp(-(e + 1) / 3), 4) for e in range(25)]
    [finding] = judge(curve_lines(0, values), RULE)
    assert finding.status == "pass"


def test_too_few_epochs_is_missing_and_no_epochs_is_missing(judge):
    [finding] = judge(curve_lines(0, [-0.1, 0.0, 0.05]), RULE)
    assert finding.status == "missing" and "needs 5" in finding.message
    [finding] = judge("No epoch lines here.\n", RULE)
    assert finding.status == "missing" and finding.fold is None


def test_diverged_fails(judge):
    [finding] = judge(curve_lines(0, [0.05, 0.1, 0.12, float("nan")]), RULE)
    assert finding.status == "fail" and finding.message.startswith("diverged")


def test_severity_and_enabled_come_from_the_yaml(judge):
    text = curve_lines(1, early_peak(), falling_loss(27))
    [finding] = judge(text, RULE, sets=["progression.trajectory.severity=warn"])
    assert finding.status == "warn"
    assert judge(text, RULE, sets=["progression.trajectory.enabled=false"]) == []


def _report(name, *args):
    code, out, err = run_cli(["check", str(EXAMPLES / f"{name}.log"), "--format", "json", *args])
    return code, json.loads(out), err


def test_a_run_that_peaked_and_declined_fails_the_gate_although_its_milestones_pass():
    code, report, err = _report("early-peak-decline")
    assert (code, err) == (1, "")
    by_rule = {f["rule"]: f["status"] for f in report["findings"]}
    assert [by_rule[f"progression.epoch_{n}"] for n in (5, 10, 20)] == ["pass", "pass", "pass"]
    assert by_rule[RULE] == "fail"
    assert [f["rule"] for f in report["findings"] if f["status"] == "fail"] == [RULE]  # the trajectory alone gates it
    answer = next(a for a in report["assessment"] if a["question"] == "Is R2 on trajectory for SOTA?")
    assert answer["status"] == "fail" and RULE in answer["evidence"]
    # The same log without the rule: the gate passes, and the assessment no longer says FAIL.
    code, report, _ = _report("early-peak-decline", "--set", "progression.trajectory.enabled=false")
    answer = next(a for a in report["assessment"] if a["question"] == "Is R2 on trajectory for SOTA?")
    assert code == 0 and answer["status"] != "fail"


@pytest.mark.parametrize("name", sorted(p.stem for p in EXAMPLES.glob("*.log")))
def test_the_assessment_agrees_with_the_rule(name):
    code, report, _ = _report(name)
    judged = [f["status"] for f in report["findings"] if f["rule"] == RULE]
    answer = next(a for a in report["assessment"] if a["question"] == "Is R2 on trajectory for SOTA?")
    if answer["status"] == "fail":
        assert "fail" in judged and code == 1
    if "fail" in judged:
        assert answer["status"] == "fail"


def test_the_rule_and_the_report_share_one_forecast_computation(monkeypatch):
    import percediag.trajectory as trajectory
    from percediag.pipeline import check

    calls = []
    real = trajectory.forecast_fold
    monkeypatch.setattr(trajectory, "forecast_fold", lambda *args: calls.append(args[0].fold) or real(*args))
    trajectory._CACHE.clear()
    report = check(EXAMPLES / "overfit-decline.log")
    assert sorted(calls) == [0, 1, 2, 3]  # one fit per fold, for the rule and the report together
    judged = {f.fold: f for f in report.findings if f.rule == RULE}
    for fc in report.forecast:
        assert (judged[fc.fold].status == "fail") == (fc.trend == "declining" or fc.on_track == "no")


def _percediag_imports(path):
    import ast

    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("percediag"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("percediag")}
    return found


def test_rules_and_the_trajectory_import_only_downward():
    from tests.helpers import ROOT

    package = ROOT / "src" / "percediag"
    above_rules = ("percediag.diagnose", "percediag.report", "percediag.compare", "percediag.live",
                   "percediag.pipeline", "percediag.cli")
    for module in sorted((package / "rules").glob("*.py")):
        imported = _percediag_imports(module)
        assert not [m for m in imported if m.startswith(above_rules)], module.name
    # The trajectory reads records and configuration (its forecast settings, the R2 axis table) only.
    assert _percediag_imports(package / "trajectory.py") <= {"percediag.model", "percediag.settings", "percediag.roundtable"}
    assert not (package / "diagnose" / "trajectory.py").exists()  # moved, no re-export left behind
