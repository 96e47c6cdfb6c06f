"""Assembles parsed blocks into runs and folds.

The builder owns the structure of the log: which fold a block belongs to and
where a new run starts. A new run starts at a training configuration block
or a cross-validation banner when the current run already trained, when a
fold id comes back after it had epochs, or when epoch numbers go backwards
within a fold (a restart appended to the same file). The last three are
restarts no banner announced: their lines are kept on every run
(`Run.unannounced_restarts`), since several of them mean processes writing
one log at once (`log.interleaved`).
"""

from __future__ import annotations

from percediag.model import (
    Ablation,
    ActivationCheck,
    Aggregate,
    CrashInfo,
    DataCheck,
    DiagnosticSummary,
    DimensionTable,
    Epoch,
    Fold,
    FoldHeader,
    FoldSummary,
    GradientStep,
    IndexStats,
    IssueList,
    Log,
    ModelSummary,
    ModelType,
    ParseWarning,
    PostAnalysis,
    Run,
    SliceStat,
    StopEvent,
    TestResults,
    TrainingConfig,
    TrainingSummary,
)
from percediag.parsers.gradient_stats import GradientAccumulator

# Parse warnings kept verbatim; past this they are only counted.
MAX_WARNINGS = 200
# Bounds on what a hostile log can make us keep: runs split off, folds per
# run, epoch records per fold and in the whole log (an epoch record costs
# about 2 KB; 20,000 of them stay within the memory budget). A real log is
# far below each: 4 folds x 200 epochs is 800 records.
MAX_RUNS = 200
MAX_FOLDS = 100
MAX_EPOCHS = 10_000
MAX_EPOCH_RECORDS = 20_000
# The later rounds' repeated blocks, kept newest first (the rules judge a
# fold's last summary and the last ablation). A DIAGNOSTIC SUMMARY record
# costs about 25 KB and an [ABLATION] group about 2 KB; the log-wide caps
# keep both within the memory budget. A real log prints one of each every
# few epochs: 4 folds x 40 summaries is 160.
MAX_DIAGNOSTICS = 50
MAX_DIAGNOSTIC_RECORDS = 1_000
MAX_ABLATIONS = 200
MAX_ABLATION_RECORDS = 5_000
# Rows, tags and flagged numbers kept from one block (a real summary has 16 stage rows).
MAX_BLOCK_ROWS = 64


def _has_data(fold: Fold) -> bool:
    return bool(fold.activation or fold.epochs or fold.summary or fold.stops)


class Builder:
    def __init__(self, source: str) -> None:
        self.log = Log(source=source)
        self.run = Run(index=0, line=1)
        self.log.runs.append(self.run)
        self.fold: Fold | None = None
        self._gradients: dict[int, GradientAccumulator] = {}
        self.dropped_warnings = 0
        self.last_line = 0
        self.version = 0
        self._runs_capped = False
        self._log_epochs_capped = False
        self._epoch_records = 0
        self._folds_capped: set[int] = set()
        # Later-round records kept in the whole log, and dropped ones: kind -> count, and the warning that says so.
        self._kept = {"diagnostic summaries": 0, "ablation results": 0}
        self._dropped: dict[str, int] = {}
        self._drop_warnings: dict[str, ParseWarning | None] = {}
        # kind -> the fold lists holding kept records, oldest first (what the log-wide cap drops from).
        self._holders: dict[str, dict[int, list]] = {}
        self.unannounced: list[int] = []

    # -- structure -------------------------------------------------------

    def warn(self, lineno: int, message: str) -> ParseWarning | None:
        if len(self.log.warnings) < MAX_WARNINGS:
            warning = ParseWarning(line=lineno, message=message)
            self.log.warnings.append(warning)
            return warning
        self.dropped_warnings += 1
        return None

    def _run_started(self) -> bool:
        return bool(self.run.folds or self.run.aggregate or self.run.test or self.run.crash)

    def new_run(self, lineno: int) -> bool:
        """Start a new run at `lineno`; False (and a warning) past MAX_RUNS."""
        if len(self.log.runs) >= MAX_RUNS:
            if not self._runs_capped:
                self._runs_capped = True
                self.warn(lineno, f"more than {MAX_RUNS} runs: later restarts are not split off")
            return False
        self._close_run(lineno - 1)
        self.run = Run(index=len(self.log.runs), line=lineno)
        self.log.runs.append(self.run)
        self.fold = None
        return True

    def _unannounced(self, lineno: int) -> bool:
        """A new run no banner announced (see the module docstring)."""
        started = self.new_run(lineno)
        if started:
            self.unannounced.append(lineno)
        return started

    def _close_run(self, end_line: int) -> None:
        self.run.end_line = max(end_line, self.run.line)
        for fold in self.run.folds:
            accumulator = self._gradients.pop(id(fold), None)
            if accumulator is not None:
                fold.gradients = accumulator.to_model()

    def _open_fold(self, fold_id: int | None, lineno: int) -> Fold:
        if len(self.run.folds) >= MAX_FOLDS:
            if self.run.index not in self._folds_capped:
                self._folds_capped.add(self.run.index)
                self.warn(lineno, f"more than {MAX_FOLDS} folds in one run: later folds are merged into the last")
            self.fold = self.run.folds[-1]
            return self.fold
        fold = Fold(fold=fold_id, line=lineno)
        self.run.folds.append(fold)
        self.fold = fold
        return fold

    def _mark_crash_not_terminal(self) -> None:
        if self.run.crash is not None:
            self.run.crash.terminal = False

    def current_fold(self, lineno: int) -> Fold:
        """The fold a block without a fold id belongs to (opened if none is)."""
        if self.fold is None or self.fold.finished:
            return self._open_fold(None, lineno)
        return self.fold

    def _fold_for(self, fold_id: int, lineno: int) -> Fold:
        fold = self.fold
        if fold is not None and fold.fold is None and not fold.epochs:
            fold.fold = fold_id  # a header-less fold learns its id from its first epoch
            return fold
        if fold is not None and fold.fold == fold_id:
            return fold
        for earlier in reversed(self.run.folds):
            if earlier.fold == fold_id and not earlier.finished:
                self.fold = earlier
                return earlier
        return self._open_fold(fold_id, lineno)

    # -- records ---------------------------------------------------------

    def add_config(self, record: TrainingConfig) -> None:
        self.version += 1
        if self._run_started() or self.run.config is not None:
            self.new_run(record.line)
        self.run.config = record

    def start_cross_validation(self, lineno: int, folds: int) -> None:
        self.version += 1
        if self._run_started():
            self.new_run(lineno)
        self.run.cv_folds = folds

    def add_fold_header(self, record: FoldHeader) -> None:
        self.version += 1
        self._mark_crash_not_terminal()
        if any(f.fold == record.fold and (f.epochs or f.summary) for f in self.run.folds):
            self._unannounced(record.line)
        current = self.fold
        if current is not None and current.fold == record.fold and not _has_data(current):
            current.header = record  # the same header again, nothing in between: one fold
            return
        fold = self._open_fold(record.fold, record.line)
        fold.header = record

    def add_activation(self, record: ActivationCheck) -> None:
        self.version += 1
        self._mark_crash_not_terminal()
        fold = self.current_fold(record.line)
        if fold.activation is not None and fold.epochs:
            # A second check after training started: a restart without headers.
            self._unannounced(record.line)
            fold = self._open_fold(None, record.line)
        fold.activations += 1
        if fold.activation is None:
            fold.activation = record

    def add_gradient(self, step: GradientStep, lines: list[int]) -> None:
        self.version += 1
        self._mark_crash_not_terminal()
        fold = self.current_fold(step.line)
        accumulator = self._gradients.get(id(fold))
        if accumulator is None:
            accumulator = self._gradients[id(fold)] = GradientAccumulator()
        accumulator.add(step, lines)

    def add_epoch(self, record: Epoch) -> None:
        self.version += 1
        self._mark_crash_not_terminal()
        fold = self._fold_for(record.fold, record.line)
        if fold.epochs and record.epoch == fold.epochs[-1].epoch and record.val_r2 == fold.epochs[-1].val_r2:
            self.warn(record.line, f"fold {record.fold}: epoch {record.epoch} printed twice; the repeat is ignored")
            return
        if fold.epochs and record.epoch <= fold.epochs[-1].epoch:
            self.warn(record.line, f"fold {record.fold}: epoch {record.epoch} after epoch {fold.epochs[-1].epoch}; a new run starts here")
            if self._unannounced(record.line):
                fold = self._open_fold(record.fold, record.line)
        fold_full = len(fold.epochs) >= MAX_EPOCHS
        if fold_full or self._epoch_records >= MAX_EPOCH_RECORDS:
            if not fold.stops or fold.stops[-1].kind != "capped":
                if fold_full:
                    self.warn(record.line, f"more than {MAX_EPOCHS} epoch lines in one fold: later ones are not kept")
                elif not self._log_epochs_capped:
                    self._log_epochs_capped = True
                    self.warn(record.line, f"more than {MAX_EPOCH_RECORDS} epoch lines in the log: later ones are not kept")
                fold.stops.append(StopEvent(line=record.line, kind="capped", text="epoch lines past the cap"))
            return
        self._epoch_records += 1
        fold.epochs.append(record)
        fold.end_line = record.line

    def add_summary(self, record: FoldSummary) -> None:
        self.version += 1
        fold = self._fold_for(record.fold, record.line)
        fold.summary = record
        fold.end_line = record.line
        self.fold = None

    def add_stop(self, record: StopEvent) -> None:
        self.version += 1
        if self.fold is not None and self.fold.epochs and self.fold.summary is None:
            self.fold.stops.append(record)
            self.fold.end_line = record.line
        else:
            self.run.stops.append(record)

    def add_model_summary(self, record: ModelSummary) -> None:
        self.version += 1
        if self.run.model_summary is None:
            self.run.model_summary = record

    def add_aggregate(self, record: Aggregate) -> None:
        self.version += 1
        self.run.aggregate = record
        self.fold = None

    def add_test(self, record: TestResults) -> None:
        self.version += 1
        self.run.test = record

    def add_dimensions(self, record: DimensionTable) -> None:
        self.version += 1
        self.run.dimensions = record

    def add_crash(self, record: CrashInfo) -> None:
        self.version += 1
        # After training: every fold so far finished (a checkpoint reload, a post-training cell).
        record.after_training = bool(self.run.folds) and all(f.finished for f in self.run.folds)
        self.run.crash = record

    # -- later rounds: diagnostics, ablation, slices, data checks, model type --

    def _in_training(self) -> Fold | None:
        """The fold being trained, or None after training (post-training blocks belong to the run)."""
        fold = self.fold
        return fold if fold is not None and not fold.finished else None

    def add_diagnostics(self, record: DiagnosticSummary) -> None:
        self.version += 1
        if record.phase == "post-training" or self._in_training() is None and self.run.folds and record.epoch is None:
            record.phase = "post-training"
            current = self.run.post_diagnostics
            if current is None:
                self.run.post_diagnostics = record
                return
            # The variance table and the contribution table are two blocks of one analysis;
            # a repeated table replaces the earlier one (bounded, whatever the log repeats).
            if record.stages:
                current.stages = record.stages
            current.contribution.update(record.contribution)
            current.entropy.update(record.entropy)
            current.tags = (current.tags + record.tags)[-MAX_BLOCK_ROWS:]
            current.lines.update(record.lines)
            current.end_line = record.end_line
            return
        fold = self.current_fold(record.line)
        if record.epoch == 0 and not fold.epochs and fold.activation is None and id(fold) not in self._gradients:
            record.phase = "sanity"
        self._keep_latest(fold.diagnostics, record, "diagnostic summaries", MAX_DIAGNOSTICS, MAX_DIAGNOSTIC_RECORDS)

    def add_ablation(self, record: Ablation) -> None:
        self.version += 1
        if record.phase == "post-training":
            self.run.post_ablation = record
            return
        fold = self.current_fold(record.line)
        if record.epoch == 0 and not fold.epochs and fold.activation is None and id(fold) not in self._gradients:
            record.phase = "sanity"
        self._keep_latest(fold.ablations, record, "ablation results", MAX_ABLATIONS, MAX_ABLATION_RECORDS)

    def _keep_latest(self, kept: list, record, kind: str, per_fold: int, per_log: int) -> None:
        """Append `record` to a fold's list, keeping the newest `per_fold` there and `per_log` in the log.

        Past the log-wide cap the oldest list's oldest record goes (earlier
        folds before later ones). One warning per kind says how many were
        dropped; its count is updated as it grows.
        """
        holders = self._holders.setdefault(kind, {})
        if len(kept) >= per_fold:
            del kept[0]
        elif self._kept[kind] >= per_log:
            oldest = next(iter(holders.values()))
            del oldest[0]
            if not oldest:
                del holders[id(oldest)]
        else:
            self._kept[kind] += 1
            kept.append(record)
            holders.setdefault(id(kept), kept)
            return
        kept.append(record)
        holders.setdefault(id(kept), kept)
        dropped = self._dropped[kind] = self._dropped.get(kind, 0) + 1
        if kind not in self._drop_warnings:
            self._drop_warnings[kind] = self.warn(record.line, "")
        warning = self._drop_warnings[kind]
        if warning is not None:
            warning.message = (f"more than {per_fold} {kind} in one fold or {per_log} in the log: "
                               f"the {dropped} oldest not kept (the rules judge the newest)")

    def add_ablation_notice(self, record: Ablation) -> None:
        """The ablation callback's creation warning: no numbers, only what it will compare against."""
        for tag in record.tags:
            self.warn(tag.line, f"ablation notice: {tag.text}")

    def add_slices(self, record: SliceStat) -> None:
        self.version += 1
        if record.mode == "regenerated" and self.fold is not None:
            record.fold = self.fold.fold
        if len(self.run.slices) < MAX_FOLDS * 4:
            self.run.slices.append(record)

    def add_data_check(self, record: DataCheck) -> None:
        self.version += 1
        if self.run.data_check is None:
            self.run.data_check = record

    def add_model_type(self, record: ModelType) -> None:
        self.version += 1
        if self.run.model_type is not None:
            record.expected = self.run.model_type.expected
        self.run.model_type = record

    def add_model_table(self, lineno: int, table: dict[str, str]) -> None:
        self.version += 1
        if self.run.model_type is None:
            # The table alone does not say which type runs; kept until the training header does.
            self.run.model_type = ModelType(line=lineno, name="", where="model types table", expected=table)
        else:
            self.run.model_type.expected = table

    # -- post-training blocks: index statistics, issue list, Round 13's analysis and summary lines --

    def add_index_stats(self, record: IndexStats) -> None:
        self.version += 1
        self.run.post_index = record

    def add_issue_list(self, record: IssueList) -> None:
        self.version += 1
        self.run.post_issues = record

    def add_post_analysis(self, record: PostAnalysis) -> None:
        self.version += 1
        self.run.post_analysis = record

    def _training_summary(self, lineno: int) -> TrainingSummary:
        if self.run.training_summary is None:
            self.run.training_summary = TrainingSummary(line=lineno)
        return self.run.training_summary

    def add_fold_best(self, lineno: int, fold: str, r2: float | None) -> None:
        self.version += 1
        if r2 is None:
            return
        summary = self._training_summary(lineno)
        if fold in summary.fold_best or len(summary.fold_best) < MAX_FOLDS:
            summary.fold_best[fold] = r2
            summary.lines[f"fold_best.{fold}"] = lineno

    def add_training_complete(self, lineno: int, stats: dict[str, tuple[float | None, int]]) -> None:
        self.version += 1
        summary = self._training_summary(lineno)
        summary.complete_line = lineno
        summary.lines["complete"] = lineno
        for name, (value, line) in stats.items():
            setattr(summary, f"{name}_r2", value)
            summary.lines[f"{name}_r2"] = line

    # -- end -------------------------------------------------------------

    def snapshot(self, last_line: int) -> Log:
        """A copy of the log so far, gradients summarised, the builder left untouched."""
        log = self.log.model_copy(deep=True)
        for run, live in zip(log.runs, self.log.runs):
            for fold, live_fold in zip(run.folds, live.folds):
                accumulator = self._gradients.get(id(live_fold))
                if accumulator is not None:
                    fold.gradients = accumulator.to_model()
        log.runs[-1].end_line = last_line
        log.lines = last_line
        for run in log.runs:
            run.unannounced_restarts = list(self.unannounced)
        return log

    def finish(self, last_line: int) -> Log:
        self._close_run(last_line)
        self.log.lines = last_line
        # A leading run with nothing in it (text before the first banner) is not a run.
        runs = [r for r in self.log.runs if r.config or r.folds or r.aggregate or r.test or r.crash or r.dimensions]
        if not runs:
            runs = self.log.runs[-1:]
        for index, run in enumerate(runs):
            run.index = index
            run.unannounced_restarts = list(self.unannounced)
        self.log.runs = runs
        if self.dropped_warnings:
            self.log.notes.append(f"{self.dropped_warnings} further parse warning(s) not listed")
        return self.log
