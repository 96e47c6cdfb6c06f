"""Joining a stdout log with the event scalars of the same run, by fold and epoch.

The stdout log has what only it prints (the configuration, the activation
checks, the gradient blocks, the fold summaries, tracebacks); the event files
have every epoch, and the learned prediction mean and std and the
per-dimension R2 the stdout never prints per epoch. The merged run is the
stdout's last run with, for each fold:

- an epoch in both: the stdout's record (its line stays the citation), with
  the event values added (`pred_std`, `dim_r2`, ...) and the event's own
  val R2 and loss kept beside the printed ones (`event_val_r2`,
  `event_val_loss`), for `log.sources_agree` to compare;
- an epoch only in the event files: taken from them. After the stdout's
  last epoch of the fold this completes a log cut short (Colab truncates
  long outputs); between two printed epochs it is a hole in the log (a
  pasted log that lost its middle), recorded as a mismatch;
- an epoch only in the stdout: recorded as a mismatch (the event file
  stopped early, or belongs to another run);
- a fold only in the event files: added; a fold only in the stdout: a mismatch.

Each mismatch is a `SourceMismatch` on the run, judged by `log.sources_agree`.
"""

from __future__ import annotations

from percediag.model import Epoch, Fold, Log, Run, SourceMismatch


def _match(run: Run, fold: Fold) -> Fold | None:
    if fold.fold is not None:
        return next((f for f in run.folds if f.fold == fold.fold), None)
    # An event folder without a fold number pairs with a log of one fold.
    return run.folds[0] if len(run.folds) == 1 else None


def _merge_epochs(target: Fold, source: Fold, mismatches: list[SourceMismatch]) -> int:
    """Event epochs into a stdout fold; returns how many epochs completed a log cut short."""
    printed = {e.epoch: e for e in target.epochs}
    from_events = {e.epoch: e for e in source.epochs}
    last_printed = max(printed, default=-1)
    completed = 0
    for number, event in from_events.items():
        mine = printed.get(number)
        if mine is not None:
            printed[number] = mine.model_copy(update={
                "pred_mean": event.pred_mean, "pred_std": event.pred_std, "dim_r2": event.dim_r2,
                "event_val_r2": event.val_r2, "event_val_loss": event.val_loss,
                "event_line": event.event_line, "source": "both"})
            continue
        printed[number] = event
        if number > last_printed:
            completed += 1
        else:
            mismatches.append(SourceMismatch(
                fold=target.fold, epoch=number, kind="missing_in_log", lines=[event.line],
                message=f"fold {target.fold} epoch {number} is in the event file but not in the log "
                        "(a log that lost its middle?); taken from the event file"))
    for number, mine in sorted(printed.items()):
        if number not in from_events and mine.source == "log" and source.epochs:
            mismatches.append(SourceMismatch(
                fold=target.fold, epoch=number, kind="missing_in_events", lines=[mine.line],
                message=f"fold {target.fold} epoch {number} is in the log but not in the event file "
                        f"({source.event_source}): the file stopped early, or belongs to another run"))
    target.epochs = [printed[number] for number in sorted(printed)]
    return completed


def merge(log: Log, events: Log) -> list[str]:
    """Join `events` (parsed by percediag.parsers.scalars) into the last run of `log`, in place.
    Returns notes on what was joined."""
    run = log.runs[-1]
    log.event_refs.update(events.event_refs)
    log.warnings.extend(events.warnings)
    notes: list[str] = list(events.notes)
    event_run = events.runs[0]
    run.event_sources.extend(event_run.event_sources)
    matched: set[int] = set()
    cut_tail = bool(run.folds) and not run.folds[-1].finished and run.aggregate is None
    for fold in event_run.folds:
        target = _match(run, fold)
        if target is None:
            run.folds.append(fold)
            if not cut_tail:
                run.mismatches.append(SourceMismatch(
                    fold=fold.fold, kind="fold_missing_in_log", lines=[fold.line] if fold.epochs else [],
                    message=f"fold {fold.fold} is in the event files ({fold.event_source}) but not in the log"))
            else:
                notes.append(f"fold {fold.fold}: not in the log (it ends early); taken from {fold.event_source}")
            continue
        matched.add(id(target))
        target.event_source = fold.event_source
        completed = _merge_epochs(target, fold, run.mismatches)
        if completed:
            notes.append(f"fold {target.fold}: {completed} epoch(s) after the log's last one taken from {fold.event_source}")
        if not target.finished:
            target.stops.extend(stop for stop in fold.stops if stop.kind == "logger_closed")
        if not fold.epochs:
            run.mismatches.append(SourceMismatch(
                fold=target.fold, kind="fold_missing_in_events", lines=[target.line],
                message=f"fold {target.fold}: its event folder ({fold.event_source}) holds no validation scalars"))
    for fold in run.folds:
        if fold.event_source is None and id(fold) not in matched and (fold.epochs or fold.activation):
            run.mismatches.append(SourceMismatch(
                fold=fold.fold, kind="fold_missing_in_events", lines=[fold.line],
                message=f"fold {fold.fold} is in the log but has no event folder (no fold_{fold.fold} folder found)"))
    return notes


def count_sources(epochs: list[Epoch]) -> dict[str, int]:
    counts = {"log": 0, "events": 0, "both": 0}
    for epoch in epochs:
        counts[epoch.source] = counts.get(epoch.source, 0) + 1
    return counts
