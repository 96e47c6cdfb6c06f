"""activation.std_ratio: prediction std over target std on the first batch.

What it checks: the ratio must lie in the profile's range (default 0.8-1.5).
The printed `Pred/target std ratio=0.45x` is used when present (the trainer
computes it from unrounded values); otherwise the rule recomputes it from
the `Predictions` and `Targets` stds, and says so.

Why: the seed's table: below 0.8 the initialisation is too conservative,
above 1.5 too aggressive. It normalises prediction spread by the fold's own
target spread, so it stays meaningful when targets are scaled differently.

Example (Round 5 log, fold 1):

    [WARN] Pred/target std ratio=0.45x too low (target: 0.8-1.5x)

fails: ratio 0.450 below 0.8-1.5.
"""

from __future__ import annotations

from percediag.findings import Finding
from percediag.model import ActivationCheck, Run
from percediag.rules.base import activation_range_rule
from percediag.settings import RangeOptions, Settings

ID = "activation.std_ratio"
CATEGORY = "activation"
ORDER = 3
Options = RangeOptions


def measure(check: ActivationCheck) -> tuple[float | None, list[int], str]:
    """The ratio (printed, else recomputed from the two stds), its lines, and how it was obtained."""
    if check.std_ratio is not None:
        return check.std_ratio, [check.lines["std_ratio"]], ""
    if check.pred_std is not None and check.target_std:
        ratio = check.pred_std / check.target_std
        lines = sorted({check.lines["pred_std"], check.lines["target_std"]})
        return ratio, lines, f" (recomputed as {check.pred_std:g}/{check.target_std:g})"
    return None, [check.line], ""


def check(run: Run, options: RangeOptions, settings: Settings) -> list[Finding]:
    return activation_range_rule(run, options, rule_id=ID, label="pred/target std ratio", subject="std_ratio",
                                 value_of=measure, missing_hint="no ratio line and no prediction and target stds")
