"""`check` of many logs streams: memory does not grow with their number, in every output.

The text report is printed as each report is made; the JSON document keeps
each report as its compressed text (`json_format.Parts`) and is written in
pieces, byte for byte what `render` writes.
"""

from __future__ import annotations

import json

import pytest

from percediag.pipeline import check
from percediag.report.json_format import Parts, render
from tests.helpers import EXAMPLES, REAL
from tests.test_hostile import assert_clean, child_rss

LOGS = sorted(EXAMPLES.glob("*.log")) + sorted(REAL.glob("*.log"))


@pytest.mark.parametrize("count", [1, 2, len(LOGS)])
def test_the_json_pieces_are_the_rendered_document(count):
    reports = [check(path) for path in LOGS[:count]]
    parts = Parts()
    for report in reports:
        parts.add(report)
    assert "".join(parts.chunks()) == render(reports)
    assert "".join(parts.chunks()) == render(reports)  # the pieces can be written more than once


def copies(folder, count: int) -> list[str]:
    paths = []
    for index in range(count):
        source = LOGS[index % len(LOGS)]
        path = folder / f"{index:03d}-{source.name}"
        path.write_bytes(source.read_bytes())
        paths.append(str(path))
    return paths


@pytest.mark.parametrize("output", [["-q"], ["-f", "json", "-o", "{folder}/report.json"]], ids=["text", "json"])
def test_memory_does_not_grow_with_the_number_of_logs(tmp_path, output):
    paths = copies(tmp_path, 160)
    args = [arg.format(folder=tmp_path) for arg in output]
    code, err, _, few = child_rss(["check", *paths[:len(LOGS)], *args])
    assert_clean(code, err)
    code, err, _, many = child_rss(["check", *paths, *args])
    assert_clean(code, err)
    # Each report held as a model took about 1 MB: 160 logs would add over 100 MB.
    assert many - few < 20, (few, many)
    if "json" in args:
        document = json.loads((tmp_path / "report.json").read_text())
        assert len(document["reports"]) == 160
        assert [report["source"] for report in document["reports"]] == paths
