"""SARIF 2.1.0: the rule table as the driver's `rules`, each warn/fail finding as a `result`.

Results point at the log (`artifactLocation.uri`) and the evidence line
(`region.startLine`); a notebook's cell and line are added to the message.
The run's `properties` hold the profile, the status and `configFiles`, the
configuration files that shaped the report. Every string is cleaned of
controls first (`sanitize`); the rule documentation keeps its line breaks.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

from percediag import __version__
from percediag.report.model import Report
from percediag.report.sanitize import clean, clean_model

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"fail": "error", "warn": "warning"}


def _rule_descriptor(rule_id: str) -> dict:
    from percediag.rules import registry

    module = registry.module_for(rule_id)
    doc = (module.__doc__ or rule_id).strip() if module else rule_id
    first = clean(doc.split("\n\n")[0])
    return {
        "id": rule_id,
        "name": rule_id.replace(".", "_"),
        "shortDescription": {"text": first},
        "fullDescription": {"text": clean(doc, multiline=True)},
        "help": {"text": f"percediag explain {rule_id}"},
        "defaultConfiguration": {"level": "error"},
    }


def _uri(source: str) -> str:
    if source.startswith("<"):
        return "stdin"
    path = Path(source)
    # A relative reference percent-encoded like the absolute one (a space, `<`, `:` in a name).
    return quote(path.as_posix(), safe="/") if not path.is_absolute() else path.as_uri()


def render(reports: list[Report]) -> str:
    from percediag.rules import registry
    from percediag.settings import build_settings

    runs = []
    for report in map(clean_model, reports):
        rule_ids = registry.rule_ids(build_settings(report.profile))
        rule_ids += [f.rule for f in report.findings if f.rule not in rule_ids]
        index = {rule: i for i, rule in enumerate(rule_ids)}
        results = []
        for finding in report.findings:
            if finding.status not in LEVELS:
                continue
            text = finding.message if finding.fold is None else f"fold {finding.fold}: {finding.message}"
            if finding.lines and finding.lines[0] in report.locations:
                text += f" ({report.locations[finding.lines[0]]})"
            location = {"physicalLocation": {"artifactLocation": {"uri": _uri(report.source)}}}
            if finding.lines:
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
                                "rules": [_rule_descriptor(rule) for rule in rule_ids]}},
            "results": results,
            "properties": {"profile": report.profile, "status": report.status, "configFiles": report.config_files},
        })
    return json.dumps({"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": runs}, indent=2) + "\n"
