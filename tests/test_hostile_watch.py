"""Hostile input, point 7 of issue 14: `watch -- COMMAND` never orphans or stalls training.

Every test has a deadline (SIGALRM) and waits for each process it starts, so a hang fails
rather than blocks the suite; no test leaves a command behind (each checks the pid is gone).

Terminated from outside (SIGTERM, SIGHUP, Ctrl-C, its stdout closing), percediag stops the
command the one graceful way (SIGINT first, as on Ctrl-C) and exits 128 + the signal; the
command's own end by a signal N is reported as 128 + N; `--exec` hooks run beside the
command's output, never in its way, and are killed after their timeout.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.helpers import ROOT
from tests.test_watch import FIRST_EPOCH, ROUND6

TRAINER = r'''
import os, signal, sys, time
marker = sys.argv[1]
def graceful(signum, frame):
    open(marker, "w").write(f"graceful {signum}\n")
    print("saving checkpoint and stopping", flush=True)
    sys.exit(0)
signal.signal(signal.SIGINT, graceful)
open(marker + ".pid", "w").write(str(os.getpid()))
epoch = 0
while True:
    print(f"  [Fold 0] Epoch {epoch:3d} | train_loss: 0.0141 | val_loss: 0.0152 | val_r2: +0.0100 | lr: 5.00e-05 | time: 1.0s",
          flush=True)
    epoch += 1
    time.sleep(0.05)
'''


pytestmark = pytest.mark.usefixtures("deadline")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as status:
            return "zombie" not in status.read().lower()
    except FileNotFoundError:
        return False


def _watch(args: list[str], **kwargs) -> subprocess.Popen:
    env = {**os.environ, "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"}
    env.pop("GITHUB_ACTIONS", None)
    return subprocess.Popen([sys.executable, "-m", "percediag", "watch", *args], stderr=subprocess.PIPE, cwd=ROOT, env=env,
                            **kwargs)


def _wait_for(path, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not os.path.exists(path) or not open(path).read():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


@pytest.mark.parametrize("how", ["SIGTERM", "SIGHUP", "SIGINT", "stdout closes"])
def test_terminated_watch_stops_the_command_gracefully(tmp_path, how):
    script = tmp_path / "train.py"
    script.write_text(TRAINER)
    marker = tmp_path / "stopped"
    read, write = os.pipe()
    process = _watch(["--grace", "10", "--", sys.executable, str(script), str(marker)], stdout=write)
    os.close(write)
    try:
        _wait_for(f"{marker}.pid")
        pid = int(open(f"{marker}.pid").read())
        os.read(read, 4096)  # the command's output flows through
        time.sleep(0.2)
        if how == "stdout closes":
            os.close(read)
            signum = signal.SIGPIPE
        else:
            signum = getattr(signal, how)
            process.send_signal(signum)
        code = process.wait(timeout=20)
        err = process.stderr.read().decode()
    finally:
        process.kill()
        if how != "stdout closes":
            os.close(read)
    assert code == 128 + signum, err[-1000:]
    assert marker.read_text() == f"graceful {int(signal.SIGINT)}\n"  # the same graceful stop as Ctrl-C
    assert not _alive(pid)
    assert "Traceback" not in err and "percediag: error" not in err


@pytest.mark.parametrize(("command", "expected"), [("kill -KILL $$", 128 + 9), ("kill -TERM $$", 128 + 15), ("exit 3", 3)])
def test_the_command_exit_code_or_signal_is_reported(command, expected):
    process = _watch(["--", "sh", "-c", f"echo starting; {command}"], stdout=subprocess.DEVNULL)
    assert process.wait(timeout=30) == expected
    assert "Traceback" not in process.stderr.read().decode()


HOOK = r'''
import json, sys, time
event = json.load(sys.stdin)
time.sleep(3)
open(sys.argv[1], "a").write(json.dumps({"rule": event["rule"], "done": time.time()}) + "\n")
'''

LOUD_TRAINER = r'''
import sys, time
sys.stdout.write(open(sys.argv[1]).read())
sys.stdout.flush()
time.sleep(0.5)  # the alert fires: its hook starts now
for i in range(4000):  # 400 KB: far more than a pipe holds while nobody reads it
    sys.stdout.write("  step %05d " % i + "." * 87 + "\n")
sys.stdout.flush()
open(sys.argv[2], "w").write(str(time.time()))
'''


def test_exec_hooks_do_not_block_the_command(tmp_path):
    """A hook that takes 3 s: the command writes 400 KB meanwhile and finishes long before the
    hook; before, the watch sat in the hook while the command's pipe filled and it stalled."""
    log = tmp_path / "collapse.log"
    log.write_text("".join(ROUND6[:FIRST_EPOCH]))
    trainer, hook = tmp_path / "train.py", tmp_path / "hook.py"
    trainer.write_text(LOUD_TRAINER)
    hook.write_text(HOOK)
    hooked, finished = tmp_path / "hooked.jsonl", tmp_path / "finished"
    process = _watch(["--exec", f"{sys.executable} {hook} {hooked}", "--", sys.executable, str(trainer), str(log), str(finished)],
                     stdout=subprocess.DEVNULL)
    code = process.wait(timeout=60)
    err = process.stderr.read().decode()
    assert code == 1 and "Traceback" not in err  # the collapse fails the final gate
    done = [json.loads(line) for line in hooked.read_text().splitlines()]
    assert any(entry["rule"] == "activation.logit_std" for entry in done)  # the watch waited for its hooks
    assert float(finished.read_text()) < min(entry["done"] for entry in done) - 1.5


def test_a_hook_past_its_timeout_is_killed(capfd):
    from percediag.live.hooks import Hooks

    hooks = Hooks(f"{sys.executable} -c 'import time; time.sleep(30)'", timeout=0.3)
    started = time.monotonic()
    hooks.run({"event": "finding", "rule": "x"})
    [hook] = hooks.running
    process = hook.process
    time.sleep(0.4)
    hooks.poll()
    assert process.returncode == -signal.SIGKILL and not hooks.running
    hooks.run({"event": "finding", "rule": "y"})
    hooks.wait()
    assert time.monotonic() - started < 5
    err = capfd.readouterr().err
    assert err.count("still running after 0.3 s; killed") == 2


def test_an_error_in_the_watch_still_stops_the_command(tmp_path, monkeypatch):
    from percediag.live import session
    from percediag.live.watcher import Watcher
    from percediag.settings import SettingsRecipe

    script = tmp_path / "train.py"
    script.write_text(TRAINER)
    marker = tmp_path / "stopped"
    calls = []

    def failing(self, final=False):
        calls.append(final)
        if len(calls) > 3 and not final:
            raise RuntimeError("a bug in the watcher")
        return []

    monkeypatch.setattr(Watcher, "evaluate", failing)
    options = session.WatchOptions(target=[sys.executable, str(script), str(marker)], command=True, exit_on=None,
                                   exec_command=None, fmt="jsonl", tee=None, grace=5, interval=0.05, idle_exit=None,
                                   fail_on="fail")
    with open(os.devnull, "wb") as sink:
        monkeypatch.setattr(sys, "stdout", type("Out", (), {"buffer": sink, "write": lambda self, s: None,
                                                            "flush": lambda self: None})())
        with pytest.raises(RuntimeError):
            session.run_watch(SettingsRecipe(profile="round5"), options, None)
    assert marker.read_text() == f"graceful {int(signal.SIGINT)}\n"
    assert not _alive(int(open(f"{marker}.pid").read()))


# -- issue 14, watch: percediag failing on its own output, stdin as an input, bounds, hooks ---

STUBBORN = r"""
import os, signal, sys, time
signal.signal(signal.SIGINT, signal.SIG_IGN)  # a trainer that ignores Ctrl-C
open(sys.argv[1], "w").write(str(os.getpid()))
while True:
    print("  [Fold 0] Epoch   1 | train_loss: 0.0141 | val_loss: 0.0152 | val_r2: +0.0100 | lr: 5.00e-05 | time: 1.0s",
          flush=True)
    time.sleep(0.005)  # never quiet for long: the stop must not wait for a pause in its output
"""


def _one_error_line(err: str, expected: str) -> None:
    errors = [line for line in err.splitlines() if line.startswith("percediag: error:")]
    assert errors == [err.splitlines()[-1]] and expected in errors[0], err[-800:]
    assert "Traceback" not in err


@pytest.mark.parametrize("where", ["stdout on /dev/full", "--tee /dev/full"])
def test_a_failing_output_stops_a_command_that_ignores_sigint(tmp_path, where):
    script, pidfile = tmp_path / "train.py", tmp_path / "pid"
    script.write_text(STUBBORN)
    args = ["--grace", "0.5", "--", sys.executable, str(script), str(pidfile)]
    if where == "--tee /dev/full":
        process = _watch(["--tee", "/dev/full", *args], stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        expected = "--tee /dev/full: No space left on device"
    else:
        with open("/dev/full", "wb") as full:
            process = _watch(args, stdout=full, stdin=subprocess.DEVNULL)
        expected = "standard output: No space left on device"
    try:
        code = process.wait(timeout=30)
        err = process.stderr.read().decode()
    finally:
        process.kill()
    assert code == 2
    _one_error_line(err, expected)
    assert not _alive(int(pidfile.read_text()))  # SIGINT ignored: SIGTERM after the grace ended it


def test_a_closed_stdout_is_refused_before_the_command_starts(tmp_path):
    marker = tmp_path / "started"
    process = subprocess.run(["sh", "-c", f'exec "$0" -m percediag watch -- touch {marker} >&-', sys.executable],
                             capture_output=True, cwd=ROOT, timeout=30)
    assert process.returncode == 2
    err = process.stderr.decode()
    assert err.count("\n") == 1 and err.startswith("percediag: error: standard output is closed"), err
    assert not marker.exists()


def test_tee_refuses_the_file_on_the_commands_stdin(tmp_path):
    log = tmp_path / "train.log"
    log.write_text("".join(ROUND6[:FIRST_EPOCH]))
    before = log.read_bytes()
    link = tmp_path / "link.log"
    link.symlink_to(log)
    for target in (log, link):
        with open(log, "rb") as stdin:
            result = subprocess.run([sys.executable, "-m", "percediag", "watch", "--tee", str(target), "--", "cat"],
                                    stdin=stdin, capture_output=True, cwd=ROOT, timeout=30)
        err = result.stderr.decode()
        assert result.returncode == 2 and err.count("\n") == 1, err
        assert "is the file on standard input; refusing to overwrite an input" in err
        assert log.read_bytes() == before


@pytest.mark.parametrize(("option", "value"), [
    ("--interval", "1e-300"), ("--interval", "0.001"), ("--interval", "1e6"), ("--grace", "1e5"), ("--grace", "-0.1"),
    ("--idle-exit", "2e6"), ("--exec-timeout", "0"), ("--exec-timeout", "1e9"), ("--exec-timeout", "nan"),
])
def test_numeric_watch_options_are_bounded(tmp_path, option, value):
    from tests.helpers import run_cli

    log = tmp_path / "train.log"
    log.write_text("".join(ROUND6[:FIRST_EPOCH]))
    code, _, err = run_cli(["watch", str(log), option, value])
    assert code == 2 and err.startswith(f"percediag: error: {option} ") and err.count("\n") == 1
    assert "give a number of seconds from" in err
    assert f"{option} {float(value):g}:" in err  # the value as written (-0.1, 1e+06), not a float's repr


def test_a_whole_number_of_seconds_is_echoed_as_given(tmp_path):
    from tests.helpers import run_cli

    code, _, err = run_cli(["watch", str(tmp_path / "train.log"), "--idle-exit", "-1"])
    assert code == 2 and err.startswith("percediag: error: --idle-exit -1: give a number of seconds from 0 to")


@pytest.mark.parametrize("mode", ["file", "command"])
def test_idle_exit_ends_the_watch_whatever_the_interval(tmp_path, mode):
    log = tmp_path / "train.log"
    log.write_text("".join(ROUND6[:FIRST_EPOCH]))
    target = [str(log)] if mode == "file" else ["--grace", "1", "--", "sleep", "30"]
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "percediag", "watch", "--interval", "60", "--idle-exit", "1", *target],
                            capture_output=True, cwd=ROOT, stdin=subprocess.DEVNULL, timeout=40)
    elapsed = time.monotonic() - started
    assert elapsed < 10, f"--idle-exit 1 took {elapsed:.1f} s with --interval 60"
    # Following the file: the collapse fails the gate. The command: stopped (SIGINT), its exit 128 + 2.
    assert result.returncode == (1 if mode == "file" else 130) and b"Traceback" not in result.stderr


def test_a_flooding_hook_is_capped_and_says_how_much_was_dropped():
    from percediag.live.hooks import OUTPUT_CAP, Hooks

    passed, warnings = [], []
    flood = f"{sys.executable} -c \"import sys; sys.stderr.write('x' * 3_000_000); sys.stdout.write('y' * 1_000_000)\""
    hooks = Hooks(flood, timeout=30, write=passed.append, warn=warnings.append)
    hooks.run({"event": "finding", "rule": "activation.pred_std"})
    started = time.monotonic()
    hooks.wait()
    assert time.monotonic() - started < 20
    assert sum(map(len, passed)) == OUTPUT_CAP
    assert warnings == [f"--exec {sys.executable}: {4_000_000 - OUTPUT_CAP:,} byte(s) of its output dropped "
                        f"(beyond the first {OUTPUT_CAP:,} passed on)"]


def test_a_flooding_hook_does_not_flood_stderr(tmp_path):
    log = tmp_path / "train.log"
    log.write_text("".join(ROUND6[:FIRST_EPOCH]))
    hook = f"{sys.executable} -c \"import sys; sys.stderr.write('z' * 5_000_000)\""
    result = subprocess.run([sys.executable, "-m", "percediag", "watch", str(log), "--idle-exit", "0.5", "--exec", hook],
                            capture_output=True, cwd=ROOT, stdin=subprocess.DEVNULL, timeout=60)
    err = result.stderr.decode()
    assert result.returncode == 1 and "Traceback" not in err
    assert len(result.stderr) < 40 * 65536  # a few hooks' capped output, not 5 MB each
    assert "byte(s) of its output dropped" in err
