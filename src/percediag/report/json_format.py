"""JSON: one Report object, or a ReportSet for several (see `percediag schema`).

schema_version is bumped when a key is removed or renamed, or a value
changes type or meaning; adding keys does not bump it.

JSON would escape control characters, but a consumer that prints a string
to a terminal would then send them on: every string is cleaned first
(`sanitize.clean_model`), and non-finite numbers are `null`.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator

from percediag.findings import worst
from percediag.report.model import SCHEMA_VERSION, Report, ReportSet
from percediag.report.sanitize import clean_model


def render(reports: list[Report]) -> str:
    reports = [clean_model(report) for report in reports]
    if len(reports) == 1:
        return reports[0].model_dump_json(indent=2) + "\n"
    return ReportSet(status=worst([r.status for r in reports]), reports=reports).model_dump_json(indent=2) + "\n"


class Parts:
    """The JSON document of reports added one by one, as `render` writes it, in pieces.

    Each report is kept as its compressed JSON text, not as a model, so a
    check of many logs does not grow with their number (300 logs: about
    350 MB of held reports before). `chunks()` gives the document, byte for
    byte what `render` gives for the same reports.
    """

    def __init__(self) -> None:
        self._texts: list[bytes] = []
        self._statuses: list[str] = []

    def add(self, report: Report) -> None:
        self._texts.append(zlib.compress(clean_model(report).model_dump_json(indent=2).encode(), 1))
        self._statuses.append(report.status)

    def chunks(self) -> Iterator[str]:
        if len(self._texts) == 1:
            yield zlib.decompress(self._texts[0]).decode() + "\n"
            return
        # A ReportSet's JSON: its fields in order, each report nested two levels (4 spaces) deeper.
        yield (f'{{\n  "schema_version": {SCHEMA_VERSION},\n  "status": {json.dumps(worst(self._statuses))},\n'
               f'  "reports": [\n')
        for index, compressed in enumerate(self._texts):
            text = zlib.decompress(compressed).decode()
            yield ("" if index == 0 else ",\n") + "    " + text.replace("\n", "\n    ")
        yield "\n  ]\n}\n"


def schema() -> dict:
    from pydantic import TypeAdapter

    document = TypeAdapter(Report | ReportSet).json_schema()
    document["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    document["title"] = "percediag check --format json"
    return document
