"""progression.epoch_N: validation R2 after N completed epochs clears its milestone.

What it checks: one rule per entry of the profile's milestone table
(`progression.milestones`, default 5: > 0, 10: > 0.05, 20: > 0.15). "Epoch N"
means after N completed epochs: the epoch line printed as `Epoch N-1`,
since the trainer counts from 0. A fold that has not reached the epoch is
`missing` for it, never a pass.

Why: the seed's "R2 Progression (Critical)" table. Below 0 at epoch 5 the
model is not learning (worse than predicting the mean); below 0.05 at 10 it
converges too slowly; below 0.15 at 20 it may need more epochs or a
different approach. Round 4 sat at -0.081 after 5 epochs.

Example (Round 5 log, fold 1):

    [Fold 1] Epoch   4 | ... | val_r2: +0.0989 | ...

passes progression.epoch_5 (0.0989 > 0).
"""

from __future__ import annotations


from percediag.findings import Finding
from percediag.model import Run, possible_r2
from percediag.rules.base import fmt, folds_or_none
from percediag.settings import RuleOptions, Settings

ID = "progression.milestone"
ID_PREFIX = "progression.epoch_"
CATEGORY = "progression"
ORDER = 1
Options = RuleOptions


def ids(settings: Settings) -> list[str]:
    return [f"{ID_PREFIX}{epoch}" for epoch in settings.progression.milestones]


def check(run: Run, options: RuleOptions, settings: Settings) -> list[Finding]:
    findings = []
    table = settings.progression
    for epochs_done, minimum in table.milestones.items():
        rule = f"{ID_PREFIX}{epochs_done}"
        expected = f"> {minimum:g}"
        note = table.notes.get(epochs_done, "below the milestone")
        for fold in folds_or_none(run):
            fold_id = fold.fold if fold else None
            epochs = fold.epochs if fold else []
            hit = next((e for e in epochs if e.epoch == epochs_done - 1), None)
            if hit is None or hit.val_r2 is None:
                last = f" (last epoch line: Epoch {epochs[-1].epoch})" if epochs else ""
                findings.append(Finding(rule=rule, category=CATEGORY, status="missing", fold=fold_id, expected=expected,
                                        lines=[epochs[-1].line] if epochs else [],
                                        message=f"not reached: no R2 after {epochs_done} epochs{last}"))
                continue
            finite = possible_r2(hit.val_r2)  # inf or 5.0 is a broken metric, never a milestone cleared
            status = "pass" if finite and hit.val_r2 > minimum else options.severity
            message = f"R2 {fmt(hit.val_r2, 4)} after {epochs_done} epochs"
            if not finite:
                message += f" is not a possible R2 (finite, at most 1), needs > {minimum:g}"
            else:
                message += f" (> {minimum:g})" if status == "pass" else f", needs > {minimum:g}: {note}"
            findings.append(Finding(rule=rule, category=CATEGORY, status=status, fold=fold_id, value=hit.val_r2,
                                    expected=expected, lines=[hit.line], message=message))
    return findings
