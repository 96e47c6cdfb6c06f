"""architecture.param_delta: the expected delta comes from the pair of rounds compared."""

import pytest

from percediag.pipeline import compare_runs
from percediag.roundtable import round_table
from percediag.settings import build_settings, parse_override
from tests import synth
from tests.helpers import REAL, activation_block, curve_lines, fold_header, parse_text

RULE = "architecture.param_delta"
ROUND4, ROUND5, ROUND6 = ((REAL / f"round{n}.log").read_text() for n in (4, 5, 6))


def delta(new_text, old_text, profile="round5", sets=(), user=None):
    settings = build_settings(profile, user_config=user, overrides=[parse_override(s) for s in sets])
    [finding] = [f for f in compare_runs(parse_text(new_text), parse_text(old_text), settings) if f.rule == RULE]
    return finding


def retitle(text, title):
    return text.replace("TRAINING CONFIGURATION (SOTA + ROUND 5 FIXES)", f"TRAINING CONFIGURATION ({title})", 1)


def test_table_deltas_are_the_issue_numbers():
    table = round_table()
    assert table.expected_delta(4, 5) == -204_288 and table.expected_delta(5, 6) == 199_168
    assert table.expected_delta(5, 5) == 0 and table.expected_delta(3, 4) is None and table.expected_delta(5, 8) is None


@pytest.mark.parametrize(("old", "new", "value", "pair"), [
    (ROUND4, ROUND5, -204_288, "Round 4 -> Round 5"),
    (ROUND5, ROUND6, 199_168, "Round 5 -> Round 6"),
    (ROUND4, ROUND6, -5_120, "Round 4 -> Round 6"),
    (ROUND6, ROUND5, -199_168, "Round 6 -> Round 5"),
])
def test_real_pairs_pass_with_the_table_delta(old, new, value, pair):
    for profile in ("round4", "round5", "round6", "generic"):  # the pair decides, not the profile
        finding = delta(new, old, profile)
        assert finding.status == "pass" and finding.value == value
        assert finding.message.startswith(f"{pair}: {value:+,} (")
        assert f"expected {value:+,} +/- 0" in finding.message


def test_same_round_expects_zero():
    finding = delta(ROUND5, ROUND5)
    assert finding.status == "pass" and finding.value == 0 and "both logs are Round 5" in finding.expected
    changed = ROUND5.replace("13,758,227", "13,962,515")
    finding = delta(changed, ROUND5)
    assert finding.status == "fail" and finding.value == 204_288 and finding.direction == "above"
    assert finding.message.startswith("Round 5 -> Round 5: +204,288 (13,758,227 -> 13,962,515), expected +0 +/- 0")


def test_fix_not_taken_fails_naming_both_rounds():
    unchanged = ROUND5.replace("13,758,227", "13,962,515").replace("512->128, 128->19", "512->512, 512->19")
    finding = delta(unchanged, ROUND4)
    assert finding.status == "fail" and finding.value == 0 and finding.direction == "above"
    assert finding.message.startswith("Round 4 -> Round 5: +0 (13,962,515 -> 13,962,515), expected -204,288 +/- 0")


def test_unknown_pair_is_reported_not_judged():
    later = retitle(ROUND5, "SOTA - ROUND 8: SLICE SAMPLING")
    finding = delta(later, ROUND6)
    assert finding.status == "missing" and finding.value == -199_168
    assert finding.message.startswith("Round 6 -> Round 8: -199,168")
    assert "not judged: Round 8 has no recorded parameter count in configs/rounds.yaml" in finding.message
    untitled = retitle(ROUND5, "SOTA")
    finding = delta(untitled, ROUND4)
    assert finding.status == "missing" and "Round 4 -> an unnamed round" in finding.message
    assert "this log's training configuration names no round" in finding.message


def test_user_expected_delta_judges_an_unknown_pair_only():
    later = retitle(ROUND5, "SOTA - ROUND 8: SLICE SAMPLING")
    sets = ["architecture.param_delta.expected_delta=-200000", "architecture.param_delta.tolerance=1000"]
    finding = delta(later, ROUND6, sets=sets)
    assert finding.status == "pass" and "expected_delta from --set" in finding.expected
    finding = delta(later, ROUND6, sets=["architecture.param_delta.expected_delta=0"])
    assert finding.status == "fail" and finding.direction == "below"
    # A known pair keeps the table's delta, and says the user's value was not used.
    finding = delta(ROUND5, ROUND4, sets=["architecture.param_delta.expected_delta=0"])
    assert finding.status == "pass" and "applies only to a pair of rounds the table does not know" in finding.message


def test_user_config_file_counts_as_explicit():
    later = retitle(ROUND5, "SOTA - ROUND 8")
    user = ("project/.percediag.yaml", {"rules": {RULE: {"expected_delta": -199_168}}})
    finding = delta(later, ROUND6, user=user)
    assert finding.status == "pass" and "project/.percediag.yaml" in finding.expected


def test_table_tolerance_from_yaml():
    near = ROUND5.replace("13,758,227", "13,758,300")
    assert delta(near, ROUND4).status == "fail"
    assert delta(near, ROUND4, sets=["architecture.param_delta.table_tolerance=100"]).status == "pass"


def test_synthetic_trainer_dialect_pair():
    """Noisy multi-fold synthetic logs: Round 4's count only in the fold 0 header, Round 5's in every activation check."""
    old, new = synth.render(synth.SCENARIOS["round4-stuck"]), synth.render(synth.SCENARIOS["round5-plateau"])
    finding = delta(new, old)
    assert finding.status == "pass" and finding.value == -204_288
    assert finding.message.startswith("Round 4 -> Round 5")


def test_seed_dialect_placeholder_is_missing():
    seed_block = activation_block(params="~X,XXX,XXX (should be reduced from Round 4)")
    text = ("TRAINING CONFIGURATION (SOTA + ROUND 5 FIXES)\n  learning_rate: 5e-05\n" + fold_header(0)
            + seed_block + "\n" + curve_lines(0, [0.01, 0.02]))
    finding = delta(text, ROUND4)
    assert finding.status == "missing"
    assert finding.message == "Round 4 -> Round 5: this log prints no single exact parameter count"
