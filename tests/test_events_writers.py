"""Event files written by a real writer (tensorboardX's SummaryWriter) for shapes the genuine set lacks:
many folds, a truncated file, NaN scalars, a huge number of steps, a run folder without scalars,
a collapse during training, a mean R2 carried by a few dimensions, TF2-style tensor scalars.

The writer is a test-only dependency: without tensorboardX these tests are skipped (the genuine
files in tests/test_events.py always run). Tags, steps and the `epoch` tag follow what Lightning's
TensorBoardLogger writes for the replica's trainer (tests/fixtures/tensorboard/README.md).
"""

from __future__ import annotations

import json
import math
import tracemalloc
from pathlib import Path

import pytest

from percediag.events.reader import read_event_file
from percediag.events.scalars import MAX_POINTS
from percediag.events.tree import read_scalars
from percediag.parsers.scalars import scalar_log
from tests.helpers import run_cli

tensorboardX = pytest.importorskip("tensorboardX", reason="tensorboardX (a real event-file writer) is not installed")

DIMS = ["articulation_length", "articulation_touch", "balance", "drama", "dynamic_range", "interpretation",
        "mood_energy", "mood_imagination", "mood_valence", "pedal_amount", "pedal_clarity", "sophistication",
        "space", "tempo", "timbre_brightness", "timbre_depth", "timbre_loudness", "timbre_variety", "timing"]
STEPS_PER_EPOCH = 93  # the notebook's real run: 93 training steps per epoch


def saturating(epoch: int, top: float, tau: float = 6.0, start: float = -0.15) -> float:
    """A plausible val R2 curve: from `start` towards `top`, with a little epoch-to-epoch noise."""
    return top - (top - start) * math.exp(-epoch / tau) + 0.008 * math.sin(epoch * 2.3)


def tensor_scalar(tag: str, value: float):
    """A scalar as TensorFlow 2's tf.summary.scalar writes it: a float tensor of no dimensions under the
    `scalars` plugin (built with the writer's own protobuf classes)."""
    from tensorboardX.proto.summary_pb2 import Summary, SummaryMetadata
    from tensorboardX.proto.tensor_pb2 import TensorProto
    from tensorboardX.proto.tensor_shape_pb2 import TensorShapeProto

    tensor = TensorProto(dtype=1, tensor_shape=TensorShapeProto(), float_val=[value])
    metadata = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="scalars"))
    return Summary(value=[Summary.Value(tag=tag, tensor=tensor, metadata=metadata)])


def write_fold(root: Path, fold: int, epochs: int, *, wall: float, r2=None, pred_std=None, dims=None,
               steps_per_epoch: int = STEPS_PER_EPOCH, train_every: int = 10, new_style: bool = False) -> Path:
    """One fold's folder as Lightning writes it: lr per epoch, train/loss every `train_every` steps,
    the validation row (loss, mean R2, pred mean/std, 19 dimensions) at the epoch's last step."""
    r2 = r2 or (lambda e: saturating(e, 0.33))
    pred_std = pred_std or (lambda e: 0.055 + 0.02 * (1 - math.exp(-e / 5)))
    dims = dims or (lambda e, i: r2(e) + 0.12 * math.sin(i * 1.7))
    folder = root / f"fold_{fold}" / "version_0"
    writer = tensorboardX.SummaryWriter(logdir=str(folder))
    clock = wall

    def scalar(tag: str, value: float, step: int) -> None:
        nonlocal clock
        clock += 0.01
        if new_style:
            writer._get_file_writer().add_summary(tensor_scalar(tag, value), step, clock)
        else:
            writer.add_scalar(tag, value, step, walltime=clock)

    for epoch in range(epochs):
        first = epoch * steps_per_epoch
        scalar("lr-Adam", 5e-5, first)
        for step in range(first, first + steps_per_epoch):
            if (step + 1) % train_every == 0:
                scalar("train/loss", 0.012 * math.exp(-step / 4000) + 0.002, step)
                scalar("epoch", epoch, step)
        last = first + steps_per_epoch - 1
        scalar("val/loss", 0.0118 - 0.0002 * min(epoch, 20), last)
        scalar("val/mean_r2", r2(epoch), last)
        scalar("val/pred_mean", 0.552, last)
        scalar("val/pred_std", pred_std(epoch), last)
        for index, name in enumerate(DIMS):
            scalar(f"val/r2_{name}", dims(epoch, index), last)
        scalar("epoch", epoch, last)
    writer.close()
    return folder


def _json(args: list[str]) -> dict:
    code, out, err = run_cli([*args, "-f", "json", "--isolated"])
    assert code in (0, 1), err
    return json.loads(out)


def _findings(report: dict, rule: str) -> list[dict]:
    return [f for f in report["findings"] if f["rule"] == rule]


def test_many_folds_in_training_order(tmp_path):
    order = [1, 2, 3, 4, 5, 6, 7, 0]
    for position, fold in enumerate(order):
        write_fold(tmp_path, fold, 30, wall=1_795_000_000 + 3600 * position,
                   r2=lambda e, f=fold: saturating(e, 0.30 + 0.01 * f))
    log = scalar_log(read_scalars(tmp_path), str(tmp_path))
    run = log.runs[0]
    assert [f.fold for f in run.folds] == order
    assert all(len(f.epochs) == 30 and len(f.epochs[-1].dim_r2) == 19 for f in run.folds)
    # train/loss is logged every 10 steps: each epoch takes its last point.
    assert all(e.train_loss is not None for e in run.folds[0].epochs)
    report = _json(["check", str(tmp_path), "--profile", "round5"])
    epoch20 = _findings(report, "progression.epoch_20")
    assert [f["fold"] for f in epoch20] == order and all(f["status"] == "pass" for f in epoch20)
    assert all(f["status"] == "pass" for f in _findings(report, "progression.learned_std"))
    assert all(f["status"] == "pass" for f in _findings(report, "progression.dims_never_learn"))


def test_truncated_file_is_read_up_to_its_last_good_record(tmp_path):
    folder = write_fold(tmp_path, 1, 20, wall=1_795_000_000)
    event = next(folder.glob("events.out.tfevents.*"))
    data = event.read_bytes()
    event.write_bytes(data[: int(len(data) * 0.6) + 5])  # killed in the middle of a record
    read = read_event_file(str(event))
    assert read.stopped and "cut short" in read.stopped
    steps = read.series["val/mean_r2"].steps
    assert 8 <= len(steps) < 20 and steps == sorted(steps)
    code, out, err = run_cli(["check", str(tmp_path), "--isolated", "-v", "--profile", "round5"])
    assert code in (0, 1) and not err
    assert f"{event}: read up to byte" in out


def test_nan_scalars_fail_finite_and_learned_std(tmp_path):
    write_fold(tmp_path, 1, 15, wall=1_795_000_000,
               r2=lambda e: saturating(e, 0.3) if e < 9 else float("nan"),
               pred_std=lambda e: 0.07 if e < 9 else float("nan"))
    report = _json(["check", str(tmp_path), "--profile", "round5"])
    finite = _findings(report, "gradient.finite")
    assert finite[0]["status"] == "fail" and "non-finite loss, R2 or prediction statistic from epoch 9" in finite[0]["message"]
    assert f":step {9 * STEPS_PER_EPOCH + 92}" in " ".join(report["locations"][str(line)] for line in finite[0]["lines"])
    learned = _findings(report, "progression.learned_std")
    assert learned[0]["status"] == "fail" and "is nan at epoch 14" in learned[0]["message"]


def test_huge_number_of_steps_in_bounded_memory(tmp_path):
    # 250 epochs of 93 steps, train/loss and epoch at every step: 23,250 points each, above the kept 20,000.
    write_fold(tmp_path, 1, 250, wall=1_795_000_000, train_every=1)
    tracemalloc.start()
    log = scalar_log(read_scalars(tmp_path), str(tmp_path))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    fold = log.runs[0].folds[0]
    assert len(fold.epochs) == 250 and fold.epochs[-1].epoch == 249
    assert peak < 40 * 1024 * 1024, peak
    data = read_event_file(str(next((tmp_path / "fold_1" / "version_0").glob("events.*"))))
    assert data.series["train/loss"].seen == 250 * STEPS_PER_EPOCH
    assert len(data.series["train/loss"].steps) <= MAX_POINTS and data.series["train/loss"].thinned
    assert any("kept as an even sample (train/loss)" in note for note in log.notes)


def test_run_folder_without_scalars_is_no_data(tmp_path):
    folder = tmp_path / "fold_1" / "version_0"
    writer = tensorboardX.SummaryWriter(logdir=str(folder))
    writer.add_text("config", "batch_size: 8, lr: 5e-5", 0)
    writer.close()
    code, out, err = run_cli(["check", str(tmp_path), "--isolated"])
    assert code == 1 and not err and f"{tmp_path}: log.no_data FAIL" in out
    assert "run.complete WARN the log ends inside fold 1, before its first epoch line" in out
    code, out, err = run_cli(["check", str(tmp_path), "--isolated", "-v"])
    assert "no validation scalars (val/mean_r2, val/loss)" in out


def test_collapse_during_training(tmp_path):
    write_fold(tmp_path, 1, 25, wall=1_795_000_000, r2=lambda e: saturating(e, 0.12),
               pred_std=lambda e: 0.085 if e < 8 else max(0.085 - 0.008 * (e - 8), 0.018))
    report = _json(["check", str(tmp_path), "--profile", "round5"])
    learned = _findings(report, "progression.learned_std")
    assert learned[0]["status"] == "fail" and learned[0]["direction"] == "collapsed"
    assert "collapsed during training: learned prediction std 0.0850 at epoch 0, 0.0180 at epoch 24" in learned[0]["message"]
    causes = {c["id"]: c for c in report["causes"]}
    assert "progression.learned_std:collapsed" in {c["evidence"] for c in causes["gradient-flow"]["contributions"]}


def test_mean_carried_by_a_few_dimensions(tmp_path):
    strong = {"dynamic_range": 0.62, "timbre_loudness": 0.55, "tempo": 0.48}
    write_fold(tmp_path, 1, 20, wall=1_795_000_000, r2=lambda e: saturating(e, 0.11),
               dims=lambda e, i: strong.get(DIMS[i], 0.02) * (1 - math.exp(-e / 4)))
    report = _json(["check", str(tmp_path), "--profile", "round5"])
    share = _findings(report, "progression.dims_share")
    assert share[0]["status"] == "warn" and share[0]["value"] > 0.8
    assert "dynamic_range" in share[0]["message"] and "tempo" in share[0]["message"]
    fixes = [f["id"] for f in report["fixes"]]
    assert "check-dimension-labels" in fixes


def test_dimensions_that_never_learn(tmp_path):
    write_fold(tmp_path, 1, 20, wall=1_795_000_000,
               dims=lambda e, i: -0.05 - 0.01 * e if DIMS[i] in ("timing", "pedal_clarity") else saturating(e, 0.3))
    report = _json(["check", str(tmp_path), "--profile", "round5"])
    never = _findings(report, "progression.dims_never_learn")
    assert never[0]["status"] == "warn" and never[0]["value"] == 2
    assert "pedal_clarity (-0.050), timing (-0.050)" in never[0]["message"] or "timing (-0.050)" in never[0]["message"]


def test_tensor_scalars_read_like_simple_values(tmp_path):
    write_fold(tmp_path / "a", 1, 6, wall=1_795_000_000)
    write_fold(tmp_path / "b", 1, 6, wall=1_795_000_000, new_style=True)
    old, new = (scalar_log(read_scalars(tmp_path / name), name).runs[0].folds[0] for name in ("a", "b"))
    assert [round(e.val_r2, 6) for e in new.epochs] == [round(e.val_r2, 6) for e in old.epochs]
    assert [round(e.pred_std, 6) for e in new.epochs] == [round(e.pred_std, 6) for e in old.epochs]
