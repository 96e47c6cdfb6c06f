"""The parsed log as pydantic records: Log > Run > Fold > blocks.

Every record keeps the 1-based line numbers it came from (`line`, and for
multi-line blocks `lines`, a map from field name to line), so that a finding
can always point at its evidence.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1


def possible_r2(value: float) -> bool:
    """An R2 a metric can take: finite and at most 1 (the coefficient of determination is 1 at best).
    Anything else is a broken metric or logging bug (log.impossible_values reports it), never evidence
    that a milestone, a baseline or the convergence range was reached."""
    return math.isfinite(value) and value <= 1.0


class Record(BaseModel):
    """Base record: where in the input it was found."""

    # Field names such as model_type and model_r2 are the trainer's words; pydantic before 2.10
    # reserves the model_ prefix with a warning (the declared floor is 2.6).
    model_config = ConfigDict(protected_namespaces=())

    line: int = Field(description="1-based line where the record starts")


class TrainerTag(BaseModel):
    """One of the trainer's own `[OK]`/`[WARN]`/`[FAIL]` verdicts, kept as evidence."""

    tag: str
    text: str
    line: int
    subject: str | None = Field(
        default=None, description="which measurement the tag is about (logit_std, pred_std, ...)"
    )


class ActivationCheck(Record):
    """The `ACTIVATION CHECK - Batch N` block (both dialects)."""

    end_line: int | None = None
    batch: int | None = None
    dialect: str = Field(default="trainer", description="'trainer' or 'seed' (values as ranges)")
    param_count: int | None = None
    prediction_head: list[list[int]] | None = Field(
        default=None, description="Linear layers as [in, out] pairs"
    )
    learning_rate: float | None = None
    target_mean: float | None = None
    target_std: float | None = None
    pred_mean: float | None = None
    pred_std: float | None = None
    pred_min: float | None = None
    pred_max: float | None = None
    logit_mean: float | None = None
    logit_std: float | None = None
    std_ratio: float | None = Field(default=None, description="pred/target std ratio as printed")
    collapsed_dims: int | None = None
    total_dims: int | None = None
    collapse_threshold: float | None = None
    context_vectors: bool | None = None
    diagnose: dict[str, float] = Field(
        default_factory=dict,
        description="the model's own forward(diagnose=True) lines: lstm_out_std, beat_attention_entropy, "
                    "contractor_lstm, contractor_beat, han_output_std, attention_max, attention_uniform, ...")
    diagnose_model: str | None = Field(default=None, description="the model a `[X DIAGNOSE]` header names")
    tags: list[TrainerTag] = Field(default_factory=list)
    lines: dict[str, int] = Field(default_factory=dict)


class GradientStep(Record):
    """One `[GRAD] Step N` block, kept as a bounded sample."""

    step: int
    total: float | None = None
    loss: float | None = None
    han: float | None = None
    contractor: float | None = None
    attn: float | None = None
    head: float | None = None
    context_vectors: float | None = None
    context_flag: str | None = None
    context_resolution: float | None = Field(
        default=None, description="half a unit of the last printed decimal of context_vectors"
    )
    balance: float | None = None
    balance_flag: str | None = None


class SeriesStats(BaseModel):
    """Running statistics of one gradient quantity over every step of a fold."""

    count: int = 0
    nonfinite: int = 0
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    std: float | None = None
    median: float | None = Field(default=None, description="median of the kept sample")
    min_line: int | None = None
    max_line: int | None = None


class GradientStats(BaseModel):
    """All gradient steps of a fold: running statistics plus a bounded sample."""

    steps: int = 0
    first_line: int | None = None
    last_line: int | None = None
    total: SeriesStats = Field(default_factory=SeriesStats)
    loss: SeriesStats = Field(default_factory=SeriesStats)
    balance: SeriesStats = Field(default_factory=SeriesStats)
    context_vectors: SeriesStats = Field(default_factory=SeriesStats)
    flags: dict[str, int] = Field(default_factory=dict, description="balance flag -> count")
    flag_lines: dict[str, int] = Field(default_factory=dict, description="balance flag -> first line")
    context_not_learning: int = 0
    context_not_learning_line: int | None = None
    context_unresolved: dict[str, int] = Field(
        default_factory=dict,
        description="trainer flag -> steps whose context_vectors printed as 0 at a resolution too coarse to judge",
    )
    context_unresolved_line: int | None = None
    context_resolution: float | None = None
    nonfinite_lines: list[int] = Field(default_factory=list, description="first few lines with nan/inf")
    negative_norms: int = Field(default=0, description="steps printing a negative norm (total, han, contractor, attn, head, context_vectors) or balance")
    negative_lines: list[int] = Field(default_factory=list, description="first few lines of those steps")
    sample: list[GradientStep] = Field(default_factory=list)


class Epoch(Record):
    """One `[Fold N] Epoch E | ...` line; epochs are numbered from 0."""

    fold: int | None = None
    epoch: int
    train_loss: float | None = None
    val_loss: float | None = None
    val_r2: float | None = None
    lr: float | None = None
    time_s: float | None = None
    best: bool = False
    # From TensorBoard event files or a metrics.csv (see percediag.parsers.scalars).
    pred_mean: float | None = Field(default=None, description="mean of the validation predictions (val/pred_mean)")
    pred_std: float | None = Field(default=None, description="the learned prediction std on validation (val/pred_std)")
    dim_r2: dict[str, float] = Field(default_factory=dict, description="per-dimension val R2 (val/r2_<dimension>)")
    source: str = Field(default="log", description="log, events, or both (merged by fold and epoch)")
    event_line: int | None = Field(default=None, description="the event point's virtual line (see Log.event_refs)")
    event_val_r2: float | None = Field(default=None, description="merged: the event file's val R2 beside the printed one")
    event_val_loss: float | None = Field(default=None, description="merged: the event file's val loss beside the printed one")


class FoldHeader(Record):
    """The `FOLD N/M` frame and the lines under it."""

    fold: int
    last_fold: int | None = Field(default=None, description="M in 'FOLD N/M' (folds are 0..M)")
    train_samples: int | None = None
    val_samples: int | None = None
    batch_size: int | None = None
    max_epochs: int | None = None
    patience: int | None = None
    param_count: int | None = None
    train_slices: int | None = None
    val_slices: int | None = None
    lines: dict[str, int] = Field(default_factory=dict)


class DimensionScore(BaseModel):
    name: str
    r2: float
    r: float | None = None
    negative: bool = False
    line: int


class FoldSummary(Record):
    """The `FOLD N SUMMARY` block printed when a fold finishes."""

    fold: int
    epochs_reported: int | None = Field(default=None, description="as printed (one more than trained)")
    time_s: float | None = None
    best_epoch: int | None = None
    train_samples: int | None = None
    val_samples: int | None = None
    metrics: dict[str, float | None] = Field(default_factory=dict, description="null where the log printed nan")
    pred_min: float | None = None
    pred_max: float | None = None
    pred_std: float | None = None
    target_std: float | None = None
    collapsed_dims: int | None = None
    total_dims: int | None = None
    collapse_threshold: float | None = None
    top_dims: list[DimensionScore] = Field(default_factory=list)
    bottom_dims: list[DimensionScore] = Field(default_factory=list)
    lines: dict[str, int] = Field(default_factory=dict)


class FoldRow(BaseModel):
    """A row of a per-fold table (rows are numbered by position, not fold id, in test tables)."""

    label: str
    r2: float | None = None
    pearson: float | None = None
    mae: float | None = None
    epochs: int | None = None
    line: int


class Aggregate(Record):
    """The `AGGREGATE RESULTS (K-Fold Cross-Validation)` block."""

    n_folds: int | None = None
    total_time_min: float | None = None
    metrics: dict[str, float | None] = Field(default_factory=dict, description="metric -> mean (null for nan)")
    metrics_std: dict[str, float | None] = Field(default_factory=dict)
    per_fold: list[FoldRow] = Field(default_factory=list)
    positive_dims: int | None = None
    strong_dims: int | None = None
    total_dims: int | None = None
    best_dim: DimensionScore | None = None
    worst_dim: DimensionScore | None = None
    baselines: dict[str, float] = Field(default_factory=dict, description="as printed by the trainer")
    ours_r2: float | None = None
    ours_r2_std: float | None = None
    verdict: str | None = None
    lines: dict[str, int] = Field(default_factory=dict)


class TestResults(Record):
    """The `TEST SET EVALUATION` block with the ensemble metrics."""

    samples: int | None = None
    per_fold: list[FoldRow] = Field(default_factory=list)
    ensemble: dict[str, float | None] = Field(default_factory=dict)
    positive_dims: int | None = None
    total_dims: int | None = None
    ensemble_gain: float | None = None
    lines: dict[str, int] = Field(default_factory=dict)


class DimensionRow(BaseModel):
    name: str
    mean_r2: float
    std_r2: float | None = None
    status: str | None = None
    line: int


class DimensionTable(Record):
    """The `PER-DIMENSION R2 (Mean +/- Std across folds)` table."""

    rows: list[DimensionRow] = Field(default_factory=list)


class TrainingConfig(Record):
    """The `TRAINING CONFIGURATION (...)` block of `key: value` lines."""

    title: str | None = None
    round: int | None = Field(default=None, description="round number named in the title")
    values: dict[str, str] = Field(default_factory=dict)
    lines: dict[str, int] = Field(default_factory=dict)


class StopEvent(Record):
    """A Lightning stop line: max epochs reached, early stopping, interruption."""

    kind: str = Field(description="max_epochs | early_stopping | interrupted | logger_closed (event file's session end)")
    text: str


class CrashInfo(Record):
    """A Python traceback; `exception` is its last line."""

    exception: str | None = None
    exception_type: str | None = None
    exception_line: int | None = None
    terminal: bool = Field(default=True, description="no training record follows it in the run")
    after_training: bool = Field(
        default=False, description="every fold it follows had finished training (a post-training step failed)")


class ModelSummary(Record):
    """Lightning's model summary totals (`Total params`)."""

    total_params: float | None = Field(default=None, description="as printed, e.g. 13.8 M -> 13800000")
    text: str | None = None


class StageStd(BaseModel):
    """One row of an activation-variance table: a stage of the forward pass and its std."""

    stage: str = Field(description="canonical stage: input, x_embedded, note_out, voice_out, hidden_out, beat_nodes, "
                                   "beat_out, beat_spanned, measure_nodes, measure_out, measure_spanned, "
                                   "total_note_cat, contracted, aggregated, logits, predictions")
    label: str = Field(description="the stage as printed")
    std: float
    min: float | None = Field(default=None, description="post-training form: smallest std over the batches")
    max: float | None = Field(default=None, description="post-training form: largest std over the batches")
    tag: str | None = Field(default=None, description="the trainer's status: OK, LOW - ISSUE, HIGH")
    line: int


class DiagnosticSummary(Record):
    """The trainer's hierarchy diagnostics: `DIAGNOSTIC SUMMARY - Epoch N` (in training) or the
    post-training `ACTIVATION VARIANCE ANALYSIS` / `HIERARCHY CONTRIBUTION ANALYSIS` blocks."""

    end_line: int | None = None
    epoch: int | None = None
    phase: str = Field(default="epoch", description="sanity (Lightning's sanity-check pass), epoch, or post-training")
    stages: list[StageStd] = Field(default_factory=list)
    entropy: dict[str, float] = Field(default_factory=dict, description="beat / measure attention entropy (1 = uniform)")
    contribution: dict[str, float] = Field(
        default_factory=dict, description="lstm / beat / measure share of the variance, as a fraction")
    beat_range: list[int] | None = None
    measure_range: list[int] | None = None
    negatives: int | None = Field(default=None, description="zero-shifted indices below 0 (0: none)")
    tags: list[TrainerTag] = Field(default_factory=list)
    lines: dict[str, int] = Field(default_factory=dict)


class Ablation(Record):
    """The hierarchy ablation: `[ABLATION] ...` lines (in training) or `MANUAL ABLATION TEST` (post-training)."""

    end_line: int | None = None
    epoch: int | None = None
    phase: str = Field(default="epoch", description="sanity, epoch, or post-training")
    baseline: str | None = Field(default=None, description="what the full model is compared with, as printed")
    zeroed: bool = Field(default=True, description="the baseline is the same model with the hierarchy zeroed")
    full_r2: float | None = None
    ablated_r2: float | None = None
    gain: float | None = None
    tags: list[TrainerTag] = Field(default_factory=list)
    lines: dict[str, int] = Field(default_factory=dict)


class SliceStat(Record):
    """`KFold Dataset: fold=F, mode=M, samples=S, slices=N (R/sample)` or `[Slice] Epoch E: regenerated N slices`."""

    fold: int | None = None
    mode: str | None = Field(default=None, description="train, val, or regenerated")
    samples: int | None = None
    slices: int
    per_sample: float | None = Field(default=None, description="slices per sample as printed")
    epoch: int | None = None


class DataCheck(Record):
    """`PRE-TRAINING DATA DIAGNOSTICS`: the trainer's checks of one batch before training."""

    end_line: int | None = None
    slices: int | None = None
    samples: int | None = None
    per_sample: float | None = None
    beat_min: int | None = None
    measure_min: int | None = None
    negatives: int | None = Field(default=None, description="negative zero-shifted or backward beat steps")
    nonfinite: bool | None = Field(default=None, description="NaN or Inf in the input features")
    labels_in_range: bool | None = None
    issues: int | None = Field(default=None, description="issues the trainer's own summary counted (0: all passed)")
    invalid: list[str] = Field(default_factory=list, description="printed numbers that cannot be what they claim "
                                                                 "(a non-finite index or statistic, a negative std)")
    tags: list[TrainerTag] = Field(default_factory=list)
    lines: dict[str, int] = Field(default_factory=dict)


class ModelType(Record):
    """Which model the run trained: `TRAINING: baseline_beat`, or the trainer's `Model type:` line."""

    name: str = Field(description="han, baseline, baseline_beat, baseline_beat_measure, or as printed")
    where: str = Field(description="what named it")
    expected: dict[str, str] = Field(default_factory=dict, description="the PHASE 2 MODEL TYPES table: type -> text")


class IndexStats(Record):
    """Post-training `INDEX STATISTICS (HIERARCHY HEALTH)`: negative zero-shifted indices, summed over the batches."""

    end_line: int | None = None
    negative_beats: int | None = None
    negative_measures: int | None = None
    lines: dict[str, int] = Field(default_factory=dict)


class StageIssue(BaseModel):
    """One numbered item of the post-training issue list: `1. Note LSTM: std=0.0354 < 0.1`."""

    label: str = Field(description="the stage as printed")
    stage: str | None = Field(default=None, description="canonical stage (as in StageStd), None if not a known stage")
    std: float | None = None
    bound: float | None = Field(default=None, description="the trainer's low threshold it fell below")
    line: int


class IssueList(Record):
    """The post-training `DIAGNOSTIC SUMMARY`: `[N ISSUES DETECTED]`, the numbered issues, `Likely root causes:`."""

    end_line: int | None = None
    count: int | None = Field(default=None, description="N as the trainer counted it")
    issues: list[StageIssue] = Field(default_factory=list)
    root_causes: list[str] = Field(default_factory=list, description="the trainer's canned hints, as printed (untrusted text)")
    lines: dict[str, int] = Field(default_factory=dict)


class PostAnalysis(Record):
    """Round 13's `POST-TRAINING ANALYSIS: <model>`: fold results, per-dimension R2, comparison to the baseline."""

    end_line: int | None = None
    model: str | None = Field(default=None, description="the model the header names")
    fold: int | None = None
    r2: float | None = None
    pearson: float | None = None
    mae: float | None = None
    pred_std: float | None = None
    target_std: float | None = None
    dims: list[DimensionRow] = Field(default_factory=list, description="per-dimension R2 of this fold (mean_r2 = the fold's R2)")
    positive_dims: int | None = None
    total_dims: int | None = None
    baseline: str | None = Field(default=None, description="the baseline row's label, e.g. Baseline (7-layer BiLSTM)")
    baseline_r2: float | None = Field(default=None, description="the trainer's fixed baseline R2, not measured in this run")
    model_r2: float | None = Field(default=None, description="the model's row of the comparison")
    expected: dict[str, str] = Field(default_factory=dict, description="the comparison's Expected column: row -> text")
    gain: float | None = Field(default=None, description="model R2 minus the baseline R2, as printed")
    tags: list[TrainerTag] = Field(default_factory=list)
    lines: dict[str, int] = Field(default_factory=dict)


class TrainingSummary(Record):
    """Round 13's training summary lines: `Fold N Best Val R2: x` and `TRAINING COMPLETE` with `Mean R2` / `Std R2`."""

    fold_best: dict[str, float] = Field(default_factory=dict, description="fold id -> the trainer's best val R2")
    complete_line: int | None = None
    mean_r2: float | None = None
    std_r2: float | None = None
    lines: dict[str, int] = Field(default_factory=dict)


class ParseWarning(BaseModel):
    line: int
    message: str


class EventRef(BaseModel):
    """Where a value from an event file or metrics.csv came from: the file and the step."""

    file: str
    step: int


class SourceMismatch(BaseModel):
    """Where the stdout log and the event files disagree about a fold or an epoch."""

    fold: int | None = None
    epoch: int | None = None
    kind: str = Field(description="value | missing_in_events | missing_in_log | fold_missing_in_events | fold_missing_in_log")
    message: str
    lines: list[int] = Field(default_factory=list, description="the log line and the event point's virtual line")


class Fold(BaseModel):
    """One cross-validation fold of a run, in the order it was trained."""

    fold: int | None
    line: int
    end_line: int | None = None
    header: FoldHeader | None = None
    activation: ActivationCheck | None = None
    activations: int = Field(default=0, description="how many activation blocks the fold printed")
    gradients: GradientStats | None = None
    epochs: list[Epoch] = Field(default_factory=list)
    summary: FoldSummary | None = None
    stops: list[StopEvent] = Field(default_factory=list)
    event_source: str | None = Field(default=None, description="the run folder its event scalars came from")
    diagnostics: list[DiagnosticSummary] = Field(default_factory=list, description="per-epoch DIAGNOSTIC SUMMARY blocks")
    ablations: list[Ablation] = Field(default_factory=list, description="in-training [ABLATION] results")

    @property
    def finished(self) -> bool:
        """The fold ran to its end: a summary, or a normal Lightning stop."""
        return self.summary is not None or any(
            stop.kind in ("max_epochs", "early_stopping", "logger_closed") for stop in self.stops
        )


class Run(BaseModel):
    """One training run (a log may hold several appended runs)."""

    # `model_summary` is a field, not pydantic API: older pydantic 2.x warns on the `model_` prefix.
    model_config = ConfigDict(protected_namespaces=())

    index: int = 0
    line: int = 1
    end_line: int | None = None
    config: TrainingConfig | None = None
    cv_folds: int | None = Field(default=None, description="K of the K-fold header")
    model_summary: ModelSummary | None = None
    folds: list[Fold] = Field(default_factory=list)
    aggregate: Aggregate | None = None
    test: TestResults | None = None
    dimensions: DimensionTable | None = None
    crash: CrashInfo | None = None
    stops: list[StopEvent] = Field(default_factory=list, description="stop lines outside any fold")
    model_type: ModelType | None = None
    data_check: DataCheck | None = None
    slices: list[SliceStat] = Field(default_factory=list, description="slice lines outside any fold (data checks)")
    post_diagnostics: DiagnosticSummary | None = Field(default=None, description="post-training hierarchy diagnostics")
    post_ablation: Ablation | None = Field(default=None, description="post-training MANUAL ABLATION TEST")
    post_index: IndexStats | None = Field(default=None, description="post-training INDEX STATISTICS")
    post_issues: IssueList | None = Field(default=None, description="post-training DIAGNOSTIC SUMMARY issue list")
    post_analysis: PostAnalysis | None = Field(default=None, description="Round 13's POST-TRAINING ANALYSIS")
    training_summary: TrainingSummary | None = Field(default=None, description="Fold N Best Val R2 and TRAINING COMPLETE lines")
    event_sources: list[str] = Field(default_factory=list, description="event folders or metrics.csv files read into this run")
    mismatches: list[SourceMismatch] = Field(default_factory=list, description="stdout log against event files")
    unannounced_restarts: list[int] = Field(
        default_factory=list,
        description="lines, in the whole log, where a run started without a banner (epoch numbers going back in a "
                    "fold, a fold's header or activation check again after its epochs): the same list on every run")

    def has_training_data(self) -> bool:
        return bool(
            self.folds
            and any(f.activation or f.gradients or f.epochs or f.summary for f in self.folds)
            or self.aggregate
            or self.test
            or self.dimensions
        )


class Log(BaseModel):
    """Everything parsed from one input."""

    schema_version: int = SCHEMA_VERSION
    source: str
    lines: int = 0
    runs: list[Run] = Field(default_factory=list)
    warnings: list[ParseWarning] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list, description="what normalisation did")
    event_refs: dict[int, EventRef] = Field(
        default_factory=dict,
        description="virtual line numbers (negative) of values read from event files -> file and step")
