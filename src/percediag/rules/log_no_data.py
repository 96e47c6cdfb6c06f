"""log.no_data: the log holds training data percediag understands.

What it checks: at least one activation check, gradient step, epoch line,
fold summary, aggregate or test block. Otherwise the rule's severity
(default fail), so an empty file, the wrong file, or a run that crashed
before training never passes a CI gate.

Why: percediag never calls a run healthy on evidence it did not see.

Example: `round6-startup-crash.log` (configuration and a fold header,
then a traceback before the first batch): fails, "no activation
check, gradient step, epoch line or results (only a fold header, a
traceback)".
"""

from __future__ import annotations

from percediag.model import Run
from percediag.rules.options import RuleOptions
from percediag.rules.spec import SEVERITY, RuleSpec, Verdict
from percediag.settings import Settings

Options = RuleOptions


def check(run: Run, options: RuleOptions, settings: Settings) -> list[Verdict]:
    if run.has_training_data():
        return [Verdict(status="pass", expected="training data",
                        message="training data found", lines=[run.line])]
    seen = []
    if run.config is not None:
        seen.append("a training configuration")
    if any(f.header for f in run.folds):
        seen.append("a fold header")
    if run.crash is not None:
        seen.append("a traceback")
    detail = f" (only {', '.join(seen)})" if seen else ""
    return [Verdict(status=SEVERITY, value=False, expected="training data",
                    message=f"no activation check, gradient step, epoch line or results{detail}: {options.reason}")]


SPEC = RuleSpec(id="log.no_data", category="log", order=1, options=Options, check=check, final_only="always")
