"""Every shipped example log: the report a user gets, and that it is what synth.py produces."""

import json

import pytest

from tests import synth
from tests.helpers import EXAMPLES, run_cli

EXPECTED = {
    # name: (profile, overall status, exit code, top fix or None)
    "round4-stuck": ("round4", "fail", 1, "check-preprocessing"),
    "round5-plateau": ("round5", "fail", 1, "pytorch-default-init"),
    "healthy-sota": ("round6", "pass", 0, None),
    "seed-dialect": ("round5", "warn", 0, "check-preprocessing"),
    "crashed-oom": ("round5", "fail", 1, "fix-crash"),
    "slow-climb": ("round5", "fail", 1, "more-epochs"),
    "overshoot": ("round5", "fail", 1, "pytorch-default-init"),
    "nan-gradients": ("round5", "fail", 1, "clip-gradients"),
    "overfit-decline": ("round5", "fail", 1, "regularise-early-stop"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_report(name):
    profile, status, code, top = EXPECTED[name]
    exit_code, out, err = run_cli(["check", str(EXAMPLES / f"{name}.log"), "--profile", profile, "--format", "json"])
    report = json.loads(out)
    assert (report["status"], exit_code, err) == (status, code, "")
    ranked = [f["id"] for f in report["fixes"] if f["rank"]]
    assert (ranked[0] if ranked else None) == top


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
