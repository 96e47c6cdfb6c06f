"""Fixes: ranked by the causes they address, their prior, their cost and the run's history.

score = P(at least one addressed cause) x prior x cost weight, where the
causes are taken as independent. Only fixes that address a cause with
supporting evidence (a likelihood ratio above 1) are considered. Then
history decides where each stands:

- escalated: when targeted fixes stopped paying (diagnose/history.py), the
  escalation fixes go to the top, in their configured order;
- applied: a fix the profile's round or the user's history already put in
  place is not ranked; it is listed with its round. When the evidence its
  `verify_when` names is present, it comes back as "verify it is active",
  demoted by `ranking.verify_weight`; when the evidence its `again_when`
  names is present (the setting is still off: head init too small after
  gain 0.1, too large after gain 2.0), it comes back as "again, at another
  setting", demoted by the tried weight of its recorded outcome. Neither is
  ever first;
- tried: a fix given with `--tried ID[=OUTCOME]` is demoted by the weight of
  its outcome (`ranking.tried_weight`), not dropped;
- next: everything else, by score.

Every fix carries `placement`, one sentence on why it stands where it does.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from percediag.diagnose.causes import CauseScore
from percediag.diagnose.history import Escalation
from percediag.diagnose.signals import matching
from percediag.diagnose.tables import Tables
from percediag.settings import AppliedFix, Outcome, Ranking

Status = Literal["escalated", "next", "tried", "verify", "again", "applied"]
# Applied fixes that came back: ranked, but never first.
RETURNED = ("verify", "again")


class RankedFix(BaseModel):
    id: str
    rank: int | None = Field(default=None, description="1 is the fix to try first; None when not ranked (applied)")
    status: Status = Field(default="next", description="escalated | next | tried | verify | again | applied")
    title: str
    change: str
    cost: str
    score: float = Field(description="after history's demotions")
    base_score: float = Field(default=0.0, description="from the evidence alone")
    probability: float = Field(default=0.0, description="probability of its likeliest supported cause")
    causes: list[str]
    evidence: list[str] = Field(description="ids of the rules whose findings raised it")
    signals: list[str] = Field(default_factory=list, description="trend, forecast and learned signals that raised it")
    lines: list[int] = Field(default_factory=list)
    reason: str = Field(description="the evidence behind it: its likeliest cause and that cause's strongest evidence")
    placement: str = Field(default="", description="why it stands where it does: score, escalation, applied, tried")
    tried: bool = False
    outcome: Outcome | None = Field(default=None, description="the outcome given with --tried or recorded for an applied fix")
    applied_round: int | None = None
    applied_detail: str | None = None


class History(BaseModel):
    """What the ranking knows of the rounds before this run."""

    applied: dict[str, AppliedFix] = Field(default_factory=dict)
    applied_origin: dict[str, str] = Field(default_factory=dict, description="fix id -> profile NAME or history")
    tried: dict[str, Outcome] = Field(default_factory=dict)
    escalation: Escalation


def _evidence_score(fix, by_id: dict[str, CauseScore], tables: Tables) -> tuple[float, list[CauseScore]]:
    addressed = [by_id[c] for c in fix.addresses if by_id[c].supported]
    none_present = 1.0
    for cause in addressed:
        none_present *= 1 - cause.probability
    score = (1 - none_present) * fix.prior * tables.cost_weights[fix.cost] if addressed else 0.0
    return score, addressed


def _explained(addressed: list[CauseScore], tables: Tables) -> dict:
    """The evidence fields of a fix: reason, rule ids, signals, lines."""
    if not addressed:
        return {"reason": "no evidence in this log points at it", "evidence": [], "signals": [], "lines": []}
    top = max(addressed, key=lambda c: c.probability)
    raising = [c for c in top.contributions if c.ratio > 1 and c.problem]
    raising += [c for c in top.contributions if c.ratio > 1 and not c.problem]
    raised = [c.evidence.split(":")[0] for cause in addressed for c in cause.contributions if c.ratio > 1]
    shown = ", ".join(f"{c.evidence} x{c.ratio:.3g}" for c in raising[:3])
    sources = ", ".join(top.driven_by[:3])
    tempered = [c for c in top.contributions if c.table_ratio is not None]
    note = f"; batch-0 evidence tempered ({len(tempered)} ratio(s)): the model learned" if tempered else ""
    return {
        "reason": f"{top.title} (p={top.probability:.2f}, from {sources}): {shown}{note}",
        "evidence": list(dict.fromkeys(r for r in raised if not tables.is_signal(r))),
        "signals": list(dict.fromkeys(r for r in raised if tables.is_signal(r))),
        "lines": sorted({line for c in raising for line in c.lines})[:6],
    }


def rank_fixes(tables: Tables, causes: list[CauseScore], available: dict[str, list[int]],
               history: History, ranking: Ranking) -> list[RankedFix]:
    by_id = {c.id: c for c in causes}
    escalated_ids = history.escalation.fixes if history.escalation.escalate else []
    candidates: list[RankedFix] = []
    for fix in tables.fixes:
        base, addressed = _evidence_score(fix, by_id, tables)
        escalated = fix.id in escalated_ids
        if not addressed and not escalated:
            continue
        item = RankedFix(id=fix.id, title=fix.title, change=fix.change, cost=fix.cost, score=round(base, 4),
                         base_score=round(base, 4), probability=round(max((c.probability for c in addressed), default=0.0), 4),
                         causes=[c.id for c in addressed], **_explained(addressed, tables))
        applied = history.applied.get(fix.id)
        if applied is not None:
            origin = history.applied_origin.get(fix.id, "history")
            item.applied_round, item.applied_detail = applied.round, applied.detail
            item.outcome = None if applied.outcome == "unknown" else applied.outcome
            done = f"applied in Round {applied.round} ({origin}): {applied.detail}"
            if applied.outcome != "unknown":
                done += f"; outcome: {applied.outcome}"
            hits = [hit for key in applied.verify_when for hit in matching(key, available)]
            again = [hit for key in applied.again_when for hit in matching(key, available)]
            if again and addressed and not hits:
                weight = ranking.tried_weight[applied.outcome]
                item.status = "again"
                item.title = f"{fix.title}, at another setting"
                item.score = round(base * weight, 4)
                item.placement = (f"{done}; but {', '.join(dict.fromkeys(again))} says the setting is still off: "
                                  f"tried is not refuted, try another setting (score {base:.2f} x {weight:g})")
            elif hits and addressed:
                item.status = "verify"
                item.title = f"Verify it is active: {fix.title[0].lower()}{fix.title[1:]}"
                item.score = round(base * ranking.verify_weight, 4)
                item.placement = (f"{done}; but {', '.join(dict.fromkeys(hits))} says it may not be in effect: "
                                  f"verify it is active (score {base:.2f} x {ranking.verify_weight:g})")
            else:
                item.status = "applied"
                item.placement = f"{done}; not ranked again"
        elif fix.id in history.tried:
            outcome = history.tried[fix.id]
            weight = ranking.tried_weight[outcome]
            item.status, item.tried = "tried", True
            item.outcome = outcome
            item.score = round(base * weight, 4)
            said = "tried" if outcome == "unknown" else f"tried, {outcome}"
            item.placement = f"{said} (--tried): score {base:.2f} x {weight:g}, demoted, not dropped"
        elif escalated:
            item.status = "escalated"
            item.placement = "escalated to the top: rounds of targeted fixes stayed below the floor (see Stop patching)"
        else:
            item.placement = f"score {base:.2f}: evidence x prior x cost"
        candidates.append(item)
    _order(candidates, escalated_ids, tables, ranking.escalation.yield_above)
    return candidates


def _order(candidates: list[RankedFix], escalated_ids: list[str], tables: Tables, yield_above: float) -> None:
    """Sort in place and number the ranked ones; a fix already applied is never first; escalated
    fixes go first except below a fix for a near-certain defect."""
    order = tables.fix_ids()
    escalated = sorted((f for f in candidates if f.status == "escalated"), key=lambda f: escalated_ids.index(f.id))
    ranked = sorted((f for f in candidates if f.status in ("next", "tried", *RETURNED)),
                    key=lambda f: (-f.score, order.index(f.id)))
    if escalated:
        acute = [f for f in ranked if f.status == "next" and f.probability >= yield_above]
        for fix in acute:
            fix.placement += f"; above the escalation: its cause is near-certain (p={fix.probability:.2f})"
        ranked = [f for f in ranked if f not in acute]
        escalated = acute + escalated
    applied = [f for f in candidates if f.status == "applied"]
    unranked: list[RankedFix] = []
    if not escalated and ranked and ranked[0].status in RETURNED:
        first = next((f for f in ranked if f.status not in RETURNED), None)
        if first is None:
            # Only applied fixes have evidence: listed to verify, none ranked.
            for fix in ranked:
                fix.placement += "; not ranked: every fix the evidence supports is already applied"
            unranked, ranked = ranked, []
        else:
            ranked.remove(first)
            ranked.insert(0, first)
            ranked[1].placement += f"; placed below {first.id}: a fix already applied is never the first to try"
    candidates[:] = escalated + ranked + unranked + applied
    for rank, fix in enumerate(escalated + ranked, start=1):
        fix.rank = rank
