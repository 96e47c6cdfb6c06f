"""Every shipped example log: the report a user gets, and that it is what synth.py produces."""

import json

import pytest

from tests import synth
from tests.helpers import EXAMPLES, run_cli

EXPECTED = {
    # name: (profile, overall status, exit code, top fix or None, first targeted (not escalated) fix or None)
    # Rounds 4 and 5 follow three or more rounds of targeted fixes below the 0.30 floor, so the
    # comparison with the original is escalated to the top unless a near-certain defect comes first.
    "round4-stuck": ("round4", "fail", 1, "compare-original", "match-reference-head"),
    # Round 4's head gain 1.0 helped; Round 5's default init collapsed: rescaling comes back, not first.
    "round5-plateau": ("round5", "fail", 1, "compare-original", "rescale-head-init"),
    "healthy-sota": ("round6", "pass", 0, None, None),
    "seed-dialect": ("round5", "warn", 0, "compare-original", "match-reference-head"),
    "crashed-oom": ("round5", "fail", 1, "fix-crash", "fix-crash"),
    "slow-climb": ("round5", "fail", 1, "compare-original", "more-epochs"),
    "overshoot": ("round5", "fail", 1, "compare-original", "match-reference-head"),
    "nan-gradients": ("round5", "fail", 1, "lower-lr", "lower-lr"),
    "overfit-decline": ("round5", "fail", 1, "compare-original", "regularise-early-stop"),
    # Milestones pass; progression.trajectory alone fails it (a log saved mid-fold, R2 falling since epoch 8).
    "early-peak-decline": ("round5", "fail", 1, "compare-original", "regularise-early-stop"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_report(name):
    profile, status, code, top, targeted = EXPECTED[name]
    exit_code, out, err = run_cli(["check", str(EXAMPLES / f"{name}.log"), "--profile", profile, "--format", "json"])
    report = json.loads(out)
    assert (report["status"], exit_code, err) == (status, code, "")
    ranked = [f for f in report["fixes"] if f["rank"]]
    assert (ranked[0]["id"] if ranked else None) == top
    first_targeted = next((f["id"] for f in ranked if f["status"] != "escalated"), None)
    assert first_targeted == targeted


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_profile_is_the_round_the_log_names(name):
    """With no --profile, each example is judged with the profile of its round, and says why."""
    exit_code, out, _ = run_cli(["check", str(EXAMPLES / f"{name}.log"), "--format", "json"])
    report = json.loads(out)
    assert report["profile"] == EXPECTED[name][0]
    assert report["profile_reason"].startswith(f"profile {EXPECTED[name][0]}: the log names Round")


def test_round4_style_has_healthy_activations_and_r2_below_zero():
    report = json.loads(run_cli(["check", str(EXAMPLES / "round4-stuck.log"), "-p", "round4", "-f", "json"])[1])
    activation = {f["status"] for f in report["findings"] if f["category"] == "activation"}
    assert activation == {"pass"}
    assert all(fc["best_r2"] < 0 for fc in report["forecast"])


def test_every_example_is_covered():
    assert {p.stem for p in EXAMPLES.glob("*.log")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(synth.SCENARIOS))
def test_generated_examples_are_reproducible(name):
    assert (EXAMPLES / f"{name}.log").read_text() == synth.render(synth.SCENARIOS[name])
