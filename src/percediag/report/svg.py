"""Inline SVG plots for the HTML report, written by hand: no plotting library, no script.

A `Plot` maps data coordinates to pixels on two linear axes and collects
shapes: reference bands and lines, curves (a `None` breaks a curve),
markers (optionally links to a finding: `<a href="#...">`), error bars and
a legend. `render()` returns one `<svg>` element with its axes, ticks,
labels, a `<title>` and a `<desc>` for screen readers and hover text.

Colours are SVG presentation attributes, not CSS, so a plot looks the same
in a file, in a notebook (whose styles it never touches) and on paper.
Every string placed in the SVG is escaped here (`esc`); callers pass text
that already went through `sanitize.clean`.
"""

from __future__ import annotations

import html
import math

# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
FOLD_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#7F6A00", "#000000")
# Repeated with dashes past eight folds, so two folds never look identical.
FOLD_DASHES = ("", "6 3", "2 2", "8 3 2 3")
STATUS_COLOURS = {"pass": "#1a7f37", "warn": "#9a6700", "fail": "#cf222e", "missing": "#8250df"}
BAND_FILL = "#2da44e"
GRID = "#d8dee4"
INK = "#1f2328"
MUTED = "#57606a"


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def fold_style(index: int) -> tuple[str, str]:
    """(colour, dash pattern) of the index-th fold in training order."""
    return FOLD_COLOURS[index % len(FOLD_COLOURS)], FOLD_DASHES[(index // len(FOLD_COLOURS)) % len(FOLD_DASHES)]


def nice_ticks(lo: float, hi: float, count: int = 6) -> list[float]:
    """Round tick values covering [lo, hi], about `count` of them."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    value = first
    while value <= hi + step * 1e-9:
        ticks.append(0.0 if abs(value) < step * 1e-9 else value)
        value += step
    return ticks


def tick_label(value: float, ticks: list[float]) -> str:
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else abs(value) or 1.0
    if step >= 1 and all(float(t).is_integer() for t in ticks):
        return f"{value:,.0f}"
    digits = max(0, -math.floor(math.log10(step)) + (0 if (step / 10 ** math.floor(math.log10(step))) in (1, 2, 5) else 1))
    return f"{value:.{min(digits, 6)}f}"


def padded(lo: float, hi: float, share: float = 0.05) -> tuple[float, float]:
    if hi <= lo:
        half = abs(lo) * 0.5 or 0.5
        return lo - half, hi + half
    pad = (hi - lo) * share
    return lo - pad, hi + pad


class Plot:
    """One chart: a plot area with two linear axes, shapes drawn in data coordinates."""

    def __init__(self, plot_id: str, title: str, x_range: tuple[float, float], y_range: tuple[float, float], *,
                 x_label: str, y_label: str, width: int = 760, height: int = 320, desc: str = "",
                 margin: tuple[int, int, int, int] = (34, 150, 46, 64), x_integer: bool = False,
                 y_ticks: list[tuple[float, str]] | None = None, x_ticks: list[tuple[float, str]] | None = None) -> None:
        self.id, self.title, self.desc = plot_id, title, desc
        self.width, self.height = width, height
        self.top, self.right, self.bottom, self.left = margin
        self.x0, self.x1 = x_range
        self.y0, self.y1 = y_range
        self.x_label, self.y_label = x_label, y_label
        self.x_integer = x_integer
        self.y_ticks = y_ticks
        self.x_ticks = x_ticks
        self.back: list[str] = []  # bands and reference lines, under the data
        self.body: list[str] = []  # curves and markers, clipped to the plot area
        self.front: list[str] = []  # labels in the right margin, never clipped
        self.legend_items: list[str] = []
        self.right_labels: list[float] = []  # y pixels taken by margin labels, to avoid overlaps

    # Coordinates -----------------------------------------------------------------------------
    def px(self, x: float) -> float:
        span = self.x1 - self.x0 or 1.0
        return self.left + (x - self.x0) / span * (self.width - self.left - self.right)

    def py(self, y: float) -> float:
        span = self.y1 - self.y0 or 1.0
        clamped = min(max(y, self.y0), self.y1)
        return self.height - self.bottom - (clamped - self.y0) / span * (self.height - self.top - self.bottom)

    def inside_y(self, y: float) -> bool:
        return self.y0 <= y <= self.y1

    # Shapes ----------------------------------------------------------------------------------
    def band(self, y_lo: float, y_hi: float, label: str, fill: str = BAND_FILL, opacity: float = 0.12,
             css: str = "pdg-band") -> None:
        top, bottom = self.py(max(y_lo, y_hi)), self.py(min(y_lo, y_hi))
        self.back.append(f'<rect class="{css}" x="{self.left}" y="{top:.1f}" width="{self.width - self.left - self.right}" '
                         f'height="{max(bottom - top, 0.5):.1f}" fill="{fill}" fill-opacity="{opacity}"><title>{esc(label)}</title></rect>')

    def xband(self, x_lo: float, x_hi: float, label: str, fill: str = BAND_FILL, opacity: float = 0.14) -> None:
        left, right = self.px(max(min(x_lo, x_hi), self.x0)), self.px(min(max(x_lo, x_hi), self.x1))
        if right - left < 3:  # a range of one value (at most 0) stays visible as a narrow band
            left, right = (left + right) / 2 - 1.5, (left + right) / 2 + 1.5
        self.back.append(f'<rect class="pdg-band" x="{left:.1f}" y="{self.top}" width="{right - left:.1f}" '
                         f'height="{self.height - self.top - self.bottom}" fill="{fill}" fill-opacity="{opacity}">'
                         f'<title>{esc(label)}</title></rect>')

    def hline(self, y: float, label: str, colour: str = MUTED, dash: str = "4 3", href: str | None = None,
              css: str = "pdg-ref") -> None:
        if not self.inside_y(y):
            return
        yy = self.py(y)
        self.back.append(f'<line class="{css}" x1="{self.left}" x2="{self.width - self.right}" y1="{yy:.1f}" y2="{yy:.1f}" '
                         f'stroke="{colour}" stroke-width="1" stroke-dasharray="{dash}"><title>{esc(label)}</title></line>')
        self.margin_label(yy, label, colour, href)

    def margin_label(self, yy: float, label: str, colour: str = MUTED, href: str | None = None) -> None:
        # Labels in the right margin are nudged apart so that close reference lines stay readable.
        for taken in sorted(self.right_labels):
            if abs(taken - yy) < 11:
                yy = taken + 11
        self.right_labels.append(yy)
        text = f'<text x="{self.width - self.right + 6}" y="{yy + 4:.1f}" fill="{colour}" font-size="11">{esc(label)}</text>'
        self.front.append(f'<a href="{esc(href)}">{text}</a>' if href else text)

    def vline(self, x: float, label: str, colour: str = MUTED, dash: str = "2 3") -> None:
        if not self.x0 <= x <= self.x1:
            return
        xx = self.px(x)
        self.back.append(f'<line class="pdg-vref" x1="{xx:.1f}" x2="{xx:.1f}" y1="{self.top}" y2="{self.height - self.bottom}" '
                         f'stroke="{colour}" stroke-width="1" stroke-dasharray="{dash}"><title>{esc(label)}</title></line>')
        self.front.append(f'<text x="{xx:.1f}" y="{self.top - 4}" fill="{colour}" font-size="10" text-anchor="middle">{esc(label)}</text>')

    def tick_mark(self, x: float, y: float, label: str, colour: str = INK, half: float = 9) -> None:
        """A short horizontal bar at (x, y): a threshold at one epoch."""
        if not self.inside_y(y):
            return
        xx, yy = self.px(x), self.py(y)
        self.back.append(f'<line class="pdg-threshold" x1="{xx - half:.1f}" x2="{xx + half:.1f}" y1="{yy:.1f}" y2="{yy:.1f}" '
                         f'stroke="{colour}" stroke-width="2.5"><title>{esc(label)}</title></line>')

    def curve(self, points: list[tuple[float, float | None]], colour: str, label: str, dash: str = "",
              width: float = 2.0, css: str = "pdg-curve") -> None:
        """A polyline per unbroken run of points (a None or non-finite y breaks it)."""
        runs: list[list[tuple[float, float]]] = [[]]
        for x, y in points:
            if y is None or not math.isfinite(y):
                if runs[-1]:
                    runs.append([])
                continue
            runs[-1].append((x, y))
        dashes = f' stroke-dasharray="{dash}"' if dash else ""
        for run in runs:
            if not run:
                continue
            coords = " ".join(f"{self.px(x):.1f},{self.py(y):.1f}" for x, y in run)
            self.body.append(f'<polyline class="{css}" points="{coords}" fill="none" stroke="{colour}" stroke-width="{width}"'
                             f'{dashes} stroke-linejoin="round"><title>{esc(label)}</title></polyline>')

    def marker(self, x: float, y: float, title: str, *, fill: str, stroke: str = "#ffffff", href: str | None = None,
               shape: str = "circle", size: float = 4.5, css: str = "pdg-marker") -> None:
        xx, yy = self.px(x), self.py(y)
        if shape == "diamond":
            s = size * 1.3
            node = (f'<polygon class="{css}" points="{xx:.1f},{yy - s:.1f} {xx + s:.1f},{yy:.1f} {xx:.1f},{yy + s:.1f} '
                    f'{xx - s:.1f},{yy:.1f}" fill="{fill}" stroke="{stroke}" stroke-width="1.5">')
            end = "</polygon>"
        elif shape == "ring":
            node = (f'<circle class="{css}" cx="{xx:.1f}" cy="{yy:.1f}" r="{size:.1f}" fill="#ffffff" stroke="{fill}" '
                    f'stroke-width="2">')
            end = "</circle>"
        else:
            node = (f'<circle class="{css}" cx="{xx:.1f}" cy="{yy:.1f}" r="{size:.1f}" fill="{fill}" stroke="{stroke}" '
                    f'stroke-width="1.5">')
            end = "</circle>"
        shape_svg = f"{node}<title>{esc(title)}</title>{end}"
        self.body.append(f'<a href="{esc(href)}">{shape_svg}</a>' if href else shape_svg)

    def errbar(self, x: float, lo: float, hi: float, colour: str, title: str, horizontal: bool = False,
               cap: float = 5) -> None:
        if horizontal:
            y, a, b = self.py(x), self.px(lo), self.px(hi)
            self.body.append(f'<g class="pdg-errbar" stroke="{colour}" stroke-width="2"><title>{esc(title)}</title>'
                             f'<line x1="{a:.1f}" x2="{b:.1f}" y1="{y:.1f}" y2="{y:.1f}"/>'
                             f'<line x1="{a:.1f}" x2="{a:.1f}" y1="{y - cap:.1f}" y2="{y + cap:.1f}"/>'
                             f'<line x1="{b:.1f}" x2="{b:.1f}" y1="{y - cap:.1f}" y2="{y + cap:.1f}"/></g>')
            return
        xx, a, b = self.px(x), self.py(lo), self.py(hi)
        self.body.append(f'<g class="pdg-errbar" stroke="{colour}" stroke-width="2"><title>{esc(title)}</title>'
                         f'<line x1="{xx:.1f}" x2="{xx:.1f}" y1="{a:.1f}" y2="{b:.1f}"/>'
                         f'<line x1="{xx - cap:.1f}" x2="{xx + cap:.1f}" y1="{a:.1f}" y2="{a:.1f}"/>'
                         f'<line x1="{xx - cap:.1f}" x2="{xx + cap:.1f}" y1="{b:.1f}" y2="{b:.1f}"/></g>')

    def fan(self, start: tuple[float, float], end_x: float, lo: float, hi: float, colour: str, title: str) -> None:
        """The forecast interval as a wedge from the last seen point to [lo, hi] at `end_x`."""
        pts = f"{self.px(start[0]):.1f},{self.py(start[1]):.1f} {self.px(end_x):.1f},{self.py(lo):.1f} {self.px(end_x):.1f},{self.py(hi):.1f}"
        self.body.append(f'<polygon class="pdg-fan" points="{pts}" fill="{colour}" fill-opacity="0.13" stroke="none">'
                         f'<title>{esc(title)}</title></polygon>')

    def hbar(self, y: float, x_from: float, x_to: float, colour: str, title: str, thickness: float = 12,
             href: str | None = None) -> None:
        a, b = sorted((self.px(x_from), self.px(x_to)))
        yy = self.py(y)
        rect = (f'<rect class="pdg-bar" x="{a:.1f}" y="{yy - thickness / 2:.1f}" width="{max(b - a, 1):.1f}" '
                f'height="{thickness}" fill="{colour}"><title>{esc(title)}</title></rect>')
        self.body.append(f'<a href="{esc(href)}">{rect}</a>' if href else rect)

    def legend(self, label: str, colour: str, kind: str = "line", dash: str = "") -> None:
        self.legend_items.append(_legend_swatch(label, colour, kind, dash))

    # Output ----------------------------------------------------------------------------------
    def _axes(self) -> list[str]:
        out = []
        left, right = self.left, self.width - self.right
        top, bottom = self.top, self.height - self.bottom
        if self.y_ticks is not None:
            y_ticks = self.y_ticks
        else:
            values = nice_ticks(self.y0, self.y1, max(3, (bottom - top) // 45))
            y_ticks = [(v, tick_label(v, values)) for v in values]
        for value, label in y_ticks:
            yy = self.py(value)
            out.append(f'<line x1="{left}" x2="{right}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="{GRID}" stroke-width="1"/>')
            out.append(f'<text x="{left - 6}" y="{yy + 4:.1f}" fill="{MUTED}" font-size="11" text-anchor="end">{esc(label)}</text>')
        if self.x_ticks is not None:
            x_ticks = self.x_ticks
        else:
            x_values = nice_ticks(self.x0, self.x1, max(4, (right - left) // 55))
            if self.x_integer:
                x_values = sorted({float(round(v)) for v in x_values if abs(v - round(v)) < 1e-9})
            x_ticks = [(v, tick_label(v, x_values)) for v in x_values]
        for value, label in x_ticks:
            xx = self.px(value)
            out.append(f'<line x1="{xx:.1f}" x2="{xx:.1f}" y1="{bottom}" y2="{bottom + 4}" stroke="{MUTED}" stroke-width="1"/>')
            out.append(f'<text x="{xx:.1f}" y="{bottom + 16}" fill="{MUTED}" font-size="11" text-anchor="middle">'
                       f'{esc(label)}</text>')
        out.append(f'<rect x="{left}" y="{top}" width="{right - left}" height="{bottom - top}" fill="none" stroke="{MUTED}" stroke-width="1"/>')
        out.append(f'<text x="{(left + right) / 2:.1f}" y="{self.height - 10}" fill="{INK}" font-size="12" text-anchor="middle">{esc(self.x_label)}</text>')
        out.append(f'<text transform="translate(14,{(top + bottom) / 2:.1f}) rotate(-90)" fill="{INK}" font-size="12" '
                   f'text-anchor="middle">{esc(self.y_label)}</text>')
        return out

    def render(self) -> str:
        clip = f"{self.id}-clip"
        inner_w = self.width - self.left - self.right
        inner_h = self.height - self.top - self.bottom
        parts = [
            f'<svg class="pdg-plot" id="{esc(self.id)}" role="img" '
            f'viewBox="0 0 {self.width} {self.height}" width="{self.width}" height="{self.height}" '
            f'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif" aria-labelledby="{esc(self.id)}-title">',
            f'<title id="{esc(self.id)}-title">{esc(self.title)}</title>',
            f"<desc>{esc(self.desc)}</desc>" if self.desc else "",
            f'<defs><clipPath id="{esc(clip)}"><rect x="{self.left - 6}" y="{self.top - 6}" width="{inner_w + 12}" '
            f'height="{inner_h + 12}"/></clipPath></defs>',
            '<rect x="0" y="0" width="100%" height="100%" fill="#ffffff"/>',
            *self._axes(),
            *self.back,
            f'<g clip-path="url(#{esc(clip)})">',
            *self.body,
            "</g>",
            *self.front,
            "</svg>",
        ]
        return "".join(p for p in parts if p)

    def legend_html(self) -> str:
        """The legend as HTML under the plot: it wraps on a narrow screen instead of covering the data."""
        if not self.legend_items:
            return ""
        return '<ul class="pdg-legend">' + "".join(self.legend_items) + "</ul>"


def _legend_swatch(label: str, colour: str, kind: str, dash: str) -> str:
    if kind == "band":
        swatch = f'<rect x="1" y="3" width="22" height="10" fill="{colour}" fill-opacity="0.25"/>'
    elif kind == "marker":
        swatch = f'<circle cx="12" cy="8" r="4.5" fill="{colour}" stroke="#ffffff" stroke-width="1.5"/>'
    elif kind == "ring":
        swatch = f'<circle cx="12" cy="8" r="4.5" fill="#ffffff" stroke="{colour}" stroke-width="2"/>'
    elif kind == "diamond":
        swatch = f'<polygon points="12,2 18,8 12,14 6,8" fill="{colour}" stroke="#ffffff" stroke-width="1.5"/>'
    else:
        dashes = f' stroke-dasharray="{dash}"' if dash else ""
        swatch = f'<line x1="1" x2="23" y1="8" y2="8" stroke="{colour}" stroke-width="2.5"{dashes}/>'
    return (f'<li><svg width="24" height="16" viewBox="0 0 24 16" aria-hidden="true">'
            f"{swatch}</svg>{esc(label)}</li>")
