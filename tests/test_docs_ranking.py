"""docs/ranking.md, docs/diagnosis.md and the README's "How the advice is ranked" show real output: keep them true."""

import re

import yaml

from percediag.pipeline import check
from percediag.settings import build_settings
from tests.helpers import REAL, ROOT, run_cli

DOC = (ROOT / "docs" / "ranking.md").read_text()
README = (ROOT / "README.md").read_text()
GUIDE = (ROOT / "docs" / "diagnosis.md").read_text()


def squash(text: str) -> str:
    return " ".join(text.split())


def test_the_escalation_sentence_quoted_is_the_one_printed():
    report = check(REAL / "round5.log")
    sentence = f"Stop patching: {report.escalation.reason}."
    assert sentence in squash(DOC)
    assert sentence in squash(GUIDE)
    code, out, _ = run_cli(["check", str(REAL / "round5.log")])
    assert sentence in squash(out)


def test_the_readme_short_report_is_the_real_output():
    code, out, _ = run_cli(["check", str(REAL / "round5.log"), "--isolated"])
    printed = squash(out.replace(str(REAL / "round5.log"), "round5.log"))
    lines = []
    for text in (README, (ROOT / "docs" / "report.md").read_text()):
        block = re.search(r"\$ percediag check round5.log\n(.*?)```", text, re.S).group(1)
        lines += [line for line in block.splitlines() if line.strip() and line.strip() != "..."]
    assert len(lines) >= 30
    for line in lines:
        # "..." stands for text left out: every piece around it is printed as shown.
        for piece in line.split("..."):
            piece = squash(piece).strip(" ;()")
            assert piece in printed, piece


def test_the_guide_example_lines_are_in_the_real_output():
    code, out, _ = run_cli(["check", str(REAL / "round5.log"), "--verbose"])
    block = re.search(r"\$ percediag check round5.log --verbose\n(.*?)```", GUIDE, re.S).group(1)
    printed = squash(out.replace(str(REAL / "round5.log"), "round5.log"))
    for line in block.splitlines():
        line = line.strip()
        if line and line != "..." and not line.endswith("..."):
            assert squash(line) in printed, line


def test_the_applied_table_is_the_profiles():
    rows = re.findall(r"^\| (\d{1,2}) \| (.*) \|$", DOC, re.M)
    assert [int(n) for n, _ in rows] == [1, 2, 3, 4, 5, 6, 8, 9, 13]
    for number, text in rows:
        settings = build_settings(f"round{number}")
        own = {fix for fix, entry in settings.applied.items() if entry.round == int(number)}
        assert own == set(re.findall(r"`([a-z-]+)`", text)), number


def test_the_tempering_numbers_quoted_are_computed():
    report = check(REAL / "round5.log")
    tempered = next(c for c in report.causes if c.id == "init-scale").probability
    code, out, _ = run_cli(["check", str(REAL / "round5.log"), "--set", "ranking.batch0_exponent=1", "-f", "json"])
    import json

    whole = next(c for c in json.loads(out)["causes"] if c["id"] == "init-scale")["probability"]
    for text in (DOC, README, GUIDE):
        assert f"p={whole:.2f} to p={tempered:.2f}" in squash(text)


def test_the_history_example_in_the_doc_is_a_valid_config(tmp_path):
    block = re.search(r"```yaml\n(history:.*?)```", DOC, re.S).group(1)
    config = tmp_path / ".percediag.yaml"
    config.write_text(block)
    code, out, err = run_cli(["check", str(REAL / "round5.log"), "-c", str(config), "--profile", "generic", "-f", "json"])
    assert err == "" and code == 1
    assert yaml.safe_load(block)["history"][0]["fixes"] == ["lower-lr"]


def test_a_typo_in_verify_when_is_an_error_not_inert(tmp_path):
    config = tmp_path / ".percediag.yaml"
    config.write_text("applied:\n  lower-lr:\n    round: 6\n    detail: x\n    verify_when: ['architecture.learnin_rate:fail']\n")
    code, _, err = run_cli(["check", str(REAL / "round5.log"), "-c", str(config)])
    assert code == 2 and "architecture.learnin_rate:fail" in err and err.count("\n") == 1
