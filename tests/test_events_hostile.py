"""Hostile TensorBoard event files and metrics.csv: never a traceback, a hang, or a pass for input not understood.

Bad input is one line on stderr and exit 2; a damaged event file (or metrics.csv) is read up to its last
good record, with a note. The event files are the replica's genuine fold 1 file (tests/fixtures/tensorboard)
with hand-encoded records spliced in at a record boundary, or written by tensorboardX (a test-only
dependency) as Lightning's TensorBoardLogger writes them. The CLI runs as a subprocess where a hang is
the failure being tested (a FIFO): the timeout turns a hang into a failure instead of a stuck suite.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from percediag.events.reader import read_event_file
from percediag.events.tree import read_metrics_csv
from tests.helpers import ROOT, run_cli

sys.path.insert(0, str(ROOT / "bench"))
from tfrecord import field, frame  # noqa: E402 - the hand encoder the bench shares

TB = Path(__file__).resolve().parent / "fixtures" / "tensorboard"
R5 = TB / "round5"
FOLD1 = next((R5 / "fold_1" / "version_0").glob("events.out.tfevents.*"))
CSV = TB / "round5-csv" / "fold_1" / "version_0" / "metrics.csv"
DIMS = ["articulation_length", "articulation_touch", "balance", "drama", "dynamic_range", "interpretation",
        "mood_energy", "mood_imagination", "mood_valence", "pedal_amount", "pedal_clarity", "sophistication",
        "space", "tempo", "timbre_brightness", "timbre_depth", "timbre_loudness", "timbre_variety", "timing"]


# ---- events built with the hand encoder (bench/tfrecord.py) -------------------------------------------

def event(step: int, wall: float, value: bytes) -> bytes:
    """An Event { wall_time, step, summary { value } } holding one Summary.Value (already encoded)."""
    return field(1, 1, struct.pack("<d", wall)) + field(2, 0, step) + field(5, 2, field(1, 2, value))


def simple(tag: str, value: float) -> bytes:
    return field(1, 2, tag.encode()) + field(2, 5, struct.pack("<f", value))


def genuine_records() -> list[bytes]:
    data = FOLD1.read_bytes()
    records, pos = [], 0
    while pos < len(data):
        (length,) = struct.unpack_from("<Q", data, pos)
        records.append(data[pos:pos + 16 + length])
        pos += 16 + length
    return records


def spliced(tmp_path: Path, hostile: bytes, at_step: int = 19, tail: bool = True) -> Path:
    """The genuine fold 1 file with `hostile` inserted before the first record of `at_step` (epoch 4's
    validation: epochs 0-3 come before it), in a Lightning fold folder."""
    records = genuine_records()
    index = next(i for i, r in enumerate(records) if i > 5 and f"\x10{chr(at_step)}".encode() in r[12:40])
    data = b"".join(records[:index]) + hostile + (b"".join(records[index:]) if tail else b"")
    target = tmp_path / "fold_1" / "version_0" / FOLD1.name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target


def percediag(args: list[str], timeout: float = 60) -> subprocess.CompletedProcess:
    """The CLI in its own process; a hang raises TimeoutExpired (the test fails, the suite goes on)."""
    env = {**os.environ, "NO_COLOR": "1", "PYTHONWARNINGS": "default"}
    return subprocess.run([sys.executable, "-m", "percediag", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=timeout)


def one_line_error(result: subprocess.CompletedProcess | tuple[int, str, str]) -> str:
    code, out, err = (result.returncode, result.stdout, result.stderr) if isinstance(result, subprocess.CompletedProcess) \
        else result
    assert code == 2 and out == "", (code, out, err)
    assert err.count("\n") == 1 and err.startswith("percediag: error: ") and "Traceback" not in err, err
    return err


def judged(args: list[str]) -> dict:
    code, out, err = run_cli([*args, "-f", "json", "--isolated"])
    assert code in (0, 1) and err == "", (code, err)
    return json.loads(out)


def test_the_hand_encoder_frames_records_as_the_writer_does():
    """The helpers above are checked against the genuine file: re-framing its payloads gives its bytes."""
    records = genuine_records()
    assert all(frame(r[12:-4]) == r for r in records)
    r2 = records[7]  # val/mean_r2 of epoch 0, at step 3
    assert r2[12:-4] == event(3, struct.unpack("<d", r2[12 + 1:12 + 9])[0], simple("val/mean_r2", -1.37869393825531))


# ---- 1. payloads that are not what their fields claim -----------------------------------------------

TENSOR_META = field(9, 2, field(1, 2, field(1, 2, b"scalars")))
HOSTILE_VALUES = {
    "tensor float_val as a varint": field(1, 2, b"val/mean_r2") + field(8, 2, field(1, 0, 1) + field(5, 0, 7)) + TENSOR_META,
    "tensor double_val as fixed32": field(1, 2, b"val/mean_r2") + field(8, 2, field(1, 0, 2) + field(6, 5, b"\0\0\0\0"))
    + TENSOR_META,
    "packed float_val of 6 bytes": field(1, 2, b"val/mean_r2") + field(8, 2, field(1, 0, 1) + field(5, 2, b"\0" * 6)),
    "tensor shape dim size as bytes": field(1, 2, b"val/mean_r2")
    + field(8, 2, field(1, 0, 1) + field(2, 2, field(2, 2, field(1, 2, b"\x01"))) + field(5, 5, b"\0\0\0?")),
    "simple_value as a varint": field(1, 2, b"val/mean_r2") + field(2, 0, 3),
    "tag as a varint": field(1, 0, 12) + field(2, 5, struct.pack("<f", 0.1)),
    "plugin name as fixed64": field(1, 2, b"val/mean_r2") + field(8, 2, field(1, 0, 1) + field(5, 5, b"\0\0\0?"))
    + field(9, 2, field(1, 2, field(1, 1, b"\0" * 8))),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_VALUES))
@pytest.mark.parametrize("good_crc", [True, False], ids=["crc-ok", "crc-bad"])
def test_a_record_that_does_not_decode_ends_the_file_there(tmp_path, name, good_crc):
    payload = event(19, 1795984050.1, HOSTILE_VALUES[name])
    target = spliced(tmp_path, frame(payload, good_crc=good_crc))
    read = read_event_file(str(target))
    why = "fails its CRC" if not good_crc else "not a valid event"
    assert read.stopped is not None and why in read.stopped, read.stopped
    assert read.series["val/mean_r2"].steps == [3, 7, 11, 15]
    code, out, err = run_cli(["check", str(tmp_path), "--isolated", "-v"])
    assert code in (0, 1) and err == "", err
    assert f"{target}: read up to byte " in out


@pytest.mark.parametrize("wrong", [field(1, 0, 5), field(2, 2, b"\x13"), field(3, 0, 2), field(5, 0, 1)],
                         ids=["wall-varint", "step-bytes", "version-varint", "summary-varint"])
def test_event_fields_of_the_wrong_wire_type(tmp_path, wrong):
    target = spliced(tmp_path, frame(wrong + field(5, 2, field(1, 2, simple("val/mean_r2", 0.1)))))
    read = read_event_file(str(target))
    assert read.stopped and "not a valid event" in read.stopped and read.series["val/mean_r2"].steps == [3, 7, 11, 15]


def test_a_first_record_that_does_not_decode_is_not_an_event_file(tmp_path):
    target = tmp_path / "events.out.tfevents.1795983984.vm.14579.0"
    version = field(1, 1, struct.pack("<d", 1795983984.98)) + field(3, 0, 2)
    target.write_bytes(frame(version) + b"".join(genuine_records()[1:]))
    err = one_line_error(run_cli(["check", str(target)]))
    assert "not a TensorBoard event file (its first record is not an event)" in err


# ---- 1b. record lengths that cannot be -------------------------------------------------------------

@pytest.mark.parametrize("length", [2**64 - 1, 2**63 + 5, 2**62, 64 * 2**20 + 1, 5_000, 80],
                         ids=["2^64-1", "2^63+5", "2^62", "64MiB+1", "past-the-end", "just-past-the-end"])
def test_a_length_beyond_the_file_or_the_limit_ends_the_file_there(tmp_path, length):
    """Each length passes its CRC; the file ends at the record before it, with a note."""
    payload = event(19, 1795984050.1, simple("val/mean_r2", -1.0087))
    target = spliced(tmp_path, frame(payload, length=length), tail=False)
    read = read_event_file(str(target))
    assert read.series["val/mean_r2"].steps == [3, 7, 11, 15]
    expected = "a corrupt length" if length > 64 * 2**20 else "cut short"
    assert read.stopped and expected in read.stopped, read.stopped
    result = percediag(["check", str(tmp_path), "--isolated", "-v", "--fail-on", "never"])
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert re.search(rf"{re.escape(str(target))}: read up to byte \d+: a record", result.stdout)


@pytest.mark.parametrize("length", [2**64 - 1, 2**62])
def test_an_impossible_first_length_is_not_an_event_file(tmp_path, length):
    target = tmp_path / "events.out.tfevents.1795983984.vm.14579.0"
    target.write_bytes(frame(b"\x09" + b"\0" * 8, length=length) + b"".join(genuine_records()[1:]))
    err = one_line_error(percediag(["check", str(target)]))
    assert "not a TensorBoard event file" in err and "corrupt length" in err


# ---- 2. only regular files ---------------------------------------------------------------------------

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")


@needs_fifo
@pytest.mark.parametrize("name", ["events.out.tfevents.1", "metrics.csv"])
def test_a_fifo_in_a_folder_is_skipped_with_a_note_not_waited_on(tmp_path, name):
    run = tmp_path / "tb_logs"
    shutil.copytree(R5 / "fold_1", run / "fold_1")
    fifo_folder = run / "fold_0" / "version_0"
    fifo_folder.mkdir(parents=True)
    os.mkfifo(fifo_folder / name)
    result = percediag(["check", str(run), "--isolated", "-v", "--fail-on", "never"])
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert f"{fifo_folder / name}: a FIFO, not a regular file: skipped" in result.stdout
    result = percediag(["check", str(R5 / "stdout.log"), "--events", str(run), "--isolated", "-v", "--fail-on", "never"])
    assert result.returncode == 0 and "a FIFO, not a regular file: skipped" in result.stdout, result.stderr
    result = percediag(["diff", str(TB / "round9"), str(run), "--isolated"])
    assert result.returncode in (0, 1) and result.stderr == "", result.stderr


@needs_fifo
@pytest.mark.parametrize("name", ["events.out.tfevents.1", "metrics.csv"])
def test_a_fifo_named_on_the_command_line_or_alone_in_a_folder_is_refused(tmp_path, name):
    os.mkfifo(tmp_path / name)
    err = one_line_error(percediag(["check", str(tmp_path / name)]))
    assert f"{tmp_path / name}: a FIFO, not a regular file" in err
    err = one_line_error(percediag(["check", str(tmp_path)]))
    assert "no TensorBoard event file" in err and "a FIFO, not a regular file: skipped" in err
    err = one_line_error(percediag(["history", str(tmp_path)]))
    assert "a FIFO" in err


@needs_fifo
def test_watch_skips_a_fifo_as_check_does(tmp_path):
    run = tmp_path / "tb_logs"
    shutil.copytree(R5 / "fold_1", run / "fold_1")
    (run / "fold_0" / "version_0").mkdir(parents=True)
    os.mkfifo(run / "fold_0" / "version_0" / "events.out.tfevents.1")
    watched = percediag(["watch", str(run), "--idle-exit", "0.5", "--interval", "0.05", "--isolated", "-f", "jsonl"])
    assert watched.returncode in (0, 1) and watched.stderr == "", watched.stderr
    end = json.loads(watched.stdout.splitlines()[-1])
    checked = percediag(["check", str(run), "--isolated", "-f", "json"])
    assert (watched.returncode, end["status"]) == (checked.returncode, json.loads(checked.stdout)["status"])
    (run / "fold_1").rename(tmp_path / "elsewhere")
    err = one_line_error(percediag(["watch", str(run), "--idle-exit", "0.3", "--interval", "0.05", "--isolated"]))
    assert "no TensorBoard event file" in err and "a FIFO" in err


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="permissions do not bind root")
def test_a_folder_that_cannot_be_listed_is_named(tmp_path):
    shutil.copytree(R5 / "fold_1", tmp_path / "tb" / "fold_1")
    locked = tmp_path / "tb" / "fold_0"
    locked.mkdir()
    locked.chmod(0)
    try:
        err = one_line_error(run_cli(["check", str(R5 / "stdout.log"), "--events", str(tmp_path / "tb")]))
    finally:
        locked.chmod(0o755)
    assert f"{tmp_path / 'tb'}: cannot read {locked}: Permission denied" in err


def test_the_folder_a_walk_cannot_list_is_named_even_as_root(tmp_path, monkeypatch):
    """Root lists any folder: the denial `check --events /` meets is raised for one folder here, as the
    kernel raises it (PermissionError from scandir), so the message is checked whoever runs the tests."""
    shutil.copytree(R5 / "fold_1", tmp_path / "tb" / "fold_1")
    locked = tmp_path / "tb" / "fold_0"
    locked.mkdir()
    scandir = os.scandir

    def denying(path="."):
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", denying)
    for args in (["check", str(R5 / "stdout.log"), "--events", str(tmp_path / "tb")], ["history", str(tmp_path / "tb")]):
        err = one_line_error(run_cli(args))
        assert f"{tmp_path / 'tb'}: cannot read {locked}: Permission denied" in err


# ---- 3. a non-finite R2 is never the best R2 ---------------------------------------------------------

def _write_inf_fold(root: Path, fold: int, wall: float, epochs: int = 24) -> None:
    """A fold as Lightning writes it whose val/mean_r2 is inf at every even epoch (a broken metric) and a
    slightly negative, slowly rising R2 otherwise (a model learning nothing yet)."""
    tensorboardx = pytest.importorskip("tensorboardX", reason="tensorboardX (a real event-file writer) is not installed")
    writer = tensorboardx.SummaryWriter(logdir=str(root / f"fold_{fold}" / "version_0"))
    clock, steps = wall, 93
    for epoch in range(epochs):
        first, last = epoch * steps, epoch * steps + steps - 1
        writer.add_scalar("lr-Adam", 5e-5, first, walltime=clock)
        for step in range(first + 9, last + 1, 10):
            clock += 0.31
            writer.add_scalar("train/loss", 0.0124 - 0.00002 * epoch + 0.0003 * math.sin(step), step, walltime=clock)
            writer.add_scalar("epoch", epoch, step, walltime=clock)
        r2 = math.inf if epoch % 2 == 0 else -0.06 + 0.0015 * epoch + 0.002 * math.sin(epoch + fold)
        for tag, value in [("val/loss", 0.0131 - 0.00001 * epoch), ("val/mean_r2", r2), ("val/pred_mean", 0.551),
                           ("val/pred_std", 0.052 + 0.0004 * epoch)]:
            writer.add_scalar(tag, value, last, walltime=clock)
        for index, name in enumerate(DIMS):
            writer.add_scalar(f"val/r2_{name}", -0.05 + 0.01 * math.sin(index + epoch), last, walltime=clock)
        writer.add_scalar("epoch", epoch, last, walltime=clock)
    writer.close()


def test_an_inf_r2_in_event_files_passes_no_baseline_or_milestone(tmp_path):
    for position, fold in enumerate([1, 2, 3, 0]):
        _write_inf_fold(tmp_path, fold, 1_795_000_000 + 3600 * position)
    report = judged(["check", str(tmp_path), "--profile", "round5"])
    status = {(f["rule"], f["fold"]): f for f in report["findings"]}
    for rule in ("baseline.mean", "baseline.bilstm", "baseline.midibert", "baseline.han_sota"):
        assert status[(rule, None)]["status"] != "pass", status[(rule, None)]["message"]
        assert "inf" not in status[(rule, None)]["message"]
    for fold in (0, 1, 2, 3):
        epoch5 = status[("progression.epoch_5", fold)]  # epoch index 4: inf
        assert epoch5["status"] == "fail" and "is not a possible R2" in epoch5["message"]
        assert status[("progression.epoch_10", fold)]["status"] == "fail"
        # Not finished (no session end recorded): not judged, and never a pass on inf.
        assert status[("progression.convergence", fold)]["status"] == "missing"
    assert "best R2 so far" in status[("baseline.mean", None)]["message"]
    # The inf stays visible where it belongs.
    assert {f["status"] for f in report["findings"] if f["rule"] == "gradient.finite"} == {"fail"}


def test_an_inf_r2_in_a_text_log_is_judged_as_in_event_files(tmp_path):
    """The same helpers judge the text log: `val_r2: inf` on every other epoch line and an inf CV mean."""
    lines = (ROOT / "examples" / "logs" / "round5-plateau.log").read_text().splitlines(keepends=True)
    count = 0
    for index, line in enumerate(lines):
        if re.search(r"\[Fold \d\] Epoch +\d+ \|", line):
            count += 1
            if count % 2 == 0:
                lines[index] = re.sub(r"val_r2: [+-][0-9.]+", "val_r2: inf", line)
        elif line.startswith("    R2:       +0.0421 +/- 0.0052"):  # the aggregate block's cross-validation mean
            lines[index] = "    R2:       inf +/- nan\n"
    log = tmp_path / "round5-inf.log"
    log.write_text("".join(lines))
    report = judged(["check", str(log)])
    findings = [f for f in report["findings"] if f["rule"].startswith(("baseline.", "progression.epoch_", "progression.conv"))]
    inf_passes = [f for f in findings if f["status"] == "pass" and "inf" in f["message"]]
    assert not inf_passes, inf_passes
    baseline = next(f for f in findings if f["rule"] == "baseline.mean")
    assert "cross-validation mean" not in baseline["message"] and "finished fold(s)" in baseline["message"]


# ---- 4. metrics.csv ---------------------------------------------------------------------------------

def test_a_byte_order_mark_before_the_header_is_accepted(tmp_path):
    target = tmp_path / "fold_1" / "version_0" / "metrics.csv"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"\xef\xbb\xbf" + CSV.read_bytes())
    with_bom, plain = read_metrics_csv(str(target)), read_metrics_csv(str(CSV))
    assert with_bom.series.keys() == plain.series.keys() and with_bom.epoch_starts == plain.epoch_starts
    assert with_bom.series["val/mean_r2"].values == plain.series["val/mean_r2"].values
    assert len(judged(["check", str(tmp_path)])["records"]["folds"][0]["epochs"]) == 8


def _csv_with(cell: str, column: str, row: int) -> bytes:
    """The genuine metrics.csv with one cell of data row `row` (1 = the first) replaced."""
    text = CSV.read_text()
    lines = text.splitlines(keepends=True)
    header = lines[0].rstrip("\n").split(",")
    cells = lines[row].rstrip("\n").split(",")
    cells[header.index(column)] = cell
    lines[row] = ",".join(cells) + "\n"
    return "".join(lines).encode()


NOT_NUMBERS = ["0_5", "1_000", "\u0663", "0x10", " 0.5", "1.5.2", "--1", "infx", "1e", "\uff11"]


@pytest.mark.parametrize("cell", NOT_NUMBERS)
def test_a_cell_that_is_not_a_plain_number_refuses_the_first_row(tmp_path, cell):
    target = tmp_path / "metrics.csv"
    target.write_bytes(_csv_with(cell, "lr-Adam", 1))
    err = one_line_error(run_cli(["check", str(target)]))
    assert "not a Lightning metrics.csv (row 2: `lr-Adam`" in err and "is not a number" in err


@pytest.mark.parametrize("cell", NOT_NUMBERS)
def test_a_cell_that_is_not_a_plain_number_later_ends_the_reading_there(tmp_path, cell):
    target = tmp_path / "metrics.csv"
    target.write_bytes(_csv_with(cell, "val/mean_r2", 10))
    read = read_metrics_csv(str(target))
    assert read.stopped and read.stopped.startswith("read up to row 11: `val/mean_r2`") and read.records == 9
    code, out, err = run_cli(["check", str(target), "--isolated", "-v"])
    assert code in (0, 1) and err == "" and f"{target}: read up to row 11" in out


@pytest.mark.parametrize("column,cell", [("epoch", "1e300"), ("epoch", "9" * 300), ("epoch", "-1"), ("epoch", "2.5"),
                                         ("epoch", "nan"), ("epoch", "inf"), ("step", "1e3"), ("step", "9" * 300),
                                         ("step", "-3"), ("step", "1_000"), ("step", "\u0663")])
def test_epoch_and_step_must_be_bounded_whole_numbers(tmp_path, column, cell):
    later = tmp_path / "metrics.csv"
    later.write_bytes(_csv_with(cell, column, 12))
    result = percediag(["check", str(later), "--isolated", "-v", "--fail-on", "never"])
    assert result.returncode == 0 and result.stderr == "", result.stderr  # no numpy warning either
    assert f"{later}: read up to row 13: `{column}`" in result.stdout
    assert "is not a whole number from 0 to" in result.stdout


@pytest.mark.parametrize("column,cell", [("epoch", "1e300"), ("step", "9" * 300), ("step", "1_000")])
def test_a_bad_epoch_or_step_in_the_first_row_is_refused(tmp_path, column, cell):
    text = CSV.read_text().splitlines(keepends=True)
    target = tmp_path / "metrics.csv"
    # The first data row made one that carries an epoch (as Lightning's training rows do).
    header = text[0].rstrip("\n").split(",")
    row = ["" for _ in header]
    row[header.index("step")], row[header.index("epoch")], row[header.index("train/loss")] = "9", "0", "0.0124"
    row[header.index(column)] = cell
    target.write_text(text[0] + ",".join(row) + "\n" + "".join(text[2:]))
    err = one_line_error(percediag(["check", str(target)]))
    assert f"row 2: `{column}`" in err and "is not a whole number from 0 to" in err


def test_an_epoch_tag_out_of_bounds_in_an_event_file_ends_the_file_there(tmp_path):
    target = spliced(tmp_path, frame(event(18, 1795984050.1, simple("epoch", 1e30))))
    read = read_event_file(str(target))
    assert read.stopped and "an `epoch` of 1e+30" in read.stopped and read.series["val/mean_r2"].steps == [3, 7, 11, 15]
    result = percediag(["check", str(tmp_path), "--isolated", "--fail-on", "never"])
    assert result.returncode == 0 and result.stderr == "", result.stderr


def test_a_long_metrics_csv_is_read_in_linear_time(tmp_path):
    """One epoch lookup per train/loss point used to sort the epoch marks each time: 20,000 epochs
    (835 KB) took 20 s. Bounded, not a speed target: the bound is generous."""
    import time

    folder = tmp_path / "fold_1" / "version_0"
    folder.mkdir(parents=True)
    rows = ["epoch,step,train/loss,val/loss,val/mean_r2"]
    for epoch in range(20_000):
        rows += [f"{epoch},{3 * epoch},0.05,,", f"{epoch},{3 * epoch + 2},,0.06,0.01"]
    (folder / "metrics.csv").write_text("\n".join(rows) + "\n")
    start = time.monotonic()
    code, out, err = run_cli(["check", str(tmp_path), "-q"])
    assert code in (0, 1) and "Traceback" not in err
    assert time.monotonic() - start < 15
