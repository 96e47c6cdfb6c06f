"""Fixes: ranked by the causes they address, their prior and their cost.

score = P(at least one addressed cause) x prior x cost weight, where the
causes are taken as independent. Only fixes that address a cause with
supporting evidence (a likelihood ratio above 1) are ranked; fixes the user
already tried (`--tried`, `tried:` in the config) are listed apart.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from percediag.diagnose.causes import CauseScore, is_problem
from percediag.diagnose.tables import Tables


# Evidence keys that are not rule ids (see diagnose/signals.py).
SIGNAL_PREFIXES = ("trend.", "forecast.", "overfitting")


class RankedFix(BaseModel):
    id: str
    rank: int | None = Field(default=None, description="1 is the fix to try first; None for tried fixes")
    title: str
    change: str
    cost: str
    score: float
    causes: list[str]
    evidence: list[str] = Field(description="ids of the rules whose findings raised it")
    signals: list[str] = Field(default_factory=list, description="trend and forecast signals that raised it")
    lines: list[int] = Field(default_factory=list)
    reason: str
    tried: bool = False


def rank_fixes(tables: Tables, causes: list[CauseScore], tried: list[str]) -> list[RankedFix]:
    by_id = {c.id: c for c in causes}
    ranked: list[RankedFix] = []
    for fix in tables.fixes:
        addressed = [by_id[c] for c in fix.addresses if by_id[c].supported]
        if not addressed:
            continue
        none_present = 1.0
        for cause in addressed:
            none_present *= 1 - cause.probability
        score = (1 - none_present) * fix.prior * tables.cost_weights[fix.cost]
        top = max(addressed, key=lambda c: c.probability)
        raising = [c for c in top.contributions if c.ratio > 1 and is_problem(c.evidence)]
        raising += [c for c in top.contributions if c.ratio > 1 and not is_problem(c.evidence)]
        raised = [c.evidence.split(":")[0] for cause in addressed for c in cause.contributions if c.ratio > 1]
        evidence = list(dict.fromkeys(r for r in raised if not r.startswith(SIGNAL_PREFIXES)))
        signals = list(dict.fromkeys(r for r in raised if r.startswith(SIGNAL_PREFIXES)))
        lines = sorted({line for c in raising for line in c.lines})[:6]
        shown = ", ".join(f"{c.evidence} x{c.ratio:g}" for c in raising[:3])
        reason = f"{top.title} (p={top.probability:.2f}): {shown}"
        ranked.append(RankedFix(id=fix.id, title=fix.title, change=fix.change, cost=fix.cost, score=round(score, 4),
                                causes=[c.id for c in addressed], evidence=evidence, signals=signals, lines=lines,
                                reason=reason,
                                tried=fix.id in tried))
    ranked.sort(key=lambda f: (-f.score, tables.fix_ids().index(f.id)))
    rank = 0
    for fix in ranked:
        if not fix.tried:
            rank += 1
            fix.rank = rank
    return ranked
