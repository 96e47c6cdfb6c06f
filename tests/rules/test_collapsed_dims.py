import pytest

from tests.helpers import activation_block


@pytest.mark.parametrize(("count", "status"), [(0, "pass"), (1, "fail"), (19, "fail")])
def test_count(judge, count, status):
    [finding] = judge(activation_block(collapsed=count), "activation.collapsed_dims")
    assert finding.status == status and finding.value == count


def test_a_softer_maximum(judge):
    [finding] = judge(activation_block(collapsed=2), "activation.collapsed_dims", sets=["activation.collapsed_dims.max=2"])
    assert finding.status == "pass"


def test_missing_for_older_trainers(judge):
    [finding] = judge(activation_block(collapsed=None), "activation.collapsed_dims")
    assert finding.status == "missing"
