"""architecture.param_count: the model's parameter count, against the profile.

What it checks: `Model parameters: 13,758,227` (from the activation check or
the fold 0 header; Lightning's rounded `Total params` only as a last
resort). When the profile names the previous round's count and the expected
change (`previous`, `expected_delta`, `delta_tolerance`), the count must
differ from the previous round by that much; when it names an `expected`
count, it must match within `tolerance`. The seed's placeholder
`~X,XXX,XXX` is "not reported". Those counts are the full HAN's: a run of
another model (Round 13's incremental models, named by `TRAINING: NAME`)
is compared with its own count under `models: {NAME: {expected: N}}`, and
is `missing` when the profile records none.

Why: the seed's first check: "Model parameters: should be ~200k less than
Round 4". A count that did not move means the round's fix is not active.
Known counts: Round 4 13,962,515; Round 5 13,758,227 (-204,288: the
512->128 head); Round 6 13,957,395 (head back to 512, two LayerNorms gone).

Example (Round 5 log, round5 profile: previous 13,962,515, expected delta
-200,000 +/- 25,000):

    Model parameters: 13,758,227

passes: 204,288 fewer than Round 4.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from percediag.metrics import HAN_TYPES, model_name, param_counts
from percediag.model import Run
from percediag.rules.options import RuleOptions
from percediag.rules.spec import SEVERITY, RuleSpec, Verdict
from percediag.settings import Settings


class ModelCount(BaseModel):
    """The recorded count of one model type other than the full HAN (Round 13's incremental models)."""

    model_config = ConfigDict(extra="forbid")
    expected: int = Field(ge=0)
    tolerance: int = Field(0, ge=0)
    reason: str = ""


class Options(RuleOptions):
    models: dict[str, ModelCount] = Field(default_factory=dict)
    expected: int | None = None
    tolerance: int = 0
    previous: int | None = None
    previous_label: str = "the previous round"
    expected_delta: int | None = None
    delta_tolerance: int = 0

    @model_validator(mode="after")
    def _complete(self) -> Options:
        if (self.previous is None) != (self.expected_delta is None):
            raise ValueError("previous and expected_delta go together")
        if self.tolerance < 0 or self.delta_tolerance < 0:
            raise ValueError("tolerances cannot be negative")
        return self


def check(run: Run, options: Options, settings: Settings) -> list[Verdict]:
    model = model_name(run)
    if model is not None and model not in HAN_TYPES:
        # The profile's counts are the full HAN's: another model is judged by its own recorded count, or not at all.
        recorded = options.models.get(model)
        if recorded is None:
            return [Verdict(status="missing", expected=f"a recorded count for model {model}",
                            message=f"the run trained model {model}; the profile records no parameter count for it "
                                    "(its counts are the full HAN's), so none is compared")]
        options = options.model_copy(update={"expected": recorded.expected, "tolerance": recorded.tolerance,
                                             "previous": None, "expected_delta": None,
                                             "reason": recorded.reason or options.reason})
    counts = param_counts(run)
    approximate = False
    if not counts and run.model_summary is not None and run.model_summary.total_params:
        counts = [(int(run.model_summary.total_params), run.model_summary.line)]
        approximate = True
    expected_parts = []
    if options.expected is not None:
        expected_parts.append(f"{options.expected:,} +/- {options.tolerance:,}")
    if options.previous is not None:
        expected_parts.append(f"{options.expected_delta:+,} +/- {options.delta_tolerance:,} vs {options.previous_label} ({options.previous:,})")
    expected = "; ".join(expected_parts) or "reported"
    if not counts:
        return [Verdict(status="missing", expected=expected,
                        message="no parameter count in the log (placeholders such as ~X,XXX,XXX do not count)")]
    values = sorted({c for c, _ in counts})
    lines = sorted({line for _, line in counts})
    if len(values) > 1:
        return [Verdict(status=SEVERITY, value=values, expected=expected, lines=lines,
                        message=f"the log prints different parameter counts: {', '.join(f'{v:,}' for v in values)}")]
    count = values[0]
    shown = f"~{count:,} (Lightning summary, rounded)" if approximate else f"{count:,}"
    problems = []
    if options.expected is not None and abs(count - options.expected) > options.tolerance and not approximate:
        problems.append(f"expected {options.expected:,} +/- {options.tolerance:,}")
    if options.previous is not None and not approximate:
        delta = count - options.previous
        if abs(delta - options.expected_delta) > options.delta_tolerance:
            problems.append(f"{delta:+,} vs {options.previous_label}, expected {options.expected_delta:+,} +/- {options.delta_tolerance:,}")
        else:
            shown += f" ({delta:+,} vs {options.previous_label})"
    if approximate and (options.expected is not None or options.previous is not None):
        return [Verdict(status="missing", value=count, expected=expected, lines=lines,
                        message=f"only Lightning's rounded total ({shown}) is printed; too coarse to compare")]
    if problems:
        return [Verdict(status=SEVERITY, value=count, expected=expected, lines=lines,
                        message=f"{count:,} parameters: {'; '.join(problems)}: {options.reason}")]
    return [Verdict(status="pass", value=count, expected=expected, lines=lines,
                    message=f"{shown} parameters")]


SPEC = RuleSpec(id="architecture.param_count", category="architecture", order=2, options=Options, check=check,
                round_specific=True)
