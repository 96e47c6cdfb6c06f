from tests.helpers import REAL, curve_lines, fold_header
from tests.test_hostile_writers import interleave


def test_two_runs_written_at_once(judge):
    """The docstring's example: round5.log and round4.log interleaved line by line at random."""
    text = interleave((REAL / "round5.log").read_text(), (REAL / "round4.log").read_text(), seed=0)
    [finding] = judge(text, "log.interleaved")
    assert finding.status == "warn" and finding.value == 27
    assert finding.message.startswith("27 restart(s) without a banner (lines 377, 398, 410, 418, 427, ...)")
    assert "several processes at once" in finding.message and finding.lines == [377, 398, 410, 418, 427]


def test_one_writer(judge):
    [finding] = judge((REAL / "round5.log").read_text(), "log.interleaved")
    assert finding.status == "pass" and finding.value == 0


def test_a_restart_without_banner_is_allowed_once(judge):
    once = curve_lines(0, [0.1, 0.2, 0.3]) + "\n" + curve_lines(0, [0.1, 0.2]) + "\n"
    [finding] = judge(once, "log.interleaved")
    assert finding.status == "pass" and finding.value == 1
    twice = once + curve_lines(0, [0.1]) + "\n"
    [finding] = judge(twice, "log.interleaved")
    assert finding.status == "warn" and finding.value == 2
    [finding] = judge(twice, "log.interleaved", sets=["log.interleaved.max_restarts=2"])
    assert finding.status == "pass"


def test_a_fold_header_again_after_its_epochs(judge):
    text = "\n".join([fold_header(1), curve_lines(1, [0.1, 0.2]), fold_header(1), curve_lines(1, [0.1]),
                      fold_header(1), curve_lines(1, [0.1])]) + "\n"
    [finding] = judge(text, "log.interleaved")
    assert finding.status == "warn" and finding.value == 2
