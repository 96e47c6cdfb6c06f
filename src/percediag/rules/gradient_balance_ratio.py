"""gradient.balance_ratio: prediction-head gradient over encoder gradient.

What it checks: per fold, the median of `Balance (head/encoder): 0.4x` (the
head's norm over the han + contractor norms) must lie in the profile's
range (default 0.3-1.0). The trainer's own flag only fires above 10x
(`[IMBALANCED - head doing all work]`); it is reported alongside.

Why: the seed's table: outside 0.3-1.0 is a gradient imbalance. Above 1 the
head is doing the learning while the encoder barely moves (Round 6 shows
2.7x with the encoder's norms at 0.001-0.003).

Example (Round 6 log, fold 1: steps 0-4 print 2.7x, 2.3x, 2.5x, 2.6x, 2.4x):

    Balance (head/encoder): 2.7x [OK]

fails: "median head/encoder balance 2.50x over 5 step(s), above 0.3-1",
although the trainer said [OK].
"""

from __future__ import annotations

from percediag.model import Run
from percediag.rules.base import direction, fmt, outside, per_fold, range_status
from percediag.rules.options import RangeOptions
from percediag.rules.spec import RuleSpec, Verdict
from percediag.settings import Settings

Options = RangeOptions


def check(run: Run, options: RangeOptions, settings: Settings) -> list[Verdict]:
    findings = []
    expected = options.describe()
    for fold_id, grads in per_fold(run, "gradients"):
        if grads is None or grads.balance.median is None:
            findings.append(Verdict(status="missing", fold=fold_id, expected=expected,
                                    message="no balance ratio logged in this fold"))
            continue
        median = grads.balance.median
        status = range_status(median, options)
        message = f"median head/encoder balance {fmt(median, 2)}x over {grads.balance.count} step(s)"
        if status != "pass":
            message += f", {direction(median, options)} {expected}: {options.reason}"
        trainer_tag = None
        flagged = {flag: count for flag, count in grads.flags.items() if flag != "OK"}
        if flagged:
            message += "; trainer flags: " + ", ".join(f"[{flag}] x{count}" for flag, count in flagged.items())
        elif status != "pass" and grads.flags.get("OK"):
            trainer_tag = "[OK]"
            message += "; the trainer said [OK] (it flags only above 10x)"
        findings.append(Verdict(status=status, fold=fold_id, value=median, expected=expected,
                                lines=[grads.first_line] if grads.first_line else [], message=message, trainer_tag=trainer_tag,
                                direction=outside(median, options, status)))
    return findings


SPEC = RuleSpec(id="gradient.balance_ratio", category="gradient", order=2, options=Options, check=check)
