"""Signals: the evidence keys that causes weigh, derived from findings and forecasts.

`RULE:pass` when the rule passes on every fold where it has data;
`RULE:fail` when it does not pass (warn or fail) on at least one;
`RULE:below` / `RULE:above` for the side a range rule missed on;
`trend.CLASS` when at least half the forecast folds have that trend (a
plateau whose forecast reaches the target counts as `trend.converged`);
`forecast.reaches_target` / `forecast.misses_target` by the folds' on-track answers;
`overfitting` when a declining fold's train loss still falls.
What the model learned, apart from how it started (batch-0 activations):
`learned.std_ratio:below|above|pass`, the fold summaries' prediction std
over target std against the activation.std_ratio band (`below` when any
fold is below it); `learning.r2_climbs` when at least half the folds' best
R2 reaches `ranking.learned_r2_climb` and rises that much above their first epoch's.
Against the original PercePiano (configs/rounds.yaml, `original`):
`reference.head:deviates|matches` and `reference.learning_rate:deviates|matches`,
the log's prediction head and learning rate against the original's.
Each signal carries the log lines behind it (the first
`evidence_lines.count` of configs/display.yaml); the learning rate matches
the original's within rounds.yaml's `reference_tolerance`.

Every name made here is declared, with its meaning and whether it is
healthy, in the signal vocabulary of configs/causes.yaml (`rule_statuses`,
`signals`): the tables are checked against it when they load, and
tests/test_tables.py checks that every signal a log gives is declared.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict

from percediag.findings import Finding
from percediag.metrics import best_epoch, learning_rate, printed_heads
from percediag.model import Run, possible_r2
from percediag.roundtable import display, round_table
from percediag.settings import Settings
from percediag.trajectory import Forecast


def signals(findings: list[Finding], forecasts: list[Forecast]) -> dict[str, list[int]]:
    most = display().evidence_lines.count  # lines cited per signal (display.yaml)
    found: dict[str, list[int]] = {}
    by_rule: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        if finding.status != "missing":
            by_rule[finding.rule].append(finding)
    for rule, items in by_rule.items():
        bad = [f for f in items if f.status in ("warn", "fail")]
        if not bad:
            found[f"{rule}:pass"] = sorted({line for f in items for line in f.lines})[:most]
            continue
        lines = sorted({line for f in bad for line in f.lines})[:most]
        found[f"{rule}:fail"] = lines
        sides = Counter(f.direction for f in bad if f.direction)
        for side, _ in sides.most_common():
            found[f"{rule}:{side}"] = sorted({line for f in bad if f.direction == side for line in f.lines})[:most]
    if forecasts:
        # A plateau at the target is convergence, not a stall.
        def effective(fc: Forecast) -> str:
            return "converged" if fc.trend == "plateau" and fc.on_track == "yes" else fc.trend

        trends = Counter(effective(fc) for fc in forecasts)
        for trend, count in trends.items():
            if trend != "unknown" and count * 2 >= len(forecasts):
                found[f"trend.{trend}"] = [line for fc in forecasts if effective(fc) == trend for line in fc.lines][:most]
        answers = Counter(fc.on_track for fc in forecasts)
        if answers["yes"] * 2 > len(forecasts):
            found["forecast.reaches_target"] = [line for fc in forecasts if fc.on_track == "yes" for line in fc.lines][:most]
        if answers["no"] * 2 > len(forecasts):
            found["forecast.misses_target"] = [line for fc in forecasts if fc.on_track == "no" for line in fc.lines][:most]
        over = [fc for fc in forecasts if fc.overfitting]
        if over:
            found["overfitting"] = [line for fc in over for line in fc.lines][:most]
    return found


def learned_signals(run: Run, settings: Settings) -> dict[str, list[int]]:
    """Signals of what training did, from the fold summaries and the epoch curve."""
    most = display().evidence_lines.count  # lines cited per signal (display.yaml)
    found: dict[str, list[int]] = {}
    band = settings.rule("activation.std_ratio")
    sides: dict[str, list[int]] = defaultdict(list)
    for fold in run.folds:
        summary = fold.summary
        if summary is None or summary.pred_std is None or not summary.target_std:
            continue
        ratio = summary.pred_std / summary.target_std
        if not math.isfinite(ratio):
            continue
        side = "below" if band.min is not None and ratio < band.min else "above" if band.max is not None and ratio > band.max else "pass"
        sides[side].append(summary.lines.get("pred_std", summary.line))
    for side in ("below", "above"):
        if sides[side]:
            found[f"learned.std_ratio:{side}"] = sorted(sides[side])[:most]
    if sides["pass"] and not sides["below"] and not sides["above"]:
        found["learned.std_ratio:pass"] = sorted(sides["pass"])[:most]
    climb = settings.ranking.learned_r2_climb
    folds, climbing = 0, []
    for fold in run.folds:
        epochs = [e for e in fold.epochs if e.val_r2 is not None and possible_r2(e.val_r2)]
        if len(epochs) < 2:
            continue
        folds += 1
        best = best_epoch(fold)
        if best.val_r2 >= climb and best.val_r2 - epochs[0].val_r2 >= climb:
            climbing.append(best.line)
    if folds and len(climbing) * 2 >= folds:
        found["learning.r2_climbs"] = sorted(climbing)[:most]
    return found


def reference_signals(run: Run) -> dict[str, list[int]]:
    """Where the log's architecture differs from the original code's."""
    most = display().evidence_lines.count  # lines cited per signal (display.yaml)
    original = round_table().original
    found: dict[str, list[int]] = {}
    heads = printed_heads(run)
    if original.head is not None and heads:
        deviating = sorted({line for head, line in heads if head != original.head})
        side = "deviates" if deviating else "matches"
        found[f"reference.head:{side}"] = (deviating or sorted({line for _, line in heads}))[:most]
    lr = learning_rate(run)
    if original.learning_rate is not None and lr is not None:
        # Within rounds.yaml's reference_tolerance: the log prints the LR to three significant digits.
        tolerance = round_table().reference_tolerance.learning_rate
        side = "deviates" if abs(lr.value - original.learning_rate) > tolerance * original.learning_rate else "matches"
        found[f"reference.learning_rate:{side}"] = [lr.line]
    return found


def matching(key: str, available: dict[str, list[int]]) -> list[str]:
    """Signals matched by an evidence key (a trailing * in the rule part is a wildcard)."""
    rule, sep, status = key.partition(":")
    if not rule.endswith("*"):
        return [key] if key in available else []
    prefix = rule[:-1]
    return [name for name in available if name.startswith(prefix) and (not sep or name.endswith(f":{status}"))]
