import pytest

from tests.helpers import curve_lines


def milestone(judge, values, rule):
    return judge(curve_lines(0, values), rule)


@pytest.mark.parametrize(("r2", "status"), [(0.001, "pass"), (0.0, "fail"), (-0.081, "fail")])
def test_epoch_5_is_the_line_printed_as_epoch_4(judge, r2, status):
    values = [-0.2, -0.1, -0.05, -0.02, r2, 0.5]
    [finding] = milestone(judge, values, "progression.epoch_5")
    assert finding.status == status and finding.value == r2


@pytest.mark.parametrize(("r2", "status"), [(0.0501, "pass"), (0.05, "fail")])
def test_epoch_10(judge, r2, status):
    [finding] = milestone(judge, [0.0] * 9 + [r2], "progression.epoch_10")
    assert finding.status == status


def test_epoch_20_not_reached_is_missing(judge):
    [finding] = milestone(judge, [0.1] * 10, "progression.epoch_20")
    assert finding.status == "missing" and "Epoch 9" in finding.message


def test_user_milestone_table(judge):
    findings = judge(curve_lines(0, [0.1] * 40), "progression.epoch", sets=["progression.milestones.40=0.2"])
    assert {f.rule for f in findings} == {"progression.epoch_5", "progression.epoch_10", "progression.epoch_20", "progression.epoch_40"}
    assert next(f for f in findings if f.rule == "progression.epoch_40").status == "fail"


def test_convergence_needs_a_finished_fold(judge):
    unfinished = curve_lines(0, [0.1, 0.35])
    [finding] = judge(unfinished, "progression.convergence")
    assert finding.status == "missing"
    finished = unfinished + "\n`Trainer.fit` stopped: `max_epochs=2` reached.\n"
    [finding] = judge(finished, "progression.convergence")
    assert finding.status == "pass" and finding.value == 0.35
    [finding] = judge(curve_lines(0, [0.1, 0.2999]) + "\n`Trainer.fit` stopped: `max_epochs=2` reached.\n", "progression.convergence")
    assert finding.status == "fail"


def test_convergence_uses_the_cv_mean(judge):
    from tests.helpers import REAL

    findings = judge((REAL / "round5.log").read_text(), "progression.convergence")
    run_level = [f for f in findings if f.fold is None]
    assert run_level[0].value == 0.2584 and run_level[0].status == "fail"
    assert [f.status for f in findings if f.fold == 2] == ["pass"]  # 0.337
