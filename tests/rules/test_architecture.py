from tests.helpers import activation_block, fold_header


def test_prediction_head_per_profile(judge):
    text = activation_block(head="512->512, 512->19")
    [finding] = judge(text, "architecture.prediction_head")
    assert finding.status == "fail" and "expected 512->128, 128->19" in finding.message
    assert "the trainer said [OK]" in finding.message
    [finding] = judge(text, "architecture.prediction_head", profile="round6")
    assert finding.status == "pass"


def test_prediction_head_missing_before_round5(judge):
    [finding] = judge(activation_block(head=None), "architecture.prediction_head")
    assert finding.status == "missing"


def test_prediction_head_folds_disagree(judge):
    text = activation_block() + fold_header(1) + activation_block(head="512->512, 512->19")
    [finding] = judge(text, "architecture.prediction_head")
    assert finding.status == "fail" and "different heads" in finding.message


def test_param_count_delta_against_previous_round(judge):
    assert judge(activation_block(params="13,758,227"), "architecture.param_count")[0].status == "pass"  # -204,288
    assert judge(activation_block(params="13,962,515"), "architecture.param_count")[0].status == "fail"  # unchanged
    # the edge of the tolerance: -200,000 +/- 25,000
    assert judge(activation_block(params=f"{13_962_515 - 225_000:,}"), "architecture.param_count")[0].status == "pass"
    assert judge(activation_block(params=f"{13_962_515 - 225_001:,}"), "architecture.param_count")[0].status == "fail"


def test_param_count_from_fold_header_and_placeholder(judge):
    text = fold_header(0, params="13,962,515") + activation_block(params=None, head=None)
    [finding] = judge(text, "architecture.param_count", profile="round4")
    assert finding.status == "pass"
    [finding] = judge(activation_block(params="~X,XXX,XXX"), "architecture.param_count")
    assert finding.status == "missing"


def test_param_count_round6(judge):
    assert judge(activation_block(params="13,957,395"), "architecture.param_count", profile="round6")[0].status == "pass"


def test_learning_rate(judge):
    assert judge(activation_block(lr="5.00e-05"), "architecture.learning_rate")[0].status == "pass"
    assert judge(activation_block(lr="2.50e-05"), "architecture.learning_rate")[0].status == "fail"
    assert judge(activation_block(lr="2.50e-05"), "architecture.learning_rate", profile="round6")[0].status == "pass"
    assert judge(activation_block(lr=None), "architecture.learning_rate")[0].status == "missing"
