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

from percediag.metrics import std_ratio
from percediag.model import ActivationCheck, Run
from percediag.rules.base import activation_range_rule
from percediag.rules.options import RangeOptions
from percediag.rules.spec import RuleSpec, Verdict
from percediag.settings import Settings

Options = RangeOptions


def measure(check: ActivationCheck) -> tuple[float | None, list[int], str]:
    """The ratio (metrics.std_ratio), its lines, and how it was obtained, for the message."""
    ratio, lines, recomputed = std_ratio(check)
    return ratio, lines, f" (recomputed as {check.pred_std:g}/{check.target_std:g})" if recomputed else ""


def check(run: Run, options: RangeOptions, settings: Settings) -> list[Verdict]:
    return activation_range_rule(run, options, label="pred/target std ratio", subject="std_ratio",
                                 value_of=measure, missing_hint="no ratio line and no prediction and target stds")


SPEC = RuleSpec(id="activation.std_ratio", category="activation", order=3, options=Options, check=check)
