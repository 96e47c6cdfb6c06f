import math

from percediag.parsers.gradient_stats import MEDIAN_RESERVOIR, RunningSeries
from tests.helpers import REAL, grad_block, parse_text


def test_gradient_step_every_field():
    run = parse_text(grad_block(0, total=1.284, balance=0.3) + "\n")
    grads = run.folds[0].gradients
    step = grads.sample[0]
    assert (step.step, step.total, step.loss) == (0, 1.284, 0.015321)
    assert (step.han, step.contractor, step.attn, step.head) == (0.412, 0.803, 0.0311, 0.377)
    assert (step.context_vectors, step.context_flag) == (0.0003, "OK: learning")
    assert (step.balance, step.balance_flag) == (0.3, "OK")
    assert grads.steps == 1 and grads.total.median == 1.284


def test_nan_inf_and_flags_parse_as_floats():
    text = grad_block(0, total="nan", balance="inf", flag="NaN/Inf DETECTED", loss="+nan") + grad_block(1, total="-inf")
    grads = parse_text(text).folds[0].gradients
    assert grads.total.nonfinite == 2 and grads.loss.nonfinite == 1
    assert grads.flags == {"NaN/Inf DETECTED": 1, "OK": 1}
    assert len(grads.nonfinite_lines) == 2
    assert math.isnan(grads.sample[0].total)


def test_context_line_is_optional_and_not_learning_counted():
    text = grad_block(0, context=None) + grad_block(1, context="0.000000 [WARN: not learning!]")
    grads = parse_text(text).folds[0].gradients
    assert grads.context_not_learning == 1
    assert grads.context_unresolved == {"WARN: not learning!": 1}
    assert grads.context_resolution == 5e-7


def test_imbalanced_flag():
    grads = parse_text(grad_block(0, balance=14.2, flag="IMBALANCED - head doing all work")).folds[0].gradients
    assert grads.flags == {"IMBALANCED - head doing all work": 1}


def test_running_series_is_bounded_and_exact_for_mean():
    series = RunningSeries()
    for i in range(10_000):
        series.add(float(i), i)
    model = series.to_model()
    assert model.count == 10_000 and model.mean == 4999.5 and model.min == 0 and model.max == 9999
    assert len(series.values) < MEDIAN_RESERVOIR
    assert abs(model.median - 4999.5) < 100


def test_real_log_gradients_per_fold():
    from percediag.pipeline import parse

    folds = parse(REAL / "round6.log").runs[0].folds
    assert [f.gradients.steps for f in folds] == [5, 5, 5, 5]
    assert folds[0].gradients.balance.median == 2.5  # 2.7, 2.3, 2.5, 2.6, 2.4
