"""JSON: one Report object, or a ReportSet for several (see `percediag schema`).

schema_version is bumped when a key is removed or renamed, or a value
changes type or meaning; adding keys does not bump it.

JSON would escape control characters, but a consumer that prints a string
to a terminal would then send them on: every string is cleaned first
(`sanitize.clean_model`), and non-finite numbers are `null`.
"""

from __future__ import annotations

from percediag.findings import worst
from percediag.report.model import Report, ReportSet
from percediag.report.sanitize import clean_model


def render(reports: list[Report]) -> str:
    reports = [clean_model(report) for report in reports]
    if len(reports) == 1:
        return reports[0].model_dump_json(indent=2) + "\n"
    return ReportSet(status=worst([r.status for r in reports]), reports=reports).model_dump_json(indent=2) + "\n"


def schema() -> dict:
    from pydantic import TypeAdapter

    document = TypeAdapter(Report | ReportSet).json_schema()
    document["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    document["title"] = "percediag check --format json"
    return document
