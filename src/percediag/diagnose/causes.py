"""Causes: each cause's probability given the signals, with its contributions.

Bayes in odds form: posterior odds = prior odds x product of the likelihood
ratios of the evidence present. A wildcard key (progression.epoch_*:fail)
counts once however many milestones it matches, so one slow fold does not
multiply into certainty.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from percediag.diagnose.signals import matching
from percediag.diagnose.tables import Cause


class Contribution(BaseModel):
    evidence: str
    ratio: float
    lines: list[int] = Field(default_factory=list)


class CauseScore(BaseModel):
    id: str
    title: str
    prior: float
    probability: float
    contributions: list[Contribution]

    @property
    def supported(self) -> bool:
        """Raised by at least one sign of trouble; healthy signals alone never support a cause."""
        return any(c.ratio > 1 and is_problem(c.evidence) for c in self.contributions)


# Signals that describe a healthy run: they may strengthen a cause that
# trouble already supports, but never support one on their own.
HEALTHY_SIGNALS = ("trend.rising", "trend.converged", "forecast.reaches_target")


def is_problem(evidence: str) -> bool:
    return not evidence.endswith(":pass") and evidence not in HEALTHY_SIGNALS


def score_cause(cause: Cause, available: dict[str, list[int]]) -> CauseScore:
    odds = cause.prior / (1 - cause.prior)
    contributions = []
    for key, ratio in cause.evidence.items():
        hits = matching(key, available)
        if not hits:
            continue
        odds *= ratio
        lines = sorted({line for hit in hits for line in available[hit]})[:5]
        contributions.append(Contribution(evidence=hits[0] if len(hits) == 1 else key, ratio=ratio, lines=lines))
    contributions.sort(key=lambda c: -abs(c.ratio - 1) if c.ratio >= 1 else -(1 / c.ratio - 1))
    return CauseScore(id=cause.id, title=cause.title, prior=cause.prior, probability=odds / (1 + odds),
                      contributions=contributions)


def score_causes(causes: list[Cause], available: dict[str, list[int]]) -> list[CauseScore]:
    scored = [score_cause(cause, available) for cause in causes]
    return sorted(scored, key=lambda c: -c.probability)
