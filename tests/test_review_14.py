"""Issue 14, second attack: outputs never overwrite a project's configuration even when it is not
in use; an encoding that cannot show a log's characters still gives the verdict; closed stdin."""

import os
import subprocess
import sys

from tests.helpers import REAL, ROOT


def run(args, cwd, env=None, stdin=subprocess.DEVNULL):
    full_env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), **(env or {})}
    return subprocess.run([sys.executable, "-m", "percediag", *args], cwd=cwd, env=full_env, stdin=stdin,
                          capture_output=True, text=True, timeout=120)


def test_output_refuses_a_project_config_not_in_use(tmp_path):
    (tmp_path / ".git").mkdir()
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\n')
    config = tmp_path / ".percediag.yaml"
    config.write_text("profile: round5\n")
    log = tmp_path / "log.log"
    log.write_text((REAL / "round5.log").read_text())
    for args in (["check", "log.log", "-o", "pyproject.toml"], ["check", "log.log", "--isolated", "-o", ".percediag.yaml"],
                 ["history", "log.log", "--isolated", "--write-rounds", "pyproject.toml"]):
        result = run(args, tmp_path)
        assert result.returncode == 2 and "configuration file of this project" in result.stderr, args
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert pyproject.read_text() == '[project]\nname = "x"\n' and config.read_text() == "profile: round5\n"


def test_an_ascii_stdout_still_gets_the_verdict(tmp_path):
    log = tmp_path / "utf.log"
    log.write_text((REAL / "round5.log").read_text().replace("SOTA + ROUND 5 FIXES", "SOTA + ROUND 5 FIXES \u2603"))
    for fmt in ("text", "json"):
        result = run(["check", str(log), "-f", fmt], tmp_path, env={"PYTHONIOENCODING": "ascii"})
        assert result.returncode == 1 and "internal error" not in result.stderr, result.stderr


def test_closed_stdin_is_one_line():
    result = subprocess.run(f"{sys.executable} -m percediag check - <&-", shell=True, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT / "src")}, timeout=60)
    assert result.returncode == 2 and "standard input is closed" in result.stderr and result.stderr.count("\n") == 1


def test_set_profile_is_refused_not_ignored(tmp_path):
    result = run(["check", str(REAL / "round5.log"), "--set", "profile=round6"], tmp_path)
    assert result.returncode == 2 and "choose the profile with --profile" in result.stderr
    assert result.stderr.count("\n") == 1
