"""data.checks: the trainer's pre-training data checks, judged from their numbers.

What it checks: in `PRE-TRAINING DATA DIAGNOSTICS`, beat and measure
indices start at `index_min` (1: 0 is padding), no zero-shifted index is
negative, the input holds no NaN or Inf, the labels lie in [0, 1], and
the trainer's own summary counts no issue. A trainer tag that disagrees
with the numbers is said in the finding. A printed number that cannot be
what it claims (an index of nan or inf, a non-finite input statistic, a
negative std) fails; a block with nothing to judge (cut short) is
`missing`, never `pass`.

Why: the hierarchy's span and attention code assume 1-based, sequential
indices and finite inputs; a wrong index base silently merges or drops
beats. These checks are cheap and come before any epoch.

Example (round9.log, lines 69-109): min=1 for beats and measures, no
negatives, no NaN/Inf, labels in range, `[ALL CHECKS PASSED]`: passes.
"""

from __future__ import annotations

from pydantic import Field

from percediag.model import Run
from percediag.rules.options import RuleOptions
from percediag.rules.spec import SEVERITY, RuleSpec, Verdict
from percediag.settings import Settings


class Options(RuleOptions):
    index_min: int = Field(description="the first valid beat and measure index")
    required: bool = False


def check(run: Run, options: Options, settings: Settings) -> list[Verdict]:
    data = run.data_check
    if data is None:
        if not options.required:
            return []
        return [Verdict(status="missing", expected="all checks pass",
                        message="no pre-training data diagnostics in the log")]
    problems, lines = [], []
    for field, label in (("beat_min", "beat"), ("measure_min", "measure")):
        value = getattr(data, field)
        if value is not None and value != options.index_min:
            problems.append(f"{label} indices start at {value}, not {options.index_min}")
            lines.append(data.lines[field])
    if data.negatives:
        problems.append("negative zero-shifted indices")
        lines.append(data.lines["negatives"])
    if data.nonfinite:
        problems.append("NaN or Inf in the input features")
        lines.append(data.lines["nonfinite"])
    if data.labels_in_range is False:
        problems.append("labels outside [0, 1]")
        lines.append(data.lines["labels_in_range"])
    if data.issues:
        problems.append(f"the trainer counted {data.issues} issue(s)")
        lines.append(data.lines["issues"])
    if data.invalid:
        problems.append(f"impossible numbers: {', '.join(data.invalid)}")
        lines.append(data.line)
    judged = [f for f in ("beat_min", "measure_min", "negatives", "nonfinite", "labels_in_range") if getattr(data, f) is not None]
    trainer_ok = data.issues == 0
    if not problems and not judged:
        # Nothing judged is no evidence (a block cut short, or one in a form not understood).
        return [Verdict(status="missing", expected="all checks pass", lines=[data.line],
                        message="the pre-training data diagnostics printed no index, NaN or label check to judge"
                                + (" (the trainer's summary says they passed)" if trainer_ok else ""))]
    if problems:
        said = "; the trainer said all checks passed" if trainer_ok else ""
        return [Verdict(status=SEVERITY, value=len(problems), expected="all checks pass",
                        lines=sorted(set(lines))[:6], trainer_tag=said[2:] or None,
                        message=f"data checks: {', '.join(problems)}: {options.reason}{said}")]
    return [Verdict(status="pass", value=0, expected="all checks pass",
                    lines=[data.lines.get("issues", data.line)],
                    message=f"data checks pass ({len(judged)} judged from the numbers"
                            + (", the trainer's summary agrees)" if trainer_ok else ")"))]


SPEC = RuleSpec(id="data.checks", category="data", order=2, options=Options, check=check)
