"""activation.collapsed_dims: how many of the 19 output dimensions have collapsed.

What it checks: the count from `N/19 dimensions collapsed (std < 0.03)` (or
`All 19 dimensions have healthy variance`, which is 0) must not exceed the
profile's maximum (default 0).

Why: the seed's table: a collapsed dimension (near-constant prediction
across the batch) points at a gradient flow issue: that output receives no
useful signal. A few can recover; all 19 is a dead head.

Example (Round 6 log):

    [WARN] 19/19 dimensions collapsed (std < 0.03)

fails: 19 of 19 collapsed, expected at most 0.
"""

from __future__ import annotations

from percediag.model import Run
from percediag.roundtable import dimension_count
from percediag.rules.base import disagreement, per_fold, range_status, tag_for, with_disagreement
from percediag.rules.options import RangeOptions
from percediag.rules.spec import RuleSpec, Verdict
from percediag.settings import Settings

Options = RangeOptions


def check(run: Run, options: RangeOptions, settings: Settings) -> list[Verdict]:
    findings = []
    expected = f"at most {options.max:g}" if options.max is not None else options.describe()
    for fold_id, act in per_fold(run, "activation"):
        if act is None or act.collapsed_dims is None:
            findings.append(Verdict(status="missing", fold=fold_id, expected=expected,
                                    lines=[act.line] if act else [],
                                    message="collapsed dimension count not reported" if act else "no activation check in this fold"))
            continue
        count, total = act.collapsed_dims, act.total_dims or dimension_count()
        status = range_status(float(count), options)
        tag = disagreement(tag_for(act, "collapsed_dims"), status)
        threshold = f" (std < {act.collapse_threshold:g})" if act.collapse_threshold is not None else ""
        message = f"{count}/{total} dimensions collapsed{threshold}"
        if status != "pass":
            message += f", expected {expected}: {options.reason}"
        findings.append(Verdict(status=status, fold=fold_id, value=count, expected=expected,
                                lines=[act.lines["collapsed_dims"]], message=with_disagreement(message, tag), trainer_tag=tag))
    return findings


SPEC = RuleSpec(id="activation.collapsed_dims", category="activation", order=4, options=Options, check=check)
