"""diagnostics.hierarchy_contribution: the beat and measure levels carry their share of the signal.

What it checks: in each fold's last diagnostic summary after the sanity
check (else the post-training `HIERARCHY CONTRIBUTION ANALYSIS`), the beat
share of the variance is at least `beat_min` and the measure share at
least `measure_min`, and no single part holds more than `max_share`. For
the incremental models (the summary prints 0.0% for them) the model's own
`contractor weights - LSTM: a, Beat: b` line is judged: the beat branch's
mean weight must be at least `contractor_min` times the LSTM branch's.

Why: a hierarchy that contributes almost nothing is dead weight, and one
part holding nearly all the variance means the others are ignored. The
minimums are the trainer's own (`[WARNING] Beat hierarchy contributing <
10%`, measure < 5%, contractor beat < 0.1 x LSTM); `max_share` is a
judgement call (three parts at a third each is the balanced case). The
trainer's `[WARNING]` lines are compared with the numbers.

A share that is nan, infinite or outside [0%, 100%], or a contractor
weight that is not finite, is impossible: always `fail` (corrupt
evidence is no judgement call); a summary cut short before its contribution lines does not
hide the complete one before it.

Example (round13.log, lines 105-109, baseline_beat): the summary's 0.0%
shares and both warnings are not applicable; `contractor weights - LSTM:
0.0156, Beat: 0.0157` (line 133) passes.
"""

from __future__ import annotations

import math

from pydantic import Field

from percediag.metrics import model_name
from percediag.model import Run
from percediag.rules.base import judged_summaries, summary_blind
from percediag.rules.options import RuleOptions
from percediag.rules.spec import SEVERITY, RuleSpec, Verdict
from percediag.settings import Settings


class Options(RuleOptions):
    beat_min: float = Field(ge=0, le=1)
    measure_min: float = Field(ge=0, le=1)
    max_share: float = Field(gt=0, le=1)
    contractor_min: float = Field(ge=0)
    required: bool = False


def _contractor(fold, options: Options, blind: str, fold_id) -> Verdict | None:
    check_ = fold.activation if fold is not None else None
    if check_ is None or "contractor_lstm" not in check_.diagnose or "contractor_beat" not in check_.diagnose:
        return None
    lstm, beat = check_.diagnose["contractor_lstm"], check_.diagnose["contractor_beat"]
    line = check_.lines.get("diagnose.contractor_beat", check_.line)
    expected = f"beat branch >= {options.contractor_min:g} x LSTM branch"
    if not (math.isfinite(lstm) and math.isfinite(beat)):
        return Verdict(status="fail", fold=fold_id, expected=expected, lines=[line],
                       message=f"impossible contractor weights LSTM {lstm:g}, beat {beat:g}: a mean weight is finite")
    ratio = beat / lstm if lstm else float("inf")
    if ratio >= options.contractor_min:
        return Verdict(status="pass", fold=fold_id, value=round(ratio, 3), expected=expected,
                       lines=[line], message=f"contractor weights LSTM {lstm:.4f}, beat {beat:.4f} ({ratio:.2f}x) in the "
                                             f"model's own diagnose lines ({blind})")
    return Verdict(status=SEVERITY, fold=fold_id, value=round(ratio, 3), expected=expected,
                   lines=[line], direction="below",
                   message=f"contractor ignores the beat branch: LSTM {lstm:.4f}, beat {beat:.4f} ({ratio:.2f}x): {options.reason}")


def check(run: Run, options: Options, settings: Settings) -> list[Verdict]:
    model = model_name(run)
    if run.post_diagnostics is None and not any(f.diagnostics for f in run.folds) and not options.required:
        return []
    findings = []
    expected = f"beat >= {options.beat_min:.0%}, measure >= {options.measure_min:.0%}, no part > {options.max_share:.0%}"
    for fold in run.folds or [None]:
        summary = judged_summaries(fold, run, "contribution")[0] if fold is not None else None
        if summary is None and (fold is None or fold is run.folds[-1]):
            summary = run.post_diagnostics
        fold_id = fold.fold if fold is not None else None
        if summary is None or not summary.contribution:
            findings.append(Verdict(status="missing", fold=fold_id, expected=expected,
                                    lines=[summary.line] if summary else [], message="no hierarchy contribution printed"))
            continue
        blind = summary_blind(summary, model)
        if blind is not None:
            own = _contractor(fold, options, blind, fold_id)
            findings.append(own or Verdict(status="missing", fold=fold_id, expected=expected,
                                           lines=[summary.line], message=f"not applicable: {blind}; its 0.0% shares and "
                                           "warnings say nothing, and the model printed no contractor weights"))
            continue
        shares = summary.contribution
        lines = sorted({summary.lines.get(f"contribution.{p}", summary.line) for p in shares})
        impossible = {part: value for part, value in shares.items() if not 0 <= value <= 1}
        if impossible:
            shown = ", ".join(f"{part} {value * 100:g}%" for part, value in impossible.items())
            findings.append(Verdict(status="fail", fold=fold_id, expected=expected,
                                    value=len(impossible), lines=lines,
                                    message=f"impossible hierarchy contribution: {shown}: a share of the variance "
                                            "is a finite number in [0%, 100%]; the log is corrupt"))
            continue
        problems = []
        if shares.get("beat", 1) < options.beat_min:
            problems.append(f"beat {shares['beat']:.1%} < {options.beat_min:.0%}")
        if shares.get("measure", 1) < options.measure_min:
            problems.append(f"measure {shares['measure']:.1%} < {options.measure_min:.0%}")
        top = max(shares, key=shares.get)
        if shares[top] > options.max_share:
            problems.append(f"{top} {shares[top]:.1%} > {options.max_share:.0%}")
        warned = [t for t in summary.tags if t.subject == "contribution"]
        said = ""
        if warned and not problems:
            said = f"; the trainer warned ({warned[0].text}) where the numbers pass"
        shown = ", ".join(f"{part} {value:.1%}" for part, value in shares.items())
        if problems:
            findings.append(Verdict(status=SEVERITY, fold=fold_id, expected=expected,
                                    value=shares.get("beat"), lines=lines, direction="below",
                                    message=f"hierarchy contribution {shown}: {', '.join(problems)}: {options.reason}"))
        else:
            findings.append(Verdict(status="pass", fold=fold_id, expected=expected,
                                    value=shares.get("beat"), lines=lines, trainer_tag=said[2:] or None,
                                    message=f"hierarchy contribution {shown}{said}"))
    return findings


SPEC = RuleSpec(id="diagnostics.hierarchy_contribution", category="diagnostics", order=3, options=Options, check=check)
