"""diagnostics.ablation_gain: the hierarchy adds R2, against the baseline it should be compared with.

What it checks: the run's last hierarchy ablation (the post-training
`MANUAL ABLATION TEST`, else the last `[ABLATION]` group after the sanity
check) gains at least `min` R2 over its ablated model (`warn_min` to `min`:
warn). The paper's hierarchy adds `paper_gain` (score alignment +0.119 and
HAN +0.093). When the ablated model is the full model with its hierarchy
zeroed, not a separately trained Bi-LSTM baseline, a second finding says
the comparison is against the wrong baseline (direction `zeroed`): zeroing
the beat and measure outputs of a model trained with them measures
something else than the paper's gain, as the Round 13 trainer itself warns.
With no ablation result at all, Round 13's post-training `COMPARISON TO
BASELINE` gain is judged with the same bounds: this run's R2 minus the
R2 the notebook prints for a separately trained 7-layer Bi-LSTM (a fixed
number from the author's real data, not measured in this run, which the
finding says).

Why: the HAN's reason to exist is its hierarchy gain; a gain near 0 means
the beat and measure levels are not learning (Round 9: +0.006 at epoch 0,
+0.025 after training). The bounds are judgement calls: `min` is the
paper's HAN share of the gain, `warn_min` the trainer's own [WARNING] line.

A gain, full or ablated R2 that is not finite, an R2 above 1, or a gain
that is not full minus ablated beyond the rounding of three printed
numbers is impossible: always `fail` (corrupt evidence is no judgement
call, whatever the severity), as it is not evidence of any gain.

Example (round9.log, lines 273-277):

    [ABLATION] Hierarchy gain: +0.0060

fails: hierarchy gain +0.0060 below 0.05 (the paper's hierarchy adds +0.212);
a second finding warns that `Ablated (Bi-LSTM only)` is the same model with its
hierarchy zeroed, not a separately trained Bi-LSTM (direction `zeroed`).
"""

from __future__ import annotations

import math

from pydantic import Field

from percediag.model import PostAnalysis, Run
from percediag.rules.base import range_status
from percediag.rules.options import RangeOptions
from percediag.rules.spec import RuleSpec, Verdict
from percediag.settings import Settings


# Not a judgement threshold but printing arithmetic: three R2 values printed
# to three or more decimals are each within 0.0005 of the exact number, so
# a printed gain is within 0.0015 of the printed full minus ablated R2.
ROUNDING = 0.002


class Options(RangeOptions):
    paper_gain: float = Field(description="what the paper's hierarchy adds (score alignment + HAN)")
    wrong_baseline_severity: str = Field(default="warn", pattern="^(warn|fail)$")
    required: bool = False


def check(run: Run, options: Options, settings: Settings) -> list[Verdict]:
    post = run.post_ablation if run.post_ablation is not None and run.post_ablation.gain is not None else None
    in_training = [a for f in run.folds for a in f.ablations if a.gain is not None]
    usable = [a for a in in_training if a.phase != "sanity"] or in_training
    ablation = post or (usable[-1] if usable else None)
    expected = f"gain >= {options.min:g} (paper: +{options.paper_gain:g})"
    compared = run.post_analysis
    if ablation is None and compared is not None and compared.gain is not None:
        return [_comparison(compared, options, expected)]
    if ablation is None:
        if not options.required and not run.post_ablation and not in_training:
            return []
        skipped = run.post_ablation.line if run.post_ablation is not None else None
        return [Verdict(status="missing", expected=expected, lines=[skipped] if skipped else [],
                        message="no ablation result (the post-training test did not run)" if skipped else "no ablation result")]
    where = "post-training ablation" if ablation is post else f"ablation at epoch {ablation.epoch}"
    lines = sorted(set(ablation.lines.values()))[:4] or [ablation.line]
    findings = []
    if problem := impossible(ablation.gain, ablation.full_r2, ablation.ablated_r2, "full", "ablated"):
        findings.append(Verdict(status="fail", expected=expected, lines=lines,
                                message=f"impossible {where}: {problem}; the log is corrupt or the trainer's arithmetic is wrong"))
        return findings + _zeroed(ablation, where, lines, options)
    status = range_status(ablation.gain, options)
    detail = (f"hierarchy gain {ablation.gain:+.4f} ({where}: full {ablation.full_r2:+.4f} vs {ablation.baseline or 'ablated'} "
              f"{ablation.ablated_r2:+.4f})" if ablation.full_r2 is not None and ablation.ablated_r2 is not None
              else f"hierarchy gain {ablation.gain:+.4f} ({where})")
    if status == "pass":
        findings.append(Verdict(status="pass", value=ablation.gain, expected=expected, lines=lines,
                                message=f"{detail}, at least {options.min:g}"))
    else:
        findings.append(Verdict(status=status, value=ablation.gain, expected=expected, lines=lines,
                                direction="below", message=f"{detail}, below {options.min:g} (the paper's hierarchy adds "
                                                           f"+{options.paper_gain:g}): {options.reason}"))
    return findings + _zeroed(ablation, where, lines, options)


def impossible(gain: float, first: float | None, second: float | None, first_name: str, second_name: str) -> str | None:
    """What makes a printed gain unusable: a non-finite number, an R2 above 1, or a gain that is not first - second."""
    printed = {"gain": gain, f"{first_name} R2": first, f"{second_name} R2": second}
    if bad := [f"{name} {value:g}" for name, value in printed.items() if value is not None and not math.isfinite(value)]:
        return f"{', '.join(bad)} not finite"
    if bad := [f"{name} {value:+.4f}" for name, value in printed.items() if value is not None and name != "gain" and value > 1]:
        return f"{', '.join(bad)} above 1, which no R2 can be"
    if first is not None and second is not None and abs(gain - (first - second)) > ROUNDING:
        return (f"gain {gain:+.4g} is not {first_name} {first:+.4f} minus {second_name} {second:+.4f} "
                f"({first - second:+.4f})")
    return None


def _zeroed(ablation, where: str, lines: list[int], options: Options) -> list[Verdict]:
    if not ablation.zeroed:
        return []
    return [Verdict(status=options.wrong_baseline_severity, value=ablation.baseline,
                    expected="a separately trained Bi-LSTM baseline", lines=lines[:2], direction="zeroed",
                    message=f"the {where} compares with the same model, hierarchy zeroed ({ablation.baseline or 'ablated'}), "
                            "not a separately trained Bi-LSTM: its gain is not the paper's")]


def _comparison(compared: PostAnalysis, options: Options, expected: str) -> Verdict:
    """Round 13's COMPARISON TO BASELINE: the gain over the baseline R2 the notebook prints."""
    lines = sorted({compared.lines[k] for k in ("baseline_r2", "model_r2", "gain") if k in compared.lines})
    model_r2 = f"{compared.model_r2:+.4f}" if compared.model_r2 is not None else "?"
    baseline_r2 = f"{compared.baseline_r2:+.4f}" if compared.baseline_r2 is not None else "?"
    detail = (f"hierarchy gain {compared.gain:+.4f} (post-training comparison: {compared.model or 'model'} {model_r2} vs "
              f"{compared.baseline or 'baseline'} {baseline_r2}, the trainer's fixed baseline R2, not measured in this run)")
    if problem := impossible(compared.gain, compared.model_r2, compared.baseline_r2, compared.model or "model",
                             compared.baseline or "baseline"):
        return Verdict(status="fail", expected=expected, lines=lines,
                       message=f"impossible post-training comparison: {problem}; the log is corrupt or the trainer's "
                               "arithmetic is wrong")
    status = range_status(compared.gain, options)
    if status == "pass":
        return Verdict(status="pass", value=compared.gain, expected=expected, lines=lines,
                       message=f"{detail}, at least {options.min:g}")
    return Verdict(status=status, value=compared.gain, expected=expected, lines=lines,
                   direction="below", message=f"{detail}, below {options.min:g} (the paper's hierarchy adds "
                                              f"+{options.paper_gain:g}): {options.reason}")


SPEC = RuleSpec(id="diagnostics.ablation_gain", category="diagnostics", order=4, options=Options, check=check)
