"""Fold header, fold summary, aggregate, test set, configuration, per-dimension table, Lightning, traceback."""

from percediag.pipeline import parse
from tests.helpers import REAL, fold_header, parse_text

ROUND5 = parse(REAL / "round5.log").runs[0]


def test_fold_header():
    run = parse_text(fold_header(0, params="13,962,515"))
    header = run.folds[0].header
    assert (header.fold, header.last_fold, header.train_samples, header.val_samples) == (0, 3, 712, 236)
    assert (header.batch_size, header.max_epochs, header.patience, header.param_count) == (8, 200, 20, 13_962_515)


def test_fold_order_follows_the_log():
    assert [f.fold for f in ROUND5.folds] == [1, 2, 3, 0]


def test_fold_summary():
    summary = ROUND5.folds[0].summary
    assert (summary.fold, summary.epochs_reported, summary.time_s, summary.best_epoch) == (1, 11, 103.5, 9)
    assert summary.metrics == {"r2": 0.2562, "pearson": 0.6556, "spearman": 0.661, "mae": 0.0825, "rmse": 0.1013}
    assert (summary.pred_min, summary.pred_max, summary.pred_std, summary.target_std) == (0.271, 0.73, 0.0857, 0.1341)
    assert (summary.collapsed_dims, summary.total_dims, summary.collapse_threshold) == (5, 19, 0.05)
    assert [d.name for d in summary.top_dims][:2] == ["timing", "dynamic_range"]
    assert [d.negative for d in summary.bottom_dims] == [False, False, False, True, True]
    assert len(ROUND5.folds[0].epochs) == 10  # "11 epochs" printed for 10 epoch lines


def test_aggregate():
    agg = ROUND5.aggregate
    assert agg.n_folds == 4 and agg.total_time_min == 8.4
    assert agg.metrics["r2"] == 0.2584 and agg.metrics_std["r2"] == 0.0514
    assert [row.label for row in agg.per_fold] == ["1", "2", "3", "0", "Mean", "Std"]
    assert agg.per_fold[0].epochs == 11
    assert (agg.positive_dims, agg.total_dims, agg.strong_dims) == (19, 19, 14)
    assert agg.best_dim.name == "mood_imagination" and agg.worst_dim.r2 == 0.0811
    assert agg.baselines == {"bilstm": 0.185, "midibert": 0.313, "han_sota": 0.397}
    assert (agg.ours_r2, agg.ours_r2_std) == (0.258, 0.051)
    assert agg.verdict == "GOOD: Usable for pseudo-labeling MAESTRO"


def test_test_set():
    test = ROUND5.test
    assert test.samples == 12
    assert [row.label for row in test.per_fold] == ["0", "1", "2", "3", "Ens."]
    assert test.ensemble["r2"] == 0.284 and test.positive_dims == 18 and test.ensemble_gain == 0.065


def test_training_configuration():
    config = ROUND5.config
    assert config.title == "SOTA + ROUND 5 FIXES" and config.round == 5
    assert config.values["learning_rate"] == "5e-05" and config.values["final_hidden"] == "128"
    assert config.lines["learning_rate"] == 69


def test_dimension_table():
    rows = ROUND5.dimensions.rows
    assert len(rows) == 19
    assert (rows[0].name, rows[0].mean_r2, rows[0].std_r2, rows[0].status) == ("mood_imagination", 0.4117, 0.0708, "GOOD")


def test_lightning_stop_lines():
    assert [s.kind for s in ROUND5.folds[0].stops] == ["max_epochs"]
    text = "  [Fold 0] Epoch   0 | train_loss: 0.0129 | val_loss: 0.0157 | val_r2: -0.1334 | lr: 5.00e-05 | time: 8.5s\n" \
           "Monitored metric val/mean_r2 did not improve in the last 20 records. Best score: 0.017. Signaling Trainer to stop.\n"
    assert [s.kind for s in parse_text(text).folds[0].stops] == ["early_stopping"]


def test_interruption():
    run = parse(REAL / "round5-interrupted.log").runs[0]
    assert run.folds[-1].stops[-1].kind == "interrupted"
    assert not run.folds[-1].finished


def test_model_summary_rich_box_and_plain():
    run = parse(REAL / "round5-model-summary.log").runs[0]
    assert run.model_summary.total_params == 13_800_000
    assert parse_text("4.2 M     Total params\n" + fold_header(0)).model_summary.total_params == 4_200_000
    assert parse_text("Total params: 13.8 M\n").model_summary.total_params == 13_800_000


def test_traceback_at_end():
    run = parse(REAL / "round6-startup-crash.log").runs[0]
    assert run.crash.exception_type == "TypeError"
    assert run.crash.exception.endswith("unexpected keyword argument 'final_hidden'")
    assert run.crash.terminal and run.crash.exception_line == 134


def test_traceback_followed_by_training_is_not_terminal():
    text = "Traceback (most recent call last):\n  File \"x.py\", line 1\nValueError: boom\n" + \
           "  [Fold 0] Epoch   0 | train_loss: 0.0129 | val_loss: 0.0157 | val_r2: -0.1334 | lr: 5.00e-05 | time: 8.5s\n"
    assert parse_text(text).crash.terminal is False


def test_progress_bar_log_parses_like_the_plain_one():
    plain = parse(REAL / "round5.log").runs[0]
    bars = parse(REAL / "round5-progress-bars.log").runs[0]
    assert [e.val_r2 for e in bars.folds[0].epochs] == [e.val_r2 for e in plain.folds[0].epochs]
