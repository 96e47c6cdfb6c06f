"""activation.pred_std: the spread of the predictions on the first batch.

What it checks: `Predictions: mean=..., std=...` in each fold's activation
check must lie in the profile's range (default 0.10-0.15, around the
targets' own std of about 0.11).

Why: the seed's table: outside the range is an "init or architecture
issue". Below it the model predicts nearly the same score for every
performance (collapse, Round 1 and Round 6); above it the head overshoots
(Round 4 saw 0.242 against 0.106).

Example (Round 5 log, fold 1):

    Predictions: mean=0.504, std=0.054, range=[0.358, 0.643]

fails: prediction std 0.054 below 0.10-0.15.
"""

from __future__ import annotations

from percediag.model import ActivationCheck, Run
from percediag.rules.base import activation_range_rule
from percediag.rules.options import RangeOptions
from percediag.rules.spec import RuleSpec, Verdict
from percediag.settings import Settings

Options = RangeOptions


def _value(check: ActivationCheck) -> tuple[float | None, list[int], str]:
    return check.pred_std, [check.lines.get("pred_std", check.line)], ""


def check(run: Run, options: RangeOptions, settings: Settings) -> list[Verdict]:
    return activation_range_rule(run, options, label="prediction std", subject="pred_std",
                                 value_of=_value, missing_hint="no Predictions line with a std")


SPEC = RuleSpec(id="activation.pred_std", category="activation", order=2, options=Options, check=check)
