from tests.helpers import activation_block, grad_block


def test_activation_present_absent_missing(judge):
    assert judge(activation_block(context=True), "activation.context_vectors")[0].status == "pass"
    assert judge(activation_block(context=False), "activation.context_vectors")[0].status == "fail"
    assert judge(activation_block(context=None), "activation.context_vectors")[0].status == "missing"


def test_gradient_learning_threshold(judge):
    text = activation_block() + grad_block(0, context="0.0003 [OK: learning]")
    assert judge(text, "gradient.context_vectors")[0].status == "pass"
    text = activation_block() + grad_block(0, context="1.0e-06 [OK: learning]")
    assert judge(text, "gradient.context_vectors")[0].status == "pass"
    text = activation_block() + grad_block(0, context="9.0e-07 [WARN: not learning!]")
    assert judge(text, "gradient.context_vectors")[0].status == "fail"


def test_zero_at_fine_resolution_fails(judge):
    text = activation_block() + grad_block(0, context="0.000000 [WARN: not learning!]")
    [finding] = judge(text, "gradient.context_vectors")
    assert finding.status == "fail" and "resolution 5e-07" in finding.message


def test_zero_at_coarse_resolution_uses_the_trainer_flag(judge):
    ok = activation_block() + grad_block(0, context="0.0000 [OK: learning]")
    assert judge(ok, "gradient.context_vectors")[0].status == "pass"
    bad = activation_block() + grad_block(0, context="0.0000 [WARN: not learning!]")
    assert judge(bad, "gradient.context_vectors")[0].status == "fail"
    unflagged = activation_block() + grad_block(0, context="0.0000")
    assert judge(unflagged, "gradient.context_vectors")[0].status == "missing"


def test_missing_without_context_line(judge):
    text = activation_block() + grad_block(0, context=None)
    assert judge(text, "gradient.context_vectors")[0].status == "missing"
