"""Every output format, parsed back the way the system that reads it would."""

import json
import re
import xml.etree.ElementTree as ET

import pytest

from tests.helpers import EXAMPLES, REAL, run_cli

LOG = str(REAL / "round5-interrupted.log")


def findings_of(log=LOG, profile="round5"):
    return json.loads(run_cli(["check", log, "-f", "json", "-p", profile])[1])["findings"]


def test_json_validates_against_percediag_schema():
    import jsonschema

    schema = json.loads(run_cli(["schema"])[1])
    jsonschema.Draft202012Validator.check_schema(schema)
    for args in (["check", LOG, "-f", "json"], ["check", str(EXAMPLES / "nan-gradients.log"), "-f", "json"],
                 ["check", LOG, str(REAL / "round6.log"), "-f", "json"]):
        jsonschema.validate(json.loads(run_cli(args)[1]), schema)


def test_junit_structure():
    code, out, _ = run_cli(["check", LOG, "-f", "junit"])
    root = ET.fromstring(out)
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name").split(": ")[-1] for s in suites] == ["architecture", "activation", "gradient", "progression",
                                                               "baseline", "run", "log"]
    findings = findings_of()
    cases = root.iter("testcase")
    assert sum(1 for _ in cases) == len(findings) == int(root.get("tests"))
    failures = [c for c in root.iter("testcase") if c.find("failure") is not None]
    assert len(failures) == sum(f["status"] == "fail" for f in findings) == int(root.get("failures"))
    assert len([c for c in root.iter("testcase") if c.find("skipped") is not None]) == int(root.get("skipped"))
    names = {c.get("name") for c in root.iter("testcase")}
    assert "activation.logit_std[fold 1]" in names and "run.crash" in names
    for suite in suites:
        assert int(suite.get("tests")) == len(suite.findall("testcase"))


def test_sarif_structure():
    code, out, _ = run_cli(["check", LOG, "-f", "sarif"])
    sarif = json.loads(out)
    assert sarif["version"] == "2.1.0" and sarif["$schema"].endswith("sarif-2.1.0.json")
    [run] = sarif["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "percediag" and driver["rules"]
    rule_ids = [r["id"] for r in driver["rules"]]
    assert len(rule_ids) == len(set(rule_ids))
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
    expected = [f for f in findings_of() if f["status"] in ("warn", "fail", "missing")]
    assert len(run["results"]) == len(expected)
    levels = {"fail": "error", "warn": "warning", "missing": "note"}
    assert [r["level"] for r in run["results"]] == [levels[f["status"]] for f in expected]
    for result in run["results"]:
        assert result["message"]["text"]
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"].endswith("round5-interrupted.log")
        if result["level"] != "note":
            assert location["region"]["startLine"] >= 1


def test_github_annotations_syntax_and_lines():
    code, out, _ = run_cli(["check", LOG, "-f", "github"])
    lines = out.strip().splitlines()
    assert lines[0].startswith("::group::percediag FAIL") and lines[-1] == "::endgroup::"
    pattern = re.compile(r"^::(error|warning|notice) (?:file=([^,:]+),)?(?:line=(\d+),)?title=([^,:]+)::(.+)$")
    log_lines = (REAL / "round5-interrupted.log").read_text().splitlines()
    annotations = [pattern.match(line) for line in lines[1:-1]]
    assert all(annotations), [line for line, m in zip(lines[1:-1], annotations) if not m]
    errors = [m for m in annotations if m.group(1) == "error"]
    failing_rules = {f["rule"] for f in findings_of() if f["status"] == "fail"}
    # One annotation per rule, at most ten errors per log.
    assert len(errors) == min(10, len(failing_rules)) and len({m.group(4) for m in errors}) == len(errors)
    logit = next(m for m in errors if m.group(4) == "activation.logit_std")
    assert "Logits:" in log_lines[int(logit.group(3)) - 1] and "std=0.220" in log_lines[int(logit.group(3)) - 1]
    warnings = [m for m in annotations if m.group(1) == "warning"]
    assert any(m.group(4) == "run.complete" for m in warnings)


def test_github_escaping():
    from percediag.report.github import annotation

    line = annotation("error", "50% done\nnext", file="a,b:c.log", line=3, title="x:y")
    assert line == "::error file=a%2Cb%3Ac.log,line=3,title=x%3Ay::50%25 done%0Anext"


def test_markdown_comment():
    code, out, _ = run_cli(["check", LOG, "-f", "markdown"])
    assert out.startswith("### percediag: **FAIL**")
    assert "| status | rule | fold | value | expected | message | lines |" in out
    assert "#### Next fixes" in out and "1. **`compare-original`**" in out and "**Stop patching:**" in out
    assert "- `pytorch-default-init`: applied in Round 5 (profile round5)" in out


def test_auto_format_in_github_actions(monkeypatch):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert run_cli(["check", LOG])[1].startswith("::group::")
    monkeypatch.setenv("GITHUB_ACTIONS", "false")
    assert run_cli(["check", LOG])[1].startswith("percediag")


def test_several_formats_and_outputs(tmp_path):
    json_path, junit_path = tmp_path / "r.json", tmp_path / "r.xml"
    code, out, err = run_cli(["check", LOG, "-f", "json", "-o", str(json_path), "-f", "junit", "-o", str(junit_path), "-f", "text"])
    assert code == 1 and out.startswith("percediag") and err == ""
    assert json.loads(json_path.read_text())["status"] == "fail"
    assert ET.parse(junit_path).getroot().tag == "testsuites"


def test_output_plan_errors():
    code, _, err = run_cli(["check", LOG, "-f", "json", "-f", "junit"])
    assert code == 2 and "only one --format can go to stdout" in err
    code, _, err = run_cli(["check", LOG, "-o", "a", "-o", "b"])
    assert code == 2 and "--output" in err


def test_color_contract(monkeypatch):
    assert "\x1b[" not in run_cli(["check", LOG])[1]
    assert "\x1b[" in run_cli(["check", LOG, "--color", "always"])[1]
    monkeypatch.delenv("NO_COLOR")
    assert "\x1b[" not in run_cli(["check", LOG, "--color", "never"])[1]


@pytest.mark.parametrize("fmt", ["json", "junit", "sarif", "github", "markdown"])
def test_machine_formats_write_only_the_format_to_stdout(fmt):
    code, out, err = run_cli(["check", LOG, "-f", fmt])
    assert err == ""
    if fmt in ("json", "sarif"):
        json.loads(out)
    if fmt == "junit":
        ET.fromstring(out)


def test_every_format_names_the_configuration_files(tmp_path):
    """Issue 14 point 2: the configuration that shaped a report is named in every format; none, no line."""
    config = tmp_path / "team config.yaml"
    config.write_text("profile: round5\n")
    named = str(config)
    code, out, _ = run_cli(["check", LOG, "-c", named])
    head = out.splitlines()[:5]
    reason = next(i for i, line in enumerate(head) if line.startswith("profile "))
    assert head[reason + 1] == f"configuration: {named}"
    report = json.loads(run_cli(["check", LOG, "-c", named, "-f", "json"])[1])
    assert report["config_files"] == [named]
    sarif = json.loads(run_cli(["check", LOG, "-c", named, "-f", "sarif"])[1])
    assert sarif["runs"][0]["properties"]["configFiles"] == [named]
    root = ET.fromstring(run_cli(["check", LOG, "-c", named, "-f", "junit"])[1])
    for suite in root.iter("testsuite"):
        values = {p.get("name"): p.get("value") for p in suite.find("properties")}
        assert values == {"percediag.profile": "round5", "percediag.config_file": named}
    markdown = run_cli(["check", LOG, "-c", named, "-f", "markdown"])[1]
    assert f"Configuration: `{named}`." in markdown.split("| # |")[0]
    github = run_cli(["check", LOG, "-c", named, "-f", "github"])[1].splitlines()
    assert github[1].startswith("::notice title=percediag configuration::configuration: ") and named in github[1]
    # Only the bundled profile (no configuration discovered here): the text report says nothing more.
    if not json.loads(run_cli(["check", LOG, "-f", "json"])[1])["config_files"]:
        assert "configuration:" not in run_cli(["check", LOG])[1]
