"""Renderers for `percediag diff` and `percediag history`: text (rich) and Markdown.

Text tables are plain lines sized to their content (`text.grid`), printed whole
when stdout is not a terminal: no id or number is ever folded or ellipsised.

JSON is the models' own dump (Diff, History), of a cleaned copy. Every
string passes `sanitize` first: controls removed; in text, quoted values go
to rich as `Text` (never read as markup); in Markdown, HTML, Markdown syntax
and `@mentions` are neutralised.
"""

from __future__ import annotations

from rich.console import Console, Group
from rich.text import Text

from percediag.compare.diff import Change, Diff
from percediag.compare.history import History, columns
from percediag.report.sanitize import clean_model, markdown_code, markdown_text
from percediag.report.text import STATUS_STYLE, STATUS_WORD, grid, print_parts

VERDICT_STYLE = {"improved": "green", "regressed": "bold red", "mixed": "yellow", "unchanged": "dim", "no-data": "bold red"}


def _show(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _delta(change: Change) -> str:
    if change.delta is None:
        return "" if change.old == change.new else "changed"
    if isinstance(change.old, int) and isinstance(change.new, int):
        return f"{int(change.delta):+,}"
    return f"{change.delta:+.4g}"


def _table(title: str, changes: list[Change], include_folds: bool = True) -> Group:
    """Plain lines sized to their content: no cell folded or cut at any width."""
    rows = [[Text(cell) for cell in (change.name, change.fold or "run", _show(change.old), _show(change.new), _delta(change))]
            for change in changes if change.fold is None or include_folds]
    return grid(rows, title=title, header=["what", "fold", "old", "new", "delta"])


def diff_renderables(d: Diff) -> list:
    d = clean_model(d)
    header = Text.assemble(("percediag diff  ", "bold"), f"{d.old.source} -> {d.new.source}")
    verdict = Text.assemble((d.verdict.upper(), VERDICT_STYLE[d.verdict]), f"  {d.reason}")
    parts: list = [header, verdict, Text(""), _table("Architecture", d.architecture)]
    if d.config:
        parts += [Text(""), _table("Training configuration (changed keys)", d.config)]
    parts += [Text(""), _table("Activation and gradient metrics (mean over folds, then per fold)", d.metrics),
              Text(""), _table("R2", d.r2)]
    if d.comparison:
        lines = [Text("Comparison rules", style="bold")]
        for f in d.comparison:
            fold = f" fold {f.fold}" if f.fold is not None else ""
            lines.append(Text.assemble("  ", (STATUS_WORD[f.status], STATUS_STYLE[f.status]), f" {f.rule}{fold}: {f.message}"))
        parts += [Text(""), Group(*lines)]
    lines = [Text("Findings that changed status", style="bold")]
    for kind in ("fixed", "regressed", "new", "gone", "changed"):
        items = [s for s in d.findings if s.kind == kind]
        if items:
            shown = ", ".join(f"{s.rule}{'' if s.fold is None else f' (fold {s.fold})'} {s.old or '-'}->{s.new or '-'}" for s in items[:12])
            more = f", ... {len(items) - 12} more" if len(items) > 12 else ""
            lines.append(Text(f"  {kind}: {shown}{more}"))
    if len(lines) == 1:
        lines.append(Text("  none"))
    parts += [Text(""), Group(*lines)]
    return parts


def diff_markdown(d: Diff) -> str:
    d = clean_model(d)
    md, code = markdown_text, markdown_code
    out = [f"### percediag diff: **{d.verdict.upper()}**", "", f"{code(d.old.source)} -> {code(d.new.source)}: {md(d.reason)}", ""]

    def table(title: str, changes: list[Change]) -> None:
        out.extend([f"#### {title}", "", "| what | fold | old | new | delta |", "|---|---|---|---|---|"])
        out.extend(f"| {md(c.name)} | {md(c.fold or 'run')} | {md(_show(c.old))} | {md(_show(c.new))} | {md(_delta(c))} |" for c in changes)
        out.append("")

    table("Architecture", d.architecture)
    if d.config:
        table("Training configuration (changed keys)", d.config)
    table("Metrics", [c for c in d.metrics if c.fold is None])
    table("R2", d.r2)
    if d.comparison:
        out += ["#### Comparison rules", ""]
        out += [f"- {STATUS_WORD[f.status]} {code(f.rule)}{'' if f.fold is None else f' fold {f.fold}'}: {md(f.message)}" for f in d.comparison]
        out.append("")
    out += ["#### Findings that changed status", ""]
    out += [f"- {s.kind}: {code(s.rule)}{'' if s.fold is None else f' fold {s.fold}'} {s.old or '-'} -> {s.new or '-'}" for s in d.findings] or ["- none"]
    return "\n".join(out) + "\n"


def history_table(h: History) -> Group:
    h = clean_model(h)
    shown = columns()
    rows = []
    for row in h.rows():
        status = row["status"].lower()
        rows.append([Text(row[c]) for c in shown[:-1]] + [Text(row["status"], style=STATUS_STYLE.get(status, ""))])
    return grid(rows, title="Experiment history", header=list(shown))


def history_markdown(h: History) -> str:
    h = clean_model(h)
    shown = columns()
    out = ["| " + " | ".join(shown) + " |", "|" + "---|" * len(shown)]
    out += ["| " + " | ".join(markdown_text(row[c]) for c in shown) + " |" for row in h.rows()]
    return "\n".join(out) + "\n"


def print_all(console: Console, renderables: list) -> None:
    """Off a terminal every line whole (no wrapping, no cropping); on one, wrapped at spaces only."""
    print_parts(console, renderables)
