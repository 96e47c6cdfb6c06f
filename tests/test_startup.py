"""A small check loads only what its output needs (issue 18, point 2).

Guarded by what is imported, never by time: each case runs `percediag check` as a program with
`python -X importtime` (one line per module imported, on stderr) and its output piped, as a CI
step runs it. rich is for styled terminal output, numpy for a forecast; a positive case for each
shows the probe sees them when they are needed.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.helpers import ROOT

REAL = ROOT / "tests" / "fixtures" / "real-logs"
FORECAST_LOG = REAL / "round5.log"  # four folds of validation epochs: the trajectory rule forecasts each
NO_EPOCH_LOG = REAL / "round6-startup-crash.log"  # crashed before its first epoch: nothing to forecast


def imported(*args: str) -> set[str]:
    """The modules `percediag check ARGS` imports, run as a program with stdout piped."""
    env = {key: value for key, value in os.environ.items() if key not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "percediag", "check", *args, "--isolated"],
                            capture_output=True, text=True, env=env, cwd=ROOT)
    assert result.returncode in (0, 1), result.stderr[-2000:]
    assert result.stdout.strip(), "the check printed nothing"
    return {line.rsplit("|", 1)[1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}


def roots(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


@pytest.mark.parametrize("output", [["-q"], ["-f", "json"], ["-q", "-f", "json"]])
def test_a_piped_quiet_or_json_check_does_not_load_rich(output):
    modules = imported(str(FORECAST_LOG), *output)
    assert "percediag.pipeline" in modules  # the probe saw the check itself
    assert "rich" not in roots(modules)


def test_the_full_text_report_loads_rich():
    """The positive case: the text report is laid out by rich, piped or not."""
    assert "rich" in roots(imported(str(NO_EPOCH_LOG)))


@pytest.mark.parametrize("output", [["-q"], ["-f", "json"]])
def test_a_log_with_nothing_to_forecast_does_not_load_numpy(output):
    modules = imported(str(NO_EPOCH_LOG), *output)
    assert "percediag.trajectory" in modules  # the trajectory rule ran, and found no epoch to forecast
    assert "numpy" not in roots(modules)


def test_a_forecast_loads_numpy():
    """The positive case: validation epochs are fitted with numpy."""
    assert "numpy" in roots(imported(str(FORECAST_LOG), "-q"))


def test_the_watched_command_keeps_the_environment():
    """check, diff and history ask OpenBLAS for one thread (numpy's import is cheaper; their fits are
    small); the training command `watch` runs is the user's program and sees its own environment."""
    env = {key: value for key, value in os.environ.items() if key != "OPENBLAS_NUM_THREADS"}
    probe = "import os; print('OPENBLAS_NUM_THREADS=' + str(os.environ.get('OPENBLAS_NUM_THREADS')))"
    result = subprocess.run([sys.executable, "-m", "percediag", "watch", "--pipe", "--fail-on", "never", "--",
                             sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert "OPENBLAS_NUM_THREADS=None" in result.stdout, result.stdout + result.stderr


@pytest.mark.parametrize("output", [[], ["-q"], ["-f", "json", "--fail-on", "never"], ["--format=markdown", "-v"]])
def test_a_plain_check_line_does_not_load_typer(output):
    """cli.quick reads a line of paths and check's own options; typer is left unloaded."""
    modules = imported(str(NO_EPOCH_LOG), *output)
    assert "percediag.cli.quick" in modules and "percediag.pipeline" in modules
    assert "typer" not in roots(modules)


@pytest.mark.parametrize("line", [["-qv"], ["-fjson"], ["-q", "-q"]])
def test_any_other_check_line_is_read_by_typer(line):
    """The positive case: a line the quick reader declines is typer's, and typer is loaded."""
    assert "typer" in roots(imported(str(NO_EPOCH_LOG), *line))
