"""gradient.context_vectors: the attention context vectors receive gradient.

What it checks: per fold, the smallest `context_vectors=...` gradient norm
over the logged steps must be at least the profile's `min` (default 1e-6).
The trainer prints the line only on the first five steps.

A value printed as zero at a fixed number of decimals (`0.0000`) only says
the norm is below half the last decimal (5e-5), which cannot decide a 1e-6
threshold. For those steps, and only for them, the rule falls back on the
trainer's flag, which is computed from the unrounded value against the
same 1e-6 (`[OK: learning]` or `[WARN: not learning!]`), and says so.
`0.000000` resolves 5e-7, so it is judged from the number.

Why: the seed's table: a context vector with no gradient is "attention
stuck": the attention weights cannot move away from their initial state.
Round 6 prints `context_vectors=0.000000 [WARN: not learning!]`.

Example (Round 5 log): `context_vectors=0.0001 [OK: learning]` passes.
"""

from __future__ import annotations

from percediag.model import GradientStats, Run
from percediag.rules.base import per_fold, range_status
from percediag.rules.options import RangeOptions
from percediag.rules.spec import SEVERITY, RuleSpec, Verdict
from percediag.settings import Settings

Options = RangeOptions


def _unresolved(grads: GradientStats, options: RangeOptions) -> tuple[str, str] | None:
    """(status, message) for steps printed as 0 too coarsely to judge, or None."""
    if not grads.context_unresolved:
        return None
    resolution = grads.context_resolution or 0.0
    steps = sum(grads.context_unresolved.values())
    if options.min is not None and resolution <= options.min:
        return SEVERITY, f"{steps} step(s) print 0 at resolution {resolution:.0e}, below {options.min:g}: {options.reason}"
    not_learning = sum(n for flag, n in grads.context_unresolved.items() if "not learning" in flag.lower())
    learning = sum(n for flag, n in grads.context_unresolved.items() if flag.upper().startswith("OK"))
    base = f"{steps} step(s) print 0 at resolution {resolution:.0e}, too coarse for {options.min:g}"
    if not_learning:
        return SEVERITY, f"{base}; the trainer's unrounded check says not learning: {options.reason}"
    if learning == steps:
        return "pass", f"{base}; the trainer's unrounded check says learning"
    return "missing", f"{base}, and no trainer flag to decide"


def check(run: Run, options: RangeOptions, settings: Settings) -> list[Verdict]:
    findings = []
    expected = options.describe()
    for fold_id, grads in per_fold(run, "gradients"):
        series = grads.context_vectors if grads else None
        unresolved = _unresolved(grads, options) if grads else None
        if (series is None or series.min is None) and unresolved is None:
            findings.append(Verdict(status="missing", fold=fold_id, expected=expected,
                                    message="no context_vectors gradient logged in this fold (older trainers omit it)"))
            continue
        statuses, parts, lines, value = [], [], [], None
        if series is not None and series.min is not None:
            status = range_status(series.min, options)
            value = series.min
            part = f"smallest context vector gradient {series.min:.2e} over {series.count} step(s)"
            if status != "pass":
                part += f", below {options.min:g}: {options.reason}"
            statuses.append(status)
            parts.append(part)
            lines.append(series.min_line)
        if unresolved is not None:
            statuses.append(unresolved[0])
            parts.append(unresolved[1])
            lines.append(grads.context_unresolved_line)
            value = 0.0 if value is None else value
        if grads.context_not_learning:
            parts.append(f"the trainer said 'not learning' on {grads.context_not_learning} step(s)")
            lines.append(grads.context_not_learning_line)
        order = {"pass": 0, "missing": 1, "warn": 2, SEVERITY: 3}
        status = max(statuses, key=order.__getitem__)
        findings.append(Verdict(status=status, fold=fold_id, value=value, expected=expected,
                                lines=sorted({line for line in lines if line}), message="; ".join(parts),
                                direction="below" if status in ("warn", SEVERITY) else None))
    return findings


SPEC = RuleSpec(id="gradient.context_vectors", category="gradient", order=3, options=Options, check=check)
