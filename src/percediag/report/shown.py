"""The Report that shows itself: the HTML view in a notebook cell (`_repr_html_`) and the text
report for `str(report)`.

The data model (`report.model.Report`) cannot call the renderers, which import it; this subclass
sits above both and adds only the two hooks, no field. The pipeline builds it, so the reports
of `percediag.check` and of the CLI are the same objects and serialise the same.
"""

from __future__ import annotations

from percediag.report.model import Report


class ShownReport(Report):
    def _repr_html_(self) -> str:
        """Jupyter: the HTML report's plots and tables, its CSS scoped to the output (`.pdg`)."""
        from percediag.report.html import fragment  # only when shown: the HTML renderer is large

        return fragment(self)

    def __str__(self) -> str:
        from percediag.report.text import render_plain  # only when shown: rich is slow to import

        return render_plain(self)
