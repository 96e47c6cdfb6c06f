"""History: one row per run, the experiment log table generated from the logs."""

from __future__ import annotations

from pydantic import BaseModel

from percediag.compare.summary import RunSummary, round_label
from percediag.roundtable import display


def columns() -> tuple[str, ...]:
    """The table's columns: an R2@N column per milestone of configs/display.yaml."""
    milestones = tuple(f"R2@{epochs}" for epochs in display().milestone_epochs())
    return ("run", "round", "params", "head", "lr", "logits std", "pred std", "std ratio",
            *milestones, "best R2", "CV mean", "status")


class History(BaseModel):
    schema_version: int = 1
    runs: list[RunSummary]

    def rows(self) -> list[dict[str, str]]:
        return [row(summary) for summary in self.runs]


def _num(value, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def row(s: RunSummary) -> dict[str, str]:
    best = "-" if s.best_r2 is None else f"{s.best_r2:.4f} (fold {s.best_fold}, ep {s.best_epoch})"
    return {
        "run": s.name,
        "round": round_label(s),
        "params": "-" if s.params is None else f"{s.params:,}",
        "head": s.head or "-",
        "lr": "-" if s.learning_rate is None else f"{s.learning_rate:.2e}",
        "logits std": _num(s.means.get("logit_std")),
        "pred std": _num(s.means.get("pred_std")),
        "std ratio": _num(s.means.get("std_ratio"), 2),
        **{f"R2@{epochs}": _num(s.milestones.get(epochs), 4) for epochs in display().milestone_epochs()},
        "best R2": best,
        "CV mean": _num(s.cv_mean, 4),
        "status": s.status.upper(),
    }
