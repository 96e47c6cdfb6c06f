"""Post-training blocks of the later rounds: index statistics, the issue list, Round 13's analysis.

On the genuine logs of the optional extra runs (`round9-ckpt-glob-fix.log`:
Round 9 with the checkpoint glob fixed, so the post-training cells ran;
`round13-han.log`: Round 13 with MODEL_TYPE = han) and variants of them.
"""

from __future__ import annotations

import io
import re

import pytest

from percediag.diagnose.dimensions import dimension_view
from percediag.parsers import parse_lines
from percediag.parsers.read import parse_log
from percediag.sources import LogSource
from tests.helpers import REAL
from tests.parsers.test_fast import rounded
from tests.test_later_rounds import findings, report

CKPT = REAL / "round9-ckpt-glob-fix.log"
HAN = REAL / "round13-han.log"


def both(text: str):
    """The fast parse, after checking it equals the line parse."""
    fast = parse_log(LogSource.from_stream(io.BytesIO(text.encode()), "x"))
    slow = parse_lines(LogSource.from_stream(io.BytesIO(text.encode()), "x").lines(), "x")
    assert rounded(fast.model_dump()) == rounded(slow.model_dump())
    return fast


def _without_ablation(text: str) -> str:
    return "".join(line for line in text.splitlines(keepends=True) if not line.startswith("[ABLATION]"))


@pytest.mark.parametrize("path", [CKPT, HAN], ids=lambda p: p.name)
def test_fast_path_equals_line_parse(path):
    both(path.read_text())


def test_index_statistics_and_issue_list_with_their_lines():
    run = both(CKPT.read_text()).runs[-1]
    assert (run.post_index.negative_beats, run.post_index.negative_measures) == (0, 0)
    assert run.post_index.lines == {"negative_beats": 462, "negative_measures": 463}
    issues = run.post_issues
    assert (issues.line, issues.count, len(issues.issues)) == (469, 12, 12)
    first, last = issues.issues[0], issues.issues[-1]
    assert (first.stage, first.std, first.bound, first.line) == ("note_out", 0.0354, 0.1, 470)
    assert (last.stage, last.std, last.bound, last.line) == ("predictions", 0.0095, 0.1, 481)
    assert issues.root_causes == ["LSTM outputs have very low variance", "Check PackedSequence handling"]
    # The pre-training check's own "DIAGNOSTIC SUMMARY" (line 106) is not the issue list.
    assert run.data_check.issues == 0
    # Round 9 prints a bare TRAINING COMPLETE after its sync cell: no mean with it; the fold banner is not it.
    assert run.training_summary.complete_line == 587 and run.training_summary.mean_r2 is None


def test_post_training_analysis_and_training_summary():
    run = both(HAN.read_text()).runs[-1]
    post = run.post_analysis
    assert (post.model, post.fold, post.r2, post.pearson, post.mae) == ("han", 1, -0.3185, 0.3124, 0.0889)
    assert (post.pred_std, post.target_std, post.lines["pred_std"]) == (0.0292, 0.1073, 345)
    assert [(d.name, d.mean_r2, d.status, d.line) for d in post.dims][::18] == [("balance", 0.1846, "OK", 354),
                                                                                 ("mood_energy", -1.6666, "NEG", 372)]
    assert len(post.dims) == 19 and (post.positive_dims, post.total_dims) == (8, 19)
    assert (post.baseline, post.baseline_r2, post.model_r2, post.gain) == ("Baseline (7-layer BiLSTM)", 0.1931, -0.3185, -0.5116)
    assert (post.lines["gain"], post.end_line) == (385, 387)
    assert [(t.tag, t.subject) for t in post.tags] == [("WARN", "pred_std"), ("NONE", "gain")]
    # Its PER-DIMENSION R2 title is not the cross-fold table; its dataset line stays a slice record.
    assert run.dimensions is None and run.slices[-1].line == 334
    summary = run.training_summary
    assert (summary.fold_best, summary.mean_r2, summary.std_r2) == ({"1": -0.3185}, -0.3185, 0.0)
    assert summary.lines == {"fold_best.1": 321, "complete": 326, "mean_r2": 329, "std_r2": 330}


def test_post_training_dimensions_feed_the_dimension_view():
    view = dimension_view(both(HAN.read_text()).runs[-1])
    assert view.available
    assert [(d.name, d.mean_r2) for d in view.negative][:2] == [("mood_energy", -1.6666), ("mood_valence", -1.5064)]
    # The fold summary's bottom five (line 319) and the analysis's row (line 372) name the same dimension.
    assert len(view.negative) == 11 and view.negative[0].lines == [319, 372]
    space = next(d for d in view.negative if d.name == "space")
    assert (space.mean_r2, space.folds, space.lines) == (-0.3945, [], [367])  # only the analysis has it


def test_in_training_ablation_comes_before_the_comparison(tmp_path):
    gain = findings(report(tmp_path, HAN.read_text(), "round13.log"), "diagnostics.ablation_gain")[0]
    assert gain["value"] == 0.0096 and "ablation at epoch 0" in gain["message"]


@pytest.mark.parametrize(("model_r2", "printed", "status"),
                         [("-0.3185", "-0.5116", "fail"), ("+0.2231", "+0.0300", "warn"), ("+0.2431", "+0.0500", "pass")])
def test_comparison_to_baseline_feeds_the_ablation_gain(tmp_path, model_r2, printed, status):
    """No [ABLATION] block: the comparison's gain (this run's R2 minus the notebook's 0.1931) is judged."""
    text = _without_ablation(HAN.read_text())
    text = text.replace("Hierarchy Gain                    -0.5116", f"Hierarchy Gain                    {printed}")
    text = text.replace("  han                               -0.3185      ~0.40", f"  han                               {model_r2}      ~0.40")
    both(text)
    gains = findings(report(tmp_path, text, "round13.log"), "diagnostics.ablation_gain")
    assert len(gains) == 1  # a separately trained baseline: no "zeroed" finding
    assert gains[0]["status"] == status and gains[0]["value"] == float(printed)
    rows = [n for n, line in enumerate(text.splitlines(), 1) if n > 300
            and line.startswith(("  Baseline (7-layer BiLSTM) ", "  han  ", "  Hierarchy Gain "))]
    assert "not measured in this run" in gains[0]["message"] and f"han {model_r2}" in gains[0]["message"]
    assert gains[0]["lines"] == rows and len(rows) == 3


def test_genuine_issue_list_agrees_with_its_table(tmp_path):
    stage = findings(report(tmp_path, CKPT.read_text()), "diagnostics.stage_std")[0]
    assert stage["status"] == "fail" and stage["trainer_tag"] is None


def test_issue_list_disagreeing_with_the_numbers(tmp_path):
    text = CKPT.read_text().replace("  1. Note LSTM: std=0.0354 < 0.1", "  1. Note LSTM: std=0.0364 < 0.1")
    text = text.replace("  12. Predictions: std=0.0095 < 0.1\n", "")
    text = text.replace("  10. Contracted: std=0.0358 < 0.05", "  10. Input features: std=0.5167 < 0.3")
    run = both(text).runs[-1]
    assert len(run.post_issues.issues) == 11
    tag = findings(report(tmp_path, text), "diagnostics.stage_std")[0]["trainer_tag"]
    assert "issue list: note_out std 0.0364, the table 0.0354 (line 470)" in tag
    assert "issue list: input 0.5167 is not below its band's 0.3 (line 479)" in tag
    assert "predictions 0.0095 < 0.1 is not in the issue list (line 469)" in tag
    assert "contracted 0.0358 < 0.05 is not in the issue list" in tag
    assert "the issue list counts 12 and lists 11 (line 469)" in tag


@pytest.mark.parametrize("cut", ["  Positive R2: 8/19\n", "  [NONE] No hierarchy contribution (may be hurting)\n"])
def test_truncated_analysis_is_kept_and_warned(cut):
    text = HAN.read_text()
    text = text[:text.index(cut)]
    log = both(text)
    post = log.runs[-1].post_analysis
    assert post is not None and post.r2 == -0.3185
    assert any("post-training analysis ended before its verdict" in w.message for w in log.warnings)


def test_noisy_variant_with_progress_bars_and_crlf():
    """Progress-bar redraws and warnings between the sections, CRLF line ends: the same records."""
    text = HAN.read_text()
    noisy = text.replace("COMPARISON TO BASELINE\n", "COMPARISON TO BASELINE\n"
                         "Validation DataLoader 0: 100%|##########| 3/3 [00:00<00:00,  9.12it/s]\n")
    noisy = re.sub(r"\n(  Fold 1 Best)", "\nUserWarning: something\n\\1", noisy.replace("\n", "\r\n"))
    post = both(noisy).runs[-1].post_analysis
    assert post.gain == -0.5116 and post.baseline_r2 == 0.1931 and len(post.dims) == 19
