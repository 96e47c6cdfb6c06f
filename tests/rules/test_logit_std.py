import pytest

from tests.helpers import activation_block


@pytest.mark.parametrize(("value", "status"), [(0.5, "pass"), (1.5, "pass"), (0.9, "pass"), (0.499, "fail"), (1.501, "fail"), (0.031, "fail")])
def test_range(judge, value, status):
    [finding] = judge(activation_block(logit_std=value), "activation.logit_std")
    assert finding.status == status
    assert finding.value == value
    if status == "fail":
        assert finding.direction in ("below", "above")


def test_missing_when_not_printed(judge):
    [finding] = judge(activation_block(logit_std=None), "activation.logit_std")
    assert finding.status == "missing"


def test_missing_without_activation_block(judge):
    [finding] = judge("nothing here\n", "activation.logit_std")
    assert finding.status == "missing" and finding.fold is None


def test_trainer_tag_disagreement_is_reported(judge):
    [finding] = judge(activation_block(logit_std=0.304), "activation.logit_std")
    assert finding.status == "fail"
    assert finding.trainer_tag.startswith("[OK]")
    assert "the trainer said [OK]" in finding.message


def test_warn_band_and_severity(judge):
    [finding] = judge(activation_block(logit_std=0.45), "activation.logit_std", sets=["activation.logit_std.warn_min=0.4"])
    assert finding.status == "warn"
    [finding] = judge(activation_block(logit_std=0.2), "activation.logit_std", sets=["activation.logit_std.severity=warn"])
    assert finding.status == "warn"


def test_disabled(judge):
    assert judge(activation_block(logit_std=0.2), "activation.logit_std", sets=["activation.logit_std.enabled=false"]) == []
