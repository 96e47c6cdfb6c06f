"""TensorBoard event files and Lightning metrics.csv as input, alone and joined with the stdout log.

On the genuine files of the replica's trainer (tests/fixtures/tensorboard, copied from
../shared/real-logs/tensorboard: see its README for what was run).
"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from percediag.events.reader import read_event_file
from percediag.events.tree import read_scalars
from percediag.parsers.scalars import scalar_log
from percediag.pipeline import parse_source, with_events
from percediag.sources import LogSource
from tests.helpers import run_cli

TB = Path(__file__).resolve().parent / "fixtures" / "tensorboard"
R5 = TB / "round5"
FOLD1 = next((R5 / "fold_1" / "version_0").glob("events.out.tfevents.*"))
FOLD0 = next((R5 / "fold_0" / "version_0").glob("events.out.tfevents.*"))
NEW_RULES = {"progression.learned_std", "progression.dims_never_learn", "progression.dims_share", "log.sources_agree"}


def _json(args: list[str]) -> dict:
    code, out, err = run_cli([*args, "-f", "json", "--isolated"])
    assert code in (0, 1), err
    return json.loads(out)


def _copy(tmp_path: Path, name: str = "round5") -> Path:
    target = tmp_path / name
    shutil.copytree(TB / name, target)
    return target


def test_reader_reads_every_scalar_of_the_genuine_file():
    data = read_event_file(str(FOLD1))
    r2 = data.series["val/mean_r2"]
    # The README's sample values: fold 1, steps 3, 7, ..., 31.
    assert r2.steps == [3, 7, 11, 15, 19, 23, 27, 31]
    assert [round(v, 4) for v in r2.values] == [-1.3787, -1.0487, -0.8699, -0.8459, -1.0087, -1.1663, -1.0498, -0.9103]
    assert [round(v, 6) for v in data.series["train/loss"].values] == [0.006444, 0.008558, 0.004928]
    assert len([t for t in data.series if t.startswith("val/r2_")]) == 19
    assert data.epoch_of(11) == 2 and data.epoch_of(31) == 7
    assert "_hparams_/session_end_info" in data.markers and data.stopped is None
    assert data.records == 227 and data.first_wall is not None


def test_event_folder_alone_is_one_run_with_a_fold_per_folder():
    log = scalar_log(read_scalars(R5), str(R5))
    run = log.runs[0]
    # fold_1 was trained first (its writer started earlier), as in the stdout.
    assert [f.fold for f in run.folds] == [1, 0]
    fold1 = run.folds[0]
    assert [e.epoch for e in fold1.epochs] == list(range(8))
    assert round(fold1.epochs[-1].pred_std, 4) == 0.0606 and len(fold1.epochs[0].dim_r2) == 19
    assert fold1.finished  # the event file records the session's end
    ref = log.event_refs[fold1.epochs[3].line]
    assert ref.step == 15 and ref.file.endswith(FOLD1.name)


def test_check_an_event_folder_cites_file_and_step(monkeypatch):
    monkeypatch.chdir(R5)
    code, out, _ = run_cli(["check", ".", "--isolated", "--fail-on", "never"])
    assert code == 0
    assert "run 1 of 1 (2 event folder(s))" in out
    assert f"fold_1/version_0/{FOLD1.name}:step " in out
    report = _json(["check", "."])
    assert report["event_refs"] and all(int(k) < 0 for k in report["event_refs"])
    cited = {f["rule"] for f in report["findings"] if f["lines"] and f["lines"][0] < 0}
    assert {"progression.epoch_5", "progression.learned_std"} <= cited


def test_merged_with_stdout_all_values_agree_and_add_the_learned_evidence():
    report = _json(["check", str(R5 / "stdout.log"), "--events", str(R5)])
    by_rule: dict[str, list[dict]] = {}
    for finding in report["findings"]:
        by_rule.setdefault(finding["rule"], []).append(finding)
    agree = by_rule["log.sources_agree"]
    assert [(f["fold"], f["status"]) for f in agree] == [(1, "pass"), (0, "pass")]
    assert all(f["message"] == "8 epoch(s) in both agree" for f in agree)
    learned = {f["fold"]: (f["status"], round(f["value"], 4)) for f in by_rule["progression.learned_std"]}
    assert learned == {1: ("pass", 0.0606), 0: ("pass", 0.0513)}
    # The first batch looked collapsed (0.054, 0.061 < 0.10); the learned std says where training went.
    assert "was where training started, not a collapse" in by_rule["progression.learned_std"][0]["message"]
    never = by_rule["progression.dims_never_learn"]
    assert [f["status"] for f in never] == ["warn", "warn"] and never[0]["value"] == 11
    # Printed epochs keep citing their stdout line; the event evidence cites file and step.
    assert by_rule["progression.epoch_5"][0]["lines"][0] > 0
    assert report["locations"][str(never[0]["lines"][0])].endswith(":step 3")
    assert "learned predictions" in json.dumps(report["causes"]) or "per-dimension R2" in json.dumps(report["causes"])


def test_text_log_alone_keeps_its_report():
    report = _json(["check", str(R5 / "stdout.log")])
    assert not NEW_RULES & {f["rule"] for f in report["findings"]}
    assert report["event_refs"] == {} and report["records"]["event_sources"] == []


def test_a_changed_value_and_a_lost_middle_are_findings(tmp_path):
    folder = _copy(tmp_path)
    lines = (folder / "stdout.log").read_text().splitlines(keepends=True)
    changed = [i for i, line in enumerate(lines) if "[Fold 1] Epoch   4 |" in line]
    lost = [i for i, line in enumerate(lines) if "[Fold 0] Epoch   2 |" in line]
    lines[changed[0]] = lines[changed[0]].replace("val_r2: -1.0087", "val_r2: -0.9087")
    del lines[lost[0]]
    (folder / "stdout.log").write_text("".join(lines))
    report = _json(["check", str(folder / "stdout.log"), "--events", str(folder)])
    agree = {f["fold"]: f for f in report["findings"] if f["rule"] == "log.sources_agree"}
    assert agree[1]["status"] == "warn" and "epoch 4 R2 -0.9087 in the log, -1.0087 in the event file" in agree[1]["message"]
    assert agree[1]["lines"][0] == changed[0] + 1 and agree[1]["lines"][1] < 0
    assert agree[0]["status"] == "warn" and "fold 0 epoch 2 is in the event file but not in the log" in agree[0]["message"]
    # The hole is filled from the event file: the curve has all 8 epochs.
    fold0 = next(f for f in report["records"]["folds"] if f["fold"] == 0)
    assert [e["epoch"] for e in fold0["epochs"]] == list(range(8)) and fold0["epochs"][2]["source"] == "events"


def test_a_log_cut_short_is_completed_by_the_event_files(tmp_path):
    folder = _copy(tmp_path)
    text = (folder / "stdout.log").read_text()
    cut = text.index("  [Fold 1] Epoch   4 |")
    (folder / "stdout.log").write_text(text[:cut])
    alone = _json(["check", str(folder / "stdout.log")])
    assert [f["status"] for f in alone["findings"] if f["rule"] == "run.complete"] == ["warn"]
    report = _json(["check", str(folder / "stdout.log"), "--events", str(folder)])
    folds = {f["fold"]: f for f in report["records"]["folds"]}
    assert [e["epoch"] for e in folds[1]["epochs"]] == list(range(8))
    assert [e["source"] for e in folds[1]["epochs"]][3:5] == ["both", "events"]
    assert 0 in folds and len(folds[0]["epochs"]) == 8
    assert all(f["status"] == "pass" for f in report["findings"] if f["rule"] == "log.sources_agree")
    assert any("epoch(s) after the log's last one taken from" in note for note in report["notes"])
    assert [f["status"] for f in report["findings"] if f["rule"] == "run.complete"] == ["pass"]


def test_metrics_csv_reads_as_the_event_file_does():
    csv_log = scalar_log(read_scalars(TB / "round5-csv" / "fold_1" / "version_0" / "metrics.csv"), "csv")
    tb_log = scalar_log(read_scalars(FOLD1), "tb")
    csv_epochs, tb_epochs = csv_log.runs[0].folds[0].epochs, tb_log.runs[0].folds[0].epochs
    assert csv_log.runs[0].folds[0].fold == 1
    assert [(e.epoch, round(e.val_r2, 5), round(e.val_loss, 6)) for e in csv_epochs] == \
           [(e.epoch, round(e.val_r2, 5), round(e.val_loss, 6)) for e in tb_epochs]
    assert [e.train_loss is not None for e in csv_epochs] == [e.train_loss is not None for e in tb_epochs]
    report = _json(["check", str(TB / "round5-csv" / "stdout.log"), "--events", str(TB / "round5-csv")])
    assert [f["status"] for f in report["findings"] if f["rule"] == "log.sources_agree"] == ["pass"]
    assert any(loc.startswith(str(TB / "round5-csv")) and "metrics.csv:step" in loc for loc in report["locations"].values())


def test_round9_learned_std_never_spreads():
    report = _json(["check", str(TB / "round9" / "stdout.log"), "--events", str(TB / "round9")])
    learned = [f for f in report["findings"] if f["rule"] == "progression.learned_std"]
    assert len(learned) == 1 and learned[0]["status"] == "fail" and learned[0]["direction"] == "below"
    assert "0.0095 at epoch 7" in learned[0]["message"]
    assert "progression.learned_std:below" in json.dumps(report["causes"])


def test_every_format_shows_the_event_location(tmp_path, monkeypatch):
    monkeypatch.chdir(R5)
    event = f"fold_1/version_0/{FOLD1.name}"
    code, out, _ = run_cli(["check", "stdout.log", "--events", ".", "--isolated", "-f", "sarif"])
    results = json.loads(out)["runs"][0]["results"]
    located = [r for r in results if r["ruleId"] == "progression.dims_never_learn"]
    assert located[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == event
    assert "region" not in located[0]["locations"][0]["physicalLocation"] and ":step 3)" in located[0]["message"]["text"]
    _, out, _ = run_cli(["check", "stdout.log", "--events", ".", "--isolated", "-f", "junit"])
    case = next(c for c in ET.fromstring(out).iter("testcase") if c.get("name") == "progression.dims_never_learn[fold 1]")
    assert case.get("file") == event and case.get("line") == "0"
    _, out, _ = run_cli(["check", "stdout.log", "--events", ".", "--isolated", "-f", "github"])
    assert any(line.startswith(f"::warning file={event},title=progression.dims_never_learn::") for line in out.splitlines())
    _, out, _ = run_cli(["check", "stdout.log", "--events", ".", "--isolated", "-f", "markdown"])
    assert f"{event}:step 3" in out
    _, out, _ = run_cli(["check", "stdout.log", "--events", ".", "--isolated"])
    assert f"\n{event}:step 3: progression.dims_never_learn WARN" in out


def test_truncated_genuine_file_is_read_to_its_last_good_record(tmp_path):
    data = FOLD1.read_bytes()
    cut = tmp_path / "fold_1" / "version_0" / FOLD1.name
    cut.parent.mkdir(parents=True)
    cut.write_bytes(data[: len(data) * 2 // 3])
    read = read_event_file(str(cut))
    assert read.stopped and "cut short" in read.stopped
    assert 0 < len(read.series["val/mean_r2"].steps) < 8
    code, out, err = run_cli(["check", str(tmp_path), "--isolated", "-v"])
    assert code == 1 and not err
    assert "cut short (the writer was stopped mid-write)" in out


def test_corrupt_record_stops_at_the_crc(tmp_path):
    data = bytearray(FOLD1.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad = tmp_path / FOLD1.name
    bad.write_bytes(bytes(data))
    read = read_event_file(str(bad))
    assert read.stopped and "fails its CRC" in read.stopped
    assert 0 < read.records < 227


@pytest.mark.parametrize("content", [b"", b"not an event file\n" * 10, FOLD1.read_bytes()[40:]])
def test_not_an_event_file_is_one_line_exit_2(tmp_path, content):
    fake = tmp_path / "events.out.tfevents.123.host.1"
    fake.write_bytes(content)
    code, out, err = run_cli(["check", str(fake)])
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith(f"percediag: error: {fake}: not a TensorBoard event file")


def test_bad_inputs_are_one_line(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run_cli(["check", str(empty)])
    assert code == 2 and "no TensorBoard event file" in err and err.count("\n") == 1
    csv = tmp_path / "metrics.csv"
    csv.write_text("a,b\n1,2\n")
    code, _, err = run_cli(["check", str(csv)])
    assert code == 2 and "not a Lightning metrics.csv" in err
    code, _, err = run_cli(["check", str(R5 / "stdout.log"), str(R5 / "stdout.log"), "--events", str(R5)])
    assert code == 2 and "--events: give exactly one log" in err
    code, _, err = run_cli(["check", str(R5), "--events", str(R5)])
    assert code == 2 and "pass the stdout log first" in err


def test_diff_and_history_take_event_folders():
    code, out, err = run_cli(["diff", str(TB / "round9"), str(R5), "--isolated"])
    assert code == 1 and "best R2 -0.4022 -> -0.5499" in out, err
    code, out, err = run_cli(["history", str(TB / "round9"), str(R5), "--isolated", "-f", "json"])
    assert code == 0, err
    runs = json.loads(out)["runs"]
    assert [r["name"] for r in runs] == ["round9", "round5"]
    assert round(runs[0]["learning_rate"], 9) == 2.5e-05 and round(runs[1]["learning_rate"], 9) == 5e-05


def test_merge_api_keeps_stdout_blocks():
    log = parse_source(LogSource.from_path(R5 / "stdout.log"))
    with_events(log, R5)
    run = log.runs[-1]
    assert run.config is not None and all(f.activation is not None for f in run.folds)
    assert all(e.source == "both" for f in run.folds for e in f.epochs)
    assert not run.mismatches


def test_two_runs_holding_one_fold_are_refused_not_mixed(tmp_path):
    """Round 13's folder holds the main run and an optional HAN run beside it, each with a fold_1:
    joining the log with either one silently would judge it with another run's numbers."""
    for parent in ("percepiano", "han/percepiano"):
        shutil.copytree(TB / "round5" / "fold_1", tmp_path / parent / "fold_1")
    code, out, err = run_cli(["check", str(TB / "round5" / "stdout.log"), "--events", str(tmp_path)])
    assert code == 2 and out == "" and "Traceback" not in err and err.count("\n") == 1
    assert "two runs hold fold 1" in err and "han/percepiano/fold_1" in err
    # Naming the run's own folder works; versions of one fold are still chosen by their number.
    shutil.copytree(TB / "round5" / "fold_1" / "version_0", tmp_path / "percepiano" / "fold_1" / "version_1")
    code, out, err = run_cli(["check", str(TB / "round5" / "stdout.log"), "--events", str(tmp_path / "percepiano"), "-q"])
    assert code in (0, 1) and err == "", err
