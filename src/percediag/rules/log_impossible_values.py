"""log.impossible_values: no R2 above 1, no negative standard deviation or gradient norm.

What it checks: every R2 the run's records hold (each epoch line's
`val_r2`, each fold summary's R2 and its top/bottom dimensions, the
cross-validation aggregate's mean R2, per-fold rows, best/worst dimension
and `Ours`, the test set's per-fold and ensemble R2, the per-dimension
table's mean R2) must be at most `r2_max` (1.0) and at least `r2_min`
(-1000: an R2 that negative, -1e308, is an overflow or a logging bug, not a
model, however bad). Every standard deviation
(the activation check's target, prediction and logit std and their ratio,
each fold summary's pred and target std, the aggregate's `+/-` spreads and
`Std` rows, the per-dimension table's std R2) must be at least `std_min`
(0), and so must every gradient norm and balance of the `[GRAD]` blocks
(the parser counts, over every step, those printed with a minus sign and
keeps the first few lines). An R2 above 1 and at most `percent_max` (100)
is said to look like a percentage (25.3 printed where 0.253 was meant).
NaN is not judged here (gradient.finite reports non-finite values). The
parsers keep such values as printed, with a trailing `%` too, so that
they reach this rule.

One finding per fold holding offending values (epoch lines, activation
check, gradient steps, fold summary) and one for the run-level blocks
(aggregate, test set, per-dimension table), each naming every value, its
field and its line; the status is the rule's severity (default fail). A run
with nothing offending gets one pass finding; a run with no R2 and no std
at all is `missing`.

Why: R2 = 1 - SS_res / SS_tot cannot exceed 1, and a standard deviation or
a norm cannot be negative. Such a number is a logging or metric bug (a
percentage, a sign flipped, the wrong column), and every other rule would
otherwise judge it as if it were real: an R2 of 25.3 passes every
milestone and baseline. The run is not healthy until the log is fixed.

Example (fold 1 of `real-logs/round5.log`, its activation check and first
epochs, with two numbers spoiled):

    [Fold 1] Epoch   1 | train_loss: 0.0107 | val_loss: 0.0144 | val_r2: 25.3 | lr: 5.00e-05 | time: 8.2s *best*
    Predictions: mean=0.504, std=-0.054, range=[0.358, 0.643]

fails for fold 1: "2 impossible value(s): val_r2 of epoch 1 = 25.3 at line
30 is above 1; 25.3 looks like a percentage (0.253 meant?); activation
check prediction std = -0.054 at line 17 is below 0: ...".
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from pydantic import Field, model_validator

from percediag.model import Fold, FoldRow, Run
from percediag.rules.options import RuleOptions
from percediag.rules.spec import SEVERITY, RuleSpec, Verdict
from percediag.settings import Settings


# How many offending values one message names before "and N more" (the finding's lines list them all).
_SHOWN = 8


class Options(RuleOptions):
    r2_max: float = Field(description="the largest possible R2")
    r2_min: float = Field(description="the most negative R2 a real model, however bad, prints")
    percent_max: float = Field(description="an R2 above r2_max and at most this looks like a percentage")
    std_min: float = Field(description="the smallest possible standard deviation or norm")
    reasons: dict[str, str] = Field(default_factory=dict, description="why each bound has its value")

    @model_validator(mode="after")
    def _ordered(self) -> Options:
        if any(math.isnan(v) for v in (self.r2_max, self.r2_min, self.percent_max, self.std_min)):
            raise ValueError("bounds cannot be NaN")
        if self.r2_min >= self.r2_max:
            raise ValueError(f"r2_min ({self.r2_min:g}) is not below r2_max ({self.r2_max:g})")
        if self.percent_max < self.r2_max:
            raise ValueError(f"percent_max ({self.percent_max:g}) is below r2_max ({self.r2_max:g})")
        return self


# (kind, field, value, line): kind is "r2" (at most r2_max) or "std" (at least std_min).
Value = tuple[str, str, float, int | None]


def _fold_values(fold: Fold) -> Iterator[Value]:
    for epoch in fold.epochs:
        if epoch.val_r2 is not None:
            yield "r2", f"val_r2 of epoch {epoch.epoch}", epoch.val_r2, epoch.line
    act = fold.activation
    if act is not None:
        for field, label in (("target_std", "target std"), ("pred_std", "prediction std"), ("logit_std", "logit std"),
                             ("std_ratio", "pred/target std ratio")):
            value = getattr(act, field)
            if value is not None:
                yield "std", f"activation check {label}", value, act.lines.get(field, act.line)
    summary = fold.summary
    if summary is not None:
        r2 = summary.metrics.get("r2")
        if r2 is not None:
            yield "r2", "fold summary R2", r2, summary.lines.get("r2", summary.line)
        for dim in [*summary.top_dims, *summary.bottom_dims]:
            yield "r2", f"fold summary {dim.name} R2", dim.r2, dim.line
        std_line = summary.lines.get("pred_std", summary.line)
        if summary.pred_std is not None:
            yield "std", "fold summary pred std", summary.pred_std, std_line
        if summary.target_std is not None:
            yield "std", "fold summary target std", summary.target_std, std_line


def _rows(rows: list[FoldRow], table: str) -> Iterator[Value]:
    for row in rows:
        if row.label == "Std":
            for name in ("r2", "pearson", "mae"):
                value = getattr(row, name)
                if value is not None:
                    yield "std", f"{table} Std row {'R2' if name == 'r2' else name}", value, row.line
        elif row.r2 is not None:
            yield "r2", f"{table} R2 of row '{row.label}'", row.r2, row.line


def _run_values(run: Run) -> Iterator[Value]:
    agg = run.aggregate
    if agg is not None:
        if agg.metrics.get("r2") is not None:
            yield "r2", "cross-validation mean R2", agg.metrics["r2"], agg.lines.get("r2", agg.line)
        for metric, spread in agg.metrics_std.items():
            if spread is not None:
                name = "R2" if metric == "r2" else metric.capitalize()
                yield "std", f"cross-validation {name} std", spread, agg.lines.get(metric, agg.line)
        yield from _rows(agg.per_fold, "per-fold table")
        for which, dim in (("best", agg.best_dim), ("worst", agg.worst_dim)):
            if dim is not None:
                yield "r2", f"{which} dimension {dim.name} R2", dim.r2, dim.line
        if agg.ours_r2 is not None:
            yield "r2", "'Ours' R2", agg.ours_r2, agg.lines.get("ours", agg.line)
        if agg.ours_r2_std is not None:
            yield "std", "'Ours' R2 std", agg.ours_r2_std, agg.lines.get("ours", agg.line)
    test = run.test
    if test is not None:
        if test.ensemble.get("r2") is not None:
            yield "r2", "ensemble test R2", test.ensemble["r2"], test.lines.get("r2", test.line)
        yield from _rows(test.per_fold, "per-fold test table")
    if run.dimensions is not None:
        for row in run.dimensions.rows:
            yield "r2", f"per-dimension table {row.name} mean R2", row.mean_r2, row.line
            if row.std_r2 is not None:
                yield "std", f"per-dimension table {row.name} std R2", row.std_r2, row.line


def _problem(kind: str, field: str, value: float, line: int | None, options: Options) -> str | None:
    """The sentence naming an impossible value, or None when the value is possible."""
    if math.isnan(value):
        return None
    at = f" at line {line}" if line is not None else ""
    if kind == "r2" and value > options.r2_max:
        text = f"{field} = {value:g}{at} is above {options.r2_max:g}"
        if value <= options.percent_max:
            text += f"; {value:g} looks like a percentage ({value / 100:.4g} meant?)"
        return text
    if kind == "r2" and value < options.r2_min:
        return f"{field} = {value:g}{at} is below {options.r2_min:g}"
    if kind == "std" and value < options.std_min:
        return f"{field} = {value:g}{at} is below {options.std_min:g}"
    return None


def _gradient_problem(fold: Fold, options: Options) -> tuple[str, float, list[int]] | None:
    """Negative norms of a fold's [GRAD] steps (counted over every step; the first few lines kept)."""
    grads = fold.gradients
    if grads is None or not grads.negative_norms:
        return None
    lowest = grads.total.min if grads.total.min is not None and grads.total.min < options.std_min else None
    value = f" (lowest total norm {lowest:g})" if lowest is not None else ""
    where = ", ".join(str(n) for n in grads.negative_lines)
    first = "first " if grads.negative_norms > len(grads.negative_lines) else ""
    text = (f"{grads.negative_norms} gradient step(s) with a negative norm or balance{value}, "
            f"{first}at line{'s' if len(grads.negative_lines) > 1 else ''} {where}")
    return text, lowest if lowest is not None else float("nan"), list(grads.negative_lines)


def _finding(problems: list[tuple[str, float, list[int]]], fold: int | None, options: Options, expected: str) -> Verdict:
    texts = [text for text, _, _ in problems]
    shown = "; ".join(texts[:_SHOWN]) + (f"; and {len(texts) - _SHOWN} more" if len(texts) > _SHOWN else "")
    values = [value for _, value, _ in problems if not math.isnan(value)]
    lines = sorted({line for _, _, found in problems for line in found})
    return Verdict(status=SEVERITY, fold=fold, value=values, expected=expected,
                   lines=lines, message=f"{len(problems)} impossible value(s): {shown}: {options.reason}")


def check(run: Run, options: Options, settings: Settings) -> list[Verdict]:
    expected = f"{options.r2_min:g} <= R2 <= {options.r2_max:g}; std and norms >= {options.std_min:g}"
    groups: list[tuple[Fold | None, list[Value]]] = [(fold, list(_fold_values(fold))) for fold in run.folds]
    groups.append((None, list(_run_values(run))))
    findings, checked = [], {"r2": 0, "std": 0}
    for fold, values in groups:
        problems = []
        for kind, field, value, line in values:
            checked[kind] += 1
            text = _problem(kind, field, value, line, options)
            if text is not None:
                problems.append((text, value, [line] if line is not None else []))
        if fold is not None and fold.gradients is not None:
            checked["std"] += fold.gradients.steps
            if (gradient := _gradient_problem(fold, options)) is not None:
                problems.append(gradient)
        if problems:
            findings.append(_finding(problems, fold.fold if fold is not None else None, options, expected))
    if findings:
        return findings
    if not checked["r2"] and not checked["std"]:
        return [Verdict(status="missing", expected=expected,
                        message="no R2, standard deviation or gradient norm in the log to check")]
    return [Verdict(status="pass", expected=expected,
                    message=f"every R2 in {options.r2_min:g}..{options.r2_max:g} ({checked['r2']} checked) and every std and norm "
                            f"at least {options.std_min:g} ({checked['std']} checked)")]


SPEC = RuleSpec(id="log.impossible_values", category="log", order=2, options=Options, check=check)
