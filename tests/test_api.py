"""The Python API is the CLI: same discovery, same options, same report (issue 15, point 5)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import percediag
from percediag.errors import InputError, PercediagError, UsageError
from percediag.report.json_format import render
from tests.helpers import EXAMPLES, REAL

CLI = [sys.executable, "-c", "from percediag.cli import main; main()"]


def _cli_json(cwd: Path, *args: str) -> dict:
    done = subprocess.run([*CLI, "check", *args, "--format", "json"], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "NO_COLOR": "1"}, timeout=120)
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)


def _api_json(report) -> dict:
    return json.loads(render([report]))


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder whose discovered configuration changes the verdict of round5-plateau.log."""
    (tmp_path / ".git").mkdir()
    (tmp_path / ".percediag.yaml").write_text(
        "rules:\n  activation.pred_std:\n    min: 0.02\n  activation.logit_std:\n    enabled: false\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


CASES = {
    "discovered config only": ([], {}),
    "set, tried, baseline, history": (
        ["--set", "gradient.total_norm.max=20", "--tried", "rescale-head-init",
         "--baseline", str(EXAMPLES / "round4-stuck.log"), "--history", str(REAL / "round4.log")],
        {"set": "gradient.total_norm.max=20", "tried": ["rescale-head-init"],
         "baseline": str(EXAMPLES / "round4-stuck.log"), "history": [str(REAL / "round4.log")]}),
    "profile and isolated": (["--profile", "round6", "--isolated"], {"profile": "round6", "isolated": True}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_api_report_equals_the_cli_report_in_the_same_folder(project: Path, case: str) -> None:
    cli_args, api_kwargs = CASES[case]
    log = str(EXAMPLES / "round5-plateau.log")
    cli = _cli_json(project, log, *cli_args)
    api = _api_json(percediag.check(log, **api_kwargs))
    assert api == cli
    if case == "discovered config only":
        assert api["config_files"] == [str(project / ".percediag.yaml")]
    if case == "set, tried, baseline, history":
        rules = {f["rule"] for f in api["findings"]}
        assert "progression.regression" in rules or "architecture.param_delta" in rules


def test_api_sees_the_configuration_the_cli_sees(project: Path) -> None:
    log = str(EXAMPLES / "round5-plateau.log")
    discovered = percediag.check(log)
    isolated = percediag.check(log, isolated=True)
    assert discovered.counts != isolated.counts


def test_api_refuses_what_the_cli_refuses(project: Path) -> None:
    with pytest.raises(InputError, match="only whitespace"):
        percediag.check("   \n\n  \n")
    with pytest.raises(UsageError, match="expected a string or a list"):
        percediag.check(str(EXAMPLES / "round5-plateau.log"), tried=3)


@pytest.mark.parametrize("kwargs", [dict(run=1.5), dict(set=[None]), dict(baseline=b"\0"), dict(baseline=[None]),
                                    dict(baseline=""), dict(config=""), dict(config="y" * 5000),
                                    dict(baseline="y" * 5000), dict(isolated="no")], ids=str)
def test_api_refuses_odd_arguments_with_one_error(project: Path, kwargs: dict) -> None:
    with pytest.raises(PercediagError):
        percediag.check(str(EXAMPLES / "round5-plateau.log"), **kwargs)


@pytest.mark.parametrize("value", [None, 3, ["a"], b"x", "", "   ", "x" * 5000 + ".log"], ids=lambda v: repr(v)[:20])
def test_api_refuses_what_is_not_a_log(project: Path, value: object) -> None:
    with pytest.raises(PercediagError):
        percediag.check(value)
    with pytest.raises(PercediagError):
        percediag.parse(value)


def test_api_takes_a_run_number_and_event_inputs_as_the_cli_does(project: Path) -> None:
    tb = Path(__file__).resolve().parent / "fixtures" / "tensorboard" / "round5"
    assert percediag.check(str(REAL / "round5.log"), run=1).status == percediag.check(str(REAL / "round5.log")).status
    assert _api_json(percediag.check(str(tb))) == _cli_json(project, str(tb))
    joined = percediag.check(str(tb / "stdout.log"), events=str(tb))
    assert _api_json(joined) == _cli_json(project, str(tb / "stdout.log"), "--events", str(tb))
