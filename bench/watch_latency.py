"""Latency of `percediag watch`: from the line that completes a failing block to the alert.

Two cases, each repeated --runs times (a fresh watch each time); prints min,
median, p95 and max per case:

- `file`: a writer appends a real Round 6 log (collapsed activations) line by
  line to a file that `percediag watch --format jsonl` follows, flushing each
  line, and notes when it wrote the activation block's closing line; a reader
  timestamps the first `activation.pred_std` alert on watch's stdout.
- `pipe` and `pty`: `percediag watch --exit-on fail -- python train.py`, where
  train.py prints the same log with plain `print()` (no flush, and no
  PYTHONUNBUFFERED in its environment) up to the first epoch and then works
  on a long epoch (it sleeps) without printing. It notes (in a side file) when
  it printed the block's closing line; the alert is timestamped on watch's
  stderr. `pipe`: percediag's stdout is a pipe; `pty`: a pseudo-terminal, as
  in an interactive shell. Both clocks are CLOCK_MONOTONIC (system-wide on
  Linux). Before issue 20 the child block-buffered its stdout on the pipe and
  the alert waited for the end of the epoch.

    python bench/watch_latency.py --runs 20 [--case file|pipe|pty]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOG = ROOT / "tests" / "fixtures" / "real-logs" / "round6.log"


def one_run(interval: float) -> float:
    lines = LOG.read_text().splitlines(keepends=True)
    close = next(i for i, line in enumerate(lines) if "ACTIVATION CHECK" in line) + 16  # the block's closing rule
    assert lines[close].startswith("=====")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "train.log"
        path.write_text("".join(lines[:close - 20]))
        process = subprocess.Popen([sys.executable, "-m", "percediag", "watch", str(path), "--format", "jsonl",
                                    "--interval", str(interval), "--idle-exit", "5"],
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT,
                                   env={**os.environ, "PYTHONUNBUFFERED": "1"})
        alert_at: list[float] = []

        def read() -> None:
            for raw in process.stdout:
                event = json.loads(raw)
                if event.get("change") == "alert" and event.get("rule") == "activation.pred_std":
                    alert_at.append(time.monotonic())
                    return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        time.sleep(1.5)  # let watch start and read what is there
        with open(path, "a") as handle:
            for line in lines[close - 20:close]:
                handle.write(line)
                handle.flush()
                time.sleep(0.01)
            time.sleep(0.3)
            handle.write(lines[close])
            handle.flush()
            written = time.monotonic()
        reader.join(timeout=10)
        process.kill()
        if not alert_at:
            raise RuntimeError("no alert within 10 s")
        return alert_at[0] - written


TRAINER = r"""
import sys, time
lines = open(sys.argv[1]).read().splitlines()
close = next(i for i, line in enumerate(lines) if "ACTIVATION CHECK" in line) + 16
first_epoch = next(i for i, line in enumerate(lines) if "] Epoch " in line)
for i, line in enumerate(lines[:first_epoch]):
    print(line)
    if i == close:
        with open(sys.argv[2], "w") as stamp:
            stamp.write(repr(time.monotonic()))
        time.sleep(0.3)
time.sleep(120)  # a long first epoch, printing nothing
"""


def one_command_run(mode: str) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        script, stamp = Path(tmp) / "train.py", Path(tmp) / "printed"
        script.write_text(TRAINER)
        env = {key: value for key, value in os.environ.items() if key != "PYTHONUNBUFFERED"}
        argv = [sys.executable, "-m", "percediag", "watch", "--format", "jsonl", "--exit-on", "fail", "--grace", "1",
                "--", sys.executable, str(script), str(LOG), str(stamp)]
        controller = None
        if mode == "pty":
            controller, terminal = os.openpty()
            stdout = terminal
        else:
            stdout = subprocess.DEVNULL
        process = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, cwd=ROOT, env=env)
        if controller is not None:
            os.close(terminal)
            threading.Thread(target=_swallow, args=(controller,), daemon=True).start()
        alert_at: list[float] = []
        for raw in process.stderr:
            if raw.startswith(b"{"):
                event = json.loads(raw)
                if event.get("change") == "alert" and event.get("rule") == "activation.pred_std":
                    alert_at.append(time.monotonic())
                    break
        process.wait(timeout=60)
        if not alert_at:
            raise RuntimeError("no alert")
        return alert_at[0] - float(stamp.read_text())


def _swallow(fd: int) -> None:
    while True:
        try:
            if not os.read(fd, 65536):
                return
        except OSError:
            return


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--interval", type=float, default=0.1, help="watch's --interval (the file case)")
    parser.add_argument("--case", choices=["file", "pipe", "pty"], action="append", help="default: all three")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    worst = 0.0
    for case in args.case or ["file", "pipe", "pty"]:
        run = (lambda: one_run(args.interval)) if case == "file" else (lambda: one_command_run(case))
        samples = sorted(run() for _ in range(args.runs))
        p95 = samples[min(len(samples) - 1, int(round(0.95 * (len(samples) - 1))))]
        what = {"file": f"watch FILE --interval {args.interval}", "pipe": "watch -- python train.py, stdout a pipe",
                "pty": "watch -- python train.py, stdout a terminal"}[case]
        print(f"{what}: {args.runs} runs, alert latency after the triggering line is written")
        print(f"  min {samples[0] * 1000:.0f} ms  median {statistics.median(samples) * 1000:.0f} ms  "
              f"p95 {p95 * 1000:.0f} ms  max {samples[-1] * 1000:.0f} ms")
        worst = max(worst, samples[-1])
    return 0 if worst < 1.0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
