"""Report: the pydantic Report and one renderer per output format.

Each format module has `render(reports: list[Report]) -> str`; FORMATS maps
format names to the module that renders them, imported only when used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

FORMATS = {
    "text": "percediag.report.text",
    "json": "percediag.report.json_format",
    "markdown": "percediag.report.markdown",
    "github": "percediag.report.github",
    "junit": "percediag.report.junit",
    "sarif": "percediag.report.sarif",
    "html": "percediag.report.html",
}
MACHINE_FORMATS = {"json", "github", "junit", "sarif"}


def renderer(name: str) -> Callable:
    return importlib.import_module(FORMATS[name]).render
