"""The cause and fix tables (configs/causes.yaml, configs/fixes.yaml), validated."""

from __future__ import annotations

from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from percediag.errors import ConfigError
from percediag.settings import configs_dir, load_table


class Cause(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    title: str
    seed: str
    prior: float = Field(gt=0, lt=1)
    evidence: dict[str, float]

    @field_validator("evidence")
    @classmethod
    def _positive(cls, value: dict[str, float]) -> dict[str, float]:
        for key, ratio in value.items():
            if ratio <= 0:
                raise ValueError(f"likelihood ratio of {key} must be positive")
        return value


class Fix(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    title: str
    change: str
    addresses: list[str]
    cost: Literal["cheap", "long-run"]
    prior: float = Field(gt=0, le=1)


class CauseTable(BaseModel):
    model_config = ConfigDict(extra="forbid")
    evidence_sources: dict[str, str]
    tempered_source: str
    tempered_by: list[str]
    causes: list[Cause]


class FixTable(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cost_weights: dict[str, float]
    fixes: list[Fix]


class Tables(BaseModel):
    evidence_sources: dict[str, str] = Field(description="evidence key prefix -> where that evidence comes from")
    tempered_source: str = Field(description="the source whose ratios are tempered when learning shows")
    tempered_by: list[str] = Field(description="signals that show the model learned")
    causes: list[Cause]
    fixes: list[Fix]
    cost_weights: dict[str, float]

    @model_validator(mode="after")
    def _consistent(self) -> Tables:
        cause_ids = {c.id for c in self.causes}
        for fix in self.fixes:
            unknown = [c for c in fix.addresses if c not in cause_ids]
            if unknown:
                raise ValueError(f"fix {fix.id} addresses unknown cause(s): {', '.join(unknown)}")
            if fix.cost not in self.cost_weights:
                raise ValueError(f"fix {fix.id}: no cost weight for '{fix.cost}'")
        return self

    def fix_ids(self) -> list[str]:
        return [f.id for f in self.fixes]

    def source_of(self, evidence: str) -> str:
        """Where an evidence key's signal comes from (the longest matching prefix)."""
        prefixes = [p for p in self.evidence_sources if evidence.startswith(p)]
        return self.evidence_sources[max(prefixes, key=len)] if prefixes else "other"


@cache
def tables() -> Tables:
    causes = load_table("causes.yaml", CauseTable)
    fixes = load_table("fixes.yaml", FixTable)
    try:
        return Tables(evidence_sources=causes.evidence_sources, tempered_source=causes.tempered_source,
                      tempered_by=causes.tempered_by, causes=causes.causes, fixes=fixes.fixes,
                      cost_weights=fixes.cost_weights)
    except ValidationError as exc:
        raise ConfigError(f"{configs_dir()}: {exc.errors()[0]['msg'].removeprefix('Value error, ')}") from exc
