"""HTML report: one self-contained file (inline CSS and SVG, no script, nothing fetched).

Per run, in reading order: the verdict and counts, the profile and the
configuration used, the next fixes with their evidence; the round
assessment; then the plots, each drawn from the records and findings the
text report prints:

- R2 per completed epoch for every fold, with the milestone epochs and their
  thresholds, the baselines ladder and the SOTA range as reference lines
  (from the `baseline.*` and `progression.convergence` findings' expected
  values), and each fold's forecast with its 90% interval;
- the activation checks per fold against their ranges (the `expected` range
  of each finding);
- gradient total norm and balance: the steps the parser kept (its bounded
  sample), and the running statistics of all steps (min, median, mean, max);
- train and validation loss per epoch; R2 per dimension where the log has it;

and every finding with its log lines. A plot's marker links to its finding
(`#...-f-RULE-FOLD`), a finding to the plot that shows it.

`render(reports)` is the `--format html` document; `fragment(report)` is
the same view for Jupyter (`Report._repr_html_`): every CSS selector is
scoped under `.pdg`, so it never restyles the notebook. `diff_html` and
`history_html` serve `percediag diff` and `history`. Every string goes
through `sanitize.clean` (via `clean_model`) and is HTML-escaped (`esc`).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import defaultdict

from percediag.findings import CATEGORY_ORDER, STATUS_ORDER, Finding
from percediag.metrics import best_epoch, epoch_after
from percediag.model import Fold
from percediag.report.model import Report
from percediag.report.sanitize import clean, clean_model
from percediag.report.svg import INK, MUTED, STATUS_COLOURS, Plot, esc, fold_style, padded
from percediag.report.values import finding_value, number
from percediag.roundtable import dimension_count, display

STATUS_WORD = {"pass": "PASS", "warn": "WARN", "fail": "FAIL", "missing": "MISS"}
ACTIVATION_RULES = (
    ("activation.logit_std", "logits std"),
    ("activation.pred_std", "prediction std"),
    ("activation.std_ratio", "pred/target std ratio"),
    ("activation.collapsed_dims", "collapsed dimensions"),
)
GRADIENT_SERIES = (("total", "gradient.total_norm", "gradient total norm"),
                   ("balance", "gradient.balance_ratio", "gradient balance ratio"))
# Past this many epochs a curve is thinned (every k-th point, the last kept): the file stays small.
MAX_CURVE_POINTS = 1500

_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_RANGE = re.compile(rf"\s*({_NUM})-({_NUM})")
_AT_LEAST = re.compile(rf"\s*(>=|>)\s*({_NUM})")
_AT_MOST = re.compile(rf"\s*(?:<=|<|at most)\s*({_NUM})")
_SOTA = re.compile(rf"SOTA range ({_NUM})-({_NUM})")
_LABEL = re.compile(r"\(([^()]{1,80})\)\s*$")

CSS = """
.pdg{--pdg-ink:#1f2328;--pdg-muted:#57606a;--pdg-line:#d0d7de;color:var(--pdg-ink);background:#fff;
font:14px/1.45 system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;max-width:1120px;margin:0 auto;padding:12px 16px;
text-align:left}
.pdg *{box-sizing:border-box}
.pdg h1{font-size:22px;margin:4px 0 6px}
.pdg h2{font-size:17px;margin:22px 0 6px;border-bottom:1px solid var(--pdg-line);padding-bottom:3px}
.pdg h3{font-size:14px;margin:12px 0 4px}
.pdg p{margin:4px 0}
.pdg .pdg-muted{color:var(--pdg-muted)}
.pdg .pdg-status{display:inline-block;font-weight:700;padding:1px 7px;border-radius:4px;color:#fff;font-size:12px;letter-spacing:.03em}
.pdg .pdg-verdict{font-size:18px;padding:3px 12px}
.pdg .pdg-pass{background:#1a7f37}.pdg .pdg-warn{background:#9a6700}.pdg .pdg-fail{background:#cf222e}.pdg .pdg-missing{background:#8250df}
.pdg table{border-collapse:collapse;margin:6px 0;font-size:13px;width:100%}
.pdg th,.pdg td{border-bottom:1px solid var(--pdg-line);padding:4px 6px;vertical-align:top;text-align:left}
.pdg th{background:#f6f8fa;font-weight:600}
.pdg td.pdg-num{font-variant-numeric:tabular-nums;white-space:nowrap}
.pdg td code{white-space:nowrap;overflow-wrap:normal}
.pdg .pdg-scroll{overflow-x:auto}
.pdg code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;background:#f6f8fa;padding:0 3px;border-radius:3px;
overflow-wrap:anywhere}
.pdg ol.pdg-fixes>li{margin:6px 0}
.pdg dl.pdg-config{display:grid;grid-template-columns:max-content 1fr;gap:1px 12px;margin:4px 0;font-size:13px}
.pdg dl.pdg-config dt{color:var(--pdg-muted)}.pdg dl.pdg-config dd{margin:0;overflow-wrap:anywhere}
.pdg .pdg-kv{display:grid;grid-template-columns:repeat(auto-fill,minmax(250px,1fr));gap:0 14px;font-size:12.5px;margin:4px 0}
.pdg .pdg-kv div{overflow-wrap:anywhere}.pdg .pdg-kv span{color:var(--pdg-muted)}
.pdg figure{margin:10px 0 16px;break-inside:avoid;page-break-inside:avoid}
.pdg figcaption{font-size:12.5px;color:var(--pdg-muted);margin-top:2px}
.pdg svg.pdg-plot{display:block;max-width:100%;height:auto}
.pdg .pdg-grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(430px,1fr));gap:4px 18px}
.pdg ul.pdg-legend{list-style:none;padding:0;margin:2px 0;display:flex;flex-wrap:wrap;gap:2px 14px;font-size:12px}
.pdg ul.pdg-legend li{display:flex;align-items:center;gap:4px}
.pdg a{color:#0969da;text-decoration:none}.pdg a:hover{text-decoration:underline}
.pdg tr:target,.pdg li:target{outline:2px solid #0969da;background:#ddf4ff}
.pdg .pdg-note{border-left:3px solid #9a6700;padding:2px 8px;margin:6px 0;background:#fff8c5}
.pdg hr{border:0;border-top:2px solid var(--pdg-line);margin:28px 0}
@media print{.pdg{max-width:none;padding:0;font-size:11px}.pdg h2{break-after:avoid}.pdg tr{break-inside:avoid}
.pdg a{color:inherit}.pdg .pdg-grid{grid-template-columns:1fr 1fr}}
"""


# Small helpers -------------------------------------------------------------------------------

def _status(status: str, extra: str = "") -> str:
    return f'<span class="pdg-status pdg-{esc(status)}{extra}">{STATUS_WORD.get(status, esc(status.upper()))}</span>'


def _slug(text: object) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", str(text)).strip("-") or "x"


def finding_anchor(prefix: str, finding: Finding) -> str:
    return f"{prefix}-f-{_slug(finding.rule)}-{'run' if finding.fold is None else _slug(finding.fold)}"


def _num(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else number(value, f".{digits}f")


def _value(finding: Finding) -> str:
    return finding_value(finding.value, ".4f")


def _lines(report: Report, lines: list[int], limit: int = 6) -> str:
    if not lines:
        return ""
    shown = [report.locations.get(n, f"line {n}") if report.locations else str(n) for n in lines[:limit]]
    more = ", ..." if len(lines) > limit else ""
    if report.locations:
        return esc("; ".join(shown) + more)
    return esc(("line " if len(lines) == 1 else "lines ") + ", ".join(shown) + more)


def band_of(expected: str | None) -> tuple[float | None, float | None] | None:
    """The range a finding's `expected` text states (`0.5-1.5`, `>= 0.3`, `> 0.15`, `at most 0`), or None."""
    if not expected:
        return None
    if match := _RANGE.match(expected):
        return float(match.group(1)), float(match.group(2))
    if match := _AT_LEAST.match(expected):
        return float(match.group(2)), None
    if match := _AT_MOST.match(expected):
        return None, float(match.group(1))
    return None


def r2_range(values: list[float]) -> tuple[float, float]:
    """An R2 axis: at least configs/display.yaml's floor..ceiling, widened to the values, clamped."""
    axis = display().r2_axis
    return max(min(values + [axis.floor]), axis.lowest), min(max(values + [axis.ceiling]), axis.highest)


def _finite(values) -> list[float]:
    return [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)]


def _thin(points: list[tuple[float, float | None]]) -> list[tuple[float, float | None]]:
    if len(points) <= MAX_CURVE_POINTS:
        return points
    step = math.ceil(len(points) / MAX_CURVE_POINTS)
    kept = points[::step]
    return kept if kept[-1] == points[-1] else kept + [points[-1]]


def _fold_name(fold: int | None) -> str:
    return "run" if fold is None else f"fold {fold}"


def _figure(plot: Plot, caption: str) -> str:
    return f"<figure>{plot.render()}{plot.legend_html()}<figcaption>{caption}</figcaption></figure>"


class _View:
    """One report, cleaned, with its anchors."""

    def __init__(self, report: Report, prefix: str) -> None:
        self.r = clean_model(report)
        self.p = prefix
        self.folds: list[Fold] = list(self.r.records.folds)
        self.by_rule: dict[str, dict[int | None, Finding]] = defaultdict(dict)
        for finding in self.r.findings:
            self.by_rule[finding.rule][finding.fold] = finding
        self.plot_of: dict[str, str] = {}  # rule -> the id of the plot that shows it

    def fold_index(self, fold: int | None) -> int:
        return next((i for i, f in enumerate(self.folds) if f.fold == fold), len(self.folds))

    def href(self, finding: Finding | None) -> str | None:
        return f"#{finding_anchor(self.p, finding)}" if finding is not None else None

    def first(self, rule: str) -> Finding | None:
        cells = self.by_rule.get(rule)
        if not cells:
            return None
        return max(cells.values(), key=lambda f: STATUS_ORDER[f.status])

    # Sections --------------------------------------------------------------------------------
    def header(self, title_tag: str = "h1") -> str:
        r, run = self.r, self.r.records
        counts = ", ".join(f"{r.counts[s]} {s}" for s in ("fail", "warn", "missing", "pass") if r.counts.get(s))
        span = f"run {r.run + 1} of {len(r.runs)} (lines {run.line}-{run.end_line if run.end_line is not None else '?'})"
        if run.config is not None and run.config.title:
            span += f": {run.config.title}"
        out = [f'<{title_tag} id="{self.p}">percediag report: <code>{esc(r.source)}</code></{title_tag}>',
               f'<p>{_status(r.status, " pdg-verdict")} <strong>{esc(counts or "no findings")}</strong></p>',
               f'<p class="pdg-muted">{esc(span)}</p>']
        for note in r.profile_notes:
            out.append(f'<p class="pdg-note">note: {esc(note)}</p>')
        return "".join(out)

    def configuration(self) -> str:
        r, run = self.r, self.r.records
        items = [("profile", r.profile), ("why this profile", r.profile_reason or "-"),
                 ("configuration files", ", ".join(r.config_files) or "none (the bundled profile and the command line)")]
        if r.tried:
            items.append(("tried already", ", ".join(r.tried)))
        if r.history:
            items.append(("history rounds", ", ".join(f"Round {h.round}" if h.round is not None else "?" for h in r.history)))
        items.append(("percediag", r.version))
        rows = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in items)
        out = ["<h2>Configuration used</h2>", f'<dl class="pdg-config">{rows}</dl>']
        if run.config is not None and run.config.values:
            title = run.config.title or "training configuration"
            values = "".join(f"<div><span>{esc(k)}</span> {esc(v)}</div>" for k, v in run.config.values.items())
            out.append(f'<h3>The log\'s {esc(title)} (line {run.config.line})</h3><div class="pdg-kv">{values}</div>')
        return "".join(out)

    def fixes(self, top: int = 3) -> str:
        r = self.r
        out = ["<h2>Next fixes</h2>"]
        if r.escalation is not None and r.escalation.escalate:
            out.append(f'<p class="pdg-note"><strong>Stop patching:</strong> {esc(r.escalation.reason)}.</p>')
        ranked = [f for f in r.fixes if f.rank is not None]
        if not ranked:
            out.append("<p>No fix to try next is supported by the evidence in this log.</p>")
        items = []
        for fix in ranked:
            evidence = []
            for rule in fix.evidence:
                finding = self.first(rule)
                evidence.append(f'<a href="{self.href(finding)}"><code>{esc(rule)}</code></a>' if finding is not None
                                else f"<code>{esc(rule)}</code>")
            signals = f" signals: {esc(', '.join(fix.signals))}." if fix.signals else ""
            refs = f" [{_lines(r, fix.lines)}]" if fix.lines else ""
            items.append(
                f'<li id="{self.p}-fix-{_slug(fix.id)}"><strong><code>{esc(fix.id)}</code> {esc(fix.title)}</strong> '
                f'<span class="pdg-muted">(score {fix.score:.2f}, {esc(fix.cost)})</span><br>'
                f"change: {esc(fix.change)}<br>why here: {esc(fix.placement)}<br>"
                f'<span class="pdg-muted">evidence: {esc(fix.reason)}{refs}'
                f"{' from ' + ', '.join(evidence) if evidence else ''}.{signals}</span></li>")
        if items:
            out.append('<ol class="pdg-fixes">' + "".join(items[:top]) + "</ol>")
            if len(items) > top:
                out.append(f'<details><summary>{len(items) - top} more ranked fixes</summary>'
                           f'<ol class="pdg-fixes" start="{top + 1}">' + "".join(items[top:]) + "</ol></details>")
        applied = [f for f in r.fixes if f.rank is None]
        if applied:
            out.append("<p>Already applied (the evidence points at them; not ranked):</p><ul>")
            out += [f"<li><code>{esc(f.id)}</code>: {esc(f.placement)}</li>" for f in applied]
            out.append("</ul>")
        return "".join(out)

    def assessment(self) -> str:
        rows = []
        for number, answer in enumerate(self.r.assessment, 1):
            refs = _lines(self.r, answer.lines, 4)
            rows.append(f"<tr><td>{number}</td><td>{_status(answer.status)}</td><td>{esc(answer.question)}</td>"
                        f"<td>{esc(answer.answer)}{f' <span class=pdg-muted>[{refs}]</span>' if refs else ''}</td></tr>")
        if not rows:
            return ""
        return ("<h2>Round assessment</h2><table><thead><tr><th>#</th><th>status</th><th>question</th><th>answer</th></tr>"
                "</thead><tbody>" + "".join(rows) + "</tbody></table>")

    # R2 -------------------------------------------------------------------------------------
    def milestones(self) -> dict[int, float | None]:
        out: dict[int, float | None] = {}
        for rule, cells in self.by_rule.items():
            if rule.startswith("progression.epoch_") and rule.rsplit("_", 1)[1].isdigit():
                expected = next((f.expected for f in cells.values() if f.expected), None)
                band = band_of(expected)
                out[int(rule.rsplit("_", 1)[1])] = band[0] if band else None
        return dict(sorted(out.items()))

    def baselines(self) -> list[tuple[float, str, Finding]]:
        out = []
        for rule, cells in self.by_rule.items():
            if not rule.startswith("baseline."):
                continue
            finding = next(iter(cells.values()))
            band = band_of(finding.expected)
            if band is None or band[0] is None:
                continue
            label = _LABEL.search(finding.expected or "")
            out.append((band[0], label.group(1) if label else rule.split(".", 1)[1], finding))
        return sorted(out, key=lambda item: item[0])

    def sota(self) -> tuple[float, float] | None:
        finding = self.first("progression.convergence")
        match = _SOTA.search(finding.expected or "") if finding is not None else None
        return (float(match.group(1)), float(match.group(2))) if match else None

    def r2_plot(self) -> str:
        folds = [f for f in self.folds if f.epochs]
        if not folds:
            return "<h2>R2 per epoch</h2><p>The log holds no epoch line with a validation R2.</p>"
        plot_id = f"{self.p}-r2"
        forecasts = {fc.fold: fc for fc in self.r.forecast}
        milestones = self.milestones()
        baselines = self.baselines()
        sota = self.sota()
        values = [e.val_r2 for f in folds for e in f.epochs]
        extra = [v for fc in forecasts.values() if fc.interval for v in fc.interval]
        extra += [v for v, _, _ in baselines] + [v for v in milestones.values() if v is not None] + list(sota or ())
        finite = _finite(values + extra)
        y_lo, y_hi = padded(*r2_range(finite), 0.04)
        x_hi = max([len(f.epochs) for f in folds] + [e.epoch + 1 for f in folds for e in f.epochs]
                   + [fc.horizon or 0 for fc in forecasts.values() if fc.projected is not None] + list(milestones))
        plot = Plot(plot_id, "Validation R2 per completed epoch, every fold", (0, x_hi + 0.5), (y_lo, y_hi),
                    x_label="completed epochs", y_label="validation R2", width=1000, height=400, x_integer=True,
                    desc="One curve per fold; reference lines: the baselines and the SOTA range; milestone thresholds "
                         "at their epochs; dashed: the forecast with its 90% interval.")
        if sota:
            plot.band(sota[0], sota[1], f"SOTA range {sota[0]:g}-{sota[1]:g}", fill="#2da44e", opacity=0.13)
            plot.legend(f"SOTA range {sota[0]:g}-{sota[1]:g}", "#2da44e", "band")
        for value, label, finding in baselines:
            plot.hline(value, f"{label} {value:g}", colour=STATUS_COLOURS[finding.status] if finding.status != "pass" else MUTED,
                       href=self.href(finding))
            self.plot_of[finding.rule] = plot_id
        if baselines:
            plot.legend("baselines ladder (right: label, linked to its finding)", MUTED, dash="4 3")
        for epoch, threshold in milestones.items():
            plot.vline(epoch, f"ep {epoch}")
            if threshold is not None:
                plot.tick_mark(epoch, threshold, f"milestone: R2 after {epoch} epochs > {threshold:g}")
        if milestones:
            plot.legend("milestone threshold (bar at its epoch)", INK)
        for fold in folds:
            index = self.fold_index(fold.fold)
            colour, dash = fold_style(index)
            points = _thin([(e.epoch + 1, e.val_r2) for e in fold.epochs])
            plot.curve(points, colour, f"{_fold_name(fold.fold)}: validation R2", dash=dash)
            plot.legend(_fold_name(fold.fold), colour, dash=dash)
            for epoch in milestones:
                finding = self.by_rule.get(f"progression.epoch_{epoch}", {}).get(fold.fold)
                hit = epoch_after(fold, epoch)
                if hit is None or hit.val_r2 is None or not math.isfinite(hit.val_r2) or finding is None:
                    continue
                plot.marker(epoch, hit.val_r2, f"{_fold_name(fold.fold)} at epoch {epoch}: R2 {hit.val_r2:+.4f}, "
                            f"{STATUS_WORD[finding.status]} (expected {finding.expected}; line {hit.line})",
                            fill=STATUS_COLOURS[finding.status], href=self.href(finding))
                self.plot_of[finding.rule] = plot_id
            fc = forecasts.get(fold.fold)
            last = next((e for e in reversed(fold.epochs) if e.val_r2 is not None and math.isfinite(e.val_r2)), None)
            trajectory = self.by_rule.get("progression.trajectory", {}).get(fold.fold)
            if fc is not None and fc.projected is not None and fc.interval and fc.horizon and last is not None:
                start = (last.epoch + 1, last.val_r2)
                label = (f"{_fold_name(fold.fold)} forecast at epoch {fc.horizon}: {fc.projected:+.3f} "
                         f"[{fc.interval[0]:+.3f}, {fc.interval[1]:+.3f}] (90%), {fc.trend}; SOTA? {fc.on_track}")
                plot.fan(start, fc.horizon, fc.interval[0], fc.interval[1], colour, label)
                plot.curve([start, (fc.horizon, fc.projected)], colour, label, dash="5 4", width=1.5, css="pdg-forecast")
                plot.errbar(fc.horizon, fc.interval[0], fc.interval[1], colour, label)
                plot.marker(fc.horizon, fc.projected, label, fill=colour, shape="diamond", href=self.href(trajectory))
            convergence = self.by_rule.get("progression.convergence", {}).get(fold.fold)
            best = best_epoch(fold)
            if best is not None and convergence is not None:
                plot.marker(best.epoch + 1, best.val_r2, f"{_fold_name(fold.fold)} best R2 {best.val_r2:+.4f} at epoch "
                            f"{best.epoch + 1}: {STATUS_WORD[convergence.status]} (expected {convergence.expected})",
                            fill=STATUS_COLOURS[convergence.status], shape="ring", size=6, href=self.href(convergence))
                self.plot_of[convergence.rule] = plot_id
            if trajectory is not None:
                self.plot_of[trajectory.rule] = plot_id
        if any(fc.projected is not None for fc in forecasts.values()):
            plot.legend("forecast and its 90% interval (diamond)", MUTED, "diamond")
        plot.legend("milestone value (colour: its status)", STATUS_COLOURS["pass"], "marker")
        plot.legend("best R2 of the fold (colour: convergence status)", STATUS_COLOURS["fail"], "ring")
        caption = ("Validation R2 after each completed epoch (the log's <code>Epoch N</code> line is N+1 completed epochs). "
                   "Markers link to their findings.")
        return "<h2>R2 per epoch</h2>" + _figure(plot, caption) + self.forecast_table()

    def forecast_table(self) -> str:
        if not self.r.forecast:
            return ""
        target_key = next((k for fc in self.r.forecast for k in fc.epochs_to if k.startswith("target")), None)
        rows = []
        for fc in self.r.forecast:
            forecast = (f"{fc.projected:+.3f} [{fc.interval[0]:+.3f}, {fc.interval[1]:+.3f}] at epoch {fc.horizon}"
                        if fc.projected is not None and fc.interval else "no projection")
            reach = fc.epochs_to.get(target_key) if target_key else None
            target = "-" if reach is None else (f"{reach} (done)" if reach <= fc.epochs_seen else f"{reach} (+{reach - fc.epochs_seen})")
            best = "-" if fc.best_r2 is None else f"{fc.best_r2:+.4f} (epoch {fc.best_epoch})"
            trend = fc.trend + (", overfitting" if fc.overfitting else "")
            rows.append(f"<tr><td class=pdg-num>{esc(_fold_name(fc.fold))}</td><td class=pdg-num>{esc(best)}</td>"
                        f"<td class=pdg-num>{esc(_num(fc.last_r2, 4))}</td><td>{esc(trend)}</td><td class=pdg-num>{esc(forecast)}</td>"
                        f"<td>{esc(fc.on_track)}</td><td>{esc(target)}</td><td>{esc(fc.reason)}</td></tr>")
        return ("<table><thead><tr><th>fold</th><th>best R2</th><th>last</th><th>trend</th><th>forecast [90%]</th>"
                "<th>SOTA?</th><th>target at epoch</th><th>why</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")

    # Values against bands ---------------------------------------------------------------------
    def strip(self, plot_id: str, title: str, rows: list[tuple[str, Finding | None, float | None]], band,
              x_label: str, summaries: dict[str, tuple[float, float, float | None]] | None = None) -> Plot | None:
        """One row per fold: the value as a marker against its range (and, for gradients, min-max of every step)."""
        values = _finite([v for _, _, v in rows])
        if summaries:
            values += _finite([x for lo, hi, mean in summaries.values() for x in (lo, hi, mean)])
        if not values:
            return None
        lows = values + [b for b in band or () if b is not None]
        x_lo = min(min(lows), 0.0)
        x_hi = max(lows)
        if band and band[1] is None and band[0] is not None:
            x_hi = max(x_hi, band[0] * 1.5)
        x_lo, x_hi = padded(x_lo, x_hi, 0.06)
        x_lo = max(x_lo, 0.0) if min(values) >= 0 else x_lo
        n = len(rows)
        ticks = [(float(n - 1 - i), label) for i, (label, _, _) in enumerate(rows)]
        plot = Plot(plot_id, title, (x_lo, x_hi), (-0.7, n - 0.3), x_label=x_label, y_label="", width=440,
                    height=58 + 26 * n, margin=(14, 96, 40, 62), y_ticks=ticks)
        if band is not None:
            lo = band[0] if band[0] is not None else x_lo
            hi = band[1] if band[1] is not None else x_hi
            plot.xband(lo, hi, f"expected {band_text(band)}")
        for i, (label, finding, value) in enumerate(rows):
            y = float(n - 1 - i)
            if summaries and label in summaries:
                lo, hi, mean = summaries[label]
                plot.errbar(y, lo, hi, MUTED, f"{label}: every step from {_num(lo)} to {_num(hi)}", horizontal=True, cap=4)
                if mean is not None:
                    plot.marker(mean, y, f"{label}: mean of every step {_num(mean)}", fill=MUTED, shape="diamond", size=3)
            status = finding.status if finding is not None else "missing"
            if value is None or not math.isfinite(value):
                plot.margin_label(plot.py(y), f"{STATUS_WORD[status]} -", STATUS_COLOURS[status], self.href(finding))
                continue
            where = f"; {_lines(self.r, finding.lines, 3)}" if finding is not None and finding.lines else ""
            plot.marker(value, y, f"{label}: {_num(value)} {STATUS_WORD[status]} (expected {band_text(band)}{where})",
                        fill=STATUS_COLOURS[status], href=self.href(finding), size=5.5)
            shown = _value(finding) if finding is not None and isinstance(finding.value, int) else _num(value)
            plot.margin_label(plot.py(y), f"{STATUS_WORD[status]} {shown}", STATUS_COLOURS[status], self.href(finding))
        return plot

    def activation_plots(self) -> str:
        figures = []
        for rule, label in ACTIVATION_RULES:
            cells = self.by_rule.get(rule)
            if not cells:
                continue
            rows = [(_fold_name(fold), f, _number(f.value)) for fold, f in cells.items()]
            band = band_of(next((f.expected for f in cells.values() if f.expected), None))
            plot_id = f"{self.p}-{_slug(rule)}"
            plot = self.strip(plot_id, f"{label} per fold (first batch)", rows, band, label)
            if plot is None:
                continue
            self.plot_of[rule] = plot_id
            figures.append(_figure(plot, f"{esc(label)}: the green band is the expected range "
                                         f"({esc(band_text(band))}); markers link to <code>{esc(rule)}</code>."))
        if not figures:
            return "<h2>Activation health</h2><p>The log holds no activation check with a value.</p>"
        return "<h2>Activation health</h2><div class=\"pdg-grid\">" + "".join(figures) + "</div>"

    def gradient_plots(self) -> str:
        folds = [f for f in self.folds if f.gradients is not None and f.gradients.steps]
        if not folds:
            return "<h2>Gradient balance</h2><p>The log holds no gradient step.</p>"
        figures = []
        for attr, rule, label in GRADIENT_SERIES:
            cells = self.by_rule.get(rule, {})
            band = band_of(next((f.expected for f in cells.values() if f.expected), None))
            plot_id = f"{self.p}-{_slug(rule)}-steps"
            samples = {f.fold: [(s.step, getattr(s, attr)) for s in f.gradients.sample] for f in folds}
            kept = _finite([v for pts in samples.values() for _, v in pts])
            if kept:
                steps = [s for pts in samples.values() for s, _ in pts]
                top = max(kept + [b for b in band or () if b is not None])
                plot = Plot(plot_id, f"{label}: the kept steps of each fold", (min(steps) - 0.5, max(steps) + 0.5),
                            (0, top * 1.08 or 1.0), x_label="step (within its fold)", y_label=label, width=440, height=280,
                            margin=(16, 20, 40, 58), x_integer=True)
                if band is not None:
                    plot.band(band[0] if band[0] is not None else 0, band[1] if band[1] is not None else top * 1.08,
                              f"expected {band_text(band)}")
                for fold in folds:
                    colour, dash = fold_style(self.fold_index(fold.fold))
                    pts = _gaps(sorted(samples[fold.fold]))
                    plot.curve(pts, colour, f"{_fold_name(fold.fold)}: {label} at the kept steps", dash=dash, width=1.6)
                    for step, value in pts:
                        if value is not None and math.isfinite(value):
                            plot.marker(step, value, f"{_fold_name(fold.fold)} step {step}: {_num(value)}", fill=colour,
                                        size=2.5, css="pdg-step")
                    plot.legend(_fold_name(fold.fold), colour, dash=dash)
                if band is not None:
                    plot.legend(f"expected {band_text(band)}", "#2da44e", "band")
                figures.append(_figure(plot, f"{esc(label)} at the steps the parser keeps (the first and last steps of each "
                                             "fold; a gap in a curve is steps not kept). All steps: the plot beside."))
            rows, summaries = [], {}
            for fold in folds:
                stats = getattr(fold.gradients, attr)
                finding = cells.get(fold.fold)
                name = _fold_name(fold.fold)
                rows.append((name, finding, stats.median))
                if stats.min is not None and stats.max is not None:
                    summaries[name] = (stats.min, stats.max, stats.mean)
            strip_id = f"{self.p}-{_slug(rule)}"
            plot = self.strip(strip_id, f"{label}: median of every step per fold", rows, band, label, summaries)
            if plot is not None:
                self.plot_of[rule] = strip_id
                counts = ", ".join(f"{_fold_name(f.fold)} {f.gradients.steps:,}" for f in folds)
                figures.append(_figure(plot, f"{esc(label)} over every step (running statistics; steps: {esc(counts)}): "
                                             "bar min to max, grey diamond the mean, coloured marker the median the rule "
                                             f"judges (linked to <code>{esc(rule)}</code>)."))
        return "<h2>Gradient balance</h2><div class=\"pdg-grid\">" + "".join(figures) + "</div>"

    # Loss and dimensions ----------------------------------------------------------------------
    def loss_plot(self) -> str:
        folds = [f for f in self.folds if any(e.train_loss is not None or e.val_loss is not None for e in f.epochs)]
        if not folds:
            return ""
        values = _finite([v for f in folds for e in f.epochs for v in (e.train_loss, e.val_loss)])
        if not values:
            return ""
        y_lo, y_hi = padded(min(values), max(values), 0.06)
        x_hi = max(e.epoch + 1 for f in folds for e in f.epochs)
        plot = Plot(f"{self.p}-loss", "Train and validation loss per completed epoch", (0, x_hi + 0.5), (max(y_lo, 0) if min(values) >= 0 else y_lo, y_hi),
                    x_label="completed epochs", y_label="loss", width=1000, height=300, x_integer=True, margin=(20, 30, 46, 70))
        for fold in folds:
            colour, _ = fold_style(self.fold_index(fold.fold))
            name = _fold_name(fold.fold)
            plot.curve(_thin([(e.epoch + 1, e.train_loss) for e in fold.epochs]), colour, f"{name}: train loss")
            plot.curve(_thin([(e.epoch + 1, e.val_loss) for e in fold.epochs]), colour, f"{name}: validation loss", dash="6 3")
            plot.legend(name, colour)
        plot.legend("train loss", INK)
        plot.legend("validation loss", INK, dash="6 3")
        return "<h2>Loss</h2>" + _figure(plot, "Solid: train loss; dashed: validation loss; one colour per fold.")

    def dimension_plot(self) -> str:
        run = self.r.records
        if run.dimensions is not None and run.dimensions.rows:
            rows = sorted(run.dimensions.rows, key=lambda d: -d.mean_r2)
            values = _finite([v for d in rows for v in (d.mean_r2 - (d.std_r2 or 0), d.mean_r2 + (d.std_r2 or 0))])
            x_lo, x_hi = padded(min(values + [0.0]), max(values + [0.0]), 0.05)
            n = len(rows)
            ticks = [(float(n - 1 - i), d.name) for i, d in enumerate(rows)]
            plot = Plot(f"{self.p}-dims", "R2 per dimension, mean over folds", (x_lo, x_hi), (-0.7, n - 0.3),
                        x_label="R2 (mean over folds, bar; +/- std, whisker)", y_label="", width=1000, height=60 + 20 * n,
                        margin=(14, 40, 40, 150), y_ticks=ticks)
            for i, d in enumerate(rows):
                y = float(n - 1 - i)
                colour = STATUS_COLOURS["fail"] if d.mean_r2 < 0 else "#0072B2"
                plot.hbar(y, 0.0, d.mean_r2, colour, f"{d.name}: {d.mean_r2:+.4f} +/- {_num(d.std_r2, 4)} (line {d.line})")
                if d.std_r2:
                    plot.errbar(y, d.mean_r2 - d.std_r2, d.mean_r2 + d.std_r2, INK, f"{d.name}: +/- {d.std_r2:.4f}",
                                horizontal=True, cap=3)
            caption = f"From the log's per-dimension table (line {run.dimensions.line}); red: negative mean R2."
            return "<h2>R2 per dimension</h2>" + _figure(plot, caption) + self.dimension_notes()
        summaries = [f for f in self.folds if f.summary is not None and (f.summary.top_dims or f.summary.bottom_dims)]
        if not summaries:
            return ("<h2>R2 per dimension</h2><p>The log prints no per-dimension R2.</p>" + self.dimension_notes())
        names: list[str] = []
        for fold in summaries:
            for d in [*fold.summary.top_dims, *fold.summary.bottom_dims]:
                if d.name not in names:
                    names.append(d.name)
        values = _finite([d.r2 for f in summaries for d in [*f.summary.top_dims, *f.summary.bottom_dims]])
        x_lo, x_hi = padded(min(values + [0.0]), max(values + [0.0]), 0.05)
        n = len(names)
        ticks = [(float(n - 1 - i), name) for i, name in enumerate(names)]
        plot = Plot(f"{self.p}-dims", "R2 per dimension from the fold summaries (top and bottom five)", (x_lo, x_hi),
                    (-0.7, n - 0.3), x_label="R2 of the dimension in the fold", y_label="", width=1000, height=60 + 18 * n,
                    margin=(14, 40, 40, 150), y_ticks=ticks)
        plot.xband(x_lo, 0.0, "negative R2", fill="#cf222e", opacity=0.07)
        for fold in summaries:
            colour, _ = fold_style(self.fold_index(fold.fold))
            for d in [*fold.summary.top_dims, *fold.summary.bottom_dims]:
                plot.marker(d.r2, float(n - 1 - names.index(d.name)), f"{_fold_name(fold.fold)}: {d.name} {d.r2:+.4f} (line {d.line})",
                            fill=colour, size=4.5, css="pdg-dim")
            plot.legend(_fold_name(fold.fold), colour, "marker")
        caption = "Each fold's summary lists its five best and five worst dimensions; the shaded side is negative R2."
        return "<h2>R2 per dimension</h2>" + _figure(plot, caption) + self.dimension_notes()

    def dimension_notes(self) -> str:
        view = self.r.dimensions
        if not view.available:
            return ""
        parts = []
        if view.collapsed:
            total = view.total_dims or dimension_count()
            parts.append("collapsed at the end of training: " + ", ".join(f"fold {k}: {v}/{total}" for k, v in view.collapsed.items()))
        if view.worst_everywhere:
            parts.append("in the bottom five of every fold: " + ", ".join(view.worst_everywhere))
        return "".join(f"<p>{esc(p)}</p>" for p in parts)

    # Findings --------------------------------------------------------------------------------
    def findings(self) -> str:
        order = {c: i for i, c in enumerate(CATEGORY_ORDER)}
        ranked = sorted(self.r.findings, key=lambda f: (f.status == "pass", -STATUS_ORDER[f.status],
                                                         order.get(f.category, 99), f.rule))
        rows = []
        for f in ranked:
            plot = self.plot_of.get(f.rule)
            shown = f'<a href="#{plot}">plot</a>' if plot else ""
            tag = f"<br><span class=pdg-muted>trainer: {esc(f.trainer_tag)}</span>" if f.trainer_tag else ""
            rows.append(f'<tr id="{finding_anchor(self.p, f)}"><td>{_status(f.status)}</td><td><code>{esc(f.rule)}</code></td>'
                        f"<td class=pdg-num>{esc(_fold_name(f.fold))}</td><td class=pdg-num>{esc(_value(f))}</td><td>{esc(f.expected or '')}</td>"
                        f"<td>{esc(f.message)}{tag}</td><td class=pdg-num>{_lines(self.r, f.lines, 4)}</td><td>{shown}</td></tr>")
        bad = sum(1 for f in self.r.findings if f.status != "pass")
        return (f"<h2>Findings</h2><p>{bad} of {len(self.r.findings)} need attention (listed first). "
                "Line numbers are the log's.</p><table><thead><tr><th>status</th><th>rule</th><th>fold</th><th>value</th>"
                "<th>expected</th><th>message</th><th>log</th><th></th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")

    def notes(self) -> str:
        items = [f"<li>note: {esc(n)}</li>" for n in self.r.notes]
        for warning in self.r.parse_warnings[:50]:
            where = self.r.locations.get(warning.line, f"line {warning.line}")
            items.append(f"<li>parse warning: {esc(where)}: {esc(warning.message)}</li>")
        if len(self.r.parse_warnings) > 50:
            items.append(f"<li>... {len(self.r.parse_warnings) - 50} more parse warnings (see --format json)</li>")
        return "<h2>Notes</h2><ul>" + "".join(items) + "</ul>" if items else ""

    def body(self, title_tag: str = "h1") -> str:
        # Plots first so that the findings table knows which plot shows each rule.
        plots = [self.r2_plot(), self.activation_plots(), self.gradient_plots(), self.loss_plot(), self.dimension_plot()]
        parts = [self.header(title_tag), self.configuration(), self.fixes(), self.assessment(), *plots,
                 self.findings(), self.notes()]
        return f'<section class="pdg-run" aria-labelledby="{self.p}">' + "".join(parts) + "</section>"


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _gaps(points: list[tuple[int, float | None]]) -> list[tuple[float, float | None]]:
    """Break a sampled curve where steps were not kept (a jump well beyond the usual spacing)."""
    if len(points) < 3:
        return [(float(s), v) for s, v in points]
    diffs = sorted(b[0] - a[0] for a, b in zip(points, points[1:]) if b[0] > a[0])
    usual = diffs[len(diffs) // 2] if diffs else 1
    out: list[tuple[float, float | None]] = []
    for i, (step, value) in enumerate(points):
        if i and step - points[i - 1][0] > 3 * usual:
            out.append((float(step), None))
        out.append((float(step), value))
    return out


def band_text(band) -> str:
    if band is None:
        return "no range"
    lo, hi = band
    if lo is not None and hi is not None:
        return f"{lo:g}-{hi:g}"
    return f">= {lo:g}" if lo is not None else f"<= {hi:g}"


def _document(title: str, body: str) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{esc(title)}</title><style>{CSS}</style></head>"
            f'<body style="margin:0;background:#fff"><main class="pdg">{body}</main></body></html>\n')


def render(reports: list[Report]) -> str:
    """`check --format html`: every report (log, or run with --run all) in one document."""
    views = [_View(report, f"pdg{number + 1}") for number, report in enumerate(reports)]
    if not views:
        return _document("percediag report", "<p>No report.</p>")
    body = []
    if len(views) > 1:
        items = "".join(f'<li><a href="#{v.p}">{esc(v.r.source)} (run {v.r.run + 1} of {len(v.r.runs)})</a> '
                        f"{_status(v.r.status)}</li>" for v in views)
        body.append(f"<p>{len(views)} reports:</p><ol>{items}</ol>")
    body.append("<hr>".join(v.body() for v in views))
    title = "percediag: " + ", ".join(clean(r.source) for r in reports[:3]) + (" ..." if len(reports) > 3 else "")
    return _document(title, "".join(body))


def fragment(report: Report) -> str:
    """The report for Jupyter: one scoped `<div>`; its anchors are unique to this report."""
    digest = hashlib.sha1(f"{report.source}|{report.run}|{report.status}|{id(report)}".encode("utf-8", "replace")).hexdigest()[:8]
    view = _View(report, f"pdg-{digest}")
    return f'<div class="pdg"><style>{CSS}</style>{view.body("h2")}</div>'


# diff and history ------------------------------------------------------------------------------

def _change_table(title: str, changes) -> str:
    from percediag.report.comparison import _delta, _show

    rows = "".join(f"<tr><td>{esc(c.name)}</td><td>{esc(c.fold or 'run')}</td><td class=pdg-num>{esc(_show(c.old))}</td>"
                   f"<td class=pdg-num>{esc(_show(c.new))}</td><td class=pdg-num>{esc(_delta(c))}</td></tr>" for c in changes)
    return (f"<h3>{esc(title)}</h3><table><thead><tr><th>what</th><th>fold</th><th>old</th><th>new</th><th>delta</th>"
            f"</tr></thead><tbody>{rows}</tbody></table>")


def overlay_plot(plot_id: str, old: Report, new: Report) -> str:
    """Both runs' R2 curves on one plot: the old run dashed and lighter, the new one solid."""
    runs = [(_View(old, plot_id), "5 4", 1.6, "old"), (_View(new, plot_id), "", 2.2, "new")]
    values = _finite([e.val_r2 for view, *_ in runs for f in view.folds for e in f.epochs])
    if not values:
        return "<p>Neither log holds an epoch line with a validation R2.</p>"
    new_view = runs[1][0]
    sota = new_view.sota()
    baselines = new_view.baselines()
    extra = [v for v, _, _ in baselines] + list(sota or ())
    y_lo, y_hi = padded(*r2_range(values + extra), 0.04)
    x_hi = max(e.epoch + 1 for view, *_ in runs for f in view.folds for e in f.epochs)
    plot = Plot(plot_id, "Validation R2 per completed epoch: old (dashed) and new (solid)", (0, x_hi + 0.5), (y_lo, y_hi),
                x_label="completed epochs", y_label="validation R2", width=1000, height=400, x_integer=True,
                desc="Each fold of both runs; the old run's curves are dashed, the new run's solid.")
    if sota:
        plot.band(sota[0], sota[1], f"SOTA range {sota[0]:g}-{sota[1]:g}", opacity=0.13)
        plot.legend(f"SOTA range {sota[0]:g}-{sota[1]:g}", "#2da44e", "band")
    for value, label, _ in baselines:
        plot.hline(value, f"{label} {value:g}")
    for view, dash, width, tag in runs:
        for fold in view.folds:
            if not fold.epochs:
                continue
            # A fold keeps its colour across the two runs (by its place in the new run).
            colour, _ = fold_style(new_view.fold_index(fold.fold))
            plot.curve(_thin([(e.epoch + 1, e.val_r2) for e in fold.epochs]), colour,
                       f"{tag} ({view.r.source}) {_fold_name(fold.fold)}", dash=dash, width=width)
    for fold in new_view.folds:
        colour, _ = fold_style(new_view.fold_index(fold.fold))
        plot.legend(_fold_name(fold.fold), colour)
    plot.legend("old run", MUTED, dash="5 4")
    plot.legend("new run", MUTED)
    return _figure(plot, "A fold has one colour in both runs.")


def diff_html(d, old: Report, new: Report) -> str:
    """`percediag diff -f html`: the verdict, both runs' R2 curves overlaid, and the diff's tables."""
    d = clean_model(d)
    verdict_status = {"improved": "pass", "regressed": "fail", "mixed": "warn", "unchanged": "pass", "no-data": "fail"}[d.verdict]
    body = [f"<h1>percediag diff: <code>{esc(d.old.source)}</code> &rarr; <code>{esc(d.new.source)}</code></h1>",
            f'<p><span class="pdg-status pdg-{verdict_status} pdg-verdict">{esc(d.verdict.upper())}</span> {esc(d.reason)}</p>',
            "<h2>R2 per epoch, both runs</h2>", overlay_plot("pdgdiff-r2", old, new),
            _change_table("Architecture", d.architecture)]
    if d.config:
        body.append(_change_table("Training configuration (changed keys)", d.config))
    body += [_change_table("Activation and gradient metrics (mean over folds, then per fold)", d.metrics), _change_table("R2", d.r2)]
    if d.comparison:
        items = "".join(f"<li>{_status(f.status)} <code>{esc(f.rule)}</code>{'' if f.fold is None else f' fold {f.fold}'}: "
                        f"{esc(f.message)}</li>" for f in d.comparison)
        body.append(f"<h3>Comparison rules</h3><ul>{items}</ul>")
    items = "".join(f"<li>{esc(s.kind)}: <code>{esc(s.rule)}</code>{'' if s.fold is None else f' (fold {esc(s.fold)})'} "
                    f"{esc(s.old or '-')} &rarr; {esc(s.new or '-')}</li>" for s in d.findings)
    body.append(f"<h3>Findings that changed status</h3><ul>{items or '<li>none</li>'}</ul>")
    return _document(f"percediag diff: {d.old.source} -> {d.new.source}", "".join(body))


def history_html(h) -> str:
    """`percediag history -f html`: best R2 and cross-validation mean per run as a plot, then the table."""
    from percediag.compare.history import columns
    from percediag.compare.summary import round_label

    COLUMNS = columns()

    h = clean_model(h)
    body = ["<h1>percediag history</h1>"]
    runs = h.runs
    values = _finite([v for s in runs for v in (s.best_r2, s.cv_mean)])
    if runs and values:
        n = len(runs)
        y_lo, y_hi = padded(*r2_range(values), 0.05)
        plot = Plot("pdghist-r2", "Best R2 and cross-validation mean per run", (-0.5, n - 0.5), (y_lo, y_hi),
                    x_label="run (in the table's order)", y_label="R2", width=1000, height=340,
                    x_ticks=[(float(i), f"{s.name} ({round_label(s)})") for i, s in enumerate(runs)],
                    desc="One point per run: its best R2 over folds, and its cross-validation mean.")
        best = [(float(i), s.best_r2) for i, s in enumerate(runs)]
        cv = [(float(i), s.cv_mean) for i, s in enumerate(runs)]
        plot.curve(best, "#0072B2", "best R2 per run")
        plot.curve(cv, "#D55E00", "cross-validation mean per run", dash="6 3")
        for i, s in enumerate(runs):
            label = f"{s.name} ({round_label(s)})"
            if s.best_r2 is not None and math.isfinite(s.best_r2):
                plot.marker(i, s.best_r2, f"{label}: best R2 {s.best_r2:.4f} (fold {s.best_fold}, epoch {s.best_epoch})",
                            fill="#0072B2", href=f"#pdghist-row-{i}")
            if s.cv_mean is not None and math.isfinite(s.cv_mean):
                plot.marker(i, s.cv_mean, f"{label}: cross-validation mean {s.cv_mean:.4f}", fill="#D55E00",
                            shape="diamond", href=f"#pdghist-row-{i}")
        plot.legend("best R2 (over folds)", "#0072B2")
        plot.legend("cross-validation mean", "#D55E00", dash="6 3")
        body.append(_figure(plot, "Run order as in the table below; markers link to the run's row."))
    rows = []
    for i, row in enumerate(h.rows()):
        status = row["status"].lower()
        cells = "".join(f"<td>{esc(row[c])}</td>" for c in COLUMNS[:-1])
        rows.append(f'<tr id="pdghist-row-{i}">{cells}<td>{_status(status) if status in STATUS_WORD else esc(row["status"])}</td></tr>')
    head = "".join(f"<th>{esc(c)}</th>" for c in COLUMNS)
    body.append(f"<h2>Experiment history</h2><div class=\"pdg-scroll\"><table><thead><tr>{head}</tr></thead>"
                f"<tbody>{''.join(rows)}</tbody></table></div>")
    return _document("percediag history", "".join(body))
