"""The replica's recorded rounds (configs/rounds.yaml), validated.

Facts about each debugging round of the replication: its model's parameter
count, head and learning rate, what it changed and what its run showed.
Rules read it for the expected parameter delta between two rounds; the
ranking reads it for the rounds before a run when the user gives no
history of their own.
"""

from __future__ import annotations

from functools import cache

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from percediag.settings import load_table


class RoundFacts(BaseModel):
    model_config = ConfigDict(extra="forbid")

    change: str
    result: str
    params: int | None = None
    head: str | None = None
    learning_rate: float | None = None
    best_r2: float | None = None
    prints: list[Literal["diagnostic_summary", "ablation", "model_types"]] = Field(default_factory=list)


class RoundTable(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rounds: dict[int, RoundFacts]
    original: RoundFacts

    def expected_delta(self, before: int | None, after: int | None) -> int | None:
        """The parameter change from round `before` to round `after`; None when either count is unknown."""
        if before is None or after is None or before not in self.rounds or after not in self.rounds:
            return None
        old, new = self.rounds[before].params, self.rounds[after].params
        if old is None or new is None:
            return None
        return new - old


@cache
def round_table() -> RoundTable:
    return load_table("rounds.yaml", RoundTable)
