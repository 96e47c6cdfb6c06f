"""log.impossible_values: R2 above 1 and negative stds or norms fail, naming value, field and line."""

import io
import re

import pytest

from percediag.parsers import parse_lines
from percediag.parsers.read import parse_log
from percediag.sources import LogSource
from tests import synth, transforms
from tests.helpers import REAL, activation_block, curve_lines, fold_header, grad_block, parse_text
from tests.parsers.test_fast import both

RULE = "log.impossible_values"


def spoil(text: str, *edits: tuple[str, str, str | None]) -> tuple[str, dict[str, int]]:
    """Apply (old, new, after) replacements, each the first after the marker `after`; returns the text and each new's line."""
    lines = text.split("\n")
    where = {}
    for old, new, after in edits:
        start = next(i for i, line in enumerate(lines) if after in line) if after else 0
        index = next(i for i in range(start, len(lines)) if old in lines[i])
        lines[index] = lines[index].replace(old, new, 1)
        where[new] = index + 1
    return "\n".join(lines), where


ROUND5 = (REAL / "round5.log").read_text()


def test_real_logs_pass_once(judge):
    for name in ("round4.log", "round5.log", "round6.log", "round5-interrupted.log", "round5-progress-bars.log"):
        [finding] = judge((REAL / name).read_text(), RULE)
        assert finding.status == "pass" and finding.fold is None, name
        assert "every R2 in -1000..1" in finding.message


def test_every_block_of_a_real_log(judge):
    text, at = spoil(
        ROUND5,
        ("val_r2: -0.0401", "val_r2: 25.3", None),                         # epoch line, fold 1
        ("std=0.054,", "std=-0.054,", None),                                # activation check, fold 1
        ("Pred std: 0.0857", "Pred std: -0.0857", None),                    # fold 1 summary
        ("R2:       +0.2562", "R2:       +1.2562", "FOLD 1 SUMMARY"),       # fold 1 summary R2
        ("R2=+0.5448", "R2=+54.48", "FOLD 1 SUMMARY"),                      # top dimension
        ("+0.2584 +/- 0.0514", "+25.84 +/- -0.0514", "AGGREGATE RESULTS"),  # CV mean and its spread
        ("+0.3370", "+33.70", "Per-Fold Results:"),                         # per-fold row
        ("R2:       +0.2840", "R2:       +284.0", "Ensemble Test Metrics"),  # ensemble, beyond a percentage
        ("0.1201", "-0.1201", "PER-DIMENSION R2"),                          # dimension std
    )
    findings = judge(text, RULE)
    assert [(f.fold, f.status) for f in findings] == [(1, "fail"), (None, "fail")]
    fold1, run = findings
    spoiled = ("val_r2: 25.3", "std=-0.054,", "Pred std: -0.0857", "R2:       +1.2562", "R2=+54.48")
    assert fold1.lines == sorted(at[k] for k in spoiled)
    line = at["val_r2: 25.3"]
    assert f"val_r2 of epoch 1 = 25.3 at line {line} is above 1; 25.3 looks like a percentage (0.253 meant?)" in fold1.message
    assert f"activation check prediction std = -0.054 at line {at['std=-0.054,']} is below 0" in fold1.message
    assert "fold summary pred std = -0.0857" in fold1.message and "fold summary timing R2 = 54.48" in fold1.message
    assert fold1.message.startswith("5 impossible value(s)")
    assert "cross-validation mean R2 = 25.84" in run.message and "cross-validation R2 std = -0.0514" in run.message
    assert "per-fold table R2 of row '2' = 33.7" in run.message
    assert "ensemble test R2 = 284 at line" in run.message and "284 looks like" not in run.message
    assert "per-dimension table timbre_brightness std R2 = -0.1201" in run.message
    assert set(run.lines) == {at["+25.84 +/- -0.0514"], at["+33.70"], at["R2:       +284.0"], at["-0.1201"]}


def test_impossible_values_fail_the_run():
    from percediag.pipeline import check_log
    from percediag.settings import build_settings

    text, _ = spoil(ROUND5, ("val_r2: +0.0065", "val_r2: +1.0065", None))
    log = parse_lines(LogSource.from_text(text).lines())
    report = check_log(log, build_settings("round5"))
    assert report.status == "fail"
    assert [f.status for f in report.findings if f.rule == RULE] == ["fail"]


def test_percent_printed_r2_on_a_noisy_multi_fold_log(judge):
    """Every fold of a synthetic log whose trainer printed val_r2 in percent: one finding per fold, all its lines."""
    scenario = synth.SCENARIOS["slow-climb"]
    text = synth.render(scenario)
    text = re.sub(r"val_r2: ([+-]\d\.\d{4})", lambda m: f"val_r2: {float(m.group(1)) * 100:+.2f}", text)
    noisy = transforms.TEXT_TRANSFORMS["progress_bars"](transforms.TEXT_TRANSFORMS["ansi"](text))
    findings = judge(noisy, RULE)
    folds = [f.fold for f in findings if f.fold is not None]
    assert sorted(folds) == [0, 1, 2, 3]
    for finding in findings:
        if finding.fold is None:
            continue
        epochs = [e for e in parse_text(noisy).folds if e.fold == finding.fold][0].epochs
        above = [e.line for e in epochs if e.val_r2 > 1]
        assert above and set(above) <= set(finding.lines)
        assert "looks like a percentage" in finding.message and finding.status == "fail"


def test_seed_dialect_negative_std(judge):
    text = "\n".join([
        "=" * 60, "  ACTIVATION CHECK - Batch 0", "=" * 60,
        "  Model parameters: ~X,XXX,XXX (should be reduced from Round 4)",
        "  Prediction head: 512->128, 128->19",
        "  Targets:     mean=0.55, std=0.106",
        "  Predictions: mean=0.50, std=-0.12, range=[0.1, 0.9]",
        "  Logits:      mean=0.0, std=0.6",
        "", "  Health Check:", "    [OK] Logits std in good range (0.5-1.5)", "=" * 60,
        curve_lines(0, [0.01, 0.02]),
    ])
    [finding] = judge(text, RULE)
    assert finding.status == "fail" and finding.lines == [7]
    assert "activation check prediction std = -0.12 at line 7 is below 0" in finding.message


def test_trainer_dialect_negative_std_and_ratio(judge):
    text = fold_header(0) + activation_block(pred_std=-0.120, ratio=-1.13) + "\n" + curve_lines(0, [0.1])
    [finding] = judge(text, RULE)
    assert "activation check prediction std = -0.12" in finding.message
    assert "activation check pred/target std ratio = -1.13" in finding.message


def test_negative_gradient_norms_counted_over_every_step(judge):
    blocks = [grad_block(step) for step in range(5)] + [grad_block(step) for step in range(100, 1000, 100)]
    text = fold_header(0) + "\n" + "\n".join(blocks) + "\n" + curve_lines(0, [0.1, 0.2])
    text = text.replace("  [GRAD] Step 300: total=0.9", "  [GRAD] Step 300: total=-0.9")
    text = text.replace("han=0.412", "han=-0.412", 1)
    [finding] = judge(text, RULE)
    run = parse_text(text)
    assert run.folds[0].gradients.negative_norms == 2
    assert finding.lines == run.folds[0].gradients.negative_lines
    assert "2 gradient step(s) with a negative norm or balance (lowest total norm -0.9)" in finding.message


def test_fast_path_keeps_negative_norms_past_the_first_steps():
    """Gradient blocks after the first five are read in bulk by the fast path; a negative one must still be counted."""
    text = synth.render(synth.SCENARIOS["slow-climb"])
    text, at = spoil(text, ("head=", "head=-", "[GRAD] Step 1500:"))
    fast, slow = both(text.encode())
    assert fast == slow
    log = parse_log(LogSource.from_stream(io.BytesIO(text.encode()), "x"))
    grads = log.runs[-1].folds[0].gradients
    assert grads.steps > 30 and grads.negative_norms == 1
    assert grads.negative_lines == [at["head=-"] - 1]  # the step's [GRAD] line


@pytest.mark.parametrize(("line", "field", "value"), [
    ("    R2:       25.62%", "r2", 25.62),
])
def test_fold_summary_percent_sign_reaches_the_record(line, field, value):
    text = ROUND5.replace("    R2:       +0.2562", line, 1)
    assert parse_text(text).folds[0].summary.metrics[field] == value


def test_percent_signs_in_tables_reach_the_records(judge):
    text, _ = spoil(
        ROUND5,
        ("R2:       +0.2584 +/- 0.0514", "R2:       25.84% +/- 5.14%", "AGGREGATE RESULTS"),
        ("    1         +0.2562", "    1         25.62%", "Per-Fold Results:"),
        ("(R2=+0.4117)", "(R2=41.17%)", "Dimension Analysis"),
        ("R2:       +0.2840", "R2:       28.40%", "Ensemble Test Metrics"),
        ("+0.4117     0.0708", "41.17%     7.08%", "PER-DIMENSION R2"),
    )
    run = parse_text(text)
    assert (run.aggregate.metrics["r2"], run.aggregate.metrics_std["r2"]) == (25.84, 5.14)
    assert run.aggregate.per_fold[0].r2 == 25.62 and run.aggregate.best_dim.r2 == 41.17
    assert run.test.ensemble["r2"] == 28.4 and run.dimensions.rows[0].mean_r2 == 41.17
    [finding] = [f for f in judge(text, RULE) if f.fold is None]
    assert finding.message.startswith("5 impossible value(s)")


def test_missing_without_any_value(judge):
    [finding] = judge(fold_header(0), RULE)
    assert finding.status == "missing"


def test_bounds_live_in_yaml(judge):
    text, _ = spoil(ROUND5, ("val_r2: +0.0065", "val_r2: +1.0065", None))
    assert {f.status for f in judge(text, RULE, sets=["log.impossible_values.r2_max=2"])} == {"pass"}
    finding = judge(text, RULE, sets=["log.impossible_values.percent_max=1.0"])[0]
    assert finding.status == "fail" and "looks like a percentage" not in finding.message
