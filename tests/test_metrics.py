"""Derived facts (percediag.metrics) on the replica's real logs, each checked against the log text
itself (read here with plain regexes, not through the parsers' records), and the rule that compare
and diagnose take these facts from metrics rather than from rule modules."""

from __future__ import annotations

import ast
import math
import re
from pathlib import Path

import pytest

from percediag import metrics
from tests.helpers import REAL, parse_text

EPOCH = re.compile(r"\[Fold (\d+)\] Epoch\s+(\d+) \|.*?val_r2: (\S+) \|")
PACKAGE = Path(__file__).resolve().parents[1] / "src" / "percediag"


def _epoch_lines(text: str) -> dict[int, list[tuple[int, int, float]]]:
    """fold -> [(epoch, line, val_r2)] in log order, read from the text."""
    found: dict[int, list[tuple[int, int, float]]] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if match := EPOCH.search(line):
            found.setdefault(int(match.group(1)), []).append((int(match.group(2)), number, float(match.group(3))))
    return found


def _cut_before(text: str, marker: str) -> str:
    """The log as saved before `marker`'s line (a run still training)."""
    lines = text.splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if marker in line)
    return "".join(lines[:index])


@pytest.mark.parametrize("name", ["round4.log", "round5.log", "round6.log", "round9-ckpt-glob-fix.log"])
def test_best_r2_of_each_fold_is_its_highest_epoch_line(name):
    text = (REAL / name).read_text()
    epochs = _epoch_lines(text)
    run = parse_text(text)
    assert {f.fold for f in run.folds if f.epochs} == set(epochs)
    for fold in run.folds:
        if fold.fold not in epochs:
            continue
        epoch, line, value = max(epochs[fold.fold], key=lambda e: (e[2], -e[1]))
        assert metrics.fold_best_r2(fold) == (value, line)
        assert metrics.epochs_at(fold, line) == epoch + 1
        assert metrics.best_epoch(fold).line == line


def test_an_impossible_r2_is_never_a_best():
    """inf or an R2 above 1 is a broken metric: the best is the highest possible value, and a fold whose
    every R2 is broken has best nan at its first epoch line (which no threshold passes)."""
    text = (REAL / "round5.log").read_text()
    epochs = _epoch_lines(text)
    lines = text.splitlines(keepends=True)
    fold1 = sorted(epochs[1], key=lambda e: -e[2])
    for (_, line, _), broken in zip(fold1[:2], ("inf", "1.7310")):
        lines[line - 1] = re.sub(r"val_r2: \S+", f"val_r2: {broken}", lines[line - 1])
    for _, line, _ in epochs[2]:
        lines[line - 1] = re.sub(r"val_r2: \S+", "val_r2: nan", lines[line - 1])
    run = parse_text("".join(lines))
    third = fold1[2]
    assert metrics.fold_best_r2(metrics.fold_by_id(run, 1)) == (third[2], third[1])
    value, line = metrics.fold_best_r2(metrics.fold_by_id(run, 2))
    assert math.isnan(value) and line == epochs[2][0][1]
    # The aggregate's mean still stands for the run.
    assert metrics.best_r2_evidence(run).what == "cross-validation mean"


def test_run_best_r2_against_the_baselines_evidence_on_a_run_still_training():
    """Saved during fold 3's seventh epoch: folds 1 and 2 finished, fold 3 did not. The baselines judge
    the finished folds only; the history compares rounds on every fold's best epoch."""
    text = _cut_before((REAL / "round5.log").read_text(), "[Fold 3] Epoch   6 |")
    epochs = _epoch_lines(text)
    run = parse_text(text)
    assert metrics.cv_mean_r2(run) is None
    best = {fold: max(rows, key=lambda e: (e[2], -e[1])) for fold, rows in epochs.items()}
    finished = [best[1], best[2]]
    evidence = metrics.best_r2_evidence(run)
    assert evidence.what == "mean best R2 of 2 finished fold(s)"
    assert evidence.value == pytest.approx(sum(e[2] for e in finished) / 2)
    assert evidence.lines == [e[1] for e in finished]
    history = metrics.run_best_r2(run)
    assert history.how == "mean of 3 folds' best epochs" and history.line is None
    assert history.value == pytest.approx(sum(e[2] for e in best.values()) / 3)
    assert history.value != pytest.approx(evidence.value)


def test_the_cross_validation_mean_is_the_run_best_when_printed():
    text = (REAL / "round5.log").read_text()
    run = parse_text(text)
    r2_line = next(n for n, line in enumerate(text.splitlines(), 1)
                   if line.strip().startswith("R2:") and n > run.aggregate.line)
    assert metrics.cv_mean_r2(run) == (0.2584, r2_line)
    assert metrics.best_r2_evidence(run) == (0.2584, [r2_line], "cross-validation mean")
    best = metrics.run_best_r2(run)
    assert (best.value, best.how, best.line) == (0.2584, "cross-validation mean", run.aggregate.line)


@pytest.mark.parametrize("epochs_done", [1, 5, 10, 20, 40])
def test_r2_after_n_epochs_is_the_line_of_epoch_n_minus_1(epochs_done):
    text = (REAL / "round5.log").read_text()
    epochs = _epoch_lines(text)
    run = parse_text(text)
    for fold in run.folds:
        want = next(((line, value) for epoch, line, value in epochs[fold.fold] if epoch == epochs_done - 1), None)
        hit = metrics.epoch_after(fold, epochs_done)
        scored = metrics.r2_after(run, fold.fold, epochs_done)
        if want is None:
            assert hit is None and scored is None
        else:
            assert (hit.line, hit.val_r2) == want and (scored.line, scored.val_r2) == want


def test_r2_after_looks_in_every_fold_of_a_repeated_id():
    """Fold 1's epochs from the fourth on printed after fold 2 finished (resumed from a checkpoint):
    a second fold numbered 1, which the lookup by fold id searches too."""
    text = (REAL / "round5.log").read_text()
    epochs = _epoch_lines(text)
    lines = text.splitlines(keepends=True)
    moved = {line for epoch, line, _ in epochs[1] if epoch >= 3}
    resumed = [lines[number - 1] for number in sorted(moved)]
    kept = [line for number, line in enumerate(lines, 1) if number not in moved]
    at = next(i for i, line in enumerate(kept) if line.startswith("FOLD 3/3"))
    run = parse_text("".join(kept[:at] + resumed + kept[at:]))
    ones = [f for f in run.folds if f.fold == 1]
    assert [[e.epoch for e in f.epochs] for f in ones] == [[0, 1, 2], [e for e, _, _ in epochs[1][3:]]]
    assert metrics.epoch_after(ones[0], 5) is None and metrics.fold_by_id(run, 1) is ones[0]
    hit = metrics.r2_after(run, 1, 5)
    assert hit is ones[1].epochs[1] and hit.val_r2 == epochs[1][4][2]


def test_parameter_count_from_every_line_that_prints_it():
    text = (REAL / "round5.log").read_text()
    printed = [n for n, line in enumerate(text.splitlines(), 1) if "Model parameters: 13,758,227" in line]
    run = parse_text(text)
    assert sorted(line for _, line in metrics.param_counts(run)) == printed
    assert metrics.param_count(run) == (13_758_227, printed)
    # One fold prints another count: no single count to judge or compare.
    changed = text.replace("Model parameters: 13,758,227", "Model parameters: 13,962,515", 1)
    run = parse_text(changed)
    assert {count for count, _ in metrics.param_counts(run)} == {13_758_227, 13_962_515}
    assert metrics.param_count(run) is None


def test_learning_rate_sources_in_order():
    text = (REAL / "round6.log").read_text()
    numbered = list(enumerate(text.splitlines(), 1))
    config_line = next(n for n, line in numbered if line.strip() == "learning_rate: 2.5e-05")
    assert metrics.learning_rate(parse_text(text)) == (2.5e-05, config_line, "training configuration")
    # Without the configuration's line: the activation check's.
    no_config = text.replace("  learning_rate: 2.5e-05\n", "")
    check_line = next(n for n, line in enumerate(no_config.splitlines(), 1) if re.match(r"\s+Learning rate: \d", line))
    assert metrics.learning_rate(parse_text(no_config)) == (2.5e-05, check_line, "activation check")
    # Without either: the first epoch line's lr.
    no_check = re.sub(r"(?m)^\s+Learning rate: \d.*\n", "", no_config)
    first_epoch = next(n for n, line in enumerate(no_check.splitlines(), 1) if EPOCH.search(line))
    found = metrics.learning_rate(parse_text(no_check))
    assert (found.line, found.where) == (first_epoch, "first epoch line") and found.value == pytest.approx(2.5e-05)


def test_prediction_heads_and_the_model_that_ran():
    text = (REAL / "round5.log").read_text()
    printed = [n for n, line in enumerate(text.splitlines(), 1) if "Prediction head: 512->128, 128->19" in line]
    run = parse_text(text)
    assert metrics.printed_heads(run) == [("512->128, 128->19", n) for n in printed]
    assert metrics.model_name(run) == "han"
    assert metrics.head_text([[512, 512], [512, 19]]) == "512->512, 512->19"
    incremental = parse_text((REAL / "round13.log").read_text())
    assert metrics.model_name(incremental) == "baseline_beat" and metrics.printed_heads(incremental) == []


def test_std_ratio_printed_else_recomputed_from_the_two_stds():
    text = (REAL / "round5.log").read_text()
    numbered = list(enumerate(text.splitlines(), 1))
    run = parse_text(text)
    check = metrics.fold_by_id(run, 1).activation
    ratio_line = next(n for n, line in numbered if "Pred/target std ratio=0.45x" in line)
    assert metrics.std_ratio(check) == (0.45, [ratio_line], False)
    without = re.sub(r"(?m)^.*Pred/target std ratio=.*\n", "", text)
    numbered = list(enumerate(without.splitlines(), 1))
    targets = next(n for n, line in numbered if "Targets:     mean=0.547, std=0.120" in line)
    predictions = next(n for n, line in numbered if "Predictions: mean=0.504, std=0.054" in line)
    check = metrics.fold_by_id(parse_text(without), 1).activation
    value, lines, recomputed = metrics.std_ratio(check)
    assert recomputed and lines == [targets, predictions] and value == pytest.approx(0.054 / 0.120)


def _imports(path: Path) -> set[str]:
    """Every module `path` imports; `from percediag.rules import registry` counts as percediag.rules.registry."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.update(f"{node.module}.{alias.name}" if (PACKAGE.parent / node.module.replace(".", "/")).is_dir()
                         else node.module for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize("package", ["compare", "diagnose"])
def test_compare_and_diagnose_take_derived_facts_from_metrics_not_from_rules(package):
    """The rule catalogue (rules.registry) is theirs to read; a rule module's helpers are not."""
    allowed = {"percediag.rules.registry"}
    reaching = {path.name: sorted(m for m in _imports(path) if m.startswith("percediag.rules") and m not in allowed)
                for path in sorted((PACKAGE / package).glob("*.py"))}
    assert {name: found for name, found in reaching.items() if found} == {}


def test_an_impossible_r2_is_no_best_anywhere(tmp_path):
    """An R2 of +1.5 is a broken metric (log.impossible_values), not the best R2: not in watch's
    fold_end event, not on the HTML plot's best marker, not in the share of dimensions."""
    import json
    import subprocess
    import sys

    text = (PACKAGE.parents[1] / "examples" / "logs" / "nan-gradients.log").read_text(encoding="utf-8")
    broken = "val_r2: +1.5000 | lr: 5.00e-05 | time: 28.9s *best*"
    text = text.replace("val_r2: -0.0125 | lr: 5.00e-05 | time: 28.9s *best*", broken, 1)
    assert broken in text
    log = tmp_path / "r2-above-one.log"
    log.write_text(text, encoding="utf-8")
    command = [sys.executable, "-m", "percediag"]
    watched = subprocess.run([*command, "watch", str(log), "--idle-exit", "0.3", "-f", "jsonl", "--fail-on", "never"],
                             capture_output=True, text=True, timeout=120)
    ends = [json.loads(line) for line in watched.stdout.splitlines() if '"fold_end"' in line]
    assert ends and all(event["best_r2"] is None or event["best_r2"] <= 1 for event in ends), ends
    html = subprocess.run([*command, "check", str(log), "-f", "html", "--fail-on", "never", "--isolated"],
                          capture_output=True, text=True, timeout=120)
    assert html.returncode == 0, html.stderr
    assert "best R2 +1.5000" not in html.stdout
    run = parse_text(text)
    assert all(metrics.best_epoch(fold) is None or metrics.best_epoch(fold).val_r2 <= 1 for fold in run.folds)
