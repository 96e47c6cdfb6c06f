"""Helpers shared by rule modules: range verdicts, per-fold iteration, tag comparison."""

from __future__ import annotations

import math
from collections.abc import Callable

# Which model ran is a derived fact (metrics); the rules that depend on it import it from here too.
from percediag.metrics import HAN_TYPES
from percediag.model import ActivationCheck, Fold, Run, TrainerTag
from percediag.rules.options import RangeOptions
from percediag.rules.spec import SEVERITY, Verdict


def range_status(value: float, options: RangeOptions) -> str:
    """pass inside [min, max]; warn inside the optional warn band; else the rule's severity (SEVERITY)."""
    if math.isnan(value):
        return SEVERITY
    low_ok = options.min is None or value >= options.min
    high_ok = options.max is None or value <= options.max
    if low_ok and high_ok:
        return "pass"
    in_warn_low = not low_ok and options.warn_min is not None and value >= options.warn_min
    in_warn_high = not high_ok and options.warn_max is not None and value <= options.warn_max
    if in_warn_low or in_warn_high:
        return "warn"
    return SEVERITY


def direction(value: float, options: RangeOptions) -> str:
    if options.min is not None and value < options.min:
        return "below"
    if options.max is not None and value > options.max:
        return "above"
    return "inside"


def outside(value: float, options: RangeOptions, status: str) -> str | None:
    """'below'/'above' for a value outside its range, else None."""
    if status == "pass":
        return None
    side = direction(value, options)
    return side if side != "inside" else None


def fmt(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if not math.isfinite(value):
        return str(value)
    return f"{value:.{digits}f}"


def tag_for(check: ActivationCheck, subject: str) -> TrainerTag | None:
    for tag in check.tags:
        if tag.subject == subject:
            return tag
    return None


def disagreement(tag: TrainerTag | None, status: str) -> str | None:
    """The trainer's tag, when its verdict and ours point different ways."""
    if tag is None or status == "missing":
        return None
    trainer_ok = tag.tag == "OK"
    ours_ok = status == "pass"
    if trainer_ok == ours_ok:
        return None
    return f"[{tag.tag}] {tag.text}"


def with_disagreement(message: str, tag: str | None) -> str:
    if tag is None:
        return message
    return f"{message}; the trainer said {tag} (its own thresholds differ)"


def folds_or_none(run: Run) -> list[Fold | None]:
    """The run's folds, or [None] so that a rule still reports `missing` once."""
    return list(run.folds) if run.folds else [None]


def per_fold(run: Run, part: str):
    """(fold id, the fold's `part`, e.g. 'gradients') for each fold; one (None, None) when the run has none."""
    for fold in folds_or_none(run):
        yield (fold.fold, getattr(fold, part)) if fold is not None else (None, None)


def activation_range_rule(
    run: Run,
    options: RangeOptions,
    *,
    label: str,
    subject: str,
    value_of: Callable[[ActivationCheck], tuple[float | None, list[int], str]],
    missing_hint: str,
) -> list[Verdict]:
    """A per-fold range check of one activation-check measurement."""
    findings = []
    for fold_id, check in per_fold(run, "activation"):
        expected = options.describe()
        if check is None:
            findings.append(Verdict(status="missing", fold=fold_id,
                                    expected=expected, message=f"no activation check in this fold; {label} not reported"))
            continue
        value, lines, how = value_of(check)
        if value is None:
            findings.append(Verdict(status="missing", fold=fold_id,
                                    expected=expected, lines=[check.line], message=f"{label} not reported ({missing_hint})"))
            continue
        status = range_status(value, options)
        tag = disagreement(tag_for(check, subject), status)
        if status == "pass":
            message = f"{label} {fmt(value)} within {expected}{how}"
        else:
            message = f"{label} {fmt(value)} {direction(value, options)} {expected}{how}: {options.reason}"
        findings.append(Verdict(status=status, fold=fold_id, value=value,
                                expected=expected, lines=lines, message=with_disagreement(message, tag), trainer_tag=tag,
                                direction=outside(value, options, status)))
    return findings


# -- later rounds: which model ran, and which diagnostic blocks apply to it --

def summary_blind(summary, model: str | None) -> str | None:
    """Why a DIAGNOSTIC SUMMARY says nothing of this model, or None when it applies.

    The callback fills only `input` for a model it does not know and prints
    0 for every other stage: zeros from the diagnostic, not a collapse.
    """
    if model is not None and model not in HAN_TYPES:
        return f"model {model}: the trainer's DiagnosticCallback only knows the full HAN"
    rest = [s.std for s in summary.stages if s.stage != "input"]
    if rest and all(value == 0 for value in rest):
        return "every stage but the input prints exactly 0: the callback did not recognise the model"
    return None


def judged_summaries(fold: Fold, run: Run, part: str | None = None):
    """(the summary to judge, every non-sanity summary) of a fold: the last one after the sanity check.

    With `part` ("stages", "entropy", "contribution"): the last that printed
    it, so that a block cut short at the end of the log (a run killed while
    printing it) does not hide the complete one before it.
    """
    usable = [d for d in fold.diagnostics if d.phase != "sanity"] or list(fold.diagnostics)
    printed = [d for d in usable if getattr(d, part)] if part else usable
    return ((printed or usable)[-1] if usable else None), usable
