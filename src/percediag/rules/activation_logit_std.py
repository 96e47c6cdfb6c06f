"""activation.logit_std: the spread of the prediction head's pre-sigmoid logits.

What it checks: `Logits: mean=..., std=...` in each fold's activation check
must lie in the profile's range (default 0.5-1.5).

Why: the seed's criteria table says a logits std outside 0.5-1.5 is an
initialisation problem. Too small and the sigmoid sits in its linear middle,
every prediction near 0.5 (Round 2 saw 0.05); too large and it saturates.

Trainer tags are kept as evidence only: the trainer warns below 0.3, so it
prints `[OK] Logits std=0.304 in good range` for a value this rule fails.

Example (Round 6 log, fold 1):

    Logits:      mean=-0.004, std=0.031
    [WARN] Logits std=0.031 too small (target: 0.5-1.5)

fails: logits std 0.031 below 0.5-1.5.
"""

from __future__ import annotations

from percediag.model import ActivationCheck, Run
from percediag.rules.base import activation_range_rule
from percediag.rules.options import RangeOptions
from percediag.rules.spec import RuleSpec, Verdict
from percediag.settings import Settings

Options = RangeOptions


def _value(check: ActivationCheck) -> tuple[float | None, list[int], str]:
    line = check.lines.get("logit_std", check.line)
    return check.logit_std, [line], ""


def check(run: Run, options: RangeOptions, settings: Settings) -> list[Verdict]:
    return activation_range_rule(run, options, label="logits std", subject="logit_std",
                                 value_of=_value, missing_hint="the trainer prints Logits only when the model exposes them")


SPEC = RuleSpec(id="activation.logit_std", category="activation", order=1, options=Options, check=check)
