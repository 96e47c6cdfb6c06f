"""Latency of `percediag watch`: from the line that completes a failing block to the alert.

A writer appends a real Round 6 log (collapsed activations) line by line to a
file that `percediag watch --format jsonl` follows, flushing each line, and
notes when it wrote the activation block's closing line. A reader timestamps
the first `activation.pred_std` alert on watch's stdout. Repeated --runs
times (a fresh watch each time); prints min, median, p95 and max.

    python bench/watch_latency.py --runs 20
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--interval", type=float, default=0.1, help="watch's --interval")
    args = parser.parse_args()
    samples = sorted(one_run(args.interval) for _ in range(args.runs))
    p95 = samples[min(len(samples) - 1, int(round(0.95 * (len(samples) - 1))))]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"watch --interval {args.interval}: {args.runs} runs, alert latency after the triggering line is written")
    print(f"  min {samples[0] * 1000:.0f} ms  median {statistics.median(samples) * 1000:.0f} ms  "
          f"p95 {p95 * 1000:.0f} ms  max {samples[-1] * 1000:.0f} ms")
    return 0 if samples[-1] < 1.0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
