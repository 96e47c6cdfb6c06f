"""cli.quick, the typer-free reader of a plain check line, hands run_check exactly what the
typer app would, and declines every line it cannot read as surely as typer.

The typer side is captured at the one call both paths make (cli.commands.run_check), on the
same argv, so option names, defaults, repeated options, enum choices and path values are
compared as run_check receives them.
"""

from __future__ import annotations

import inspect
import os
import random
import signal
import subprocess
import sys
import time

import pytest
import typer.main

from percediag.cli import commands
from percediag.cli.check import run_check
from percediag.cli.quick import OPTIONS, read_check_line
from tests.helpers import EXAMPLES, REAL, ROOT, run_cli


def typer_request(argv: list[str], monkeypatch) -> dict | None:
    """run_check's arguments as the typer app passes them for `argv`; None when typer refuses the line."""
    captured: list[dict] = []

    def capture(**kwargs):
        captured.append(kwargs)
        return 0

    monkeypatch.setattr(commands, "run_check", capture)
    try:
        commands.app(argv, standalone_mode=False)
    except (typer.Exit, SystemExit):
        pass
    except Exception as exc:  # a usage error of the vendored click: typer refused the line
        if type(exc).__module__.startswith("typer"):
            return None
        raise
    finally:
        monkeypatch.undo()
    return captured[0] if captured else None


# What run_check is called with when the quick reader hands it a line: the line's arguments over its defaults.
DEFAULTS = {name: parameter.default for name, parameter in inspect.signature(run_check).parameters.items()}


def called_with(quick: dict) -> dict:
    return {**DEFAULTS, **quick}


def test_the_options_are_checks_options_in_the_typer_app():
    command = typer.main.get_command(commands.app).commands["check"]
    declared = {}
    for param in command.params:
        if param.name == "paths":
            continue
        kind = "flag" if param.is_flag else "many" if param.multiple else "one"
        for name in param.opts + list(param.secondary_opts):
            declared[name] = (param.name, kind)
    assert {name: (option.parameter, option.kind) for name, option in OPTIONS.items()} == declared


FIXED = [
    ["check", "train.log"],
    ["check"],
    ["check", "-"],
    ["check", "a.log", "b.log", "-q"],
    ["check", "a.log", "--format", "json", "-f", "sarif", "-o", "out.sarif", "-o", "-"],
    ["check", "--format=junit", "a.log", "--output=r.xml"],
    ["check", "a.log", "--fail-on", "warn", "--color", "never", "--run", "all", "-v"],
    ["check", "a.log", "-p", "round5", "-c", "cfg.yaml", "--isolated", "--set", "activation.logit_std.min=0.4",
     "--set", "x=y", "--tried", "raise-lr=helped", "--history", "r4.log", "-b", "r4.log", "--events", "tb"],
    ["check", "", "a b.log", "x=y.log"],
    ["check", "a.log", "--set", ""],
]

DECLINED = [
    [], ["diff", "a", "b"], ["check", "--help"], ["check", "-h"], ["check", "--", "a.log"], ["check", "-qv", "a.log"],
    ["check", "-fjson", "a.log"], ["check", "-f=json", "a.log"], ["check", "--quiet=1", "a.log"],
    ["check", "a.log", "--format", "JSON"], ["check", "a.log", "--format"], ["check", "a.log", "--run", "-1"],
    ["check", "a.log", "--run", "1", "--run", "2"], ["check", "-x.log"], ["check", "a.log", "-q", "-q"],
    ["check", "a.log", "--config", ""], ["check", "a.log", "--colour", "never"], ["--version"], ["check", "--versio"],
]


@pytest.mark.parametrize("argv", FIXED, ids=" ".join)
def test_a_plain_line_is_read_as_typer_reads_it(argv, monkeypatch):
    quick = read_check_line(argv)
    assert quick is not None
    assert called_with(quick) == typer_request(argv, monkeypatch)


@pytest.mark.parametrize("argv", DECLINED, ids=" ".join)
def test_any_other_line_is_left_to_typer(argv):
    assert read_check_line(argv) is None


PATHS = ["train.log", "-", "b c.log", "", "x=y.log", "-x.log", "--", "--help", "-h"]
VALUES = ["json", "text", "sarif", "JSON", "warn", "never", "always", "all", "2", "-1", "", "a=b", "cfg.yaml", "-"]


def random_line(rng: random.Random) -> list[str]:
    names = list(OPTIONS) + ["--bogus", "-qv", "-fjson", "--quiet=yes", "--format=json", "--fail-on=warn", "-q=1"]
    argv = ["check"]
    for _ in range(rng.randint(0, 6)):
        if rng.random() < 0.35:
            argv.append(rng.choice(PATHS))
            continue
        name = rng.choice(names)
        argv.append(name)
        option = OPTIONS.get(name)
        if option is not None and option.kind != "flag" and rng.random() < 0.9:
            argv.append(rng.choice(VALUES))
    return argv


def test_generated_lines_read_alike(monkeypatch):
    """Six hundred generated lines: each one the quick reader takes, typer reads the same way."""
    rng = random.Random(18)
    taken = declined = 0
    for _ in range(600):
        argv = random_line(rng)
        quick = read_check_line(argv)
        if quick is None:
            declined += 1
            continue
        taken += 1
        assert called_with(quick) == typer_request(argv, monkeypatch), argv
    assert taken > 150 and declined > 150  # both sides of the reader were exercised


# -- what typer did besides reading the arguments: the quick path does the same ------------------

def test_a_config_path_that_exists_and_cannot_be_read_is_left_to_typer(tmp_path, monkeypatch):
    """typer's Path type refuses an existing path it cannot read, with its own message (as root
    every path reads, so unreadability is simulated)."""
    config = tmp_path / "c.yaml"
    config.write_text("profile: round5\n")
    argv = ["check", "a.log", "-c", str(config)]
    assert read_check_line(argv) is not None
    monkeypatch.setattr("os.access", lambda path, mode: False)
    assert read_check_line(argv) is None
    assert read_check_line(["check", "a.log", "-c", str(tmp_path / "missing.yaml")]) is not None  # load_recipe says it


def test_a_directory_or_a_device_given_as_the_configuration_is_said_to_be_one(tmp_path):
    code, _, err = run_cli(["check", str(REAL / "round5.log"), "-c", str(tmp_path)])
    assert code == 2 and err == f"percediag: error: {tmp_path}: is a directory, not a configuration file\n"
    code, _, err = run_cli(["check", str(REAL / "round5.log"), "-c", "/dev/null"])
    assert code == 2 and err == "percediag: error: /dev/null: is not a regular file (a configuration is read from a file)\n"


@pytest.mark.parametrize("line", [["-q"], ["-qv"]], ids=["quick", "typer"])
def test_ctrl_c_during_a_check_ends_it_alike_on_both_paths(tmp_path, line):
    """Exit 130 and nothing on stderr, however the line was read (typer ends a command so)."""
    log = tmp_path / "big.log"
    log.write_text((REAL / "round5.log").read_text() * 300)
    process = subprocess.Popen([sys.executable, "-m", "percediag", "check", str(log), "--run", "all", *line],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    time.sleep(1.5)
    assert process.poll() is None, "the check ended before it could be interrupted"
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and err == b""


@pytest.mark.parametrize(("log", "extra", "expected"), [
    (EXAMPLES / "round5-plateau.log", [], 1), (EXAMPLES / "round5-plateau.log", ["-v"], 1),
    (EXAMPLES / "healthy-sota.log", ["-p", "round6"], 0)])
def test_a_reader_of_stderr_gone_does_not_change_the_verdict(log, extra, expected):
    """The job-summary warning goes to a stderr whose reader has left (EPIPE): the warning is
    lost, the CI gate is not (before, the quick path exited 0 and typer's 1, whatever the verdict)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    env = {**os.environ, "GITHUB_STEP_SUMMARY": "/nonexistent/summary.md"}
    try:
        result = subprocess.run([sys.executable, "-m", "percediag", "check", str(log), "-f", "github", "-q", *extra],
                                stdout=subprocess.DEVNULL, stderr=write_end, env=env, cwd=ROOT, timeout=120)
    finally:
        os.close(write_end)
    assert result.returncode == expected
