"""diagnostics.attention_entropy: the hierarchy's attention is not uniform.

What it checks: the beat and measure attention entropy of each fold's last
diagnostic summary after the sanity check (normalised: 0 = all weight on
one position, 1.000 = uniform) is at most `max`. For a model the
DiagnosticCallback does not know (its summary prints 0.000), the model's
own `beat_attention entropy` diagnose line is judged instead.

Why: attention at entropy 1.000 weights every note alike, so the beat and
measure nodes are plain averages and the hierarchy adds nothing; the
softmax is then flat and passes almost no gradient to the attention's
context vectors. Round 9 prints 1.000 for both at every epoch. The bound
is a judgement call: the callback's softmax runs over the padded axis
without temperature, so even learned attention reads close to 1; 0.98
separates "flat" from "slightly shaped" on the logs at hand (Round 13's
baseline_beat model, with temperature 0.5, reads 0.942).

An entropy that is nan, infinite or outside [0, 1] is impossible, not
"above" anything: always `fail` (corrupt evidence is no judgement call,
whatever the severity). A summary cut short before its entropy lines
does not hide the complete one before it.

Example (round9.log, line 262):

    Beat attention:    1.000

warns (the rule's severity in the bundled profiles): "attention entropy
beat 1.000, measure 1.000 in diagnostic summary", above 0.98 (uniform
attention).
"""

from __future__ import annotations

from percediag.metrics import model_name
from percediag.model import Run
from percediag.rules.base import judged_summaries, range_status, summary_blind
from percediag.rules.options import RangeOptions
from percediag.rules.spec import RuleSpec, Verdict
from percediag.settings import Settings
from pydantic import Field


class Options(RangeOptions):
    required: bool = Field(default=False, description="a run without any diagnostic block is a `missing` finding")


def check(run: Run, options: Options, settings: Settings) -> list[Verdict]:
    model = model_name(run)
    if not any(f.diagnostics for f in run.folds) and not options.required:
        return []
    findings = []
    expected = options.describe()
    for fold in run.folds or [None]:
        summary = judged_summaries(fold, run, "entropy")[0] if fold is not None else None
        fold_id = fold.fold if fold is not None else None
        if summary is None:
            findings.append(Verdict(status="missing", fold=fold_id, expected=expected,
                                    message="no diagnostic summary in this fold"))
            continue
        values = {part: (value, summary.lines.get(f"entropy.{part}", summary.line)) for part, value in summary.entropy.items()}
        where = f"diagnostic summary (line {summary.line})"
        blind = summary_blind(summary, model)
        if blind is not None:
            check_ = fold.activation
            values = {}
            if check_ is not None:
                for key, value in check_.diagnose.items():
                    if key.endswith("attention_entropy"):
                        values[key.removesuffix("_attention_entropy")] = (value, check_.lines.get(f"diagnose.{key}", check_.line))
            if not values:
                findings.append(Verdict(status="missing", fold=fold_id, expected=expected,
                                        lines=[summary.line], message=f"not applicable: {blind}; its 0.000 entropies "
                                        "say nothing, and the model printed no entropy of its own"))
                continue
            where = f"the model's own diagnose lines ({blind})"
        if not values:
            findings.append(Verdict(status="missing", fold=fold_id, expected=expected,
                                    lines=[summary.line], message="the diagnostic summary printed no attention entropy"))
            continue
        impossible = {part: item for part, item in values.items() if not 0 <= item[0] <= 1}
        if impossible:
            shown = ", ".join(f"{part} {v:g} (line {line})" for part, (v, line) in impossible.items())
            findings.append(Verdict(status="fail", fold=fold_id, expected=expected,
                                    value=len(impossible), lines=sorted({line for _, line in impossible.values()}),
                                    message=f"impossible attention entropy in {where}: {shown}: a normalised entropy "
                                            "lies in [0, 1]; the log is corrupt or the softmax overflowed"))
            values = {part: item for part, item in values.items() if part not in impossible}
            if not values or range_status(max(v for v, _ in values.values()), options) == "pass":
                continue  # the readable part passes, which does not make the fold pass
        worst_part = max(values, key=lambda p: values[p][0])
        value = values[worst_part][0]
        status = range_status(value, options)
        shown = ", ".join(f"{part} {v:.3f}" for part, (v, _) in values.items())
        lines = sorted({line for _, line in values.values()})
        if status == "pass":
            message = f"attention entropy {shown} in {where}, within {expected}"
        else:
            message = f"attention entropy {shown} in {where}, above {expected} (1 = uniform): {options.reason}"
        findings.append(Verdict(status=status, fold=fold_id, value=value, expected=expected,
                                lines=lines, message=message, direction=None if status == "pass" else "above"))
    return findings


SPEC = RuleSpec(id="diagnostics.attention_entropy", category="diagnostics", order=2, options=Options, check=check)
