"""Event scalars as records: one Fold per run folder, one Epoch per validation point.

The tags are what the replica's trainer logs through Lightning (see
../shared/real-logs/tensorboard/round5/README.md): `val/mean_r2`, `val/loss`,
`train/loss`, `val/pred_mean`, `val/pred_std`, `val/r2_<dimension>` and
Lightning's own `epoch` and `lr-<optimizer>`. An epoch is anchored on the
steps of `val/mean_r2` (else `val/loss`); the `epoch` tag says which epoch a
step belongs to (Lightning writes it beside every logged row), and without
it the anchors are numbered 0, 1, 2 in step order. `train/loss` is logged
every N training steps: an epoch takes the last point logged in it.

Every value keeps where it came from: each epoch gets a virtual line number
(negative, so it can never be taken for a line of a text log) whose
`Log.event_refs` entry names the file and step; reports show `FILE:step N`
wherever they would show a line.
"""

from __future__ import annotations

import bisect

from percediag.events.scalars import ScalarFile, Series
from percediag.events.tree import RunFolder
from percediag.model import Epoch, EventRef, Fold, Log, Run, StopEvent

MAX_EPOCHS_PER_FOLD = 10_000
R2_TAGS = ("val/mean_r2", "val/r2", "val_r2", "val/mean_r2_epoch")
VAL_LOSS_TAGS = ("val/loss", "val_loss", "val/loss_epoch")
TRAIN_LOSS_TAGS = ("train/loss_epoch", "train/loss", "train_loss")
PRED_MEAN_TAGS = ("val/pred_mean",)
PRED_STD_TAGS = ("val/pred_std",)
DIM_PREFIX = "val/r2_"
LR_PREFIXES = ("lr-", "lr/")
SESSION_END = "_hparams_/session_end_info"


class EventRefs:
    """Hands out virtual line numbers for event points: -1, -2, ..."""

    def __init__(self, log: Log) -> None:
        self.log = log

    def line(self, file: str, step: int) -> int:
        number = -(len(self.log.event_refs) + 1)
        self.log.event_refs[number] = EventRef(file=file, step=step)
        return number


def _first(series: dict[str, Series], names: tuple[str, ...]) -> Series | None:
    for name in names:
        if name in series:
            return series[name]
    return None


def _by_step(series: Series | None) -> dict[int, float]:
    return dict(zip(series.steps, series.values)) if series is not None else {}


def _merge_files(files: list[ScalarFile]) -> ScalarFile:
    """The files of one run folder as one (a resumed writer starts a new file in the same folder)."""
    if len(files) == 1:
        return files[0]
    joined = ScalarFile(path=files[-1].path, kind=files[-1].kind)
    for part in files:
        for tag, series in part.series.items():
            for step, value in zip(series.steps, series.values):
                joined.add(tag, step, value)
        for step, epoch in part.epoch_starts:
            joined.mark_epoch(step, epoch)
        joined.markers |= part.markers
        joined.records += part.records
    return joined


def _epoch_numbers(data: ScalarFile, anchors: list[int]) -> list[int]:
    if not data.epoch_starts:
        return list(range(len(anchors)))
    starts = sorted(data.epoch_starts)
    steps = [s for s, _ in starts]
    numbers = []
    for step in anchors:
        index = bisect.bisect_right(steps, step) - 1
        numbers.append(starts[max(index, 0)][1])
    return numbers


def fold_from(folder: RunFolder, refs: EventRefs, notes: list[str]) -> Fold:
    """One run folder as a Fold: its epochs with every scalar percediag judges."""
    data = _merge_files(folder.files)
    series = data.series
    anchor = _first(series, R2_TAGS) or _first(series, VAL_LOSS_TAGS)
    fold = Fold(fold=folder.fold, line=0, event_source=folder.folder)
    if anchor is None:
        # Nothing to cite but the file itself: its first step.
        fold.line = refs.line(data.path, 0)
        return fold
    r2, val_loss = _by_step(_first(series, R2_TAGS)), _by_step(_first(series, VAL_LOSS_TAGS))
    pred_mean, pred_std = _by_step(_first(series, PRED_MEAN_TAGS)), _by_step(_first(series, PRED_STD_TAGS))
    lr_tag = next((t for t in series if t.startswith(LR_PREFIXES)), None)
    dims = {tag[len(DIM_PREFIX):]: _by_step(s) for tag, s in series.items() if tag.startswith(DIM_PREFIX)}
    anchors = sorted(set(anchor.steps))
    numbers = _epoch_numbers(data, anchors)
    train = _train_loss(_first(series, TRAIN_LOSS_TAGS), data, anchors, numbers)
    lrs = _train_loss(series.get(lr_tag), data, anchors, numbers) if lr_tag else {}
    seen: set[int] = set()
    for step, number in zip(anchors, numbers):
        if number in seen:
            continue  # a second validation in the same epoch (val_check_interval < 1): the first is the epoch's
        if len(fold.epochs) >= MAX_EPOCHS_PER_FOLD:
            notes.append(f"{data.path}: more than {MAX_EPOCHS_PER_FOLD:,} epochs in one fold; the rest are not read")
            break
        seen.add(number)
        line = refs.line(data.path, step)
        fold.epochs.append(Epoch(
            line=line, fold=folder.fold, epoch=number, val_r2=r2.get(step), val_loss=val_loss.get(step),
            train_loss=train.get(number), lr=lrs.get(number), pred_mean=pred_mean.get(step), pred_std=pred_std.get(step),
            dim_r2={name: values[step] for name, values in dims.items() if step in values},
            source="events", event_line=line))
    fold.line = fold.epochs[0].line if fold.epochs else 0
    if SESSION_END in data.markers and fold.epochs:
        fold.stops.append(StopEvent(line=fold.epochs[-1].line, kind="logger_closed",
                                    text="the event file records the end of the training session"))
    return fold


def _train_loss(series: Series | None, data: ScalarFile, anchors: list[int], numbers: list[int]) -> dict[int, float]:
    """The last point logged in each epoch (without an `epoch` tag: before that epoch's validation step)."""
    if series is None:
        return {}
    found: dict[int, float] = {}
    for step, value in zip(series.steps, series.values):
        if data.epoch_starts:
            epoch = data.epoch_of(step)
        else:
            index = bisect.bisect_left(anchors, step)
            epoch = numbers[index] if index < len(numbers) else None
        if epoch is not None:
            found[epoch] = value
    return found


def scalar_log(folders: list[RunFolder], name: str) -> Log:
    """Event folders (or metrics.csv files) read alone: one run, a fold per folder."""
    log = Log(source=name)
    refs = EventRefs(log)
    run = Run(index=0, line=0, end_line=0)
    # Folds in the order they were trained: by the first wall time of their files (Lightning's fold
    # order is often [1, 2, 3, 0]); a metrics.csv has none, and keeps the folder order.
    def started(folder: RunFolder) -> tuple[bool, float]:
        walls = [f.first_wall for f in folder.files if f.first_wall is not None]
        return (not walls, min(walls) if walls else 0.0)

    for folder in sorted(folders, key=started):
        fold = fold_from(folder, refs, log.notes)
        run.folds.append(fold)
        run.event_sources.append(folder.folder)
        log.notes.extend(folder.notes)
        for part in folder.files:
            log.notes.extend(part.notes())
        if not fold.epochs:
            log.notes.append(f"{folder.folder}: no validation scalars (val/mean_r2, val/loss) in "
                             f"{', '.join(f.path for f in folder.files)}")
    log.runs.append(run)
    return log
