"""Issue 14, points 1 and 2: outputs never destroy input; configuration you can see.

Each refusal is asserted the same way: exit 2, exactly one line on stderr, no
traceback, and every input byte-identical with the same mtime.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

from tests.helpers import EXAMPLES, REAL, ROOT, run_cli

HEALTHY = EXAMPLES / "healthy-sota.log"  # passes with the bundled profile: exit 0
# Would flip HEALTHY's verdict from PASS to FAIL if read.
FLIPPING = "rules:\n  activation.logit_std:\n    min: 5.0\n    max: 6.0\n"


def snapshot(*paths: Path) -> dict[Path, tuple[bytes, int]]:
    return {path: (path.read_bytes(), os.stat(path).st_mtime_ns) for path in paths}


def assert_refused(result: tuple[int, str, str], snap: dict[Path, tuple[bytes, int]], *words: str) -> str:
    code, _, err = result
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("percediag: error: "), err
    for word in words:
        assert word in lines[0], err
    for path, (data, mtime) in snap.items():
        assert path.read_bytes() == data, f"{path} changed"
        assert os.stat(path).st_mtime_ns == mtime, f"{path} was touched"
    return lines[0]


@pytest.fixture()
def project(tmp_path, monkeypatch):
    """A project folder (it holds .git, so discovery never leaves it) with a log, as the working directory."""
    root = tmp_path / "project"
    (root / ".git").mkdir(parents=True)
    log = root / "train.log"
    log.write_bytes((REAL / "round5.log").read_bytes())
    old = os.stat(log)
    os.utime(log, ns=(old.st_atime_ns, old.st_mtime_ns - 10**9))  # an mtime a rewrite could not reproduce
    monkeypatch.chdir(root)
    return root


# -- 1. never destroy input -----------------------------------------------------


def test_output_onto_the_log_itself(project):
    log = project / "train.log"
    snap = snapshot(log)
    assert_refused(run_cli(["check", str(log), "-f", "json", "-o", str(log)]), snap, "--output", "input log")
    assert_refused(run_cli(["check", "train.log", "-o", "./train.log"]), snap, "input log")


def test_output_onto_a_symlink_to_the_log(project):
    log = project / "train.log"
    (project / "link.log").symlink_to(log)
    (project / "sub").mkdir()
    (project / "sub" / "far.log").symlink_to("../link.log")  # a chain of links
    snap = snapshot(log)
    assert_refused(run_cli(["check", "train.log", "-o", "link.log"]), snap, "--output link.log", "input log")
    assert_refused(run_cli(["check", "link.log", "-f", "json", "-o", "sub/far.log"]), snap, "input log")
    assert (project / "link.log").is_symlink()


def test_output_onto_a_hard_link_to_the_log(project):
    log = project / "train.log"
    os.link(log, project / "hard.log")
    snap = snapshot(log)
    assert_refused(run_cli(["check", "train.log", "-f", "sarif", "-o", "hard.log"]), snap, "--output hard.log", "input log")
    assert (project / "hard.log").read_bytes() == snap[log][0]


def test_output_onto_the_explicit_config(project):
    config = project / "my.yaml"
    config.write_text("profile: round5\n")
    snap = snapshot(project / "train.log", config)
    assert_refused(run_cli(["check", "train.log", "-c", "my.yaml", "-f", "json", "-o", "my.yaml"]), snap,
                   "configuration file in use")


@pytest.mark.parametrize("name", [".percediag.yaml", "pyproject.toml"])
def test_output_onto_the_discovered_config(project, name):
    config = project / name
    config.write_text("profile: round5\n" if name.endswith(".yaml") else "[tool.percediag]\nprofile = 'round5'\n")
    snap = snapshot(project / "train.log", config)
    assert_refused(run_cli(["check", "train.log", "-f", "json", "-o", name]), snap, "configuration file in use")


def test_output_onto_the_baseline(project):
    baseline = project / "round4.log"
    baseline.write_bytes((REAL / "round4.log").read_bytes())
    snap = snapshot(project / "train.log", baseline)
    assert_refused(run_cli(["check", "train.log", "-b", "round4.log", "-f", "json", "-o", "round4.log"]), snap,
                   "--baseline")


def test_output_onto_a_history_log_and_a_rounds_file(project):
    earlier = project / "round4.log"
    earlier.write_bytes((REAL / "round4.log").read_bytes())
    rounds = project / "rounds.yaml"
    rounds.write_text("history:\n  - {round: 4, best_r2: -0.01, fixes: [], outcome: no-effect}\n")
    snap = snapshot(project / "train.log", earlier, rounds)
    assert_refused(run_cli(["check", "train.log", "--history", "round4.log", "-o", "round4.log"]), snap, "--history")
    assert_refused(run_cli(["check", "train.log", "--history", "rounds.yaml", "-f", "json", "-o", "rounds.yaml"]), snap,
                   "--history")


def test_output_onto_the_file_behind_standard_input(project):
    log = project / "train.log"
    snap = snapshot(log)
    with open(log, "rb") as stdin:
        result = subprocess.run([sys.executable, "-m", "percediag", "check", "-", "-f", "json", "-o", str(log)],
                                stdin=stdin, capture_output=True, text=True, cwd=project, timeout=60)
    assert_refused((result.returncode, result.stdout, result.stderr), snap, "standard input")


def test_output_that_is_a_folder_or_named_twice(project):
    snap = snapshot(project / "train.log")
    (project / "reports").mkdir()
    assert_refused(run_cli(["check", "train.log", "-o", "reports"]), snap, "is a directory")
    assert_refused(run_cli(["check", "train.log", "-o", ""]), snap, "empty file name")
    assert_refused(run_cli(["check", "train.log", "-f", "json", "-o", "r.json", "-f", "sarif", "-o", "./r.json"]), snap,
                   "same file")
    assert not (project / "r.json").exists()


def test_write_rounds_onto_an_input_log(project):
    log = project / "train.log"
    (project / "link.log").symlink_to(log)
    config = project / ".percediag.yaml"
    config.write_text("profile: round5\n")
    snap = snapshot(log, config)
    assert_refused(run_cli(["history", "train.log", "--write-rounds", "train.log"]), snap, "--write-rounds", "input log")
    assert_refused(run_cli(["history", "train.log", "--write-rounds", "link.log"]), snap, "input log")
    assert_refused(run_cli(["history", "train.log", "--write-rounds", ".percediag.yaml"]), snap, "configuration")
    assert_refused(run_cli(["history", "train.log", "--write-rounds", "-"]), snap, "--write-rounds -")
    code, _, err = run_cli(["history", "train.log", "--write-rounds", "rounds.yaml"])
    assert code == 0 and err == "" and "history:" in (project / "rounds.yaml").read_text()


def test_tee_onto_the_log_being_followed(project):
    log = project / "train.log"
    (project / "link.log").symlink_to(log)
    snap = snapshot(log)
    assert_refused(run_cli(["watch", "train.log", "--tee", "link.log", "--idle-exit", "0"]), snap,
                   "--tee", "log being followed")
    # A command that follows (or reads) the file: `--tee train.log` would truncate it before the command starts.
    assert_refused(run_cli(["watch", "--tee", "train.log", "--", "tail", "-f", "train.log"]), snap,
                   "--tee", "command")
    assert_refused(run_cli(["watch", "--tee", "link.log", "--", "python", "train.py", "--log=train.log"]), snap, "command")
    # Following a file, --tee has nothing to copy: refused rather than ignored.
    assert_refused(run_cli(["watch", "train.log", "--tee", "copy.log"]), snap, "-- COMMAND")
    assert_refused(run_cli(["watch", "train.log", "--append"]), snap, "--tee")
    assert not (project / "copy.log").exists()


def test_tee_append_keeps_what_the_file_held(project):
    tee = project / "tee.log"
    tee.write_bytes(b"earlier run\n")
    script = project / "say.py"
    script.write_text("print('hello from the command')\n")
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT / "src")}
    for args in (["--tee", str(tee), "--append"], ["--tee", str(tee)]):
        result = subprocess.run([sys.executable, "-m", "percediag", "watch", "--fail-on", "never", *args, "--",
                                 sys.executable, str(script)], capture_output=True, cwd=project, env=env, timeout=60)
        assert result.returncode == 0, result.stderr
        assert result.stdout == b"hello from the command\n"
    # The first run appended, the second (no --append) replaced.
    assert tee.read_bytes() == b"hello from the command\n"
    result = subprocess.run([sys.executable, "-m", "percediag", "watch", "--fail-on", "never", "--tee", str(tee),
                             "--append", "--", sys.executable, str(script)], capture_output=True, cwd=project, env=env,
                            timeout=60)
    assert tee.read_bytes() == b"hello from the command\n" * 2


def test_failed_write_leaves_an_existing_report_intact(project, monkeypatch):
    import percediag.outputs

    report = project / "report.json"
    report.write_text('{"the": "previous report"}\n')
    snap = snapshot(project / "train.log", report)

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(percediag.outputs.os, "fsync", full_disk)
    line = assert_refused(run_cli(["check", "train.log", "-f", "json", "-o", "report.json"]), snap,
                          "--output report.json", "No space left on device")
    assert "nothing written" in line
    assert sorted(p.name for p in project.iterdir()) == [".git", "report.json", "train.log"], "a temporary file was left"


def test_failed_rename_and_unwritable_folder(project, monkeypatch):
    import percediag.outputs

    report = project / "rounds.yaml"
    report.write_text("history: []\n")
    snap = snapshot(project / "train.log", report)

    def refuse(src, dst):
        raise OSError(13, "Permission denied")

    monkeypatch.setattr(percediag.outputs.os, "replace", refuse)
    assert_refused(run_cli(["history", "train.log", "--write-rounds", "rounds.yaml"]), snap, "Permission denied")
    assert sorted(p.name for p in project.iterdir()) == [".git", "rounds.yaml", "train.log"]
    monkeypatch.undo()
    monkeypatch.chdir(project)
    if os.geteuid() != 0:  # root writes anywhere
        locked = project / "locked"
        locked.mkdir()
        (locked / "report.json").write_text("old\n")
        locked.chmod(0o555)
        try:
            snap = snapshot(project / "train.log", locked / "report.json")
            assert_refused(run_cli(["check", "train.log", "-f", "json", "-o", "locked/report.json"]), snap, "cannot write")
        finally:
            locked.chmod(0o755)


def test_report_is_written_whole_through_a_symlink_keeping_its_mode(project):
    target = project / "reports" / "r.json"
    target.parent.mkdir()
    target.write_text("old\n")
    target.chmod(0o640)
    (project / "latest.json").symlink_to(target)
    code, _, err = run_cli(["check", "train.log", "-f", "json", "-o", "latest.json"])
    assert code == 1 and err == ""
    assert (project / "latest.json").is_symlink()
    assert json.loads(target.read_text())["source"] == "train.log"
    assert (target.stat().st_mode & 0o777) == 0o640
    code, _, err = run_cli(["check", "train.log", "-f", "json", "-o", os.devnull])
    assert code == 1 and err == ""


# -- 2. configuration you can see -----------------------------------------------


def test_discovery_stops_at_git(tmp_path, monkeypatch):
    from percediag.discovery import discover

    (tmp_path / ".percediag.yaml").write_text("rules: [\n")  # above the project: invalid, and never read
    (tmp_path / "pyproject.toml").write_text("not toml at all = = =\n")
    project = tmp_path / "repo"
    (project / ".git").mkdir(parents=True)
    (project / "src" / "deep").mkdir(parents=True)
    found = discover(project / "src" / "deep")
    assert not found.found and found.searched == [project / "src" / "deep", project / "src", project]
    log = project / "healthy.log"
    log.write_bytes(HEALTHY.read_bytes())
    monkeypatch.chdir(project / "src" / "deep")
    code, out, err = run_cli(["check", str(log), "-f", "json"])
    assert code == 0 and err == "" and json.loads(out)["config_files"] == []
    code, out, _ = run_cli(["config"])
    assert code == 0 and f"config file: none (searched {project / 'src' / 'deep'} up to {project})" in out
    # A worktree's .git is a file: the same boundary.
    (project / ".git").rmdir()
    (project / ".git").write_text("gitdir: /elsewhere\n")
    assert discover(project / "src").searched[-1] == project


def test_discovery_from_a_deleted_working_directory(tmp_path):
    log = tmp_path / "train.log"
    log.write_bytes(HEALTHY.read_bytes())
    gone = tmp_path / "gone"
    script = (f"import os, sys\nos.mkdir({str(gone)!r}); os.chdir({str(gone)!r}); os.rmdir({str(gone)!r})\n"
              f"sys.argv = ['percediag', 'check', {str(log)!r}, '-q'] + sys.argv[1:]\n"
              "from percediag.cli import main\nmain()\n")
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and "--isolated" in result.stderr
    result = subprocess.run([sys.executable, "-c", script, "--isolated"], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr


def test_discovery_stops_at_the_first_pyproject_or_config(tmp_path):
    from percediag.discovery import discover

    (tmp_path / ".percediag.yaml").write_text("rules: [\n")  # never read: the project below ends the search
    project = tmp_path / "project"
    (project / "pkg").mkdir(parents=True)
    (project / "pyproject.toml").write_text("[project]\nname = 'x'\n")  # no [tool.percediag]: no configuration
    found = discover(project / "pkg")
    assert not found.found and found.searched[-1] == project
    (project / "pyproject.toml").write_text("[tool.percediag]\nprofile = 'round4'\n")
    found = discover(project / "pkg")
    assert found.path == project / "pyproject.toml" and found.data == {"profile": "round4"}
    # A nearer .percediag.yaml is the project's end: the pyproject above it is not read.
    (project / "pyproject.toml").write_text("[tool.percediag\n")  # invalid: reading it would be an error
    (project / "pkg" / ".percediag.yaml").write_text("profile: round6\n")
    found = discover(project / "pkg")
    assert found.path == project / "pkg" / ".percediag.yaml" and found.searched == [project / "pkg"]


def test_isolated_ignores_a_discovered_config_that_flips_the_verdict(project):
    log = project / "healthy.log"
    log.write_bytes(HEALTHY.read_bytes())
    assert run_cli(["check", "healthy.log", "-q"])[0] == 0
    (project / ".percediag.yaml").write_text(FLIPPING)
    code, out, _ = run_cli(["check", "healthy.log", "-f", "json"])
    assert code == 1 and json.loads(out)["config_files"] == [str(project / ".percediag.yaml")]
    code, out, err = run_cli(["check", "healthy.log", "-f", "json", "--isolated"])
    assert code == 0 and err == "" and json.loads(out)["config_files"] == []
    # Every command that reads configuration takes it.
    code, out, _ = run_cli(["config", "--isolated"])
    assert code == 0 and "config file: none (--isolated" in out and ".percediag.yaml" not in out
    code, out, _ = run_cli(["rules", "--isolated"])
    assert code == 0 and "5.0" not in out.split("activation.logit_std", 1)[1].splitlines()[0]
    assert run_cli(["diff", "healthy.log", "healthy.log", "--isolated"])[0] == 0
    assert run_cli(["history", "healthy.log", "--isolated"])[0] == 0
    # An explicit --config still applies under --isolated.
    (project / "strict.yaml").write_text(FLIPPING)
    assert run_cli(["check", "healthy.log", "-q", "--isolated", "-c", "strict.yaml"])[0] == 1


@pytest.mark.parametrize("kind", ["yaml", "pyproject"])
def test_report_and_config_command_name_the_discovered_file(project, kind):
    log = project / "healthy.log"
    log.write_bytes(HEALTHY.read_bytes())
    if kind == "yaml":
        path, origin = project / ".percediag.yaml", str(project / ".percediag.yaml")
        path.write_text("profile: round6\n")  # only chooses the profile: still named
    else:
        path, origin = project / "pyproject.toml", f"{project / 'pyproject.toml'} [tool.percediag]"
        path.write_text("[project]\nname = 'x'\n\n[tool.percediag]\nprofile = 'round6'\n")
    (project / "sub").mkdir()
    code, out, err = run_cli(["check", str(log), "-f", "json"])
    assert code == 0 and err == ""
    assert json.loads(out)["config_files"] == [origin]
    code, out, _ = run_cli(["config"])
    assert code == 0 and f"config file: {origin} (discovered)" in out.splitlines()[1]
    code, out, _ = run_cli(["config", "-c", str(path)] if kind == "yaml" else ["config"])
    assert code == 0 and origin in out


def big_sparse(path: Path, size: int = 2 * 1024**3) -> None:
    with open(path, "wb") as handle:
        handle.truncate(size)


@pytest.mark.parametrize("name", ["pyproject.toml", ".percediag.yaml", "explicit.yaml"])
def test_oversized_config_is_refused_unread(project, name):
    """A 2 GB (sparse) configuration: one line, exit 2, and it is not read (bounded time and memory)."""
    from percediag.discovery import load_recipe
    from percediag.errors import ConfigError

    big_sparse(project / name)
    args = ["check", "train.log", "-q"] + (["-c", name] if name == "explicit.yaml" else [])
    snap = snapshot(project / "train.log")
    started = time.monotonic()
    line = assert_refused(run_cli(args), snap, name, "larger than 1024 KiB", "not read")
    assert time.monotonic() - started < 5
    assert "\n" not in line
    tracemalloc.start()
    try:
        with pytest.raises(ConfigError, match="not read"):
            load_recipe(Path(name) if name == "explicit.yaml" else None)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * 1024**2, f"read {peak} bytes of a file it should not read"


def test_config_whose_size_the_stat_does_not_tell_is_still_bounded():
    """A special file (size 0, endless content): at most limit+1 bytes are read, then refused."""
    import percediag.settings
    from percediag.errors import ConfigError

    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    tracemalloc.start()
    try:
        with pytest.raises(ConfigError, match="larger than"):
            percediag.settings.read_config_bytes(Path("/dev/zero"))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 3 * percediag.settings.MAX_CONFIG_BYTES


def test_python_api_discovers_like_the_cli(project):
    import percediag

    log = project / "healthy.log"
    log.write_bytes(HEALTHY.read_bytes())
    assert percediag.check(str(log)).status == "pass"
    (project / ".percediag.yaml").write_text(FLIPPING)
    report = percediag.check(str(log))
    assert report.status == "fail" and report.config_files == [str(project / ".percediag.yaml")]
    assert percediag.check(str(log), isolated=True).status == "pass"
    (project / "other.yaml").write_text("profile: round6\n")
    assert percediag.check(str(log), config=project / "other.yaml").status == "pass"


# -- discovery refuses what it cannot trust, and says so -------------------------------------


@pytest.mark.parametrize("kind", ["folder", "fifo", "dangling symlink"])
def test_a_config_name_that_is_not_a_regular_file_is_an_error_not_a_skip(project, kind):
    target = project / ".percediag.yaml"
    if kind == "folder":
        target.mkdir()
    elif kind == "fifo":
        os.mkfifo(target)
    else:
        target.symlink_to(project / "gone.yaml")
    snap = snapshot(project / "train.log")
    line = assert_refused(run_cli(["check", "train.log"]), snap, str(target))
    assert {"folder": "a folder", "fifo": "a FIFO", "dangling symlink": "dangling symlink"}[kind] in line
    assert "--isolated" in line
    code, _, _ = run_cli(["check", "train.log", "--isolated", "-q"])
    assert code == 1


@pytest.mark.skipif(os.geteuid() != 0, reason="planting a file owned by another user needs root (chown)")
def test_a_config_planted_by_another_user_in_a_shared_folder_is_refused(tmp_path, monkeypatch):
    shared = tmp_path / "shared"  # like /tmp: anyone can write, sticky
    (shared / "me" / "work").mkdir(parents=True)
    shared.chmod(0o1777)
    planted = shared / ".percediag.yaml"
    planted.write_text(FLIPPING)
    os.chown(planted, 54321, 54321)
    log = shared / "me" / "work" / "healthy.log"
    log.write_bytes(HEALTHY.read_bytes())
    monkeypatch.chdir(shared / "me" / "work")
    monkeypatch.setenv("HOME", str(tmp_path / "elsewhere"))
    line = assert_refused(run_cli(["check", str(log)]), snapshot(log), str(planted), "another user", "uid 54321")
    assert "--config" in line and "--isolated" in line
    assert run_cli(["check", str(log), "--isolated", "-q"])[0] == 0
    # Named on purpose, it is read (and flips the verdict, visibly).
    code, out, _ = run_cli(["check", str(log), "-q", "--config", str(planted)])
    assert code == 1 and out.rstrip().endswith(f"config: {planted}")
    # The same file owned by the user is the user's own configuration.
    os.chown(planted, os.geteuid(), os.getegid())
    assert run_cli(["check", str(log), "-q"])[0] == 1


def test_discovery_outside_a_project_stops_at_home(tmp_path, monkeypatch):
    from percediag.discovery import discover

    (tmp_path / ".percediag.yaml").write_text("rules: [\n")  # above home: never read
    home = tmp_path / "home"
    (home / "runs" / "r5").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    found = discover(home / "runs" / "r5")
    assert not found.found and found.searched == [home / "runs" / "r5", home / "runs", home]


def test_quiet_line_names_the_configuration_that_shaped_it(project):
    (project / ".percediag.yaml").write_text(FLIPPING)
    code, out, _ = run_cli(["check", "train.log", "-q"])
    assert out.count("\n") == 1 and out.rstrip().endswith(f"; config: {project / '.percediag.yaml'}")
    code, out, _ = run_cli(["check", "train.log", "-q", "--isolated"])
    assert "config:" not in out


# -- /dev/stdout is stdout ---------------------------------------------------------------------


def _cli(args: list[str], **streams) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from percediag.cli import main; main()", *args],
                          text=True, timeout=120, **streams)


def test_output_to_dev_stdout_appended_to_a_file_keeps_what_the_file_held(project):
    kept = project / "ci.log"
    kept.write_text("earlier step output\n")
    with open(kept, "a") as out:
        done = _cli(["check", "train.log", "-f", "json", "-o", "/dev/stdout"], stdout=out, stderr=subprocess.PIPE)
    assert done.returncode == 1, done.stderr
    data = kept.read_text()
    assert data.startswith("earlier step output\n{")
    assert json.loads(data.split("\n", 1)[1])["status"] == "fail"
    with open(kept, "a") as err:
        done = _cli(["check", "train.log", "-f", "json", "-o", "/dev/stderr"], stdout=subprocess.DEVNULL, stderr=err)
    assert done.returncode == 1
    assert kept.read_text().startswith(data) and len(kept.read_text()) > len(data)


def test_two_formats_cannot_both_reach_stdout_by_two_names(project):
    code, _, err = run_cli(["check", "train.log", "-f", "json", "-o", "/dev/stdout", "-f", "text"])
    assert code == 2 and "Traceback" not in err and err.count("\n") == 1 and "only one --format can go to stdout" in err


# -- files read from a TensorBoard folder are inputs too ------------------------------------------

TB = Path(__file__).resolve().parent / "fixtures" / "tensorboard"


def test_outputs_never_replace_an_event_file_or_metrics_csv_read_from_a_folder(project):
    import shutil

    shutil.copytree(TB / "round5", project / "tb")
    shutil.copytree(TB / "round5-csv", project / "csv")
    event = next((project / "tb" / "fold_1" / "version_0").glob("events.out.tfevents.*"))
    metrics = project / "csv" / "fold_1" / "version_0" / "metrics.csv"
    snap = snapshot(event, metrics)
    assert_refused(run_cli(["check", "tb", "-o", str(event)]), snap, "a file read from the input log tb")
    assert_refused(run_cli(["check", "tb/stdout.log", "--events", "tb", "-f", "json", "-o", str(event)]), snap,
                   "the --events input")
    assert_refused(run_cli(["check", "tb/stdout.log", "--events", str(metrics), "-o", str(metrics)]), snap)
    assert_refused(run_cli(["history", "csv", "--write-rounds", str(metrics)]), snap, "--write-rounds")
    assert_refused(run_cli(["watch", "tb", "--tee", str(event), "--", "true"]), snap)


def test_tee_leaves_its_file_alone_when_the_command_cannot_start(project):
    kept = project / "earlier.txt"
    kept.write_text("an earlier run's output\n")
    code, _, err = run_cli(["watch", "--tee", str(kept), "--", "no-such-command-percediag"])
    assert code == 2 and "cannot run" in err and "Traceback" not in err
    assert kept.read_text() == "an earlier run's output\n"
    code, _, _ = run_cli(["watch", "--tee", str(project / "new.txt"), "--", "no-such-command-percediag"])
    assert code == 2 and not (project / "new.txt").exists()
