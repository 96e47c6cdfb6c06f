import pytest

from tests.helpers import activation_block


@pytest.mark.parametrize(("ratio", "status"), [(0.8, "pass"), (1.5, "pass"), (1.1, "pass"), (0.79, "fail"), (1.51, "fail"), (2.28, "fail")])
def test_printed_ratio(judge, ratio, status):
    [finding] = judge(activation_block(ratio=ratio), "activation.std_ratio")
    assert finding.status == status and finding.value == ratio


def test_recomputed_from_the_two_stds_when_not_printed(judge):
    [finding] = judge(activation_block(pred_std=0.050, target_std=0.106, ratio=None), "activation.std_ratio")
    assert finding.status == "fail"
    assert finding.value == pytest.approx(0.050 / 0.106)
    assert "recomputed" in finding.message and finding.direction == "below"


def test_missing_without_either(judge):
    [finding] = judge(activation_block(target_std=None, ratio=None), "activation.std_ratio")
    assert finding.status == "missing"
