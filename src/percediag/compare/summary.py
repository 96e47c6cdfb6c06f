"""RunSummary: the numbers of one checked run that rounds are compared on."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, Field

from percediag.findings import Finding
from percediag.metrics import epoch_after, epochs_at, fold_best_r2, learning_rate, param_count, printed_heads, std_ratio
from percediag.model import Run

# Per-fold metrics compared between rounds: name -> how to read it from a fold.
METRICS = ("logit_std", "pred_std", "std_ratio", "collapsed_dims", "total_norm", "balance_ratio", "context_vectors")


class FoldNumbers(BaseModel):
    metrics: dict[str, float | None] = Field(default_factory=dict)
    milestones: dict[int, float | None] = Field(default_factory=dict, description="completed epochs -> R2")
    best_r2: float | None = None
    best_epoch: int | None = Field(default=None, description="completed epochs at the best R2")


class RunSummary(BaseModel):
    name: str
    source: str
    round: int | None = None
    title: str | None = None
    params: int | None = None
    head: str | None = None
    learning_rate: float | None = None
    config: dict[str, str] = Field(default_factory=dict)
    folds: dict[str, FoldNumbers] = Field(default_factory=dict, description="fold id -> numbers")
    means: dict[str, float | None] = Field(default_factory=dict, description="metric -> mean over folds")
    milestones: dict[int, float | None] = Field(default_factory=dict, description="completed epochs -> mean R2 over folds")
    best_r2: float | None = Field(default=None, description="best R2 over all folds")
    best_fold: int | None = None
    best_epoch: int | None = None
    cv_mean: float | None = None
    status: str
    counts: dict[str, int]
    statuses: dict[str, str] = Field(default_factory=dict, description="'rule|fold' -> status")


class Checked(Protocol):
    """What a summary reads of a checked run: a report.model.Report is one (compare sits below report)."""

    source: str
    status: str
    counts: dict[str, int]
    findings: list[Finding]
    records: Run


def _fold_metrics(fold) -> dict[str, float | None]:
    act, grads = fold.activation, fold.gradients
    ratio = std_ratio(act)[0] if act is not None else None
    return {
        "logit_std": act.logit_std if act else None,
        "pred_std": act.pred_std if act else None,
        "std_ratio": ratio,
        "collapsed_dims": float(act.collapsed_dims) if act and act.collapsed_dims is not None else None,
        "total_norm": grads.total.median if grads else None,
        "balance_ratio": grads.balance.median if grads else None,
        "context_vectors": grads.context_vectors.min if grads else None,
    }


def _mean(values: list[float | None]) -> float | None:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return sum(finite) / len(finite) if finite else None


def run_name(report: Checked) -> str:
    stem = Path(report.source).name
    for suffix in (".gz", ".log", ".txt", ".ipynb"):
        stem = stem.removesuffix(suffix)
    return stem


def summarise(report: Checked, milestones: list[int]) -> RunSummary:
    run = report.records
    count = param_count(run)
    heads = {head for head, _ in printed_heads(run)}
    lr = learning_rate(run)
    folds: dict[str, FoldNumbers] = {}
    for fold in run.folds:
        numbers = FoldNumbers(metrics=_fold_metrics(fold))
        for epochs_done in milestones:
            hit = epoch_after(fold, epochs_done)
            numbers.milestones[epochs_done] = hit.val_r2 if hit else None
        best = fold_best_r2(fold)
        if best is not None:
            numbers.best_r2 = best.value
            numbers.best_epoch = epochs_at(fold, best.line)
        folds[str(fold.fold)] = numbers
    summary = RunSummary(
        name=run_name(report),
        source=report.source,
        round=run.config.round if run.config else None,
        title=run.config.title if run.config else None,
        params=count[0] if count is not None else None,
        head=", ".join(sorted(heads)) if heads else None,
        learning_rate=lr.value if lr is not None else None,
        config=dict(run.config.values) if run.config else {},
        folds=folds,
        status=report.status,
        counts=report.counts,
        statuses={f"{f.rule}|{'' if f.fold is None else f.fold}": f.status for f in report.findings},
    )
    summary.means = {m: _mean([n.metrics.get(m) for n in folds.values()]) for m in METRICS}
    summary.milestones = {e: _mean([n.milestones.get(e) for n in folds.values()]) for e in milestones}
    bests = [(n.best_r2, fold, n.best_epoch) for fold, n in folds.items() if n.best_r2 is not None and math.isfinite(n.best_r2)]
    if bests:
        value, fold, epoch = max(bests)
        summary.best_r2, summary.best_fold, summary.best_epoch = value, int(fold) if fold.lstrip("-").isdigit() else None, epoch
    if run.aggregate is not None:
        summary.cv_mean = run.aggregate.metrics.get("r2")
    return summary


def round_label(summary: RunSummary) -> str:
    if summary.round is not None:
        return f"Round {summary.round}"
    match = re.search(r"round[-_ ]?(\d+)", summary.name, re.IGNORECASE)
    return f"Round {match.group(1)}" if match else "-"
