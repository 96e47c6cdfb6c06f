"""Hostile input, point 4 of issue 14: no traceback, ever, on user input or environment.

Every failure to read, decode, write or validate ends in one line on stderr and exit 2:
every option of every command walked with hostile values (the typer app introspected),
every configuration key set to hostile values, notebooks that are valid JSON but not
notebooks, unreadable files and folders, over-long paths, a deleted working directory, a
full or closed stdout. A bug would show as `internal error` (also one line): none may.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from percediag.cli import app
from tests.helpers import ROOT, activation_block, curve_lines, fold_header, grad_block, run_cli

HOSTILE = ["nan", "-1", "inf", "-inf", "1e999", "9" * 40, "", "abc", "0", "a" * 5000, "/proc/self/mem", "/", "\x1b[2J\u202e"]
HOSTILE_ARGUMENTS = ["", "/", "-", "missing.log", "a" * 5000, "/proc/self/mem", "nan", "\x1b[2J"]


def assert_one_line_or_verdict(code: int, err: str, what: object = "") -> None:
    assert code in (0, 1, 2), (what, code, err[-500:])
    assert "Traceback" not in err and "internal error" not in err, (what, err[-2000:])
    if code == 2:
        assert err.count("\n") == 1 and err.startswith("percediag: error: "), (what, err[-500:])


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture()
def tiny(tmp_path, monkeypatch) -> Path:
    """A small log with every kind of record (fast to check), in a working directory of its own."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "tiny.log"
    path.write_text(activation_block() + grad_block(0) + "\n" + fold_header(0) + "\n"
                    + curve_lines(0, [0.01, 0.05, 0.08, 0.1, 0.12, 0.13]) + "\n")
    return path


def _base(command: str, log: str) -> list[str]:
    return {
        "check": [log, "-q"], "diff": [log, log], "history": [log], "parse": [log], "explain": ["log.no_data"],
        "watch": [log, "--interval", "0.01", "--idle-exit", "0", "-f", "jsonl"],
    }.get(command, [])


def _commands():
    group = typer.main.get_command(app)
    return sorted(group.commands.items())


def test_every_option_of_every_command_with_hostile_values(tiny):
    """Introspect the app: each option of each command gets each hostile value (later occurrences win,
    so a value replaces the base one); each argument is replaced by hostile paths and words."""
    log = str(tiny)
    before = digest(tiny)
    walked = 0
    for name, command in _commands():
        base = _base(name, log)
        assert_one_line_or_verdict(*run_cli([name, *base])[::2], name)
        for param in command.params:
            if param.param_type_name == "argument":
                for value in HOSTILE_ARGUMENTS:
                    args = [value] if name == "explain" else [value if a == log else a for a in base]
                    code, out, err = run_cli([name, *args])
                    assert_one_line_or_verdict(code, err, (name, param.name, value[:20]))
                    walked += 1
                continue
            option = param.opts[0]
            values = [None] if getattr(param, "is_flag", False) else HOSTILE
            for value in values:
                args = [name, *base, option] + ([] if value is None else [value])
                code, out, err = run_cli(args)
                assert_one_line_or_verdict(code, err, (name, option, None if value is None else value[:20]))
                walked += 1
    assert walked > 300
    assert digest(tiny) == before


@pytest.mark.parametrize("value", ["abc", "-1", "nan", "1e999", str(10**40)])
def test_set_on_every_configuration_key(tiny, value):
    """Each key `percediag config` lists, set to a string, -1, NaN, 1e999 and a huge integer: a
    verdict (the value fits the key) or one line and exit 2 (it does not), never a traceback."""
    code, out, err = run_cli(["config"])
    keys = [line.split()[0].rstrip(":") for line in out.splitlines() if line and not line.startswith("#")]
    assert len(keys) > 100
    for key in keys:
        code, out, err = run_cli(["check", str(tiny), "-q", "--set", f"{key}={value}"])
        assert_one_line_or_verdict(code, err, key)


def test_infinite_forecast_horizon_is_refused(tiny):
    code, out, err = run_cli(["check", str(tiny), "--set", "trajectory.extrapolation_factor=inf"])
    assert code == 2 and "finite" in err and err.count("\n") == 1


@pytest.mark.parametrize(("option", "value"), [
    ("--interval", "nan"), ("--interval", "0"), ("--interval", "-1"), ("--interval", "inf"), ("--grace", "-1"),
    ("--grace", "nan"), ("--idle-exit", "inf"), ("--idle-exit", "-0.5"), ("--idle-exit", "1e999"), ("--grace", "1e12"),
])
def test_watch_durations_must_be_finite_seconds(tiny, option, value):
    code, out, err = run_cli(["watch", str(tiny), option, value])
    assert code == 2 and err.startswith(f"percediag: error: {option}") and err.count("\n") == 1


# -- notebooks that are JSON but not notebooks --------------------------------

NOT_NOTEBOOKS = [
    "[]", "5", "null", '"cells"', '{"cells": 5}', '{"cells": {"a": []}}', '{"nbformat": 4}',
    '{"cells": [5, null, "x", [], {"outputs": 5}, {"outputs": "abc"}, {"outputs": {"a": 1}}]}',
    '{"cells": [{"outputs": [5, null, [], {"output_type": 5, "text": {"a": [1]}}]}]}',
    '{"cells": [{"outputs": [{"output_type": "stream", "text": [1, null, true, {"x": []}, ["y"]]}]}]}',
    '{"cells": [{"outputs": [{"output_type": "execute_result", "data": "text/plain"}]}]}',
    '{"cells": [{"outputs": [{"output_type": "execute_result", "data": {"text/plain": {"a": 1}}}]}]}',
    '{"cells": [{"outputs": [{"output_type": "error", "traceback": 5}, {"output_type": "error", "traceback": "abc"}]}]}',
    '{"cells": [{"outputs": [{"output_type": ["stream"], "text": "  [Fold 0] Epoch   0 | val_r2: 0.1\\n"}]}]}',
    '{"cells": [], "cells": 5}', '{"cells": []} trailing', '{"cells": [', '{"cells": ["\\u12"]}', '{"cells": [tru]}',
    '{"cells": ["\\ud800"]}', '{"cells": [1e999, -0, 123456789012345678901234567890]}', '\ufeff{"cells": []}',
    '{"metadata": ' + "[" * 100_000 + "]" * 100_000 + ', "cells": []}',
    '{"cells": [{"outputs": [{"output_type": "stream", "text": ' + "[" * 5000 + "]" * 5000 + "}]}]}",
]


@pytest.mark.parametrize("content", NOT_NOTEBOOKS, ids=range(len(NOT_NOTEBOOKS)))
def test_notebooks_that_are_not_notebooks(tmp_path, content):
    path = tmp_path / "run.ipynb"
    path.write_text(content, encoding="utf-8", errors="surrogatepass")
    before = digest(path)
    for command in (["check", str(path), "-q"], ["parse", str(path)]):
        code, out, err = run_cli(command)
        assert_one_line_or_verdict(code, err, content[:80])
    assert digest(path) == before


def test_deep_nesting_is_refused_in_one_line(tmp_path):
    path = tmp_path / "deep.ipynb"
    path.write_text('{"cells": [' + "[" * 100_000 + "]" * 100_000 + "]}")
    code, out, err = run_cli(["check", str(path)])
    assert code == 2 and "nested deeper than" in err and err.count("\n") == 1


def test_random_wrong_types_anywhere(tmp_path):
    """Notebook-shaped JSON with a value of a random type at random places."""
    rng = random.Random(14)
    leaves = [5, -1.5, None, True, "x\n", "  [Fold 0] Epoch   1 | val_r2: 0.2\n", [], {}, ["a", 1], {"text/plain": 3}]

    def shaped(depth: int = 0):
        if depth > 5 or rng.random() < 0.3:
            return rng.choice(leaves)
        kind = rng.random()
        if kind < 0.4:
            keys = rng.sample(["cells", "outputs", "output_type", "text", "data", "text/plain", "traceback", "name"], 3)
            return {key: (rng.choice(["stream", "error", "execute_result"]) if key == "output_type" else shaped(depth + 1))
                    for key in keys}
        return [shaped(depth + 1) for _ in range(rng.randint(0, 3))]

    path = tmp_path / "random.ipynb"
    for _ in range(80):
        document = {"cells": [shaped(1) for _ in range(rng.randint(0, 4))]} if rng.random() < 0.8 else shaped()
        path.write_text(json.dumps(document))
        code, out, err = run_cli(["check", str(path), "-q"])
        assert_one_line_or_verdict(code, err, document)


# -- the environment ------------------------------------------------------------

def test_unreadable_file_and_folder(tiny, monkeypatch):
    """EACCES, as a user who may not read the file (or search the folder) gets it (the suite may run
    as root, for whom permissions do not apply, so the refusal is injected where the OS gives it)."""
    import pathlib

    import percediag.sources as sources

    locked_file = tiny.parent / "locked.log"
    locked_file.write_text(tiny.read_text())
    locked_dir = tiny.parent / "locked"
    locked_dir.mkdir()
    real_open, real_stat = open, pathlib.Path.stat

    def refusing_open(path, *args, **kwargs):
        if str(path) == str(locked_file):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    def refusing_stat(self, *args, **kwargs):
        if str(self).startswith(str(locked_dir) + os.sep):
            raise PermissionError(13, "Permission denied", str(self))
        return real_stat(self, *args, **kwargs)

    monkeypatch.setattr(sources, "open", refusing_open, raising=False)
    monkeypatch.setattr(pathlib.Path, "stat", refusing_stat)
    for args in (["check", str(locked_file)], ["parse", str(locked_file)], ["diff", str(locked_file), str(tiny)],
                 ["check", str(locked_dir / "x.log")], ["history", str(locked_dir / "x.log")],
                 ["check", str(tiny), "--baseline", str(locked_dir / "x.log")], ["check", "-c", str(locked_dir / "c.yaml"), str(tiny)]):
        code, out, err = run_cli(args)
        assert code == 2 and "Permission denied" in err and err.count("\n") == 1, (args, err)
        assert "Traceback" not in err


@pytest.mark.parametrize("path", ["a" * 5000 + ".log", "/".join(["aaaa"] * 1100) + ".log", "a" * 300 + ".ipynb"])
def test_over_long_paths(tiny, path):
    for args in (["check", path], ["parse", path], ["history", path], ["diff", path, str(tiny)], ["check", str(tiny), "-b", path],
                 ["check", "-c", path, str(tiny)], ["watch", path, "--idle-exit", "0"], ["check", str(tiny), "--history", path],
                 ["check", str(tiny), "-o", path], ["history", str(tiny), "--write-rounds", path]):
        code, out, err = run_cli(args)
        assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, (args[0], err[-300:])


def test_a_deleted_working_directory(tiny, tmp_path, monkeypatch):
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    for args in (["check", str(tiny)], ["check", "relative.log"], ["rules"], ["config"], ["diff", str(tiny), str(tiny)],
                 ["history", str(tiny)], ["watch", str(tiny), "--idle-exit", "0"], ["profiles"], ["check", "--isolated", str(tiny)]):
        code, out, err = run_cli(args)
        assert_one_line_or_verdict(code, err, args)


def _percediag(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "percediag", *args], stderr=subprocess.PIPE, cwd=ROOT, env=env,
                          timeout=60, **kwargs)


@pytest.mark.parametrize("command", [["check", "{log}"], ["check", "{log}", "-f", "json"], ["history", "{log}"], ["rules"],
                                     ["schema"], ["watch", "{log}", "--idle-exit", "0", "--interval", "0.01"]])
def test_stdout_on_a_full_disk_or_closed(tiny, command):
    """ENOSPC on every write (/dev/full), and a stdout closed before start (`>&-`): one line, exit 2."""
    args = [part.replace("{log}", str(tiny)) for part in command]
    with open("/dev/full", "w") as full:
        result = _percediag(args, stdout=full)
    err = result.stderr.decode()
    assert result.returncode == 2 and err == "percediag: error: standard output: No space left on device\n", err
    result = _percediag(args, stdout=subprocess.DEVNULL, preexec_fn=lambda: os.close(1))
    err = result.stderr.decode()
    assert result.returncode == 2 and err.startswith("percediag: error: standard output: closed") and err.count("\n") == 1
