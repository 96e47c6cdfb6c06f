"""architecture.learning_rate: the run trains with the profile's learning rate.

What it checks: the learning rate from the training configuration block
(`learning_rate: 5e-05`), else the activation check's `Learning rate:`,
else the first epoch line's `lr:`, against the profile's `expected` within
a relative tolerance.

Why: every round so far changed the learning rate (Round 4: 5e-5; Round 6:
back to the reference 2.5e-5). A round's fix that is not active is the
first thing to rule out before reading any other number.

Example (Round 6 log, round6 profile, expected 2.5e-05):

    learning_rate: 2.5e-05

passes.
"""

from __future__ import annotations

from pydantic import Field

from percediag.metrics import learning_rate
from percediag.model import Run
from percediag.rules.options import RuleOptions
from percediag.rules.spec import SEVERITY, RuleSpec, Verdict
from percediag.settings import Settings


class Options(RuleOptions):
    expected: float | None = None
    rel_tolerance: float = Field(default=0.01, ge=0)


def check(run: Run, options: Options, settings: Settings) -> list[Verdict]:
    expected = f"{options.expected:.2e}" if options.expected is not None else "reported"
    seen = learning_rate(run)
    if seen is None:
        return [Verdict(status="missing", expected=expected,
                        message="no learning rate in the configuration, activation check or epoch lines")]
    value, line, where = seen
    if options.expected is None:
        return [Verdict(status="pass", value=value, expected=expected, lines=[line],
                        message=f"learning rate {value:.2e} ({where})")]
    if abs(value - options.expected) <= options.rel_tolerance * abs(options.expected):
        return [Verdict(status="pass", value=value, expected=expected, lines=[line],
                        message=f"learning rate {value:.2e} as expected ({where})")]
    return [Verdict(status=SEVERITY, value=value, expected=expected, lines=[line],
                    message=f"learning rate {value:.2e} ({where}), expected {expected}: {options.reason}")]


SPEC = RuleSpec(id="architecture.learning_rate", category="architecture", order=3, options=Options, check=check,
                round_specific=True)
