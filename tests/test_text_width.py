"""The text report is whole at any width through a pipe, and short by default (issue 15, points 1 and 2)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from percediag.pipeline import check
from percediag.report import text
from tests.helpers import EXAMPLES, REAL, run_cli

WIDTHS = (40, 80, 200)
LOGS = [REAL / "round5.log", REAL / "round6.log", EXAMPLES / "seed-dialect.log", EXAMPLES / "early-peak-decline.log",
        EXAMPLES / "round5-plateau.log", EXAMPLES / "overfit-decline.log"]
NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?")


def piped(args: list[str], width: int) -> tuple[int, str]:
    """The CLI as a user runs it: stdout a pipe (not a terminal), COLUMNS set."""
    env = {**os.environ, "COLUMNS": str(width), "NO_COLOR": "1"}
    env.pop("GITHUB_ACTIONS", None)
    done = subprocess.run([sys.executable, "-m", "percediag", *args], capture_output=True, text=True, env=env, timeout=120)
    return done.returncode, done.stdout


def whole(token: str, out: str) -> bool:
    """`token` is printed with no digit or point glued to either side (not cut, not split)."""
    return re.search(rf"(?<![\d.]){re.escape(token)}(?![\d])", out) is not None


def value_shown(value, out: str) -> bool:
    """A number of the JSON is printed whole: some number of the text is it, at that number's own precision."""
    for token in re.findall(r"(?<![\d.])\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?(?![\d])", out):
        plain = token.replace(",", "")
        if "e" in plain:
            if f"{abs(value):.1e}" == plain:
                return True
            continue
        decimals = len(plain.split(".")[1]) if "." in plain else 0
        if f"{abs(value):.{decimals}f}" == plain and (decimals >= 2 or float(plain) == abs(value)):
            return True
    return False


def representatives(findings: list[dict]) -> list[dict]:
    """The finding the default view shows for each rule that did not pass: its worst fold."""
    order = {"pass": 0, "missing": 1, "warn": 2, "fail": 3}
    worst: dict[str, dict] = {}
    for finding in findings:
        if finding["status"] != "pass" and order[finding["status"]] > order[worst.get(finding["rule"], {"status": "pass"})["status"]]:
            worst[finding["rule"]] = finding
    return list(worst.values())


def assert_findings_whole(findings: list[dict], out: str) -> None:
    shown = representatives(findings)
    for finding in findings:
        if finding["expected"]:
            assert finding["expected"] in out, (finding["rule"], finding["expected"])
            for number in NUMBER.findall(finding["expected"]):
                assert whole(number, out), (finding["rule"], number)
        value = finding["value"]
        if value is not None and not isinstance(value, (bool, list, str)):
            assert value_shown(value, out), (finding["rule"], value)
        if finding in shown:  # each rule's worst fold with its message, on one line
            assert finding["rule"] in out and finding["message"] in out


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("log", LOGS[:4], ids=lambda p: p.stem)
def test_the_default_report_through_a_pipe_is_whole_at_any_width(log, width):
    _, out = piped(["check", str(log)], width)
    report = json.loads(run_cli(["check", str(log), "-f", "json"])[1])
    assert "…" not in out and out.strip()
    # Every rule that did not pass: on one line, `PATH:LINE: RULE STATUS ...`, its numbers whole.
    assert_findings_whole(representatives(report["findings"]), out)
    starts = [line.split(" ", 2)[1] for line in out.splitlines() if line.startswith(str(log) + ":")]
    assert set(starts) == {f["rule"] for f in report["findings"] if f["status"] != "pass"}
    last = out.rstrip("\n").splitlines()[-1]
    assert last.startswith(report["status"].upper() + ":") and last.endswith(str(log))


@pytest.mark.parametrize("width", (40, 200))
@pytest.mark.parametrize("log", [LOGS[0], LOGS[4]], ids=lambda p: p.stem)
def test_the_verbose_report_through_a_pipe_shows_every_finding_whole(log, width):
    _, out = piped(["check", str(log), "--verbose"], width)
    report = json.loads(run_cli(["check", str(log), "-f", "json"])[1])
    assert "…" not in out
    # Every rule's numbers, passing ones too; ranges such as 0.1-0.15 never folded into 0.1-0.1.
    assert_findings_whole(report["findings"], out)
    assert "0.1-0.15" in out
    for fc in report["forecast"]:
        if fc["projected"] is not None and fc["interval"]:
            assert f"{fc['projected']:+.3f} [{fc['interval'][0]:+.2f},{fc['interval'][1]:+.2f}] ep {fc['horizon']}" in out


@pytest.mark.parametrize("width", WIDTHS)
def test_diff_and_history_through_a_pipe_are_whole(width):
    old, new = str(EXAMPLES / "round4-stuck.log"), str(EXAMPLES / "round5-plateau.log")
    _, out = piped(["diff", old, new], width)
    assert "…" not in out
    assert re.search(r"^parameters +run +13,962,515 +13,758,227 +-204,288$", out, re.M), out
    _, out = piped(["history", old, new, str(EXAMPLES / "seed-dialect.log")], width)
    assert "…" not in out
    rows = [line for line in out.splitlines() if line.startswith(("round4-stuck ", "round5-plateau ", "seed-dialect "))]
    assert len(rows) == 3, out  # one line per run, never a cell split over lines
    assert "0.0476 (fold 1, ep 28)" in out and "13,758,227" in out


@pytest.mark.parametrize("log", [EXAMPLES / "seed-dialect.log", EXAMPLES / "early-peak-decline.log"], ids=lambda p: p.stem)
def test_the_default_report_of_a_one_fold_log_fits_one_screen_and_ends_with_the_verdict(log):
    code, out, _ = run_cli(["check", str(log)])
    report = check(log)
    lines = out.rstrip("\n").splitlines()
    assert len(lines) <= 60, len(lines)
    counts = ", ".join(f"{report.counts[s]} {s}" for s in ("fail", "warn", "missing", "pass") if report.counts.get(s))
    assert lines[-1] == f"{report.status.upper()}: {counts} in {log}"
    # Verdict and profile first.
    assert lines[0].endswith(f"profile {report.profile}") and report.status.upper() in lines[:6]


def test_the_default_view_is_short_and_states_each_fact_once():
    log = REAL / "round5.log"
    report = check(log)
    short = text.render([report])
    full = text.render([report], verbose=True)
    assert len(short.splitlines()) <= 40 < len(full.splitlines())
    for section in ("Round assessment", "Activation health", "R2 trajectory by fold", "change:", "evidence:",
                    "Already applied (the evidence"):
        assert section not in short and section in full
    # The escalation stays; applied fixes in one line (their details in the full view); three fixes, one line each.
    assert f"Stop patching: {report.escalation.reason}." in short
    applied = [f for f in report.fixes if f.rank is None]
    line = "Already applied, not ranked: " + ", ".join(f"{f.id} (Round {f.applied_round})" for f in applied)
    assert applied and short.count(line) == 1 and "not ranked again" not in short
    ranked = [f for f in report.fixes if f.rank is not None]
    for fix in ranked[:3]:
        assert sum(line.startswith(f"  {fix.rank}. {fix.id}  {fix.title}: ") for line in short.splitlines()) == 1
    for fix in ranked[3:]:
        assert f". {fix.id} " not in short
    # One line per rule, folds aggregated; the counts once (on the closing line).
    for rule in {f.rule for f in report.findings if f.status != "pass"}:
        assert sum(f" {rule} " in line for line in short.splitlines()) == 1, rule
    assert "(folds 1, 2, 3, 0)" in short
    counts = f"{report.counts['fail']} fail"
    assert short.count(counts) == 1 and short.rstrip().splitlines()[-1].startswith("FAIL: " + counts)


@pytest.mark.parametrize("log", [EXAMPLES / "round5-plateau.log", EXAMPLES / "slow-climb.log", REAL / "round5.log"],
                         ids=lambda p: p.name)
def test_the_default_view_states_each_folds_projection_once(log):
    report = check(log)
    short = text.render([report]).splitlines()
    projected = [fc for fc in report.forecast if fc.projected is not None and fc.interval]
    assert projected
    for fc in projected:
        low, high = (f"{abs(bound):.3f}" for bound in fc.interval)
        assert sum(low in line and high in line for line in short) == 1, (fc.fold, low, high)


def test_quiet_stays_one_line():
    code, out, _ = run_cli(["check", str(REAL / "round5.log"), "-q"])
    assert len(out.splitlines()) == 1
