"""History: one row per run, the experiment log table generated from the logs."""

from __future__ import annotations

from pydantic import BaseModel

from percediag.compare.summary import RunSummary, round_label

COLUMNS = ("run", "round", "params", "head", "lr", "logits std", "pred std", "std ratio",
           "R2@5", "R2@10", "R2@20", "best R2", "CV mean", "status")


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
        "R2@5": _num(s.milestones.get(5), 4),
        "R2@10": _num(s.milestones.get(10), 4),
        "R2@20": _num(s.milestones.get(20), 4),
        "best R2": best,
        "CV mean": _num(s.cv_mean, 4),
        "status": s.status.upper(),
    }
