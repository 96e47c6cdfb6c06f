"""Watcher: feed bytes as they arrive, re-judge when a record was added, and say what changed.

Events (dicts, one JSON object per line with `--format jsonl`):
`fold_start`, `fold_end`, `finding` (change `alert` when a finding turns to
warn or fail, `recovered` when it passes again), `forecast` (a fold's trend,
projection or on-track answer changed), `restart` (the file was truncated or
replaced), `end` (the final status).

Some findings are only meaningful once the run is over and are held back
until then: `run.complete` and `log.no_data` (a run in progress is
incomplete by definition), the baselines and the cross-validation
convergence (judged on the final numbers). Each rule declares which
(`final_only`, `round_specific` in its SPEC, rules/spec.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from percediag.findings import Finding
from percediag.live.lines import LineStream
from percediag.metrics import best_epoch
from percediag.model import Log
from percediag.parsers import Parser
from percediag.diagnose.profile_choice import choose
from percediag.pipeline import check_log
from percediag.report.model import Report
from percediag.rules.registry import spec_for
from percediag.settings import SettingsRecipe

_BAD = {"warn", "fail"}


def held_back(finding: Finding, run_over: bool, round_known: bool = True) -> bool:
    """Findings that mean nothing yet: end-of-run ones, and, while the log has not named its
    round (the profile is only the default), the architecture checks against that round."""
    if run_over:
        return False
    spec = spec_for(finding.rule)
    if not round_known and spec.round_specific:
        return True
    if spec.final_only == "always":
        return True
    return spec.final_only == "run-level" and finding.fold is None


def _where(report: Report, lines: list[int]) -> dict:
    """`locations`: FILE:step N for the lines that are event-file points (negative virtual lines)."""
    found = [report.locations[line] for line in lines if line < 0 and line in report.locations]
    return {"locations": found} if found else {}


class Watcher:
    def __init__(self, recipe: SettingsRecipe, emit: Callable[[dict], None], name: str) -> None:
        # The profile is chosen as `check` chooses it: the round the log names, once it names one.
        self.recipe = recipe
        self.emit = emit
        self.name = name
        self.report: Report | None = None
        self.first_trigger: dict | None = None
        self.reset(None)

    def reset(self, reason: str | None) -> None:
        self.lines = LineStream(self.name)
        self.parser = Parser(self.name)
        self._version = -1
        self._statuses: dict[tuple, str] = {}
        self._folds: dict[tuple, bool] = {}
        self._forecasts: dict[tuple, tuple] = {}
        if reason is not None:
            self.emit({"event": "restart", "reason": reason, "time": time.time()})

    def feed(self, data: bytes) -> None:
        for lineno, text in self.lines.feed(data):
            self.parser.feed(lineno, text)

    def idle(self) -> None:
        for lineno, text in self.lines.idle():
            self.parser.feed(lineno, text)

    def _log(self, final: bool) -> Log | None:
        """The records to judge: all of them when `final`, else the log so far; None when nothing was added."""
        if final:
            for lineno, text in self.lines.close():
                self.parser.feed(lineno, text)
            return self.parser.finish()
        if self.parser.version == self._version:
            return None
        self._version = self.parser.version
        return self.parser.snapshot()

    def evaluate(self, final: bool = False) -> list[dict]:
        """Re-judge if anything was added; emit and return the events."""
        log = self._log(final)
        if log is None:
            return []
        index = len(log.runs) - 1
        choice = choose(log.runs[index], self.recipe.profile, self.recipe.profile_origin, self.name)
        report = check_log(log, self.recipe.build(choice.profile), index, choice=choice)
        self.report = report
        run = report.records
        run_over = final or run.aggregate is not None
        now = time.time()
        events: list[dict] = []
        for fold in run.folds:
            # A fold of event files is known by its folder: its virtual first line moves as records arrive.
            key = (index, fold.fold, fold.line if fold.line > 0 else fold.event_source)
            if key not in self._folds:
                self._folds[key] = False
                events.append({"event": "fold_start", "run": index + 1, "fold": fold.fold, "line": fold.line,
                               **_where(report, [fold.line]), "time": now})
            if fold.finished and not self._folds[key]:
                self._folds[key] = True
                # inf, nan or above 1 is a broken metric, not a best R2 (as progression.convergence judges it)
                best_line = best_epoch(fold)
                best = best_line.val_r2 if best_line is not None else None
                events.append({"event": "fold_end", "run": index + 1, "fold": fold.fold, "line": fold.end_line,
                               "epochs": len(fold.epochs), "best_r2": best, "time": now})
        for finding in report.findings:
            if held_back(finding, run_over, choice.explicit or choice.named_round is not None):
                continue
            key = (index, finding.rule, finding.fold)
            before = self._statuses.get(key)
            self._statuses[key] = finding.status
            change = None
            if finding.status in _BAD and before != finding.status:
                change = "alert"
            elif finding.status == "pass" and before in _BAD:
                change = "recovered"
            if change is not None:
                event = {"event": "finding", "change": change, "run": index + 1, **finding.model_dump(mode="json"),
                         **_where(report, finding.lines), "time": now}
                events.append(event)
        for forecast in report.forecast:
            key = (index, forecast.fold)
            state = (forecast.trend, None if forecast.projected is None else round(forecast.projected, 3), forecast.on_track)
            if self._forecasts.get(key) != state:
                self._forecasts[key] = state
                events.append({"event": "forecast", "run": index + 1, **forecast.model_dump(mode="json", exclude={"lines"}),
                               "time": now})
        if final:
            top = next((f for f in report.fixes if f.rank == 1), None)
            events.append({"event": "end", "status": report.status, "counts": report.counts,
                           "top_fix": top.id if top else None, "time": now})
        for event in events:
            self.emit(event)
        return events

    def triggered(self, events: list[dict], level: str | None) -> dict | None:
        """The first alert at or above `level` (fail, warn) among `events`."""
        if level is None:
            return None
        wanted = {"fail"} if level == "fail" else {"fail", "warn"}
        for event in events:
            if event["event"] == "finding" and event["change"] == "alert" and event["status"] in wanted:
                return event
        return None
