from percediag.parsers.activation import parse_head, tag_subject
from tests.helpers import REAL, activation_block, parse_text


def test_trainer_dialect_every_line():
    run = parse_text(activation_block(logit_std=0.203, pred_std=0.050, ratio=0.47, collapsed=5))
    act = run.folds[0].activation
    assert act.batch == 0
    assert act.param_count == 13_758_227
    assert act.prediction_head == [[512, 128], [128, 19]]
    assert act.learning_rate == 5e-5
    assert (act.target_mean, act.target_std) == (0.553, 0.106)
    assert (act.pred_mean, act.pred_std, act.pred_min, act.pred_max) == (0.497, 0.05, 0.3, 0.7)
    assert (act.logit_mean, act.logit_std) == (-0.012, 0.203)
    assert act.std_ratio == 0.47
    assert (act.collapsed_dims, act.total_dims, act.collapse_threshold) == (5, 19, 0.03)
    assert act.context_vectors is True
    assert act.dialect == "trainer"
    assert {t.subject for t in act.tags} >= {"prediction_head", "logit_std", "std_ratio", "collapsed_dims", "context_vectors"}
    assert act.lines["logit_std"] == act.line + 8


def test_seed_dialect_with_placeholder_and_ranges():
    text = """
============================================================
  ACTIVATION CHECK - Batch 0
============================================================
  Model parameters: ~X,XXX,XXX (should be reduced from Round 4)
  Prediction head: 512->128, 128->19
    [OK] Prediction head architecture correct (Round 5)
  Learning rate: 5.00e-05
  Targets:     mean=0.55, std=0.106
  Predictions: mean=0.50, std=0.10-0.15, range=[0.1, 0.9]
  Logits:      mean=0.0, std=0.6

  Health Check:
    [OK] Logits std in good range (0.5-1.5)
    [OK] Prediction std in good range (0.10-0.15)
    [OK] Pred/target std ratio (0.8-1.5x)
    [OK] All 19 dimensions have healthy variance
    [OK] Context vectors present
============================================================
"""
    from percediag.parsers import parse_lines
    from percediag.sources import LogSource

    log = parse_lines(LogSource.from_text(text).lines())
    act = log.runs[0].folds[0].activation
    assert act.dialect == "seed"
    assert act.param_count is None  # placeholder is "not reported"
    assert act.pred_std is None  # a range is not a measurement
    assert act.logit_std == 0.6
    assert act.collapsed_dims == 0
    assert any("placeholder" in w.message for w in log.warnings)


def test_older_trainer_without_ratio_collapse_and_logits():
    run = parse_text(activation_block(params=None, head=None, lr=None, logit_std=None, collapsed=None, context=None))
    act = run.folds[0].activation
    assert act.logit_std is None and act.std_ratio is None and act.collapsed_dims is None
    assert act.prediction_head is None and act.param_count is None
    assert act.pred_std == 0.12


def test_no_context_vectors_and_collapse_tags():
    text = activation_block(context=False).replace(
        "    [OK] Logits std=0.600 in good range", "    [FAIL] Prediction collapse! std=0.031 (target: 0.10-0.15)")
    act = parse_text(text).folds[0].activation
    assert act.context_vectors is False
    assert any(t.tag == "FAIL" and t.subject == "pred_std" for t in act.tags)


def test_round6_head_tag_and_overshoot_message():
    text = activation_block(head="512->512, 512->19").replace(
        "[OK] Prediction head architecture correct (Round 5)", "[WARN] Prediction head using 128 hidden (should be 512!)")
    text = text.replace("    [OK] Logits std=0.600 in good range",
                        "    [WARN] Pred/target std ratio=2.28x too high - overshoot! (target: 0.8-1.5x)")
    act = parse_text(text).folds[0].activation
    assert act.prediction_head == [[512, 512], [512, 19]]
    assert act.std_ratio == 2.28
    assert [t.tag for t in act.tags if t.subject == "prediction_head"] == ["WARN"]


def test_truncated_block_keeps_what_it_has_and_warns():
    text = "\n".join(activation_block().splitlines()[:8])
    from percediag.parsers import parse_lines
    from percediag.sources import LogSource

    log = parse_lines(LogSource.from_text(text).lines())
    act = log.runs[0].folds[0].activation
    assert act.learning_rate == 5e-5
    assert any("truncated" in w.message for w in log.warnings)


def test_parse_head_forms():
    assert parse_head("512->128, 128->19") == [[512, 128], [128, 19]]
    assert parse_head("512->512->19") == [[512, 512], [512, 19]]
    assert parse_head("Linear(512, 128)") is None


def test_tag_subjects():
    assert tag_subject("Logits std=0.2 too small") == "logit_std"
    assert tag_subject("Predictions under-spread: std=0.05") == "pred_std"
    assert tag_subject("Pred/target std ratio=0.45x too low") == "std_ratio"
    assert tag_subject("5/19 dimensions collapsed") == "collapsed_dims"
    assert tag_subject("No context vectors found") == "context_vectors"


def test_real_round5_log_activation_values():
    from percediag.pipeline import parse

    log = parse(REAL / "round5.log")
    first = log.runs[0].folds[0].activation
    assert (first.logit_std, first.pred_std, first.target_std, first.std_ratio, first.collapsed_dims) == (0.22, 0.054, 0.12, 0.45, 3)
    assert first.line == 145
    assert "ACTIVATION CHECK" in (REAL / "round5.log").read_text().splitlines()[144]
