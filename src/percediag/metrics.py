"""Derived facts over the records, computed in one place: the best R2 of a fold and of a run, the
R2 after N completed epochs, the parameter count, the learning rate as a number, the prediction
head, the first-batch std ratio, which model ran, and per-fold lookups.

Rules judge these facts, `compare` tabulates them, `diagnose` weighs them and the reports draw
them; none of them recomputes one. Each function answers from the records alone (no settings),
and gives the log line behind its answer so that whoever uses it can cite the evidence.

Functions rather than methods on the records: the records are what the parsers wrote (and what
`--format json` serialises); the facts here are readings of them with policy in them (which R2
is possible, which source of the learning rate wins), and keeping that policy out of the
vocabulary keeps `model` free of it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

from pydantic import BaseModel, Field

from percediag.model import ActivationCheck, Epoch, Fold, Run, possible_r2
from percediag.parsers.numbers import to_float

# -- per-fold lookups ---------------------------------------------------------------------------


def fold_by_id(run: Run, fold_id: int | None) -> Fold | None:
    """The run's fold numbered `fold_id` (the first, should the log print one twice)."""
    return next((fold for fold in run.folds if fold.fold == fold_id), None)


def common_folds(run: Run, baseline: Run) -> list[int | None]:
    """The fold ids of `run` that `baseline` also holds, in `run`'s order."""
    return [f.fold for f in run.folds if any(b.fold == f.fold for b in baseline.folds)]


def epoch_after(fold: Fold, epochs_done: int, *, with_r2: bool = False) -> Epoch | None:
    """The epoch line after `epochs_done` completed epochs (epochs count from 0): the first one,
    or with `with_r2` the first one that carries a validation R2."""
    return next((e for e in fold.epochs if e.epoch == epochs_done - 1 and (not with_r2 or e.val_r2 is not None)), None)



def r2_after(run: Run, fold_id: int | None, epochs_done: int) -> Epoch | None:
    """The first epoch line with a validation R2 after `epochs_done` completed epochs in the fold
    numbered `fold_id` (a fold id the log repeats, a fold run again, is looked up in each)."""
    hits = (epoch_after(fold, epochs_done, with_r2=True) for fold in run.folds if fold.fold == fold_id)
    return next((hit for hit in hits if hit is not None), None)

# -- best R2 ------------------------------------------------------------------------------------


class Best(NamedTuple):
    value: float
    line: int


def best_epoch(fold: Fold, where: Callable[[Epoch], bool] | None = None) -> Epoch | None:
    """The fold's epoch line with the highest possible R2 (finite, at most 1), the first on a tie;
    with `where`, among the epoch lines it accepts."""
    finite = [e for e in fold.epochs if e.val_r2 is not None and possible_r2(e.val_r2) and (where is None or where(e))]
    return max(finite, key=lambda e: e.val_r2) if finite else None


def fold_best_r2(fold: Fold) -> Best | None:
    """The fold's best R2 and its line: its best possible epoch R2, else its summary's R2.
    An R2 of inf, nan or above 1 is a broken metric, not a best (gradient.finite and
    log.impossible_values report it): a fold whose every R2 is impossible has best nan, at its
    first scored epoch, which no comparison passes."""
    best = best_epoch(fold)
    if best is not None:
        return Best(best.val_r2, best.line)
    scored = [e for e in fold.epochs if e.val_r2 is not None]
    if scored:
        return Best(math.nan, scored[0].line)
    if fold.summary is not None and "r2" in fold.summary.metrics:
        value = fold.summary.metrics["r2"]
        # The type allows None: no number is no best either.
        return Best(value if value is not None and possible_r2(value) else math.nan, fold.summary.lines["r2"])
    return None


def epochs_at(fold: Fold, line: int) -> int | None:
    """Completed epochs at the epoch line `line` (None when the line is not an epoch line, e.g. a summary)."""
    return next((e.epoch + 1 for e in fold.epochs if e.line == line), None)


def cv_mean_r2(run: Run) -> Best | None:
    """The cross-validation mean R2 of the aggregate block, when it printed a possible one."""
    agg = run.aggregate
    if agg is None:
        return None
    value = agg.metrics.get("r2")
    if value is None or not possible_r2(value):
        return None
    return Best(value, agg.lines["r2"])


class BestR2(BaseModel):
    """The number rounds are compared on (history, escalation)."""

    value: float
    how: str = Field(description="cross-validation mean, or mean of the folds' best epochs")
    line: int | None = None


def run_best_r2(run: Run) -> BestR2 | None:
    """The number rounds are compared on: the cross-validation mean when printed, else the mean of
    the folds' best epoch R2 (every fold with one, finished or not)."""
    mean = cv_mean_r2(run)
    if mean is not None:
        return BestR2(value=mean.value, how="cross-validation mean", line=run.aggregate.line)
    bests = [e.val_r2 for e in (best_epoch(fold) for fold in run.folds) if e is not None]
    if not bests:
        return None
    how = "best epoch" if len(bests) == 1 else f"mean of {len(bests)} folds' best epochs"
    return BestR2(value=sum(bests) / len(bests), how=how)


class Evidence(NamedTuple):
    value: float
    lines: list[int]
    what: str


def best_r2_evidence(run: Run) -> Evidence | None:
    """The run's best R2 as a verdict on the whole run (the baselines): the cross-validation mean
    when printed, else the mean of the finished folds' best R2, else the best R2 so far. Unlike
    `run_best_r2`, a fold that did not finish does not count while another did, and a fold's
    summary R2 stands in for missing epoch lines."""
    mean = cv_mean_r2(run)
    # A non-finite mean (inf) is a broken metric, not evidence: the folds' R2 are used instead.
    if mean is not None:
        return Evidence(mean.value, [mean.line], "cross-validation mean")
    finished = [b for b in (fold_best_r2(f) for f in run.folds if f.finished) if b is not None]
    if finished:
        mean_best = sum(b.value for b in finished) / len(finished)
        return Evidence(mean_best, [b.line for b in finished], f"mean best R2 of {len(finished)} finished fold(s)")
    bests = [b for b in (fold_best_r2(f) for f in run.folds) if b is not None]
    if bests:
        value, line = max(bests, key=lambda b: b.value if possible_r2(b.value) else -math.inf)
        return Evidence(value, [line], "best R2 so far (no fold finished)")
    return None


# -- architecture -------------------------------------------------------------------------------


def param_counts(run: Run) -> list[tuple[int, int]]:
    """(count, line) for every exact parameter count the run printed (activation check, fold header)."""
    counts = []
    for fold in run.folds:
        if fold.activation is not None and fold.activation.param_count is not None:
            counts.append((fold.activation.param_count, fold.activation.lines["param_count"]))
        if fold.header is not None and fold.header.param_count is not None:
            counts.append((fold.header.param_count, fold.header.lines["param_count"]))
    return counts


def param_count(run: Run) -> tuple[int, list[int]] | None:
    """The run's one exact parameter count and its lines; None when it printed none, or several."""
    counts = param_counts(run)
    values = sorted({c for c, _ in counts})
    if len(values) != 1:
        return None
    return values[0], sorted({line for _, line in counts})


class LearningRate(NamedTuple):
    value: float
    line: int
    where: str


def learning_rate(run: Run) -> LearningRate | None:
    """The run's learning rate: the training configuration's, else the activation check's, else the
    first epoch line's `lr:`."""
    if run.config is not None and "learning_rate" in run.config.values:
        try:
            value = to_float(run.config.values["learning_rate"].split()[0])
        except ValueError:
            value = None
        if value is not None:
            return LearningRate(value, run.config.lines["learning_rate"], "training configuration")
    for fold in run.folds:
        if fold.activation is not None and fold.activation.learning_rate is not None:
            return LearningRate(fold.activation.learning_rate, fold.activation.lines["learning_rate"], "activation check")
    for fold in run.folds:
        for epoch in fold.epochs:
            if epoch.lr is not None:
                return LearningRate(epoch.lr, epoch.line, "first epoch line")
    return None


def head_text(head: list[list[int]]) -> str:
    """A prediction head as the trainer prints it: `512->128, 128->19`."""
    return ", ".join(f"{a}->{b}" for a, b in head)


def printed_heads(run: Run) -> list[tuple[str, int]]:
    """(head as text, line) for each fold whose activation check printed its prediction head."""
    return [(head_text(f.activation.prediction_head), f.activation.lines["prediction_head"])
            for f in run.folds if f.activation is not None and f.activation.prediction_head]


def std_ratio(check: ActivationCheck) -> tuple[float | None, list[int], bool]:
    """The first batch's prediction std over target std, its lines, and whether it was recomputed:
    the printed ratio (the trainer computes it from unrounded values), else the two printed stds."""
    if check.std_ratio is not None:
        return check.std_ratio, [check.lines["std_ratio"]], False
    if check.pred_std is not None and check.target_std:
        lines = sorted({check.lines["pred_std"], check.lines["target_std"]})
        return check.pred_std / check.target_std, lines, True
    return None, [check.line], False


# Model types whose forward pass the trainer's DiagnosticCallback knows (it is keyed on han_encoder).
HAN_TYPES = ("han",)


def model_name(run: Run) -> str | None:
    """The model the run trained: the training header's type, else what the activation check shows.

    A `[Baseline+Beat DIAGNOSE]` block means the baseline-plus-beat model; a
    prediction head line means the full HAN (the incremental models have none).
    """
    if run.model_type is not None and run.model_type.name:
        return run.model_type.name
    for fold in run.folds:
        check = fold.activation
        if check is None:
            continue
        if check.diagnose_model:
            label = check.diagnose_model.lower().replace("+", "_")
            return {"baseline_beat": "baseline_beat", "baseline_beat_measure": "baseline_beat_measure",
                    "baseline": "baseline"}.get(label, label)
        if check.prediction_head:
            return "han"
    return None
