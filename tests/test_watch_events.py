"""percediag watch on a TensorBoard log folder, an event file or a metrics.csv while a run writes it.

The writer is tensorboardX's SummaryWriter (a real event-file writer, flushed at every epoch as
Lightning's logger flushes), or the bytes of the replica's genuine files copied in pieces that cut
records in the middle. Each test runs `percediag watch` as a child process, checks what it says
while the files grow, and that its final verdict is `check`'s on the same files.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from percediag.events.reader import read_event_file
from percediag.live.scalars import ScalarFollower
from tests.helpers import ROOT, run_cli

tensorboardX = pytest.importorskip("tensorboardX", reason="tensorboardX (a real event-file writer) is not installed")

pytestmark = pytest.mark.usefixtures("deadline")
DEADLINE = 90

TB = Path(__file__).resolve().parent / "fixtures" / "tensorboard"
DIMS = ["articulation_length", "articulation_touch", "balance", "drama", "dynamic_range", "interpretation",
        "mood_energy", "mood_imagination", "mood_valence", "pedal_amount", "pedal_clarity", "sophistication",
        "space", "tempo", "timbre_brightness", "timbre_depth", "timbre_loudness", "timbre_variety", "timing"]
STEPS_PER_EPOCH = 93  # the replica's real run: 93 training steps per epoch


class Watch:
    """`percediag watch ... --format jsonl` as a child; its events collected with their arrival time."""

    def __init__(self, *args: str) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"}
        env.pop("GITHUB_ACTIONS", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "percediag", "watch", *args, "--format", "jsonl", "--isolated", "--interval", "0.05"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, env=env)
        self.events: list[tuple[float, dict]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for raw in self.process.stdout:
            self.events.append((time.monotonic(), json.loads(raw)))

    def wait_for(self, predicate, timeout: float = 20.0) -> tuple[float, dict]:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for stamp, event in list(self.events):
                if predicate(event):
                    return stamp, event
            if self.process.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError(f"no matching event; got {[e['event'] for _, e in self.events]}; "
                             f"stderr: {self.process.stderr.read().decode() if self.process.poll() is not None else ''}")

    def finish(self, timeout: float = 30.0) -> tuple[int, dict]:
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout=5)
        ends = [e for _, e in self.events if e["event"] == "end"]
        assert len(ends) == 1, self.process.stderr.read().decode()
        return code, ends[0]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)
        self.process.stdout.close()
        self.process.stderr.close()


def alert(rule: str, fold: int | None = None):
    return lambda e: (e["event"] == "finding" and e["change"] == "alert" and e["rule"] == rule
                      and (fold is None or e["fold"] == fold))


def check_json(*args: str) -> tuple[int, dict]:
    code, out, err = run_cli(["check", *args, "-f", "json", "--isolated"])
    assert code in (0, 1), err
    return code, json.loads(out)


def assert_same_verdict(code: int, end: dict, check_code: int, report: dict) -> None:
    top = next((f["id"] for f in report["fixes"] if f["rank"] == 1), None)
    assert (code, end["status"], end["counts"], end["top_fix"]) == (check_code, report["status"], report["counts"], top)


def saturating(epoch: int, top: float, tau: float = 6.0) -> float:
    return top - (top + 0.15) * math.exp(-epoch / tau) + 0.008 * math.sin(epoch * 2.3)


def write_fold(root: Path, fold: int, epochs: int, wall: float, pred_std, pause: float, marks: dict) -> None:
    """One fold as Lightning's TensorBoardLogger writes it, flushed after every epoch's validation
    (`marks[epoch]` gets the time each epoch became readable)."""
    writer = tensorboardX.SummaryWriter(logdir=str(root / f"fold_{fold}" / "version_0"), flush_secs=3600)
    clock = wall
    try:
        for epoch in range(epochs):
            first = epoch * STEPS_PER_EPOCH
            writer.add_scalar("lr-Adam", 5e-5, first, walltime=clock)
            for step in range(first + 9, first + STEPS_PER_EPOCH, 10):
                clock += 1.4
                writer.add_scalar("train/loss", 0.012 * math.exp(-step / 4000) + 0.002, step, walltime=clock)
                writer.add_scalar("epoch", epoch, step, walltime=clock)
            last = first + STEPS_PER_EPOCH - 1
            r2 = saturating(epoch, 0.30)
            writer.add_scalar("val/loss", 0.0118 - 0.0002 * min(epoch, 20), last, walltime=clock)
            writer.add_scalar("val/mean_r2", r2, last, walltime=clock)
            writer.add_scalar("val/pred_mean", 0.552, last, walltime=clock)
            writer.add_scalar("val/pred_std", pred_std(epoch), last, walltime=clock)
            for index, name in enumerate(DIMS):
                writer.add_scalar(f"val/r2_{name}", r2 + 0.12 * math.sin(index * 1.7), last, walltime=clock)
            writer.add_scalar("epoch", epoch, last, walltime=clock)
            writer.flush()
            marks[(fold, epoch)] = time.monotonic()
            time.sleep(pause)
    finally:
        writer.close()


def healthy_std(epoch: int) -> float:
    return 0.055 + 0.03 * (1 - math.exp(-epoch / 5))


def collapsing_std(epoch: int) -> float:
    """Healthy for 8 epochs, then falling to a quarter of its peak: predictions turn constant mid-run."""
    return 0.085 if epoch < 8 else max(0.085 - 0.008 * (epoch - 8), 0.018)


def test_new_folds_and_a_collapse_mid_run_alert_and_end_as_check(tmp_path):
    logs = tmp_path / "tb_logs"
    watch = Watch(f"{logs}/", "--profile", "round5", "--idle-exit", "3")
    marks: dict[tuple[int, int], float] = {}
    try:
        time.sleep(0.3)  # the folder does not exist yet: watch waits for it
        write_fold(logs, 1, 20, 1_795_000_000, healthy_std, 0.03, marks)
        _, started = watch.wait_for(lambda e: e["event"] == "fold_start" and e["fold"] == 1)
        assert ":step " in started["locations"][0]
        writer = threading.Thread(target=write_fold, args=(logs, 2, 25, 1_795_004_000, collapsing_std, 0.2, marks))
        writer.start()
        try:
            stamp, found = watch.wait_for(alert("progression.learned_std", 2))
        finally:
            writer.join(timeout=60)
        # The std falls below the 0.05 floor at epoch 13 of 25: the alert comes while the fold is written.
        assert marks[(2, 12)] < stamp < marks[(2, 24)], "the alert did not arrive mid-run"
        assert found["status"] == "fail" and "fold_2/version_0/events.out.tfevents" in found["locations"][0]
        code, end = watch.finish()
    finally:
        watch.stop()
    assert [e["fold"] for _, e in watch.events if e["event"] == "fold_start"] == [1, 2]
    assert not any(e["event"] == "restart" for _, e in watch.events)
    check_code, report = check_json(str(logs), "--profile", "round5")
    assert_same_verdict(code, end, check_code, report)
    assert code == 1 and end["status"] == "fail"


def _copy_in_pieces(source: Path, target: Path, piece: int, pause: float) -> None:
    """The bytes of `source` appended to `target` `piece` bytes at a time: most pieces end inside a record."""
    data = source.read_bytes()
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "ab") as handle:
        for start in range(0, len(data), piece):
            handle.write(data[start:start + piece])
            handle.flush()
            time.sleep(pause)


def test_a_record_cut_at_the_end_of_a_growing_file_is_waited_for(tmp_path):
    genuine = TB / "round5"
    logs = tmp_path / "round5"
    folds = [next((genuine / f"fold_{fold}" / "version_0").glob("events.out.tfevents.*")) for fold in (1, 0)]
    watch = Watch(str(logs) + "/", "--idle-exit", "2")
    try:
        first = logs / folds[0].relative_to(genuine)
        first.parent.mkdir(parents=True)
        data = folds[0].read_bytes()
        first.write_bytes(data[:701])
        watch.wait_for(lambda e: e["event"] == "fold_start")  # the watcher is reading: go on writing
        with open(first, "ab") as handle:
            # 701 bytes every 60 ms: the watcher, polling every 50 ms, sees most records cut in two.
            for start in range(701, len(data), 701):
                handle.write(data[start:start + 701])
                handle.flush()
                time.sleep(0.06)
        _copy_in_pieces(folds[1], logs / folds[1].relative_to(genuine), 701, 0.06)
        code, end = watch.finish()
    finally:
        watch.stop()
    check_code, report = check_json(str(genuine))
    assert_same_verdict(code, end, check_code, report)
    assert not any(e["event"] == "restart" for _, e in watch.events)


def test_the_incremental_reader_reads_a_file_cut_anywhere_as_the_whole_file(tmp_path):
    source = next((TB / "round5" / "fold_1" / "version_0").glob("events.out.tfevents.*"))
    data = source.read_bytes()
    whole = read_event_file(str(source), "f")
    target = tmp_path / source.name
    target.write_bytes(b"")
    follower = ScalarFollower(target)
    grew_at = []
    for start in range(0, len(data), 41):  # 41 bytes at a time: most pieces end inside a record
        with open(target, "ab") as handle:
            handle.write(data[start:start + 41])
        grew, event = follower.poll()
        assert event is None
        grew_at.append(grew)
        (current,) = follower.folders()
        assert current.files[0].stopped is None, "a record still being written was taken for corruption"
    assert grew_at.count(True) > 10 and grew_at.count(False) > 10
    (final,) = follower.folders(final=True)
    read = final.files[0]
    assert read.stopped is None and read.records == whole.records
    assert {tag: (s.steps, s.values) for tag, s in read.series.items()} == \
        {tag: (s.steps, s.values) for tag, s in whole.series.items()}
    assert read.epoch_starts == whole.epoch_starts and read.markers == whole.markers


def test_a_file_killed_mid_record_is_noted_at_the_end_as_check_notes_it(tmp_path):
    source = next((TB / "round5" / "fold_1" / "version_0").glob("events.out.tfevents.*"))
    logs = tmp_path / "tb"
    target = logs / "fold_1" / "version_0" / source.name
    target.parent.mkdir(parents=True)
    data = source.read_bytes()
    target.write_bytes(data[: len(data) * 2 // 3 + 7])  # the writer killed inside a record, never resumed
    watch = Watch(str(logs), "--idle-exit", "1.5", "--profile", "round5")
    try:
        code, end = watch.finish()
    finally:
        watch.stop()
    check_code, report = check_json(str(logs), "--profile", "round5")
    assert_same_verdict(code, end, check_code, report)
    assert any("cut short" in note for note in report["notes"])


def test_metrics_csv_rewritten_with_new_columns_as_lightning_does(tmp_path):
    source = (TB / "round5-csv" / "fold_1" / "version_0" / "metrics.csv").read_text().splitlines(keepends=True)
    target = tmp_path / "logs" / "fold_1" / "version_0" / "metrics.csv"
    target.parent.mkdir(parents=True)
    watch = Watch(str(target), "--idle-exit", "2", "--profile", "round5")
    try:
        # CSVLogger's first save knows only the columns logged so far (the learning rate at step 0);
        # the first validation adds the others and the file is rewritten with the full header, then
        # each save appends its rows.
        target.write_text("lr-Adam,step\n5e-05,0\n")
        time.sleep(0.3)
        with open(target, "w") as handle:
            for row in source:
                handle.write(row)
                handle.flush()
                time.sleep(0.02)
        code, end = watch.finish()
    finally:
        watch.stop()
    check_code, report = check_json(str(target), "--profile", "round5")
    assert_same_verdict(code, end, check_code, report)
    # A metrics.csv is read whole at each change: its rewrite is no restart of the run.
    assert not any(e["event"] == "restart" for _, e in watch.events)


def test_watch_log_with_events_joins_both_as_check_does(tmp_path):
    genuine = TB / "round5"
    logs = tmp_path / "tb"
    log = tmp_path / "stdout.log"
    log.write_text("")
    lines = (genuine / "stdout.log").read_text().splitlines(keepends=True)
    watch = Watch(str(log), "--events", str(logs), "--idle-exit", "2")
    try:
        with open(log, "a") as handle:
            for number, line in enumerate(lines):
                handle.write(line)
                if number % 50 == 0:
                    handle.flush()
        for source in sorted(genuine.glob("fold_*/version_0/events.out.tfevents.*")):
            _copy_in_pieces(source, logs / source.relative_to(genuine), 4096, 0.01)
        code, end = watch.finish()
    finally:
        watch.stop()
    check_code, report = check_json(str(genuine / "stdout.log"), "--events", str(genuine))
    assert_same_verdict(code, end, check_code, report)
    # The genuine log and event files agree: a disagreement seen while one was ahead of the other recovered.
    agree = [e["change"] for _, e in watch.events if e["event"] == "finding" and e["rule"] == "log.sources_agree"]
    assert agree.count("alert") == agree.count("recovered")


def test_watch_of_a_folder_that_holds_no_event_file_is_one_line_exit_2(tmp_path):
    (tmp_path / "empty").mkdir()
    code, out, err = run_cli(["watch", str(tmp_path / "empty"), "--idle-exit", "0.3", "--isolated"])
    assert code == 2 and err.count("\n") == 1 and "no TensorBoard event file" in err


def test_events_with_an_event_folder_as_the_log_is_refused(tmp_path):
    code, out, err = run_cli(["watch", str(TB / "round5"), "--events", str(TB / "round5"), "--isolated"])
    assert code == 2 and "itself an event folder" in err


def test_an_event_file_truncated_or_replaced_is_read_from_its_start(tmp_path):
    source = next((TB / "round5" / "fold_1" / "version_0").glob("events.out.tfevents.*"))
    data = source.read_bytes()
    target = tmp_path / "fold_1" / "version_0" / source.name
    target.parent.mkdir(parents=True)
    target.write_bytes(data)
    follower = ScalarFollower(tmp_path)
    assert follower.poll() == (True, None)
    records = follower.folders()[0].files[0].records
    target.write_bytes(data[:4096])  # a training restarted into the same file
    assert follower.poll() == (True, "truncated")
    assert 0 < follower.folders()[0].files[0].records < records
    replacement = tmp_path / "new"
    replacement.write_bytes(data)
    replacement.replace(target)  # another file at the path
    assert follower.poll() == (True, "rotated")
    assert follower.folders()[0].files[0].records == records
