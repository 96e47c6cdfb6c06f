"""The option models rules share: every rule's options, and a measured value's range.

A rule's `options` model (see spec.RuleSpec) is its schema: which keys its
entry under `rules:` in a profile may hold, their types and invariants.
The values, and the reason behind each, are YAML. A rule with options of
its own subclasses one of these in its module.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from percediag.settings import Severity


class RuleOptions(BaseModel):
    """Options every rule has."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    severity: Severity = Field(default="fail", description="status when the value is outside its range")
    reason: str = Field(description="why the rule exists; shown by `percediag rules`")

    @field_validator("reason")
    @classmethod
    def _sentence(cls, value: str) -> str:
        # Reasons are embedded mid-sentence in findings; keep them unterminated.
        return value.strip().rstrip(".")


class RangeOptions(RuleOptions):
    """A measured value that must lie in [min, max]; an optional softer warn band around it."""

    min: float | None = None
    max: float | None = None
    warn_min: float | None = Field(default=None, description="values in [warn_min, min) are warn, not fail")
    warn_max: float | None = Field(default=None, description="values in (max, warn_max] are warn, not fail")

    @model_validator(mode="after")
    def _ordered(self) -> RangeOptions:
        for name in ("min", "max", "warn_min", "warn_max"):
            value = getattr(self, name)
            if value is not None and math.isnan(value):
                raise ValueError(f"{name} is NaN")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is above max ({self.max})")
        if self.warn_min is not None and self.min is not None and self.warn_min > self.min:
            raise ValueError(f"warn_min ({self.warn_min}) is above min ({self.min})")
        if self.warn_max is not None and self.max is not None and self.warn_max < self.max:
            raise ValueError(f"warn_max ({self.warn_max}) is below max ({self.max})")
        return self

    def describe(self) -> str:
        if self.min is not None and self.max is not None:
            return f"{self.min:g}-{self.max:g}"
        if self.min is not None:
            return f">= {self.min:g}"
        if self.max is not None:
            return f"<= {self.max:g}"
        return "any"
