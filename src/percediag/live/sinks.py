"""Where watch events go: plain lines, JSON lines, or a rich live view on a terminal.

Events quote the log (messages, rule ids, the source): every line and every
JSON string is cleaned of controls (`report.sanitize`), and a JSON line holds
no NaN or Infinity (non-finite numbers are null), like `check -f json`.
"""

from __future__ import annotations

import json
import sys
from typing import TextIO

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from percediag.findings import tally
from percediag.report.model import Report
from percediag.report.sanitize import clean, clean_data, clean_model
from percediag.report.text import STATUS_STYLE, STATUS_WORD, milestone_epochs
from percediag.trajectory import mark_milestones


def describe(event: dict) -> str | None:
    """One plain line for an event (cleaned), or None for events only JSON consumers want."""
    line = _describe(event)
    return None if line is None else clean(line)


def jsonl(event: dict) -> str:
    """One event as one JSON line: strings cleaned, non-finite numbers null."""
    return json.dumps(clean_data(event), allow_nan=False)


def _describe(event: dict) -> str | None:
    kind = event["event"]
    if kind == "fold_start":
        where = f"at {event['locations'][0]}" if event.get("locations") else f"line {event['line']}"
        return f"fold {event['fold']} started ({where})"
    if kind == "fold_end":
        best = "n/a" if event["best_r2"] is None else f"{event['best_r2']:.4f}"
        return f"fold {event['fold']} finished after {event['epochs']} epoch(s): best R2 {best}"
    if kind == "finding":
        fold = "" if event["fold"] is None else f" fold {event['fold']}"
        if event.get("locations"):
            lines = f" [{', '.join(event['locations'][:3])}]"  # event-file points: FILE:step N
        else:
            lines = f" [line {', '.join(map(str, event['lines'][:3]))}]" if event["lines"] else ""
        word = STATUS_WORD[event["status"]] if event["change"] == "alert" else "RECOVERED"
        return f"{word} {event['rule']}{fold}: {event['message']}{lines}"
    if kind == "restart":
        return f"the log was {event['reason']}: starting over"
    if kind == "end":
        counts = tally(event["counts"])
        fix = f"; next fix: {event['top_fix']}" if event["top_fix"] else ""
        return f"{event['status'].upper()}: {counts}{fix}"
    return None


class PlainSink:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def __call__(self, event: dict) -> None:
        line = describe(event)
        if line is not None:
            self.stream.write(line + "\n")
            self.stream.flush()

    def close(self) -> None:
        self.stream.flush()


class JsonSink:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def __call__(self, event: dict) -> None:
        self.stream.write(jsonl(event) + "\n")
        self.stream.flush()

    def close(self) -> None:
        self.stream.flush()


class LiveSink:
    """A rich live view: the current run at a glance, alerts scrolling above it."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.report: Report | None = None
        self.live = Live(Text("waiting for the log..."), console=console, refresh_per_second=4, transient=False)
        self.live.start()

    def __call__(self, event: dict) -> None:
        line = describe(event)
        if line is not None and event["event"] != "end":
            style = STATUS_STYLE.get(event.get("status", ""), "") if event["event"] == "finding" and event["change"] == "alert" else ""
            self.live.console.print(Text(line, style=style))

    def update(self, report: Report | None) -> None:
        if report is None:
            return
        self.report = report
        self.live.update(view(report))

    def close(self) -> None:
        self.live.stop()


def view(report: Report) -> Group:
    report = clean_model(report)
    run = report.records
    fold = run.folds[-1] if run.folds else None
    epoch = fold.epochs[-1].epoch if fold and fold.epochs else None
    head = Text.assemble(("percediag watch  ", "bold"), report.source,
                         f"  run {report.run + 1}, fold {fold.fold if fold else '-'}, epoch {epoch if epoch is not None else '-'}")
    latest = [f for f in report.findings if f.category in ("activation", "gradient") and fold is not None and f.fold == fold.fold]
    verdicts = Text("  ".join(f"{f.rule.split('.', 1)[1]}:{STATUS_WORD[f.status]}" for f in latest) or "no activation or gradient data yet")
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("fold", "epochs", "last R2", "best", "trend", "forecast", "SOTA?", "curve (milestones marked |)"):
        table.add_column(column)
    for fc in report.forecast:
        forecast = f"{fc.projected:+.3f} @ep {fc.horizon}" if fc.projected is not None else "-"
        curve = mark_milestones(fc.sparkline, fc.epochs_seen, milestone_epochs(report))
        table.add_row(str(fc.fold), str(fc.epochs_seen), "-" if fc.last_r2 is None else f"{fc.last_r2:+.3f}",
                      "-" if fc.best_r2 is None else f"{fc.best_r2:+.3f}", fc.trend, forecast, fc.on_track, curve)
    top = next((f for f in report.fixes if f.rank == 1), None)
    fix = Text(f"top fix: {top.id} ({top.reason})" if top else "top fix: none supported yet", style="cyan")
    return Group(head, verdicts, table, fix)


def make_sink(fmt: str, to_stderr: bool, color_console: Console | None, stream: TextIO | None = None):
    if stream is None:
        stream = sys.stderr if to_stderr else sys.stdout
    if fmt == "jsonl":
        return JsonSink(stream)
    if color_console is not None:
        return LiveSink(color_console)
    return PlainSink(stream)
