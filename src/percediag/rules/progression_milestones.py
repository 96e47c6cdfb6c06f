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

passes progression.epoch_5: "R2 0.0989 after 5 epochs (> 0)".
"""

from __future__ import annotations

from percediag.metrics import epoch_after
from percediag.model import Run, possible_r2
from percediag.rules.base import fmt, folds_or_none
from percediag.rules.options import RuleOptions
from percediag.rules.spec import SEVERITY, GeneratedId, RuleSpec, Verdict
from percediag.settings import Settings

Options = RuleOptions


def ids(settings: Settings, options: RuleOptions) -> list[GeneratedId]:
    table = settings.progression
    return [GeneratedId(id=f"{SPEC.id_prefix}{epoch}", thresholds=f"R2 > {minimum:g} after {epoch} epochs",
                        reason=table.notes.get(epoch, options.reason)) for epoch, minimum in table.milestones.items()]


def check(run: Run, options: RuleOptions, settings: Settings) -> list[Verdict]:
    findings = []
    table = settings.progression
    for epochs_done, minimum in table.milestones.items():
        rule = f"{SPEC.id_prefix}{epochs_done}"
        expected = f"> {minimum:g}"
        note = table.notes.get(epochs_done, "below the milestone")
        for fold in folds_or_none(run):
            fold_id = fold.fold if fold else None
            epochs = fold.epochs if fold else []
            hit = epoch_after(fold, epochs_done) if fold else None
            if hit is None or hit.val_r2 is None:
                last = f" (last epoch line: Epoch {epochs[-1].epoch})" if epochs else ""
                findings.append(Verdict(rule=rule, status="missing", fold=fold_id, expected=expected,
                                        lines=[epochs[-1].line] if epochs else [],
                                        message=f"not reached: no R2 after {epochs_done} epochs{last}"))
                continue
            finite = possible_r2(hit.val_r2)  # inf or 5.0 is a broken metric, never a milestone cleared
            status = "pass" if finite and hit.val_r2 > minimum else SEVERITY
            message = f"R2 {fmt(hit.val_r2, 4)} after {epochs_done} epochs"
            if not finite:
                message += f" is not a possible R2 (finite, at most 1), needs > {minimum:g}"
            else:
                message += f" (> {minimum:g})" if status == "pass" else f", needs > {minimum:g}: {note}"
            findings.append(Verdict(rule=rule, status=status, fold=fold_id, value=hit.val_r2,
                                    expected=expected, lines=[hit.line], message=message))
    return findings


SPEC = RuleSpec(id="progression.milestone", category="progression", order=1, options=Options, check=check,
                id_prefix="progression.epoch_", ids=ids)
