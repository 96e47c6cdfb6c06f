"""Round assessment: the seed's questions, answered in order with their evidence.

1. Is this round's fix active?  2. Are the activations healthy?
3. Is R2 on trajectory for SOTA?  4. What remains wrong?  5. Which fixes next?
"""

from __future__ import annotations

from collections import Counter

from pydantic import BaseModel, Field

from percediag.diagnose.causes import CauseScore
from percediag.diagnose.fixes import RankedFix
from percediag.findings import STATUS_ORDER, Finding, worst
from percediag.trajectory import Forecast


class Answer(BaseModel):
    question: str
    answer: str
    status: str = Field(description="pass | warn | fail | missing")
    evidence: list[str] = Field(default_factory=list, description="rule ids")
    lines: list[int] = Field(default_factory=list)


def _of(findings: list[Finding], category: str) -> list[Finding]:
    return [f for f in findings if f.category == category]


def _lines(findings: list[Finding]) -> list[int]:
    return sorted({line for f in findings for line in f.lines})[:8]


def _category_answer(question: str, items: list[Finding], ok: str) -> Answer:
    if not items or all(f.status == "missing" for f in items):
        return Answer(question=question, answer="unknown: the log does not show it", status="missing",
                      evidence=sorted({f.rule for f in items}))
    bad = [f for f in items if f.status in ("warn", "fail")]
    missing = [f for f in items if f.status == "missing"]
    if not bad:
        if missing:
            seen = len(items) - len(missing)
            answer = f"not known: {len(missing)} of {len(items)} check(s) without data; the {seen} with data pass"
        else:
            answer = ok
        return Answer(question=question, answer=answer, status="pass" if not missing else "warn",
                      evidence=sorted({f.rule for f in items}), lines=_lines(items))
    rules = list(dict.fromkeys(f.rule for f in bad))
    parts = []
    for rule in rules[:4]:
        hits = [f for f in bad if f.rule == rule]
        folds = [f.fold for f in hits if f.fold is not None]
        where = f" in {len(folds)} fold(s)" if folds else ""
        value = _short(hits[0].value)
        parts.append(f"{rule} {value}{where} (expected {hits[0].expected})" if value else f"{rule}{where}")
    more = f"; and {len(rules) - 4} more" if len(rules) > 4 else ""
    return Answer(question=question, answer="no: " + "; ".join(parts) + more, status=worst([f.status for f in bad]),
                  evidence=rules, lines=_lines(bad))


def _short(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _trajectory_answer(findings: list[Finding], forecasts: list[Forecast]) -> Answer:
    """The verdict of the progression.trajectory rule (so the answer and the gate agree), with the folds' trends."""
    question = "Is R2 on trajectory for SOTA?"
    milestones = [f for f in _of(findings, "progression") if f.rule.startswith("progression.epoch_")]
    failed = [f for f in milestones if f.status in ("warn", "fail")]
    judged = [f for f in findings if f.rule == "progression.trajectory"]
    if not forecasts:
        return Answer(question=question, answer="unknown: no epoch lines", status="missing",
                      evidence=sorted({f.rule for f in milestones + judged}))
    trends = Counter(fc.trend for fc in forecasts)
    trend_text = ", ".join(f"{count} {trend}" for trend, count in trends.most_common())
    milestone_text = f"; milestones missed: {', '.join(sorted({f.rule for f in failed}))}" if failed else ""
    evidence = sorted({f.rule for f in failed})
    if judged:
        if all(f.status == "missing" for f in judged):
            return Answer(question=question, answer=f"unknown: {judged[0].message}", status="missing",
                          evidence=["progression.trajectory", *evidence], lines=_lines(judged))
        status = worst([f.status for f in judged])
        verdict = {"pass": "yes", "warn": "uncertain", "fail": "no"}[status]
        example = max(judged, key=lambda f: STATUS_ORDER[f.status])
        where = f"fold {example.fold}" if example.fold is not None else "run"
        answer = f"{verdict}: {trend_text} fold(s); {where}: {example.message}{milestone_text}"
        shown = [f for f in judged if f.status != "pass"] or judged
        return Answer(question=question, answer=answer, status=status,
                      evidence=["progression.trajectory", *evidence], lines=_lines(shown))
    # progression.trajectory is disabled: the forecasts alone, never stronger than the gate (warn at most).
    answers = Counter(fc.on_track for fc in forecasts)
    if answers["yes"] * 2 > len(forecasts):
        verdict, status = "yes", "pass"
    elif answers["no"] * 2 > len(forecasts):
        verdict, status = "no", "warn"
    else:
        verdict, status = "uncertain", "warn"
    example = next((fc for fc in forecasts if fc.on_track == verdict), forecasts[-1])
    answer = (f"{verdict}: {trend_text} fold(s); fold {example.fold}: {example.reason}{milestone_text} "
              "(progression.trajectory is disabled: not gated)")
    return Answer(question=question, answer=answer, status=status,
                  evidence=evidence or ["progression"], lines=[line for fc in forecasts for line in fc.lines][:8])


def assess(findings: list[Finding], forecasts: list[Forecast], causes: list[CauseScore], fixes: list[RankedFix]) -> list[Answer]:
    answers = [
        _category_answer("Is this round's fix active?", _of(findings, "architecture"), "yes"),
        _category_answer("Are the activations healthy?", _of(findings, "activation"), "yes"),
        _trajectory_answer(findings, forecasts),
    ]
    remaining = [f for f in findings if f.status in ("warn", "fail") and f.category in ("gradient", "run", "log", "baseline")]
    likely = [c for c in causes if c.supported and c.probability >= 0.5]
    parts = []
    if remaining:
        parts.append("not passing: " + ", ".join(dict.fromkeys(f.rule for f in remaining)))
    if likely:
        def settled(cause: CauseScore) -> str:
            # A cause whose every fix is already applied is named as such, not as news.
            addressing = [f for f in fixes if cause.id in f.causes]
            return "; its fixes already applied" if addressing and all(f.status == "applied" for f in addressing) else ""

        parts.append("likely causes: " + ", ".join(f"{c.title} (p={c.probability:.2f}{settled(c)})" for c in likely[:3]))
    answers.append(Answer(question="What remains wrong?", answer="; ".join(parts) or "nothing beyond the above",
                          status=worst([f.status for f in remaining]) if remaining else "pass",
                          evidence=list(dict.fromkeys(f.rule for f in remaining)), lines=_lines(remaining)))
    ranked = [f for f in fixes if f.rank is not None][:3]
    answers.append(Answer(question="Which fixes next?",
                          answer=", ".join(f"{f.rank}. {f.id}" for f in ranked) + " (see Next fixes)" if ranked else "no fix is supported by the evidence",
                          status="pass" if not ranked else "warn", evidence=[e for f in ranked for e in f.evidence][:8],
                          lines=[line for f in ranked for line in f.lines][:8]))
    return answers
