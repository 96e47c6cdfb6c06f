"""architecture.param_delta: the parameter count moved by the round's expected amount against a baseline log.

What it checks: only with a baseline (`percediag check NEW --baseline OLD`,
or `percediag diff OLD NEW`): the new run's parameter count minus the
baseline's must equal the profile's `expected_delta` within `tolerance`.
Both logs must print an exact count (`Model parameters: 13,758,227`);
otherwise the rule is `missing`.

When both logs name the same round in their training configuration title,
they are two runs of one model and the expected delta is 0 (within the same
tolerance).

Why: the seed's first criterion compares rounds: "Model parameters: should
be ~200k less than Round 4". Against the actual previous log this catches a
fix that did not take (delta 0) or took twice.

Example (round5 profile, expected -200,000 +/- 25,000): Round 4 log
13,962,515 against Round 5 log 13,758,227 is -204,288: passes. The same
Round 4 log against itself is +0: fails.
"""

from __future__ import annotations

from pydantic import Field

from percediag.findings import Finding
from percediag.model import Run
from percediag.rules.architecture_param_count import reported_counts
from percediag.settings import RuleOptions, Settings

ID = "architecture.param_delta"
CATEGORY = "architecture"
ORDER = 4
NEEDS_BASELINE = True


class Options(RuleOptions):
    expected_delta: int | None = None
    tolerance: int = Field(default=0, ge=0)


def _count(run: Run) -> tuple[int, list[int]] | None:
    counts = reported_counts(run)
    values = sorted({c for c, _ in counts})
    if len(values) != 1:
        return None
    return values[0], sorted({line for _, line in counts})


def check(run: Run, options: Options, settings: Settings, baseline: Run) -> list[Finding]:
    same_round = (run.config is not None and baseline.config is not None and run.config.round is not None
                  and run.config.round == baseline.config.round)
    if same_round:
        options = options.model_copy(update={"expected_delta": 0})
    expected = "reported" if options.expected_delta is None else f"{options.expected_delta:+,} +/- {options.tolerance:,}"
    if same_round:
        expected += f" (both logs are Round {run.config.round})"
    new, old = _count(run), _count(baseline)
    if new is None or old is None:
        which = "this log" if new is None else "the baseline"
        return [Finding(rule=ID, category=CATEGORY, status="missing", expected=expected,
                        message=f"{which} prints no single exact parameter count")]
    delta = new[0] - old[0]
    text = f"{new[0]:,} parameters, {delta:+,} against the baseline's {old[0]:,}"
    if options.expected_delta is None:
        return [Finding(rule=ID, category=CATEGORY, status="pass", value=delta, expected=expected, lines=new[1], message=text)]
    if abs(delta - options.expected_delta) <= options.tolerance:
        return [Finding(rule=ID, category=CATEGORY, status="pass", value=delta, expected=expected, lines=new[1],
                        message=f"{text}, as the round expects")]
    return [Finding(rule=ID, category=CATEGORY, status=options.severity, value=delta, expected=expected, lines=new[1],
                    message=f"{text}, expected {expected}: {options.reason}",
                    direction="below" if delta < options.expected_delta else "above")]
