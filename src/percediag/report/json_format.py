"""JSON: one Report object, or a ReportSet for several (see `percediag schema`).

schema_version is bumped when a key is removed or renamed, or a value
changes type or meaning; adding keys does not bump it.
"""

from __future__ import annotations

from percediag.findings import worst
from percediag.report.model import Report, ReportSet


def render(reports: list[Report]) -> str:
    if len(reports) == 1:
        return reports[0].model_dump_json(indent=2) + "\n"
    return ReportSet(status=worst([r.status for r in reports]), reports=reports).model_dump_json(indent=2) + "\n"


def schema() -> dict:
    from pydantic import TypeAdapter

    document = TypeAdapter(Report | ReportSet).json_schema()
    document["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    document["title"] = "percediag check --format json"
    return document
