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

from percediag.findings import Finding
from percediag.model import Run
from percediag.parsers.numbers import to_float
from percediag.settings import RuleOptions, Settings

ID = "architecture.learning_rate"
CATEGORY = "architecture"
ORDER = 3


class Options(RuleOptions):
    expected: float | None = None
    rel_tolerance: float = Field(default=0.01, ge=0)


def observed(run: Run) -> tuple[float, int, str] | None:
    if run.config is not None and "learning_rate" in run.config.values:
        try:
            value = to_float(run.config.values["learning_rate"].split()[0])
        except ValueError:
            value = None
        if value is not None:
            return value, run.config.lines["learning_rate"], "training configuration"
    for fold in run.folds:
        if fold.activation is not None and fold.activation.learning_rate is not None:
            return fold.activation.learning_rate, fold.activation.lines["learning_rate"], "activation check"
    for fold in run.folds:
        for epoch in fold.epochs:
            if epoch.lr is not None:
                return epoch.lr, epoch.line, "first epoch line"
    return None


def check(run: Run, options: Options, settings: Settings) -> list[Finding]:
    expected = f"{options.expected:.2e}" if options.expected is not None else "reported"
    seen = observed(run)
    if seen is None:
        return [Finding(rule=ID, category=CATEGORY, status="missing", expected=expected,
                        message="no learning rate in the configuration, activation check or epoch lines")]
    value, line, where = seen
    if options.expected is None:
        return [Finding(rule=ID, category=CATEGORY, status="pass", value=value, expected=expected, lines=[line],
                        message=f"learning rate {value:.2e} ({where})")]
    if abs(value - options.expected) <= options.rel_tolerance * abs(options.expected):
        return [Finding(rule=ID, category=CATEGORY, status="pass", value=value, expected=expected, lines=[line],
                        message=f"learning rate {value:.2e} as expected ({where})")]
    return [Finding(rule=ID, category=CATEGORY, status=options.severity, value=value, expected=expected, lines=[line],
                    message=f"learning rate {value:.2e} ({where}), expected {expected}: {options.reason}")]
