"""architecture.prediction_head: the prediction head has the profile's shape.

What it checks: `Prediction head: 512->128, 128->19` in the activation
check (the Linear layers, in order) against the profile's `expected` head.
All folds must agree. Trainers before Round 5 do not print the head: the
rule is then `missing`, never assumed. Round 13's incremental models
(`TRAINING: baseline_beat`) have no such head: `missing`, said to be
not applicable.

Why: each round changed what "correct" means. Round 5 expected
`512->128, 128->19` (a misreading of `final_fc_size`); the reference
classifier is `512->512, 512->19`, which the Round 6 trainer checks for.
Pick the profile of the round you are verifying.

Example (Round 6 log, default round5 profile):

    Prediction head: 512->512, 512->19
    [OK] Prediction head architecture correct (Round 6)

fails under `round5` (expected 512->128, 128->19), passes under `round6`.
"""

from __future__ import annotations

from pydantic import field_validator

from percediag.metrics import HAN_TYPES, head_text, model_name
from percediag.model import Run
from percediag.parsers.activation import parse_head
from percediag.rules.options import RuleOptions
from percediag.rules.spec import SEVERITY, RuleSpec, Verdict
from percediag.settings import Settings


class Options(RuleOptions):
    expected: str = ""

    @field_validator("expected")
    @classmethod
    def _shape(cls, value: str) -> str:
        if value and parse_head(value) is None:
            raise ValueError(f"'{value}' is not a head shape such as '512->128, 128->19'")
        return value


def check(run: Run, options: Options, settings: Settings) -> list[Verdict]:
    expected = parse_head(options.expected) if options.expected else None
    want = head_text(expected) if expected else "as printed"
    seen = [(f.activation.prediction_head, f.activation.lines["prediction_head"], f.activation)
            for f in run.folds if f.activation is not None and f.activation.prediction_head]
    if not seen:
        model = model_name(run)
        if model is not None and model not in HAN_TYPES:
            return [Verdict(status="missing", expected=want,
                            message=f"not applicable: the run trained model {model}, which prints no HAN prediction head")]
        return [Verdict(status="missing", expected=want,
                        message="no 'Prediction head:' line in this input (trainers before Round 5 do not print it; "
                                "neither does a run that stopped before its activation check, nor an event file)")]
    heads = {head_text(head) for head, _, _ in seen}
    lines = [line for _, line, _ in seen]
    if len(heads) > 1:
        return [Verdict(status=SEVERITY, value=sorted(heads), expected=want, lines=lines,
                        message=f"folds print different heads: {', '.join(sorted(heads))}")]
    head = seen[0][0]
    tags = [t for _, _, act in seen for t in act.tags if t.subject == "prediction_head"]
    tag_text = f"[{tags[0].tag}] {tags[0].text}" if tags else None
    if expected is None:
        return [Verdict(status="pass", value=head_text(head), expected=want, lines=lines,
                        message=f"prediction head {head_text(head)} (the profile expects no particular shape)")]
    if head == expected:
        status, message = "pass", f"prediction head {head_text(head)} as expected"
    else:
        status = SEVERITY
        message = f"prediction head {head_text(head)}, expected {want}: {options.reason}"
    disagree = None
    if tags and (tags[0].tag == "OK") != (status == "pass"):
        disagree = tag_text
        message += f"; the trainer said {tag_text} (it checks for its own round)"
    return [Verdict(status=status, value=head_text(head), expected=want, lines=lines,
                    message=message, trainer_tag=disagree)]


SPEC = RuleSpec(id="architecture.prediction_head", category="architecture", order=1, options=Options, check=check,
                round_specific=True)
