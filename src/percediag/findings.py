"""What a rule says about a run: a Finding, and the status vocabulary.

Status is one of `pass`, `warn`, `fail` or `missing` (the log does not hold
the data the rule needs). Missing is never a pass.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

Status = Literal["pass", "warn", "fail", "missing"]
STATUS_ORDER: dict[str, int] = {"pass": 0, "missing": 1, "warn": 2, "fail": 3}
CATEGORY_ORDER = ["architecture", "activation", "diagnostics", "data", "gradient", "progression", "baseline", "run",
                  "log"]


def tally(counts: dict[str, int]) -> str:
    """A report's counts as every summary line writes them, worst first: `24 fail, 4 warn, 4 missing, 37 pass`."""
    return ", ".join(f"{counts[status]} {status}" for status in ("fail", "warn", "missing", "pass") if counts.get(status))


class Finding(BaseModel):
    rule: str
    category: str
    status: Status
    fold: int | None = None
    value: Any = None
    expected: str | None = None
    message: str
    lines: list[int] = Field(default_factory=list)
    direction: str | None = Field(
        default=None,
        description="which way the check failed: 'below'/'above' its range; 'crashed'/'interrupted' for run.crash",
    )
    trainer_tag: str | None = Field(
        default=None, description="the trainer's own tag when it disagrees with this verdict"
    )


def worst(statuses: list[str]) -> str:
    """Overall status of a set of findings: fail > warn > pass.

    A missing finding makes the overall status at least `warn`: percediag
    never calls a run healthy on evidence it did not see.
    """
    level = max((STATUS_ORDER[s] for s in statuses), default=STATUS_ORDER["missing"])
    if level >= STATUS_ORDER["fail"]:
        return "fail"
    if level >= STATUS_ORDER["missing"]:
        return "warn"
    return "pass"
