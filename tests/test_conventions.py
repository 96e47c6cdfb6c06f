"""CLI conventions (issue 15, points 3, 4 and 6): --version, choices in --help, JSON listings, config as
YAML, -q one line per log, blank input refused, compressed input known by its bytes, NO_COLOR, the
GitHub and SARIF formats in CI, and the README's first commands."""

import bz2
import gzip
import json
import lzma
import re

import pytest
import yaml

from tests.helpers import EXAMPLES, REAL, ROOT, run_cli

LOG = REAL / "round5.log"


def test_version():
    from percediag import __version__

    code, out, err = run_cli(["--version"])
    assert (code, out, err) == (0, f"percediag {__version__}\n", "")


def test_help_names_the_profile_choices():
    from percediag.settings import profile_names

    code, out, _ = run_cli(["check", "--help"])
    assert code == 0 and "[" + "|".join(profile_names()) + "]" in " ".join(out.split())
    # a bad profile still gets its hint
    code, _, err = run_cli(["check", "-p", "round55", str(LOG)])
    assert code == 2 and "did you mean 'round5'" in err


@pytest.mark.parametrize("width", ["40", "80", "200"])
def test_listings_piped_are_whole_lines_at_any_width(monkeypatch, width):
    monkeypatch.setenv("COLUMNS", width)
    rules = json.loads(run_cli(["rules", "-f", "json"])[1])
    assert rules["profile"] == "round5" and len(rules["rules"]) > 20
    out = run_cli(["rules"])[1]
    lines = out.splitlines()
    for rule in rules["rules"]:
        row = next(line for line in lines if line.startswith(rule["rule"] + " "))
        assert " ".join(rule["reason"].split()) in row and rule["thresholds"] in row
        # Padding stops at 60 characters a column: one long value does not lengthen every row.
        cells = [rule["rule"], "yes" if rule["enabled"] else "no", rule["severity"], rule["thresholds"]]
        assert len(row) <= sum(max(len(cell), 60) + 2 for cell in cells) + len(" ".join(rule["reason"].split()))
    assert min(len(line) for line in lines[2:]) < 300 < max(len(line) for line in lines)
    fixes = json.loads(run_cli(["fixes", "-f", "json"])[1])
    out = run_cli(["fixes"])[1]
    for fix in fixes:
        row = next(line for line in out.splitlines() if line.startswith(fix["fix"] + " "))
        assert fix["change"] in row and f"{fix['prior']:g}" in row.split()
    profiles = json.loads(run_cli(["profiles", "-f", "json"])[1])
    out = run_cli(["profiles"])[1]
    assert {"generic", "round5"} <= {p["profile"] for p in profiles}
    for profile in profiles:
        row = next(line for line in out.splitlines() if line.startswith(profile["profile"] + " "))
        assert profile["title"] in row


def test_config_text_is_yaml_with_origins_and_matches_json():
    args = ["config", "-p", "round6", "--set", "activation.logit_std.min=0.4"]
    code, out, _ = run_cli(args)
    assert code == 0 and out.startswith("# profile: round6\n# config file: ")
    loaded = yaml.safe_load(out)
    document = json.loads(run_cli([*args, "-f", "json"])[1])
    assert document["profile"] == "round6"
    assert loaded == {key: entry["value"] for key, entry in document["values"].items()}
    assert loaded["rules.activation.logit_std.min"] == 0.4
    line = next(line for line in out.splitlines() if line.startswith("rules.activation.logit_std.min:"))
    assert line.endswith("# --set activation.logit_std.min")


def test_quiet_is_one_unwrapped_line_per_run(tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")
    path = tmp_path / "a-rather-long-file-name-for-a-forty-column-terminal.log"
    path.write_text((REAL / "round4.log").read_text() + LOG.read_text())
    code, out, _ = run_cli(["check", str(path), "-q", "--run", "all"])
    lines = out.splitlines()
    assert code == 1 and len(lines) == 2
    assert " run 1/2: " in lines[0] and " run 2/2: " in lines[1] and str(path) in lines[1]
    code, out, _ = run_cli(["check", str(LOG), str(EXAMPLES / "healthy-sota.log"), "-q"])
    assert len(out.splitlines()) == 2 and "run " not in out


@pytest.mark.parametrize(("name", "compress"), [("run.txt", gzip.compress), ("run.log", bz2.compress),
                                                ("run.gz", lzma.compress), ("run.bz2", lambda data: data)])
def test_compressed_input_known_by_its_first_bytes(tmp_path, name, compress):
    expected = json.loads(run_cli(["check", str(LOG), "-f", "json"])[1])["counts"]
    path = tmp_path / name
    path.write_bytes(compress(LOG.read_bytes()))
    code, out, err = run_cli(["check", str(path), "-f", "json"])
    assert code == 1 and err == "" and json.loads(out)["counts"] == expected
    code, out, err = run_cli(["check", "-f", "json"], stdin=path.read_bytes())
    assert code == 1 and err == "" and json.loads(out)["counts"] == expected


def test_damaged_compressed_input_is_one_line(tmp_path):
    for magic in (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00"):
        path = tmp_path / "run.log"
        path.write_bytes(magic + b"not really compressed" * 10)
        code, _, err = run_cli(["check", str(path)])
        assert code == 2 and err.startswith("percediag: error:") and err.count("\n") == 1


@pytest.mark.parametrize(("value", "plain"), [("", False), ("1", True), ("0", True)])
def test_no_color_only_when_non_empty(monkeypatch, value, plain):
    from percediag.cli.choices import Color
    from percediag.cli.streams import open_console

    monkeypatch.setenv("NO_COLOR", value)
    assert open_console(Color.auto).no_color is plain
    assert open_console(Color.always).no_color is False  # --color always wins


def github_lines(monkeypatch, tmp_path, *logs):
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code, out, err = run_cli(["check", *map(str, logs), "-f", "github"])
    assert code == 1 and err == ""
    return out.splitlines(), summary.read_text()


def test_github_one_annotation_per_rule_most_important_first(monkeypatch, tmp_path):
    from percediag.findings import CATEGORY_ORDER

    report = json.loads(run_cli(["check", str(LOG), "-f", "json"])[1])
    lines, summary = github_lines(monkeypatch, tmp_path, LOG)
    annotations = [re.match(r"::(error|warning) .*title=([^,:]+)::", line) for line in lines]
    annotations = [(m.group(1), m.group(2)) for m in annotations if m]
    titles = [title for _, title in annotations]
    assert len(titles) == len(set(titles))
    kinds = [kind for kind, _ in annotations]
    assert kinds == sorted(kinds, key=lambda k: k != "error") and kinds.count("error") <= 10
    category = {f["rule"]: f["category"] for f in report["findings"]}
    errors = [CATEGORY_ORDER.index(category[t]) for k, t in annotations if k == "error"]
    assert errors == sorted(errors)
    assert set(titles) <= {f["rule"] for f in report["findings"] if f["status"] in ("fail", "warn")}
    # The job summary: appended, the Markdown report.
    assert summary.startswith("earlier step\n### percediag: **FAIL**")


def test_github_never_more_than_ten_errors_per_log(monkeypatch, tmp_path):
    logs = [REAL / "round5.log", EXAMPLES / "nan-gradients.log"]
    lines, summary = github_lines(monkeypatch, tmp_path, *logs)
    groups = "\n".join(lines).split("::group::")[1:]
    assert len(groups) == 2 and summary.count("### percediag:") == 2
    for group, log in zip(groups, logs):
        failing = {f["rule"] for f in json.loads(run_cli(["check", str(log), "-f", "json"])[1])["findings"] if f["status"] == "fail"}
        errors = group.count("\n::error ")
        assert errors == min(10, len(failing))
        if len(failing) > 10:
            assert f"{len(failing) - 10} more failing rule(s) not annotated" in group


def test_sarif_relative_locations_and_levels(monkeypatch):
    monkeypatch.chdir(ROOT)
    sarif = json.loads(run_cli(["check", str(LOG), "-f", "sarif"])[1])
    [run] = sarif["runs"]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == ROOT.as_uri() + "/"
    for result in run["results"]:
        artifact = result["locations"][0]["physicalLocation"]["artifactLocation"]
        assert artifact == {"uri": "tests/fixtures/real-logs/round5.log", "uriBaseId": "%SRCROOT%"}
    assert {r["level"] for r in run["results"]} == {"error", "warning", "note"}
    levels = {r["id"]: r["defaultConfiguration"]["level"] for r in run["tool"]["driver"]["rules"]}
    assert set(levels.values()) <= {"error", "warning"} and "warning" in levels.values()


def readme_setup() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    return re.search(r"```sh\n(.*?)```", readme, re.S).group(1).strip().splitlines()


def test_readme_first_commands_need_only_python3_and_ci_runs_the_second():
    first, second = readme_setup()
    for command in (first, second):
        # No bare `python` (stock Debian has only python3), no pip into the system Python (PEP 668).
        assert not re.search(r"(^|\s)python\s", command) and command.startswith("python3 -m venv ")
        assert "pip install" not in command.split("&&")[0]
    assert first.endswith("percediag check examples/logs/round5-plateau.log --fail-on never")
    assert second.endswith("uv run pytest -q")
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert second in ci
    assert ".uv-env/" in (ROOT / ".gitignore").read_text().splitlines()


def test_readme_precommit_pins_a_tag():
    formats = (ROOT / "docs" / "formats.md").read_text()
    block = re.search(r"```yaml\nrepos:\n(.*?)```", formats, re.S).group(1)
    rev = re.search(r"rev: (\S+)", block).group(1)
    assert re.fullmatch(r"v\d+\.\d+\.\d+", rev)
