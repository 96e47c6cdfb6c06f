"""The rule contract: what a rule module declares, and what its check returns.

A rule module (yamllint style) is its docstring, the user documentation,
and one declaration at its end:

    SPEC = RuleSpec(id="activation.logit_std", category="activation", order=1,
                    options=Options, check=check)

`check(run, options, settings)` (with `baseline` as a fourth argument when
`needs_baseline`) returns Verdicts. The engine (registry.evaluate) makes
each a Finding: it fills in the rule id (a rule reporting under generated
ids names the id), the category, and, for the status SEVERITY, the
severity the configuration gives that id. The registry checks every
declaration when it loads the rules; a malformed one is an error naming
its module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from percediag.rules.options import RuleOptions
    from percediag.settings import Settings

# The status of a value outside its bounds: the rule's severity for that id, which the engine fills in.
SEVERITY = "severity"

# When `watch` may report a rule's findings before the run is over: `never` held back, held
# back until the end (`always`), or only the run-level finding (`run-level`, fold None) held back.
FinalOnly = Literal["never", "always", "run-level"]
FINAL_ONLY = ("never", "always", "run-level")


@dataclass(frozen=True, kw_only=True)
class GeneratedId:
    """One id of a rule that reports under several (one per milestone, one per baseline)."""

    id: str
    thresholds: str
    reason: str
    severity: str | None = None  # None: the rule's own severity


@dataclass(frozen=True, kw_only=True)
class RuleSpec:
    """What a rule is: its id, where it sits in the report, its options, its check, what it needs."""

    id: str
    category: str
    order: int
    options: type[RuleOptions]
    check: Callable[..., list[Verdict]]
    # Judged only against a baseline run (`check --baseline`): check takes it as a fourth argument.
    needs_baseline: bool = False
    # Findings that mean nothing while the run is in progress (see FinalOnly).
    final_only: FinalOnly = "never"
    # Judged against the round's own expectations: held back by `watch` until the log names its round.
    round_specific: bool = False
    # A rule reporting under generated ids: their common prefix, and the ids (with their thresholds,
    # reason and severity) the configuration yields: ids(settings, options).
    id_prefix: str | None = None
    ids: Callable[[Settings, Any], list[GeneratedId]] | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Verdict:
    """What a check says about one fold (or the run): a Finding without what the engine fills in."""

    status: str  # pass, warn, fail, missing, or SEVERITY
    message: str
    rule: str | None = None  # only a rule reporting under generated ids names one
    fold: int | None = None
    value: Any = None
    expected: str | None = None
    lines: list[int] = field(default_factory=list)
    direction: str | None = None
    trainer_tag: str | None = None
