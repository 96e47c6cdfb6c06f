"""`watch -- COMMAND` sees the trainer's output the moment it is printed (issue 20).

The trainers here are plain `print()` scripts: no flush, no PYTHONUNBUFFERED in their
environment, so Python block-buffers a pipe; percediag must see their lines anyway, through a
pipe (it sets the environment) and through a pseudo-terminal (when its stdout is a terminal).
A terminal is given to percediag with `os.openpty`; every test has a deadline (SIGALRM) and
every process it starts is waited for, so a hang fails instead of blocking the suite.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time

import pytest

from tests.helpers import REAL, ROOT

DEADLINE = 90

# A Round 6 run whose first activation check shows collapsed predictions (a FAIL), then a
# long first epoch. Ctrl-C (SIGINT) makes it print its epoch line and a shutdown line.
TRAINER = r'''
import signal, sys, time
lines = open(sys.argv[1]).read().splitlines()
first_epoch = next(i for i, line in enumerate(lines) if "] Epoch " in line)
print(f"stdout is a terminal: {sys.stdout.isatty()}")
for line in lines[:first_epoch]:
    print(line)
try:
    time.sleep(60)  # the first epoch, on a slow GPU
except KeyboardInterrupt:
    print("  [Fold 0] Epoch   0 | train_loss: 0.0139 | val_loss: 0.0150 | val_r2: +0.0102 | lr: 2.50e-05 | time: 61.3s")
    print("Detected KeyboardInterrupt, attempting graceful shutdown ...")
    sys.exit(130)
'''


pytestmark = pytest.mark.usefixtures("deadline")


def child_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONUNBUFFERED", "GITHUB_ACTIONS", "NO_COLOR")}
    env["TERM"] = "xterm"
    return env


def watch_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "percediag", "watch", *args]


class Terminal:
    """A pseudo-terminal for percediag's stdout (and stdin); everything written to it is collected."""

    def __init__(self, rows: int = 30, columns: int = 100) -> None:
        self.controller, self.terminal = os.openpty()
        self.resize(rows, columns)
        attributes = termios.tcgetattr(self.terminal)
        attributes[1] &= ~termios.OPOST  # collect the bytes as percediag writes them
        termios.tcsetattr(self.terminal, termios.TCSANOW, attributes)
        self.chunks: list[bytes] = []
        self._reader = threading.Thread(target=self._read, daemon=True)

    def resize(self, rows: int, columns: int) -> None:
        fcntl.ioctl(self.controller, termios.TIOCSWINSZ, struct.pack("hhhh", rows, columns, 0, 0))

    def start(self, argv: list[str], **kwargs) -> subprocess.Popen:
        process = subprocess.Popen(argv, stdout=self.terminal, cwd=ROOT, env=child_env(), **kwargs)
        os.close(self.terminal)
        self._reader.start()
        return process

    def _read(self) -> None:
        while True:
            ready, _, _ = select.select([self.controller], [], [], 0.2)
            if not ready:
                continue
            try:
                data = os.read(self.controller, 65536)
            except OSError:
                return
            if not data:
                return
            self.chunks.append(data)

    def output(self) -> bytes:
        self._reader.join(timeout=10)
        os.close(self.controller)
        return b"".join(self.chunks)


def events(stderr: str) -> list[dict]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def assert_stopped_at_the_collapse(code: int, elapsed: float, found: list[dict]) -> None:
    assert code == 1
    assert elapsed < 15, f"the trainer sleeps 60 s after the failing check; watch took {elapsed:.1f} s"
    alerts = [e for e in found if e["event"] == "finding" and e["change"] == "alert"]
    assert any(e["rule"] == "activation.pred_std" and e["status"] == "fail" for e in alerts)
    # The epoch line the trainer printed while shutting down is in the final verdict.
    assert any(e["event"] == "forecast" and e["fold"] == 0 and e["epochs_seen"] == 1 for e in found), found[-3:]
    assert found[-1]["event"] == "end" and found[-1]["status"] == "fail"


def test_a_plain_print_trainer_is_stopped_within_seconds_through_a_pipe(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(TRAINER)
    started = time.monotonic()
    result = subprocess.run(watch_argv("--exit-on", "fail", "--grace", "5", "--format", "jsonl", "--",
                                       sys.executable, str(script), str(REAL / "round6.log")),
                            capture_output=True, cwd=ROOT, env=child_env(), stdin=subprocess.DEVNULL, timeout=60)
    elapsed = time.monotonic() - started
    assert_stopped_at_the_collapse(result.returncode, elapsed, events(result.stderr.decode()))
    assert result.stdout.startswith(b"stdout is a terminal: False\n")
    assert result.stdout.endswith(b"Detected KeyboardInterrupt, attempting graceful shutdown ...\n")


def test_a_plain_print_trainer_is_stopped_within_seconds_on_a_terminal(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(TRAINER)
    terminal = Terminal()
    started = time.monotonic()
    process = terminal.start(watch_argv("--exit-on", "fail", "--grace", "5", "--format", "jsonl", "--",
                                        sys.executable, str(script), str(REAL / "round6.log")),
                             stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        err = process.communicate(timeout=60)[1].decode()
    finally:
        process.kill()
    elapsed = time.monotonic() - started
    screen = terminal.output()
    assert_stopped_at_the_collapse(process.returncode, elapsed, events(err))
    assert screen.startswith(b"stdout is a terminal: True\n")  # the trainer ran on a pseudo-terminal
    assert b"Prediction collapse! std=0.008" in screen
    assert screen.endswith(b"Detected KeyboardInterrupt, attempting graceful shutdown ...\n")


def test_stdout_and_stderr_keep_their_order_through_a_pipe(tmp_path):
    """Plain prints to stdout and stderr, alternating, no flush: percediag's environment for the
    command makes both write through, so the pipe holds them in the order they were written."""
    script = tmp_path / "talk.py"
    script.write_text("import sys\nfor i in range(300):\n    print(f'out {i}')\n    print(f'err {i}', file=sys.stderr)\n")
    result = subprocess.run(watch_argv("--", sys.executable, str(script)), capture_output=True, cwd=ROOT, env=child_env(),
                            stdin=subprocess.DEVNULL, timeout=60)
    expected = "".join(f"out {i}\nerr {i}\n" for i in range(300))
    assert result.stdout.decode() == expected
    assert result.returncode == 1  # no training data: the final gate fails


# A trainer with a tqdm-style bar: drawn only on a terminal, with `\r` frames and colour, on
# stderr; everything it writes is also kept in a file to compare with what percediag passed on.
BARS = r'''
import signal, sys, time
copy = open(sys.argv[2], "wb")
def write(stream, text):
    stream.write(text)
    stream.flush()
    copy.write(text.encode())
    copy.flush()
lines = open(sys.argv[1]).read().splitlines(keepends=True)
first_epoch = next(i for i, line in enumerate(lines) if "] Epoch " in line)
if not sys.stderr.isatty():
    raise SystemExit("no terminal: no progress bar")
for line in lines[:first_epoch]:
    write(sys.stdout, line)
try:
    for step in range(0, 11):
        bar = "#" * step + " " * (10 - step)
        write(sys.stderr, f"\r\x1b[32mEpoch 0: {step * 10:3d}%|{bar}| {step}/10 [00:0{step}<00:10, 1.02it/s]\x1b[0m")
        time.sleep(0.01)
    time.sleep(60)
except KeyboardInterrupt:
    write(sys.stdout, "\n  [Fold 0] Epoch   0 | train_loss: 0.0139 | val_loss: 0.0150 | val_r2: +0.0102 | lr: 2.50e-05 | time: 61.3s\n")
    write(sys.stdout, "Detected KeyboardInterrupt, attempting graceful shutdown ...\n")
    sys.exit(130)
'''


def test_progress_bars_pass_through_unchanged_on_a_terminal(tmp_path):
    script, copy, tee = tmp_path / "train.py", tmp_path / "written.bin", tmp_path / "tee.log"
    script.write_text(BARS)
    terminal = Terminal()
    process = terminal.start(watch_argv("--exit-on", "fail", "--grace", "5", "--format", "jsonl", "--tee", str(tee), "--",
                                        sys.executable, str(script), str(REAL / "round6.log"), str(copy)),
                             stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        err = process.communicate(timeout=60)[1].decode()
    finally:
        process.kill()
    screen = terminal.output()
    written = copy.read_bytes()
    assert b"\r\x1b[32mEpoch 0:   0%|          | 0/10 [00:00<00:10, 1.02it/s]\x1b[0m" in written
    assert screen == written  # byte for byte: frames, colour, and no "\r\n" for "\n"
    assert tee.read_bytes() == written
    found = events(err)
    assert process.returncode == 1
    assert any(e["event"] == "forecast" and e["fold"] == 0 and e["epochs_seen"] == 1 for e in found)


def test_alerts_start_on_a_line_of_their_own_after_a_partial_bar(tmp_path):
    """stdout and stderr on one terminal: the command stopped mid-line (a bar); percediag's
    next line begins on a new line, and the command's own bytes are unchanged. The command
    ends on its bar, so at least the closing verdict follows the bar whenever watch judges
    the head (as it reads it, or at the end): the order is certain, not a race."""
    script = tmp_path / "train.py"
    script.write_text(r'''
import sys
lines = open(sys.argv[1]).read().splitlines(keepends=True)
head = "".join(lines[:next(i for i, line in enumerate(lines) if "] Epoch " in line)])
sys.stdout.write(head + "\rEpoch 0:  50%|#####     | 5/10")
sys.stdout.flush()
''')
    terminal = Terminal()
    process = terminal.start(watch_argv("--", sys.executable, str(script), str(REAL / "round6.log")),
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        process.wait(timeout=60)
    finally:
        process.kill()
    screen = terminal.output().decode()
    assert process.returncode == 1
    alerts = [i for i in range(len(screen)) if screen.startswith(("FAIL ", "WARN ", "FAIL:"), i)]
    assert alerts and all(screen[i - 1] == "\n" for i in alerts), screen[-800:]
    assert re.search(r"\| 5/10\n(FAIL|WARN)[ :]", screen), screen[-800:]
    assert "\n\rEpoch 0:  50%|#####     | 5/10" in screen  # the command's bytes as it wrote them


def test_the_command_reads_percediags_stdin_and_follows_the_window_size(tmp_path):
    """`input()` (and so `breakpoint()`) in the trainer reads what the user types; a resized
    terminal reaches the trainer's pseudo-terminal with SIGWINCH."""
    script = tmp_path / "ask.py"
    script.write_text(r'''
import os, shutil, signal, sys, time
def size():
    rows, columns = os.get_terminal_size(sys.stdout.fileno()).lines, os.get_terminal_size(sys.stdout.fileno()).columns
    print(f"size {rows}x{columns}", flush=True)
size()
signal.signal(signal.SIGWINCH, lambda *a: size())
answer = input("continue? ")
print(f"answer: {answer}", flush=True)
time.sleep(0.5)
''')
    terminal = Terminal(rows=30, columns=100)
    stdin_controller, stdin_terminal = os.openpty()  # a terminal to type into
    process = terminal.start(watch_argv("--", sys.executable, str(script)), stderr=subprocess.PIPE, stdin=stdin_terminal)
    os.close(stdin_terminal)
    try:
        deadline = time.monotonic() + 30
        while b"continue? " not in b"".join(terminal.chunks):
            assert time.monotonic() < deadline, b"".join(terminal.chunks)
            time.sleep(0.05)
        terminal.resize(40, 120)
        process.send_signal(signal.SIGWINCH)  # the terminal is not percediag's controlling one: tell it
        while b"size 40x120" not in b"".join(terminal.chunks):
            assert time.monotonic() < deadline, b"".join(terminal.chunks)
            time.sleep(0.05)
        os.write(stdin_controller, b"yes\n")
        process.wait(timeout=30)
    finally:
        process.kill()
        os.close(stdin_controller)
    screen = terminal.output()
    assert screen.startswith(b"size 30x100\n")
    assert b"answer: yes\n" in screen
    assert process.returncode == 1  # no training data: the final gate fails, nothing hung


def test_the_watch_docs_quote_the_code():
    """docs/watch.md names the stop timings, the ranges, the hook cap and limits: they are the code's."""
    import re

    from percediag.live import command, hooks, session

    doc = (ROOT / "docs" / "watch.md").read_text()
    assert f"then SIGKILL {command.TERM_TO_KILL:g} s after SIGTERM (`live/command.py: TERM_TO_KILL`" in doc
    assert f"for at most {command.DRAIN_AFTER_EXIT:g} s\n(`live/command.py: DRAIN_AFTER_EXIT`)" in doc
    assert f"up to {hooks.OUTPUT_CAP >> 10} KiB per hook\n(`live/hooks.py: OUTPUT_CAP`)" in doc
    assert f"at most {hooks.MAX_RUNNING} run at once" in doc
    assert f"`PYTHONUNBUFFERED={command.UNBUFFERED_ENV['PYTHONUNBUFFERED']}`" in doc
    rows = dict(re.findall(r"^\| `(--[a-z-]+)` \| ([^|]+) \|", doc, flags=re.MULTILINE))
    assert set(rows) == set(session.RANGES)
    for option, (low, high) in session.RANGES.items():
        assert rows[option].strip() == f"{low:g} to {high:,.0f}", option
    readme = (ROOT / "README.md").read_text()
    assert "(docs/watch.md)" in readme


def test_a_breakpoint_in_the_trainer_reads_percediags_stdin(tmp_path):
    script = tmp_path / "train.py"
    script.write_text("x = 6\nbreakpoint()\nprint('after the breakpoint', x)\n")
    env = child_env()
    env.pop("PYTHONBREAKPOINT", None)
    result = subprocess.run(watch_argv("--", sys.executable, str(script)), input=b"p x * 7\nc\n", capture_output=True,
                            cwd=ROOT, env=env, timeout=60)
    out = result.stdout.decode()
    assert "(Pdb) 42" in out and out.endswith("after the breakpoint 6\n"), out
    assert result.returncode == 1  # no training data: the final gate fails
