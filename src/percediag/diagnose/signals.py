"""Signals: the evidence keys that causes weigh, derived from findings and forecasts.

`RULE:pass` when the rule passes on every fold where it has data;
`RULE:fail` when it does not pass (warn or fail) on at least one;
`RULE:below` / `RULE:above` for the side a range rule missed on;
`trend.CLASS` when at least half the forecast folds have that trend (a
plateau whose forecast reaches the target counts as `trend.converged`);
`forecast.reaches_target` / `forecast.misses_target` by the folds' on-track answers;
`overfitting` when a declining fold's train loss still falls.
Each signal carries the log lines behind it.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from percediag.diagnose.trajectory import Forecast
from percediag.findings import Finding


def signals(findings: list[Finding], forecasts: list[Forecast]) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    by_rule: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        if finding.status != "missing":
            by_rule[finding.rule].append(finding)
    for rule, items in by_rule.items():
        bad = [f for f in items if f.status in ("warn", "fail")]
        if not bad:
            found[f"{rule}:pass"] = sorted({line for f in items for line in f.lines})[:5]
            continue
        lines = sorted({line for f in bad for line in f.lines})[:5]
        found[f"{rule}:fail"] = lines
        sides = Counter(f.direction for f in bad if f.direction)
        for side, _ in sides.most_common():
            found[f"{rule}:{side}"] = sorted({line for f in bad if f.direction == side for line in f.lines})[:5]
    if forecasts:
        # A plateau at the target is convergence, not a stall.
        def effective(fc: Forecast) -> str:
            return "converged" if fc.trend == "plateau" and fc.on_track == "yes" else fc.trend

        trends = Counter(effective(fc) for fc in forecasts)
        for trend, count in trends.items():
            if trend != "unknown" and count * 2 >= len(forecasts):
                found[f"trend.{trend}"] = [line for fc in forecasts if effective(fc) == trend for line in fc.lines][:5]
        answers = Counter(fc.on_track for fc in forecasts)
        if answers["yes"] * 2 > len(forecasts):
            found["forecast.reaches_target"] = [line for fc in forecasts if fc.on_track == "yes" for line in fc.lines][:5]
        if answers["no"] * 2 > len(forecasts):
            found["forecast.misses_target"] = [line for fc in forecasts if fc.on_track == "no" for line in fc.lines][:5]
        over = [fc for fc in forecasts if fc.overfitting]
        if over:
            found["overfitting"] = [line for fc in over for line in fc.lines][:5]
    return found


def matching(key: str, available: dict[str, list[int]]) -> list[str]:
    """Signals matched by an evidence key (a trailing * in the rule part is a wildcard)."""
    rule, sep, status = key.partition(":")
    if not rule.endswith("*"):
        return [key] if key in available else []
    prefix = rule[:-1]
    return [name for name in available if name.startswith(prefix) and (not sep or name.endswith(f":{status}"))]
