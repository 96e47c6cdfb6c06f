"""JUnit XML: a testsuite per category, a testcase per rule and fold.

`fail` findings are failures; `missing` ones are skipped (with the reason);
`warn` findings pass, with the warning in system-out. Each suite's
`<properties>` name the profile and the configuration files that shaped the
report (`percediag.profile`, one `percediag.config_file` each).

Every string is cleaned first (`sanitize.clean_model`): no control
character and nothing else XML 1.0 forbids reaches the document, so it
always parses; ElementTree escapes the rest (`<`, `&`, quotes).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict

from percediag.findings import CATEGORY_ORDER
from percediag.report.model import Report
from percediag.report.sanitize import clean_model


def _case_name(rule: str, fold: int | None) -> str:
    return rule if fold is None else f"{rule}[fold {fold}]"


def render(reports: list[Report]) -> str:
    root = ET.Element("testsuites", name="percediag")
    totals = defaultdict(int)
    for report in map(clean_model, reports):
        by_category = defaultdict(list)
        for finding in report.findings:
            by_category[finding.category].append(finding)
        for category in sorted(by_category, key=CATEGORY_ORDER.index):
            findings = by_category[category]
            failures = sum(f.status == "fail" for f in findings)
            skipped = sum(f.status == "missing" for f in findings)
            suite = ET.SubElement(root, "testsuite", name=f"{report.source}: {category}", tests=str(len(findings)),
                                  failures=str(failures), errors="0", skipped=str(skipped))
            properties = ET.SubElement(suite, "properties")
            ET.SubElement(properties, "property", name="percediag.profile", value=report.profile)
            for path in report.config_files:
                ET.SubElement(properties, "property", name="percediag.config_file", value=path)
            totals["tests"] += len(findings)
            totals["failures"] += failures
            totals["skipped"] += skipped
            for finding in findings:
                # A value read from an event file points at that file; its step is in `lines:` below.
                ref = report.event_refs.get(finding.lines[0]) if finding.lines else None
                case = ET.SubElement(suite, "testcase", classname=f"percediag.{category}",
                                     name=_case_name(finding.rule, finding.fold), file=ref.file if ref else report.source,
                                     line=str(finding.lines[0]) if finding.lines and ref is None else "0")
                cited = ", ".join(report.event_refs[n].file + f":step {report.event_refs[n].step}" if n in report.event_refs
                                  else str(n) for n in finding.lines)
                detail = f"{finding.message}\nexpected: {finding.expected}\nlines: {cited}"
                if finding.status == "fail":
                    failure = ET.SubElement(case, "failure", message=finding.message, type=finding.rule)
                    failure.text = detail
                elif finding.status == "missing":
                    ET.SubElement(case, "skipped", message=finding.message)
                elif finding.status == "warn":
                    ET.SubElement(case, "system-out").text = "WARN: " + detail
    root.set("tests", str(totals["tests"]))
    root.set("failures", str(totals["failures"]))
    root.set("errors", "0")
    root.set("skipped", str(totals["skipped"]))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
