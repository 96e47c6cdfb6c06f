"""Causes: each cause's probability given the signals, with its contributions.

Bayes in odds form: posterior odds = prior odds x product of the likelihood
ratios of the evidence present. A wildcard key (progression.epoch_*:fail)
counts once however many milestones it matches, so one slow fold does not
multiply into certainty.

Learned evidence outweighs batch-0 evidence: when a `tempered_by` signal
(causes.yaml) shows the model learned, every ratio from the tempered source
(the first batch's activations) is raised to `ranking.batch0_exponent`, so
a collapsed first batch says less about a run whose R2 climbs. Each
contribution names its source and, when tempered, its ratio as written.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, PrivateAttr

from percediag.diagnose.signals import matching
from percediag.diagnose.tables import Cause, Tables


class Contribution(BaseModel):
    evidence: str
    ratio: float = Field(description="the likelihood ratio applied (after tempering)")
    source: str = Field(default="other", description="where the evidence comes from: batch-0 activations, R2 curve, ...")
    table_ratio: float | None = Field(default=None, description="the ratio as causes.yaml gives it, when tempered")
    lines: list[int] = Field(default_factory=list)
    # A sign of trouble, not a healthy signal (causes.yaml `healthy`); set when scored, not reported.
    _problem: bool = PrivateAttr(default=True)

    @property
    def problem(self) -> bool:
        return self._problem


class CauseScore(BaseModel):
    id: str
    title: str
    prior: float
    probability: float
    contributions: list[Contribution]

    @property
    def driven_by(self) -> list[str]:
        """The sources of the evidence that raised it, strongest first."""
        return list(dict.fromkeys(c.source for c in self.contributions if c.ratio > 1))

    @property
    def supported(self) -> bool:
        """Raised by at least one sign of trouble; healthy signals alone never support a cause."""
        return any(c.ratio > 1 and c.problem for c in self.contributions)


def score_cause(cause: Cause, available: dict[str, list[int]], tables: Tables, exponent: float = 1.0) -> CauseScore:
    """`exponent` tempers the ratios of the tables' tempered source (1: full weight)."""
    odds = cause.prior / (1 - cause.prior)
    contributions = []
    for key, table_ratio in cause.evidence.items():
        hits = matching(key, available)
        if not hits:
            continue
        source = tables.source_of(key)
        ratio = table_ratio ** exponent if source == tables.tempered_source and exponent != 1.0 else table_ratio
        odds *= ratio
        lines = sorted({line for hit in hits for line in available[hit]})[:5]
        evidence = hits[0] if len(hits) == 1 else key
        contribution = Contribution(evidence=evidence, ratio=ratio, source=source,
                                    table_ratio=table_ratio if ratio != table_ratio else None, lines=lines)
        # Healthy signals (causes.yaml) may strengthen a cause that trouble supports, never support one alone.
        contribution._problem = not tables.healthy(evidence)
        contributions.append(contribution)
    contributions.sort(key=lambda c: -abs(c.ratio - 1) if c.ratio >= 1 else -(1 / c.ratio - 1))
    return CauseScore(id=cause.id, title=cause.title, prior=cause.prior, probability=odds / (1 + odds),
                      contributions=contributions)


def batch0_exponent(tables: Tables, available: dict[str, list[int]], exponent: float) -> float:
    """The exponent for batch-0 ratios: `exponent` when a signal shows learning, else 1."""
    return exponent if any(matching(key, available) for key in tables.tempered_by) else 1.0


def score_causes(tables: Tables, available: dict[str, list[int]], exponent: float = 1.0) -> list[CauseScore]:
    power = batch0_exponent(tables, available, exponent)
    scored = [score_cause(cause, available, tables, power) for cause in tables.causes]
    return sorted(scored, key=lambda c: -c.probability)
