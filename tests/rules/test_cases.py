"""Per-rule cases as data: tests/rules/cases/<rule id>.yaml, run through the public pipeline.

Each case file holds the cases of one rule: a log snippet, the profile, optional `--set`
overrides, an optional baseline log and event files, and the findings the rule must report
(status per fold, optionally a message substring, the value and the direction). One case per
rule module is its docstring's Example (`docstring: true`): the Example paragraph must quote
the case's `example` strings and name its verdict. The format is documented in docs/rules.md.
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

import percediag
from percediag.rules import registry
from percediag.settings import build_settings

CASES_DIR = Path(__file__).resolve().parent / "cases"
STATUSES = ("pass", "warn", "fail", "missing")
# The word a docstring's Example uses for each verdict ("fails: ...", "passes", "warns", "missing").
VERDICT_WORDS = {"pass": r"pass(es)?", "warn": r"warns?", "fail": r"fails?", "missing": r"missing"}
CASE_KEYS = {"name", "profile", "log", "set", "baseline", "events", "docstring", "example", "expect", "xfail", "missing_data"}
EXPECT_KEYS = {"fold", "status", "message", "value", "direction"}
NAME = re.compile(r"^[a-z0-9][a-z0-9_]*$")


class CaseFileError(ValueError):
    """A case file that does not follow the format: the message names the file and the key."""


@dataclass
class Case:
    rule: str
    name: str
    profile: str
    log: str | None
    overrides: list[str] = field(default_factory=list)
    baseline: str | None = None
    events: dict[str, str] = field(default_factory=dict)
    docstring: bool = False
    missing_data: bool = False
    example: list[str] = field(default_factory=list)
    expect: list[dict[str, Any]] = field(default_factory=list)
    xfail: str | None = None


def _fail(where: str, message: str) -> CaseFileError:
    return CaseFileError(f"{where}: {message}")


def _text(where: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(where, "expected a non-empty string")
    return value


def _expectation(where: str, item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise _fail(where, "expected a mapping with at least `status`")
    unknown = sorted(set(item) - EXPECT_KEYS)
    if unknown:
        raise _fail(f"{where}.{unknown[0]}", f"unknown key (allowed: {', '.join(sorted(EXPECT_KEYS))})")
    if item.get("status") not in STATUSES:
        raise _fail(f"{where}.status", f"expected one of {', '.join(STATUSES)}, got {item.get('status')!r}")
    if "fold" in item and item["fold"] is not None and (isinstance(item["fold"], bool) or not isinstance(item["fold"], int)):
        raise _fail(f"{where}.fold", "expected a fold number or null (a run-level finding)")
    if "message" in item:
        _text(f"{where}.message", item["message"])
    return item


def _case(path: Path, rule: str, index: int, data: Any) -> Case:
    where = f"{path.name}: cases[{index}]"
    if not isinstance(data, dict):
        raise _fail(where, "expected a mapping")
    if isinstance(data.get("name"), str) and NAME.match(data["name"]):
        where = f"{path.name}: case {data['name']}"
    unknown = sorted(set(data) - CASE_KEYS)
    if unknown:
        raise _fail(f"{where}.{unknown[0]}", f"unknown key (allowed: {', '.join(sorted(CASE_KEYS))})")
    for key in ("name", "profile", "expect"):
        if key not in data:
            raise _fail(where, f"`{key}` is required")
    name = _text(f"{where}.name", data["name"])
    if not NAME.match(name):
        raise _fail(f"{where}.name", f"{name!r}: use lower-case letters, digits and underscores")
    if "log" not in data and "events" not in data:
        raise _fail(where, "needs a `log`, `events`, or both")
    overrides = data.get("set", [])
    if not isinstance(overrides, list) or not all(isinstance(s, str) and "=" in s for s in overrides):
        raise _fail(f"{where}.set", "expected a list of KEY=VALUE strings (the --set form)")
    events = data.get("events", {})
    if not isinstance(events, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in events.items()):
        raise _fail(f"{where}.events", "expected a mapping of relative file path to file text")
    expect = data["expect"]
    if not isinstance(expect, list):
        raise _fail(f"{where}.expect", "expected a list of findings (an empty list: the rule reports nothing)")
    docstring = data.get("docstring", False)
    if not isinstance(docstring, bool):
        raise _fail(f"{where}.docstring", "expected true or false")
    missing_data = data.get("missing_data", False)
    if not isinstance(missing_data, bool):
        raise _fail(f"{where}.missing_data", "expected true or false")
    if missing_data and any(isinstance(e, dict) and e.get("status") == "pass" for e in expect):
        raise _fail(f"{where}.missing_data", "missing data is a finding, never a pass")
    example = data.get("example", [])
    if not isinstance(example, list) or not all(isinstance(e, str) and e.strip() for e in example):
        raise _fail(f"{where}.example", "expected a list of non-empty strings")
    if docstring and not example:
        raise _fail(f"{where}.example", "a docstring case names the strings its Example quotes")
    if docstring and not expect:
        raise _fail(f"{where}.expect", "a docstring case states a verdict")
    xfail = data.get("xfail")
    if xfail is not None:
        _text(f"{where}.xfail", xfail)
    return Case(
        rule=rule, name=name, profile=_text(f"{where}.profile", data["profile"]),
        log=_text(f"{where}.log", data["log"]) if "log" in data else None, overrides=overrides,
        baseline=_text(f"{where}.baseline", data["baseline"]) if "baseline" in data else None,
        events=events, docstring=docstring, missing_data=missing_data, example=example,
        expect=[_expectation(f"{where}.expect[{i}]", item) for i, item in enumerate(expect)], xfail=xfail)


def load_case_file(path: Path) -> list[Case]:
    """The cases of one file, validated; CaseFileError names the file and the offending key."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise _fail(path.name, f"not valid YAML ({exc})") from exc
    if not isinstance(data, dict) or set(data) != {"rule", "cases"}:
        raise _fail(path.name, "expected exactly the keys `rule` and `cases`")
    rule = data["rule"]
    if rule != path.stem:
        raise _fail(f"{path.name}: rule", f"{rule!r} is not the file's name {path.stem!r} (one file per rule id)")
    if not isinstance(data["cases"], list) or not data["cases"]:
        raise _fail(f"{path.name}: cases", "expected a non-empty list")
    cases = [_case(path, rule, i, item) for i, item in enumerate(data["cases"])]
    names = [c.name for c in cases]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate:
        raise _fail(f"{path.name}: case {duplicate}", "the name is used twice")
    return cases


def _collect() -> list:
    params = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        try:
            cases = load_case_file(path)
        except CaseFileError as exc:
            params.append(pytest.param(None, str(exc), id=f"{path.stem}::malformed"))
            continue
        for case in cases:
            marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
            params.append(pytest.param(case, None, id=f"{case.rule}::{case.name}", marks=marks))
    return params


def _all_cases() -> list[Case]:
    return [case for path in sorted(CASES_DIR.glob("*.yaml")) for case in load_case_file(path)]


def _run(case: Case, tmp_path: Path):
    """The case through percediag.check, as `percediag check` runs it (no discovered configuration)."""
    events = None
    if case.events:
        events = tmp_path / "events"
        for relative, text in case.events.items():
            target = events / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    if case.log is None:
        return percediag.check(events, case.profile, set=case.overrides, baseline=case.baseline, isolated=True)
    return percediag.check(case.log, case.profile, set=case.overrides, baseline=case.baseline, events=events,
                           isolated=True)


def _same(actual: Any, expected: Any) -> bool:
    if isinstance(expected, float) or isinstance(actual, float):
        if not isinstance(actual, (int, float)) or not isinstance(expected, (int, float)):
            return False
        return math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-12) or (math.isnan(actual) and math.isnan(expected))
    return actual == expected


def _describe(findings) -> str:
    return "\n".join(f"  fold={f.fold} status={f.status} value={f.value!r} direction={f.direction}: {f.message}"
                     for f in findings) or "  (none)"


@pytest.mark.parametrize(("case", "error"), _collect())
def test_case(case: Case | None, error: str | None, tmp_path: Path) -> None:
    if error is not None:
        pytest.fail(f"malformed case file: {error}")
    report = _run(case, tmp_path)
    findings = [f for f in report.findings if f.rule == case.rule]
    got = _describe(findings)
    assert len(findings) == len(case.expect), f"{len(findings)} finding(s), expected {len(case.expect)}:\n{got}"
    for number, (finding, expected) in enumerate(zip(findings, case.expect)):
        where = f"finding {number + 1} of:\n{got}"
        if "fold" in expected:
            assert finding.fold == expected["fold"], where
        assert finding.status == expected["status"], where
        if "message" in expected:
            assert expected["message"] in finding.message, where
        if "value" in expected:
            assert _same(finding.value, expected["value"]), where
        if "direction" in expected:
            assert finding.direction == expected["direction"], where


# -- every rule has its cases -------------------------------------------------

def _rule_ids() -> list[str]:
    ids: list[str] = []
    for profile in ("generic", "round5"):
        ids += [i for i in registry.rule_ids(build_settings(profile)) if i not in ids]
    return ids


def test_every_registered_rule_has_a_cases_file_and_no_file_is_stray() -> None:
    files = {path.stem for path in CASES_DIR.glob("*.yaml")}
    ids = set(_rule_ids())
    assert not ids - files, f"rules without tests/rules/cases/<rule id>.yaml: {sorted(ids - files)}"
    assert not files - ids, f"case files naming no registered rule: {sorted(files - ids)}"


@pytest.mark.parametrize("rule", _rule_ids())
def test_every_rule_has_pass_finding_and_missing_cases(rule: str) -> None:
    """A pass, a fail or warn, missing data (a finding, never a pass), and an override where the rule has thresholds."""
    cases = load_case_file(CASES_DIR / f"{rule}.yaml")
    statuses = [{e["status"] for e in case.expect} for case in cases]
    assert any("pass" in s for s in statuses), f"{rule}: no case where it passes"
    assert any(s & {"fail", "warn"} for s in statuses), f"{rule}: no case where it fails or warns"
    missing = [case for case in cases
               if case.missing_data or not case.expect or any(e["status"] == "missing" for e in case.expect)]
    assert missing, (f"{rule}: no case with missing data (a `missing` finding; none where the rule is not "
                     "applicable; or a case marked `missing_data: true` for a rule whose verdict on no data is its own)")
    fields = set(registry.spec_for(rule).options.model_fields) - {"enabled", "severity", "reason", "reasons"}
    if fields:
        keys = [s.partition("=")[0].removeprefix("rules.") for case in cases for s in case.overrides]
        overridden = [k for k in keys if k.startswith(rule + ".") and k.removeprefix(rule + ".").split(".")[0] in fields]
        assert overridden, f"{rule}: no case overriding one of its thresholds ({', '.join(sorted(fields))}) with `set`"


# -- each docstring's Example is one of its cases -----------------------------

def example_section(doc: str) -> str:
    """The Example of a rule docstring: the paragraph starting `Example`, the indented blocks after
    it, and the verdict paragraph that follows them."""
    paragraphs = re.split(r"\n\s*\n", doc)
    start = next((i for i, p in enumerate(paragraphs) if p.startswith("Example")), None)
    if start is None:
        return ""
    section = [paragraphs[start]]
    rest = paragraphs[start + 1:]
    quoted = 0
    while quoted < len(rest) and rest[quoted].startswith("    "):
        section.append(rest[quoted])
        quoted += 1
    if quoted and quoted < len(rest):
        section.append(rest[quoted])
    return "\n\n".join(section)


def _flat(text: str) -> str:
    return " ".join(text.split())


def _docstring_cases() -> dict[str, list[Case]]:
    found: dict[str, list[Case]] = {module.__name__: [] for module in registry.modules()}
    for case in _all_cases():
        if case.docstring:
            found[registry.module_for(case.rule).__name__].append(case)
    return found


@pytest.mark.parametrize("module", [m.__name__ for m in registry.modules()])
def test_docstring_example_is_a_case(module: str, tmp_path: Path) -> None:
    cases = _docstring_cases()[module]
    assert len(cases) == 1, f"{module}: {len(cases)} case(s) marked `docstring: true`, expected exactly one"
    [case] = cases
    source = Path(registry.module_for(case.rule).__file__).read_text(encoding="utf-8")
    section = example_section(ast.get_docstring(ast.parse(source)) or "")
    assert section, f"{module}: the docstring has no Example paragraph"
    report = _run(case, tmp_path)
    said = [f.message for f in report.findings if f.rule == case.rule]
    inputs = [case.log or "", case.baseline or "", *case.events.values(), *said]
    for quote in case.example:
        assert _flat(quote) in _flat(section), f"{module}: the Example does not quote {quote!r} (case {case.name}):\n{section}"
        assert any(_flat(quote) in _flat(text) for text in inputs), \
            f"{module}: {quote!r} is neither in case {case.name}'s input nor in its findings"
    for status in {e["status"] for e in case.expect}:
        assert re.search(rf"\b{VERDICT_WORDS[status]}\b", section), \
            f"{module}: the Example does not state the verdict {status!r} of case {case.name}:\n{section}"


# -- a malformed case file fails with a clear message -------------------------

GOOD = """\
rule: activation.logit_std
cases:
  - name: in_range
    profile: round5
    log: |
      Logits:      mean=0.012, std=0.912
    expect:
      - {fold: 1, status: pass}
"""

MALFORMED = {
    "unknown case key": (GOOD.replace("    profile:", "    proifle: round5\n    profile:"), "case in_range.proifle: unknown key"),
    "status not a status": (GOOD.replace("status: pass", "status: ok"), "expect[0].status: expected one of pass, warn, fail, missing, got 'ok'"),
    "unknown expectation key": (GOOD.replace("status: pass", "status: pass, stauts: fail"), "expect[0].stauts: unknown key"),
    "rule is not the file name": (GOOD.replace("rule: activation.logit_std", "rule: activation.pred_std"), "'activation.pred_std' is not the file's name"),
    "no profile": (GOOD.replace("    profile: round5\n", ""), "case in_range: `profile` is required"),
    "set not KEY=VALUE": (GOOD.replace("    profile: round5\n", "    profile: round5\n    set: [activation.logit_std.min]\n"), "case in_range.set: expected a list of KEY=VALUE"),
    "docstring case without example": (GOOD.replace("    profile: round5\n", "    profile: round5\n    docstring: true\n"), "case in_range.example: a docstring case names"),
    "duplicate name": (GOOD + GOOD.split("cases:\n")[1], "case in_range: the name is used twice"),
    "not YAML": (GOOD.replace("expect:", "expect: ["), "activation.logit_std.yaml: not valid YAML"),
}


@pytest.mark.parametrize("what", list(MALFORMED))
def test_malformed_case_file_fails_with_a_clear_message(what: str, tmp_path: Path) -> None:
    text, message = MALFORMED[what]
    path = tmp_path / "activation.logit_std.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CaseFileError) as raised:
        load_case_file(path)
    assert message in str(raised.value)
    assert str(raised.value).startswith("activation.logit_std.yaml")


def test_the_well_formed_sample_loads(tmp_path: Path) -> None:
    """Each malformed sample above differs from this one, which loads, by the one fault it names."""
    path = tmp_path / "activation.logit_std.yaml"
    path.write_text(GOOD, encoding="utf-8")
    [case] = load_case_file(path)
    assert case.expect == [{"fold": 1, "status": "pass"}]
