"""Per-dimension view: which of the 19 perceptual dimensions are failing.

From the fold summaries (top/bottom five, collapsed counts) and the
per-dimension R2 table: dimensions with negative R2, collapsed dimensions
per fold, and dimensions among the bottom five of every finished fold.
Without the cross-fold table, Round 13's post-training analysis (one
fold's per-dimension R2) takes its place.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from percediag.model import Run


class NegativeDimension(BaseModel):
    name: str
    mean_r2: float | None = Field(default=None, description="from the per-dimension table")
    folds: list[int] = Field(default_factory=list, description="folds whose summary lists it with R2 < 0")
    lines: list[int] = Field(default_factory=list)


class DimensionView(BaseModel):
    negative: list[NegativeDimension] = Field(default_factory=list)
    collapsed: dict[str, int] = Field(default_factory=dict, description="fold -> collapsed dimensions (summary)")
    total_dims: int | None = None
    worst_everywhere: list[str] = Field(default_factory=list, description="in the bottom five of every finished fold")
    available: bool = False


def dimension_view(run: Run) -> DimensionView:
    view = DimensionView()
    negatives: dict[str, NegativeDimension] = {}
    summaries = [f.summary for f in run.folds if f.summary is not None]
    for summary in summaries:
        view.available = True
        if summary.collapsed_dims is not None:
            view.collapsed[str(summary.fold)] = summary.collapsed_dims
            view.total_dims = summary.total_dims
        for dim in summary.top_dims + summary.bottom_dims:
            if dim.r2 < 0:
                entry = negatives.setdefault(dim.name, NegativeDimension(name=dim.name))
                entry.folds.append(summary.fold)
                entry.lines.append(dim.line)
    rows = run.dimensions.rows if run.dimensions is not None else []
    if not rows and run.post_analysis is not None:
        rows = run.post_analysis.dims
    if run.dimensions is not None or rows:
        view.available = True
        for row in rows:
            if row.mean_r2 < 0:
                entry = negatives.setdefault(row.name, NegativeDimension(name=row.name))
                entry.mean_r2 = row.mean_r2
                entry.lines.append(row.line)
            elif row.name in negatives:
                negatives[row.name].mean_r2 = row.mean_r2
    view.negative = sorted(negatives.values(), key=lambda d: (d.mean_r2 if d.mean_r2 is not None else 0, -len(d.folds)))
    bottoms = [{d.name for d in s.bottom_dims} for s in summaries if s.bottom_dims]
    if len(bottoms) >= 2:
        view.worst_everywhere = sorted(set.intersection(*bottoms))
    return view
