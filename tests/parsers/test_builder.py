"""Runs and folds: where a new run starts, which fold a block belongs to."""

from percediag.parsers import parse_lines
from percediag.sources import LogSource
from tests.helpers import EXAMPLES, REAL, activation_block, curve_lines, fold_header


def parse(text):
    return parse_lines(LogSource.from_text(text).lines())


def test_two_appended_runs_are_split():
    one = (REAL / "round4.log").read_text()
    two = (REAL / "round5.log").read_text()
    log = parse(one + two)
    assert len(log.runs) == 2
    assert log.runs[0].config.round == 4 and log.runs[1].config.round == 5
    # A run starts at its training configuration block.
    config_line = next(i for i, line in enumerate(two.splitlines(), 1) if "TRAINING CONFIGURATION" in line)
    assert log.runs[1].line == len(one.splitlines()) + config_line
    assert log.runs[0].end_line == log.runs[1].line - 1


def test_fold_numbering_restarting_starts_a_new_run():
    text = fold_header(1) + "\n" + curve_lines(1, [0.1, 0.2]) + "\n" + fold_header(1) + "\n" + curve_lines(1, [0.0])
    log = parse(text)
    assert len(log.runs) == 2


def test_epochs_restarting_within_a_fold_start_a_new_run():
    text = curve_lines(0, [0.1, 0.2, 0.3]) + "\n" + curve_lines(0, [0.05])
    log = parse(text)
    assert len(log.runs) == 2
    assert any("new run" in w.message for w in log.warnings)


def test_blocks_without_headers_form_one_fold():
    text = activation_block() + curve_lines(0, [0.1, 0.2])
    run = parse(text).runs[0]
    assert len(run.folds) == 1 and run.folds[0].fold == 0 and run.folds[0].activation is not None


def test_empty_input_gives_one_empty_run():
    log = parse("")
    assert len(log.runs) == 1 and not log.runs[0].has_training_data()


def test_every_example_parses_without_warnings_except_the_seed_dialect():
    for path in sorted(EXAMPLES.glob("*.log")):
        log = parse(path.read_text())
        if path.name == "seed-dialect.log":
            assert len(log.warnings) == 1
        else:
            assert log.warnings == [], path.name
