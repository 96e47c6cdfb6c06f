import pytest

from tests.helpers import activation_block, grad_block


def grads(totals, balances=None):
    balances = balances or [0.5] * len(totals)
    return activation_block() + "".join(grad_block(i, total=t, balance=b) for i, (t, b) in enumerate(zip(totals, balances)))


@pytest.mark.parametrize(("totals", "status"), [([0.5] * 5, "pass"), ([2.0] * 5, "pass"), ([0.9, 1.1, 1.0], "pass"),
                                                ([0.1, 0.2, 0.15], "fail"), ([3.0, 2.5, 2.8], "fail")])
def test_total_norm_median_in_range(judge, totals, status):
    [finding] = judge(grads(totals), "gradient.total_norm")
    assert finding.status == status


def test_total_norm_spike_is_unstable(judge):
    [finding] = judge(grads([1.0, 1.0, 1.0, 1.0, 12.0]), "gradient.total_norm")
    assert finding.status == "fail" and "unstable" in finding.message and finding.direction == "above"


def test_total_norm_missing_without_steps(judge):
    assert judge(activation_block(), "gradient.total_norm")[0].status == "missing"


@pytest.mark.parametrize(("balance", "status", "direction"), [(0.3, "pass", None), (1.0, "pass", None), (0.2, "fail", "below"), (2.7, "fail", "above")])
def test_balance_ratio(judge, balance, status, direction):
    [finding] = judge(grads([1.0] * 3, [balance] * 3), "gradient.balance_ratio")
    assert (finding.status, finding.direction) == (status, direction)
    if balance == 2.7:
        assert "the trainer said [OK]" in finding.message


def test_finite(judge):
    assert judge(grads([1.0, 1.0]), "gradient.finite")[0].status == "pass"
    text = activation_block() + grad_block(0) + grad_block(1, total="nan", balance="nan", flag="NaN/Inf DETECTED")
    [finding] = judge(text, "gradient.finite")
    assert finding.status == "fail" and finding.lines


def test_finite_sees_epoch_losses(judge):
    from tests.helpers import epoch_line

    text = activation_block() + grad_block(0) + "\n" + epoch_line(0, 0, 0.1) + "\n" + epoch_line(0, 1, "nan", "inf")
    [finding] = judge(text, "gradient.finite")
    assert finding.status == "fail" and "epoch 1" in finding.message


def test_finite_missing(judge):
    assert judge("nothing\n", "gradient.finite")[0].status == "missing"
