"""The domain's fact tables (configs/rounds.yaml, configs/display.yaml), validated.

rounds.yaml: facts about each debugging round of the replication (its
model's parameter count, head and learning rate, what it changed and what
its run showed) and about the task itself (how many perceptual dimensions
PercePiano predicts). Rules read it for the expected parameter delta
between two rounds; the ranking reads it for the rounds before a run when
the user gives no history of their own.

display.yaml: the numbers the reports show beside the findings: the
milestone columns of `history` and `diff`, and the R2 axis of the
sparklines and plots. They sit here, in the config layer, because compare,
report and the trajectory below them all read them.

Both are facts of the domain, not thresholds: thresholds are in the profiles.
"""

from __future__ import annotations

import difflib
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints, ValidationError, field_validator, model_validator

from percediag.errors import ConfigError
from percediag.events.scalars import MAX_EPOCH
# Through the module, not a name imported from it: tests point configs_dir at a copy of the tables.
import percediag.settings as config

M = TypeVar("M", bound=BaseModel)
# A reason is the point of a table entry: an empty or blank one is refused.
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


def table_path(name: str) -> Path:
    return config.configs_dir() / name


def load_fact_table(name: str, model: type[M]) -> M:
    """A bundled YAML table under configs/, validated by `model`: an invalid one is one ConfigError
    line naming the file and the key (an unknown key with a did-you-mean)."""
    path = table_path(name)
    try:
        return model.model_validate(config.read_yaml(path, trusted=True))
    except ValidationError as exc:
        errors = exc.errors()
        # A misspelt key is also a missing one: name the misspelling, it says what to fix.
        error = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        where = ".".join(str(p) for p in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            known = _fields(model, error["loc"][:-1])
            hint = difflib.get_close_matches(str(error["loc"][-1]), known, n=1)
            message = "unknown key" + (f"; did you mean '{hint[0]}'?" if hint else "")
        raise ConfigError(f"{path}: {where}: {message}" if where else f"{path}: {message}") from exc


def _fields(model: type[BaseModel], loc: tuple) -> list[str]:
    """The keys allowed at `loc` (field names, through nested models, dicts and lists of them)."""
    annotation: Any = model
    for part in loc:
        if get_origin(annotation) in (dict, list):
            annotation = get_args(annotation)[-1]  # `part` is a key or an index: step into the value
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel) and str(part) in annotation.model_fields:
            annotation = annotation.model_fields[str(part)].annotation
        else:
            return []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return list(annotation.model_fields)
    return []


class RoundFacts(BaseModel):
    model_config = ConfigDict(extra="forbid")

    change: str
    result: str
    params: int | None = None
    head: str | None = None
    learning_rate: float | None = None
    best_r2: float | None = None
    prints: list[Literal["diagnostic_summary", "ablation", "model_types"]] = Field(default_factory=list)


class Dimensions(BaseModel):
    """How many perceptual dimensions the model predicts (shown when a log line gives no total)."""

    model_config = ConfigDict(extra="forbid")

    count: StrictInt = Field(ge=1)
    reason: Reason


class ReferenceTolerance(BaseModel):
    """How close a log's value must be to the original's to be the original's, relative to it."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    learning_rate: float = Field(gt=0, lt=1)
    reason: Reason


class RoundTable(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dimensions: Dimensions
    rounds: dict[int, RoundFacts]
    original: RoundFacts
    reference_tolerance: ReferenceTolerance

    @model_validator(mode="after")
    def _heads_end_in_the_dimensions(self) -> RoundTable:
        # Every recorded head ends in one output per dimension: a head that does not is a typo in one of the two.
        named = [(f"rounds.{n}", facts) for n, facts in self.rounds.items()] + [("original", self.original)]
        for where, facts in named:
            if facts.head is not None and not facts.head.replace(" ", "").endswith(f"->{self.dimensions.count}"):
                raise ValueError(f"{where}.head '{facts.head}' does not end in ->{self.dimensions.count} "
                                 f"(dimensions.count)")
        return self

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
    return load_fact_table("rounds.yaml", RoundTable)


def dimension_count() -> int:
    """PercePiano's number of perceptual dimensions (rounds.yaml `dimensions`)."""
    return round_table().dimensions.count


class Milestone(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Strict: `true`, "5" and 5.0 are typos, not epochs; at most the largest epoch number a log can give.
    epochs: StrictInt = Field(ge=1, le=MAX_EPOCH, description="R2 after this many completed epochs")
    reason: Reason


class R2Axis(BaseModel):
    """The R2 range every sparkline and R2 plot shows at least, and the range it is clamped to."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    floor: float = Field(description="the axis reaches down to at least this")
    ceiling: float = Field(description="the axis reaches up to at least this")
    lowest: float = Field(description="the axis never goes below this")
    highest: float = Field(le=1.0, description="the axis never goes above this (R2 is at most 1)")
    reason: Reason

    @model_validator(mode="after")
    def _ordered(self) -> R2Axis:
        if not self.lowest <= self.floor < self.ceiling <= self.highest:
            raise ValueError(f"expected lowest <= floor < ceiling <= highest, got {self.lowest:g}, {self.floor:g}, "
                             f"{self.ceiling:g}, {self.highest:g}")
        return self


class EvidenceLines(BaseModel):
    """How many log lines a signal cites as its evidence."""

    model_config = ConfigDict(extra="forbid")

    count: StrictInt = Field(ge=1)
    reason: Reason


class DisplayTable(BaseModel):
    model_config = ConfigDict(extra="forbid")

    history_milestones: list[Milestone] = Field(min_length=1)
    r2_axis: R2Axis
    evidence_lines: EvidenceLines

    @field_validator("history_milestones")
    @classmethod
    def _distinct(cls, value: list[Milestone]) -> list[Milestone]:
        epochs = [m.epochs for m in value]
        if len(set(epochs)) != len(epochs):
            raise ValueError("an epoch is listed twice")
        return sorted(value, key=lambda m: m.epochs)

    def milestone_epochs(self) -> list[int]:
        return [m.epochs for m in self.history_milestones]


@cache
def display() -> DisplayTable:
    return load_fact_table("display.yaml", DisplayTable)


def summary_milestones(profile_milestones: dict[int, float] | list[int]) -> list[int]:
    """The epochs `history` and `diff` show R2 at: display.yaml's columns and the profile's milestones."""
    return sorted({*display().milestone_epochs(), *profile_milestones})
