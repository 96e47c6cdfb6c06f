import pytest

from tests.helpers import activation_block


@pytest.mark.parametrize(("value", "status"), [(0.10, "pass"), (0.15, "pass"), (0.12, "pass"), (0.099, "fail"), (0.151, "fail"), (0.008, "fail")])
def test_range(judge, value, status):
    [finding] = judge(activation_block(pred_std=value), "activation.pred_std")
    assert finding.status == status


def test_missing(judge):
    [finding] = judge(activation_block(pred_std=None), "activation.pred_std")
    assert finding.status == "missing"
