"""percediag watch, against a writer that appends a log line by line while it runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path


from tests.helpers import REAL, ROOT

ROUND6 = (REAL / "round6.log").read_text().splitlines(keepends=True)
FIRST_EPOCH = next(i for i, line in enumerate(ROUND6) if "] Epoch " in line)


def start_watch(*args: str) -> tuple[subprocess.Popen, list[tuple[float, dict]]]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"}
    env.pop("GITHUB_ACTIONS", None)
    process = subprocess.Popen([sys.executable, "-m", "percediag", "watch", *args], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, cwd=ROOT, env=env)
    events: list[tuple[float, dict]] = []

    def read() -> None:
        for raw in process.stdout:
            events.append((time.monotonic(), json.loads(raw)))

    threading.Thread(target=read, daemon=True).start()
    return process, events


def write_lines(path: Path, lines: list[str], pause: float = 0.002) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        for line in lines:
            handle.write(line)
            handle.flush()
            time.sleep(pause)


def wait_for(events, predicate, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for stamp, event in list(events):
            if predicate(event):
                return stamp, event
        time.sleep(0.02)
    raise AssertionError(f"no matching event in {timeout}s; got {[e['event'] for _, e in events]}")


def is_alert(rule):
    return lambda e: e["event"] == "finding" and e["change"] == "alert" and e["rule"] == rule


def test_collapse_alert_arrives_before_the_first_epoch_line(tmp_path):
    log = tmp_path / "train.log"
    process, events = start_watch(str(log), "--format", "jsonl", "--idle-exit", "3", "--interval", "0.05")
    try:
        time.sleep(0.3)  # the file does not exist yet: watch waits for it
        write_lines(log, ROUND6[:FIRST_EPOCH])
        activation_done = time.monotonic()
        stamp, alert = wait_for(events, is_alert("activation.pred_std"), timeout=10)
        epoch_written = time.monotonic()
        write_lines(log, ROUND6[FIRST_EPOCH:FIRST_EPOCH + 1])
        assert stamp < epoch_written
        assert stamp - activation_done < 1.0, "alert later than one second after the triggering line"
        assert alert["status"] == "fail" and alert["fold"] == 1
        assert process.wait(timeout=20) == 1  # the idle exit reports the failing gate
    finally:
        process.kill()


def test_exit_on_fail_ends_the_watch(tmp_path):
    log = tmp_path / "train.log"
    log.write_text("")
    process, events = start_watch(str(log), "--format", "jsonl", "--exit-on", "fail", "--interval", "0.05")
    writer = threading.Thread(target=write_lines, args=(log, ROUND6, 0.01), daemon=True)
    writer.start()
    try:
        assert process.wait(timeout=20) == 1
        assert writer.is_alive(), "watch should stop at the first failure, long before the log is complete"
        assert any(e["event"] == "finding" and e["status"] == "fail" for _, e in events)
    finally:
        process.kill()


def test_truncated_and_rewritten_file_is_followed(tmp_path):
    log = tmp_path / "train.log"
    healthy = (REAL / "round4.log").read_text()
    log.write_text(healthy[: healthy.index("[GRAD] Step 0")])
    process, events = start_watch(str(log), "--format", "jsonl", "--idle-exit", "2", "--interval", "0.05")
    try:
        wait_for(events, lambda e: e["event"] == "fold_start")
        time.sleep(0.3)
        assert not any(e["event"] == "finding" and e.get("rule", "").startswith("activation") for _, e in events)
        log.write_text("")  # truncate
        time.sleep(0.3)
        write_lines(log, ROUND6[:FIRST_EPOCH], pause=0.0)
        wait_for(events, lambda e: e["event"] == "restart" and e["reason"] == "truncated")
        wait_for(events, is_alert("activation.logit_std"))
    finally:
        process.kill()


def test_rotated_file_is_followed(tmp_path):
    log = tmp_path / "train.log"
    log.write_text("".join(ROUND6[:130]))  # up to the first fold header
    process, events = start_watch(str(log), "--format", "jsonl", "--idle-exit", "2", "--interval", "0.05")
    try:
        wait_for(events, lambda e: e["event"] == "fold_start")
        os.rename(log, tmp_path / "train.log.1")
        (tmp_path / "train.log").write_text("".join(ROUND6[:FIRST_EPOCH]))
        wait_for(events, lambda e: e["event"] == "restart" and e["reason"] == "rotated")
        wait_for(events, is_alert("activation.collapsed_dims"))
    finally:
        process.kill()


TRAINER = r'''
import sys, time
data = open(sys.argv[1], "rb").read()
lines = data.splitlines(keepends=True)
try:
    for i, line in enumerate(lines):
        sys.stdout.buffer.write(line)
        sys.stdout.buffer.flush()
        if b"] Epoch " in line:
            time.sleep(0.05)
    time.sleep(60)   # a long training run
except KeyboardInterrupt:
    sys.stdout.buffer.write(b"\nDetected KeyboardInterrupt, attempting graceful shutdown ...\n")
    sys.stdout.buffer.flush()
    sys.exit(130)
'''


def run_command_watch(tmp_path, log: Path, *args: str) -> tuple[int, bytes, str, float]:
    script = tmp_path / "train.py"
    script.write_text(TRAINER)
    env = {**os.environ, "NO_COLOR": "1"}
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "percediag", "watch", *args, "--", sys.executable, str(script), str(log)],
                            capture_output=True, cwd=ROOT, env=env, timeout=90)
    return result.returncode, result.stdout, result.stderr.decode(), time.monotonic() - started


def test_command_output_passes_through_byte_for_byte(tmp_path):
    log = REAL / "round5-progress-bars.log"  # carriage returns, ANSI codes, block characters
    tee = tmp_path / "tee.log"
    code, out, err, elapsed = run_command_watch(tmp_path, log, "--exit-on", "fail", "--grace", "3", "--tee", str(tee))
    original = log.read_bytes()
    assert code == 1 and "FAIL activation.logit_std" in err
    # Everything the command wrote arrives unchanged: a prefix of the log, then its shutdown line.
    body, _, shutdown = out.partition(b"\nDetected KeyboardInterrupt")
    assert original.startswith(body) and len(body) > 1000
    assert shutdown.startswith(b", attempting graceful shutdown")
    assert tee.read_bytes() == out
    assert elapsed < 30, "the command should be stopped at the first failure, not run its 60 s"


def test_command_runs_to_its_end_without_exit_on(tmp_path):
    short = tmp_path / "short.log"
    short.write_text("".join(ROUND6[:FIRST_EPOCH + 3]))
    script = tmp_path / "quick.py"
    script.write_text("import sys\nsys.stdout.write(open(sys.argv[1]).read())\n")
    result = subprocess.run([sys.executable, "-m", "percediag", "watch", "--format", "jsonl", "--", sys.executable, str(script),
                             str(short)], capture_output=True, cwd=ROOT, timeout=60)
    assert result.stdout == short.read_bytes()
    events = [json.loads(line) for line in result.stderr.decode().splitlines()]
    assert events[-1]["event"] == "end" and events[-1]["status"] == "fail"
    assert result.returncode == 1


def test_exec_hook_gets_the_finding_as_json(tmp_path):
    log = tmp_path / "train.log"
    log.write_text("".join(ROUND6[:FIRST_EPOCH]))
    sink = tmp_path / "hook.jsonl"
    hook = f"{sys.executable} -c \"import sys; open(r'{sink}', 'a').write(sys.stdin.read() + chr(10))\""
    result = subprocess.run([sys.executable, "-m", "percediag", "watch", str(log), "--idle-exit", "0.5", "--exec", hook],
                            capture_output=True, cwd=ROOT, timeout=60)
    hooked = [json.loads(line) for line in sink.read_text().splitlines()]
    assert any(e["rule"] == "activation.logit_std" and e["status"] == "fail" for e in hooked)
    assert result.returncode == 1


def test_watch_usage_errors():
    from tests.helpers import run_cli

    code, _, err = run_cli(["watch"])
    assert code == 2 and "watch needs a log file" in err
    code, _, err = run_cli(["watch", "a.log", "b.log"])
    assert code == 2 and "one log file" in err


def test_live_view_on_a_terminal(tmp_path):
    """On a terminal the text format is a live view: header, verdicts, per-fold curves, the top fix."""
    import pty
    import select

    log = tmp_path / "train.log"
    log.write_text((REAL / "round5.log").read_text())
    controller, terminal = pty.openpty()
    env = {**os.environ, "COLUMNS": "160", "LINES": "50", "TERM": "xterm"}
    env.pop("NO_COLOR", None)
    process = subprocess.Popen([sys.executable, "-m", "percediag", "watch", str(log), "--idle-exit", "1"],
                               stdout=terminal, stderr=terminal, stdin=subprocess.DEVNULL, cwd=ROOT, env=env)
    os.close(terminal)
    chunks = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 0.5)
        if ready:
            try:
                data = os.read(controller, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        elif process.poll() is not None:
            break
    process.wait(timeout=10)
    os.close(controller)
    screen = b"".join(chunks).decode("utf-8", "replace")
    assert "percediag watch" in screen and "top fix: compare-original" in screen
    assert "FAIL activation.logit_std" in screen and "\x1b[" in screen  # colour on a terminal
    assert process.returncode == 1
