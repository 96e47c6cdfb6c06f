"""SARIF 2.1.0: the rule table as the driver's `rules`, each warn/fail finding as a `result`.

Results point at the log (`artifactLocation.uri`, relative to the working
folder with `uriBaseId` `%SRCROOT%` when the log lies under it, else an
absolute `file:` URI) and the evidence line (`region.startLine`); a
notebook's cell and line are added to the message. Levels follow status:
fail -> error, warn -> warning, missing -> note; each rule's
`defaultConfiguration.level` is its severity in the configuration that
judged the run (profile, configuration file, `--set`): the rules and their
severities are the report's rule catalogue (`Report.rules`), not rebuilt here.
The run's `properties` hold the profile, the status and `configFiles`, the
configuration files that shaped the report. Every string is cleaned of
controls first (`sanitize`); the rule documentation keeps its line breaks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from percediag.report.model import Report
from percediag.report.sanitize import clean, clean_model
from percediag.version import __version__

if TYPE_CHECKING:
    from percediag.rules.registry import Entry

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"fail": "error", "warn": "warning", "missing": "note"}
SRCROOT = "%SRCROOT%"


def _rule_descriptor(entry: Entry) -> dict:
    doc = entry.rule.doc
    first = clean(doc.split("\n\n")[0])
    return {
        "id": entry.id,
        "name": entry.id.replace(".", "_"),
        "shortDescription": {"text": first},
        "fullDescription": {"text": clean(doc, multiline=True)},
        "help": {"text": f"percediag explain {entry.id}"},
        "defaultConfiguration": {"level": LEVELS[entry.severity]},
    }


def _artifact(source: str) -> dict:
    """The log's artifactLocation: relative to the working folder (`%SRCROOT%`) when it lies under it."""
    if source.startswith("<"):
        return {"uri": "stdin"}
    path = Path(source)
    if path.is_absolute():
        try:
            path = path.relative_to(Path.cwd())
        except (ValueError, OSError):  # outside the working folder (or no working folder)
            return {"uri": path.as_uri()}
    # A relative reference percent-encoded like the absolute one (a space, `<`, `:` in a name).
    return {"uri": quote(path.as_posix(), safe="/"), "uriBaseId": SRCROOT}


def _srcroot() -> dict:
    try:
        return {SRCROOT: {"uri": Path.cwd().as_uri() + "/"}}
    except OSError:
        return {}


def render(reports: list[Report]) -> str:
    runs = []
    for report in reports:
        # Every id a finding can carry is in the catalogue: the engine refuses any other.
        entries = report.rules.entries
        report = clean_model(report)
        index = {entry.id: i for i, entry in enumerate(entries)}
        results = []
        for finding in report.findings:
            if finding.status not in LEVELS:
                continue
            text = finding.message if finding.fold is None else f"fold {finding.fold}: {finding.message}"
            if finding.lines and finding.lines[0] in report.locations:
                text += f" ({report.locations[finding.lines[0]]})"
            # A value read from an event file points at that file (its step is in the message), not at a line.
            ref = report.event_refs.get(finding.lines[0]) if finding.lines else None
            location = {"physicalLocation": {"artifactLocation": _artifact(ref.file if ref is not None else report.source)}}
            if finding.lines and ref is None:
                location["physicalLocation"]["region"] = {"startLine": finding.lines[0]}
            results.append({
                "ruleId": finding.rule,
                "ruleIndex": index[finding.rule],
                "level": LEVELS[finding.status],
                "message": {"text": text},
                "locations": [location],
                "properties": {"fold": finding.fold, "expected": finding.expected},
            })
        runs.append({
            "tool": {"driver": {"name": "percediag", "version": __version__, "semanticVersion": __version__,
                                "rules": [_rule_descriptor(entry) for entry in entries]}},
            "originalUriBaseIds": _srcroot(),
            "results": results,
            "properties": {"profile": report.profile, "status": report.status, "configFiles": report.config_files},
        })
    return json.dumps({"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": runs}, indent=2) + "\n"
