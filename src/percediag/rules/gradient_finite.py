"""gradient.finite: no NaN or Inf in gradients, losses or validation R2.

What it checks: every gradient norm, balance and loss of the `[GRAD]`
blocks, the trainer's `[NaN/Inf DETECTED]` flag, and every epoch line's
losses and val_r2. Any non-finite value is the rule's severity (default
fail).

Why: a single non-finite value poisons the weights from that step on;
every later number in the log is meaningless. Typical causes are a
learning rate too high, no gradient clipping, or half precision (Round 1
fixed an explosion by moving to FP32).

Example:

    [GRAD] Step 300: total=nan, loss=nan
    Balance (head/encoder): nanx [NaN/Inf DETECTED]

fails, pointing at the first such line.
"""

from __future__ import annotations

import math

from percediag.model import Run
from percediag.rules.base import folds_or_none
from percediag.rules.options import RuleOptions
from percediag.rules.spec import SEVERITY, RuleSpec, Verdict
from percediag.settings import Settings

Options = RuleOptions


def _epoch_values(epoch) -> list[float | None]:
    """Every number an epoch record carries: the printed line's, and the event files' (learned
    prediction mean and std, per-dimension R2, the merged event R2 and loss)."""
    return [epoch.train_loss, epoch.val_loss, epoch.val_r2, epoch.pred_mean, epoch.pred_std,
            epoch.event_val_r2, epoch.event_val_loss, *epoch.dim_r2.values()]


def check(run: Run, options: RuleOptions, settings: Settings) -> list[Verdict]:
    findings = []
    for fold in folds_or_none(run):
        fold_id = fold.fold if fold else None
        grads = fold.gradients if fold else None
        epochs = fold.epochs if fold else []
        if (grads is None or grads.steps == 0) and not epochs:
            findings.append(Verdict(status="missing", fold=fold_id, expected="all finite",
                                    message="no gradient steps or epoch lines in this fold"))
            continue
        lines: list[int] = []
        problems = []
        if grads is not None and grads.nonfinite_lines:
            lines.extend(grads.nonfinite_lines)
            count = sum(s.nonfinite for s in (grads.total, grads.loss, grads.balance))
            problems.append(f"{max(count, len(grads.nonfinite_lines))} non-finite gradient value(s)")
        bad_epochs = [e for e in epochs if any(v is not None and not math.isfinite(v) for v in _epoch_values(e))]
        if bad_epochs:
            lines.extend(e.line for e in bad_epochs[:5])
            problems.append(f"non-finite loss, R2 or prediction statistic from epoch {bad_epochs[0].epoch}")
        if problems:
            findings.append(Verdict(status=SEVERITY, fold=fold_id, value=False,
                                    expected="all finite", lines=sorted(set(lines)),
                                    message=f"{'; '.join(problems)}: {options.reason}"))
        else:
            steps = grads.steps if grads else 0
            findings.append(Verdict(status="pass", fold=fold_id, value=True, expected="all finite",
                                    message=f"all finite ({steps} gradient step(s), {len(epochs)} epoch(s))"))
    return findings


SPEC = RuleSpec(id="gradient.finite", category="gradient", order=4, options=Options, check=check)
