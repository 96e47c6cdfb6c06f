"""History: the rounds before a run, what they applied, and when to stop patching.

A run's history is the user's own (the `history:` list of the configuration,
rounds files and earlier logs given with `--history`), or, when there is
none, the profile's round number with the replica's recorded rounds
(configs/rounds.yaml).

Escalation: when the last `ranking.escalation.rounds` rounds (this run
included) each stayed below the convergence floor without raising the best
R2 by `margin` over the user's earlier rounds, and the forecast does not
say this run gets there with more training, targeted fixes have stopped
paying and the systematic comparison with the original (`escalation.fixes`)
goes to the top. The rounds counted, oldest first: the replica's recorded
rounds before the user's first row (when the profile has a round; they
count when their recorded best R2 stayed below the floor or was not
recorded), the user's rows, then this run. Recorded numbers come from
another data set, so they are never compared with the user's.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from percediag.metrics import BestR2
from percediag.roundtable import round_table
from percediag.settings import AppliedFix, HistoryRound, Settings


class Escalation(BaseModel):
    escalate: bool
    fixes: list[str] = Field(default_factory=list)
    reason: str = ""
    basis: str = Field(description="history | profile round | none")


def history_applied(history: list[HistoryRound]) -> dict[str, AppliedFix]:
    """Fixes the user's earlier rounds put in place, the latest round's word winning."""
    applied: dict[str, AppliedFix] = {}
    for row in sorted(history, key=lambda r: r.round):
        for fix in row.fixes:
            detail = row.note or f"Round {row.round} of your history"
            applied[fix] = AppliedFix(round=row.round, detail=detail, outcome=row.outcome)
    return applied


def with_outcomes(rows: list[HistoryRound], margin: float) -> list[HistoryRound]:
    """Rows in round order; a row without an outcome gets one from its best R2 against the previous row's."""
    ordered = sorted(rows, key=lambda r: r.round)
    previous: float | None = None
    result = []
    for row in ordered:
        if row.outcome == "unknown" and row.best_r2 is not None and previous is not None:
            change = row.best_r2 - previous
            outcome = "helped" if change >= margin else "worse" if change <= -margin else "no-effect"
            row = row.model_copy(update={"outcome": outcome})
        if row.best_r2 is not None:
            previous = row.best_r2
        result.append(row)
    return result


def _floor(settings: Settings) -> float | None:
    convergence = settings.rule("progression.convergence")
    return convergence.min if convergence.enabled else None


def earlier_rows(history: list[HistoryRound], run_round: int | None) -> list[HistoryRound]:
    """The history rows before this run's round (all of them when the run's round is unknown)."""
    return [r for r in history if run_round is None or r.round < run_round]


class _Step(BaseModel):
    round: int | None
    value: float | None
    kind: str = Field(description="recorded | history | current")


def _steps(run_round: int | None, rows: list[HistoryRound], best: BestR2) -> list[_Step]:
    """The rounds to count, oldest first: recorded rounds before the user's first row (when the
    run's round is known), the user's rounds (several rows of one round count once, at their
    best), then this run."""
    steps: list[_Step] = []
    by_round: dict[int, float | None] = {}
    for row in rows:
        known = [v for v in (by_round.get(row.round), row.best_r2) if v is not None]
        by_round[row.round] = max(known) if known else None
    if run_round is not None:
        first = min(by_round, default=run_round)
        recorded = round_table().rounds
        # A recorded round without a recorded R2 (Round 6 on) is no evidence either way: not counted.
        steps += [_Step(round=n, value=recorded[n].best_r2, kind="recorded") for n in sorted(recorded)
                  if n < first and recorded[n].best_r2 is not None]
    steps += [_Step(round=n, value=value, kind="history") for n, value in sorted(by_round.items())]
    steps.append(_Step(round=run_round, value=best.value, kind="current"))
    return steps


def _stalled(steps: list[_Step], index: int, floor: float | None, margin: float) -> bool:
    """Did this round leave things as they were: below the floor, and no meaningful gain over the
    user's earlier rounds? Recorded numbers come from another data set and are never compared."""
    step = steps[index]
    if floor is not None and step.value is not None and step.value >= floor:
        return False
    if step.kind == "recorded" or step.value is None:
        return True
    earlier = [s.value for s in steps[:index] if s.kind != "recorded" and s.value is not None]
    if not earlier:
        return floor is not None
    return step.value < max(earlier) + margin


def _span(steps: list[_Step]) -> str:
    parts = []
    for kind, label in (("recorded", "as the replica recorded them"), ("history", "from your history")):
        numbers = [s.round for s in steps if s.kind == kind and s.round is not None]
        if numbers:
            rounds = f"Round {numbers[0]}" if len(numbers) == 1 else f"Rounds {numbers[0]}-{numbers[-1]}"
            parts.append(f"{rounds} {label}")
    parts.append("this run")
    return ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]


def escalation(settings: Settings, history: list[HistoryRound], best: BestR2 | None, on_track: bool = False,
               run_round: int | None = None) -> Escalation:
    """`on_track`: the forecasts say this run reaches the target if it keeps training; `run_round`:
    the run's round (pipeline.run_round), None when unknown."""
    rule = settings.ranking.escalation
    floor = _floor(settings)
    if best is None:
        return Escalation(escalate=False, basis="none", reason="no R2 in this run to compare rounds on")
    if on_track:
        return Escalation(escalate=False, basis="none",
                          reason="the forecast reaches the target if training goes on: more training comes before a comparison")
    rows = earlier_rows(history, run_round)
    basis = "history" if rows else "profile round" if run_round is not None else "none"
    steps = _steps(run_round, rows, best)
    tail = 0
    for index in range(len(steps) - 1, -1, -1):
        if not _stalled(steps, index, floor, rule.margin):
            break
        tail += 1
    here = f"this run's {best.how} {best.value:.3f}"
    if tail < rule.rounds:
        if floor is not None and best.value >= floor:
            why = f"{here} reaches the {floor:.2f} floor"
        else:
            why = f"{tail} round(s) in a row without progress, fewer than the {rule.rounds} that call for it"
        return Escalation(escalate=False, basis=basis, reason=why)
    counted = steps[len(steps) - tail:]
    yours = [s.value for s in counted[:-1] if s.kind == "history" and s.value is not None]
    best_before = f"; best earlier in your history {max(yours):.3f}" if yours else ""
    compared = any(s.kind == "history" for s in counted)
    gain = f" without raising your best R2 by {rule.margin:g}" if compared else ""
    where = f"stayed below the {floor:.2f} floor{gain}" if floor is not None else f"went by{gain}"
    reason = f"{tail} rounds in a row ({_span(counted)}) {where} ({here}{best_before}): compare with the original code and data before patching again"
    return Escalation(escalate=True, fixes=list(rule.fixes), reason=reason, basis=basis)
