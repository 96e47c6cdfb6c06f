"""Hostile input, point 7 of issue 14: `watch -- COMMAND` never orphans or stalls training.

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
    [(process, _)] = hooks.running
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
