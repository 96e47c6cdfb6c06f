"""log.sources_agree: the stdout log and the event files tell the same story.

What it checks: with `check LOG --events FOLDER`, for every epoch in both,
the val R2 and val loss printed on the `[Fold N] Epoch E` line and those in
the event file agree within `r2_tolerance` and `loss_tolerance`; every
epoch and every fold of one is in the other. An epoch missing from the
event file, an epoch missing from the middle of the log, a fold in one
only, or a value that differs is the rule's severity (default warn), one
finding per fold, citing the log line and the event file's step. Epochs
after the log's last one (a log cut short) complete the curve and are no
disagreement. Without event files the rule is not applicable and reports
nothing.

Why: the two must be the same run. A difference means the event folder is
from another run or version (a fold trained twice into one folder), the
log was pasted from another cell, or it lost lines: any verdict drawn from
both would mix two runs.

Example: fold 1 epoch 4 printed `val_r2: -1.0087`, `val/mean_r2` at step 19
-0.9087: warns, "epoch 4 R2 -1.0087 in the log, -0.9087 in the event file".
"""

from __future__ import annotations

import math
from collections import defaultdict

from pydantic import Field

from percediag.model import Run
from percediag.rules.options import RuleOptions
from percediag.rules.spec import SEVERITY, RuleSpec, Verdict
from percediag.settings import Settings


class Options(RuleOptions):
    r2_tolerance: float = Field(ge=0, allow_inf_nan=False, description="largest R2 difference that is rounding")
    loss_tolerance: float = Field(ge=0, allow_inf_nan=False, description="largest loss difference that is rounding")
    reasons: dict[str, str] = Field(default_factory=dict, description="why each threshold has its value")


def _differs(printed: float | None, logged: float | None, tolerance: float) -> bool:
    if printed is None or logged is None:
        return False
    if not (math.isfinite(printed) and math.isfinite(logged)):
        return math.isfinite(printed) != math.isfinite(logged)
    return abs(printed - logged) > tolerance


def check(run: Run, options: Options, settings: Settings) -> list[Verdict]:
    if not run.event_sources:
        return []
    problems: dict[int | None, list[tuple[str, list[int]]]] = defaultdict(list)
    compared: dict[int | None, int] = defaultdict(int)
    for fold in run.folds:
        for epoch in fold.epochs:
            if epoch.source != "both":
                continue
            compared[fold.fold] += 1
            lines = [epoch.line] + ([epoch.event_line] if epoch.event_line is not None else [])
            if _differs(epoch.val_r2, epoch.event_val_r2, options.r2_tolerance):
                problems[fold.fold].append((f"epoch {epoch.epoch} R2 {epoch.val_r2:.4f} in the log, {epoch.event_val_r2:.4f} "
                                            "in the event file", lines))
            if _differs(epoch.val_loss, epoch.event_val_loss, options.loss_tolerance):
                problems[fold.fold].append((f"epoch {epoch.epoch} val loss {epoch.val_loss:.4f} in the log, "
                                            f"{epoch.event_val_loss:.4f} in the event file", lines))
    for mismatch in run.mismatches:
        problems[mismatch.fold].append((mismatch.message, mismatch.lines))
    if not compared and not problems:
        return []
    expected = f"same epochs; R2 within {options.r2_tolerance:g}, loss within {options.loss_tolerance:g}"
    findings = []
    for fold_id in dict.fromkeys([*compared, *problems]):
        items = problems.get(fold_id, [])
        if not items:
            findings.append(Verdict(status="pass", fold=fold_id, value=0, expected=expected,
                                    message=f"{compared[fold_id]} epoch(s) in both agree"))
            continue
        shown = "; ".join(text for text, _ in items[:3]) + (f"; ... {len(items) - 3} more" if len(items) > 3 else "")
        lines = [line for _, item_lines in items[:3] for line in item_lines]
        findings.append(Verdict(status=SEVERITY, fold=fold_id, value=len(items),
                                expected=expected, lines=list(dict.fromkeys(lines)),
                                message=f"{len(items)} disagreement(s) between the log and the event files: {shown}: {options.reason}"))
    return findings


SPEC = RuleSpec(id="log.sources_agree", category="log", order=10, options=Options, check=check)
