"""Benchmark `percediag check` on a large log against grep and wc on the same file.

Prints, in one run and on the same file: throughput (MB/s), peak memory (max
RSS of the percediag process and its helper), wall time, the same on one
core (where no helper process runs), and as this machine's reference
the wall time of `grep -c -E` for the block markers and of `wc -l`, with the
ratios; then the cold-start wall time of `check` on a small (about 50 KB)
log. Each timing is the best of --repeat runs.

    python bench/run.py --size 1G            # writes bench/out/bench-1G.log once
    python bench/run.py --log /path/to/train.log
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARKERS = (r"\[GRAD\] Step|\[Fold [0-9]+\] Epoch|ACTIVATION CHECK|FOLD [0-9]+|AGGREGATE RESULTS|TEST SET EVALUATION"
           r"|TRAINING CONFIGURATION|PER-DIMENSION R2|Traceback \(most|Trainer\.fit|Signaling Trainer"
           r"|KeyboardInterrupt|Total params|CROSS-VALIDATION")
SMALL_LOG = ROOT / "tests" / "fixtures" / "real-logs" / "round5.log"


def timed(argv: list[str], env: dict | None = None) -> tuple[float, int, int]:
    """(wall seconds, max RSS in KiB, exit code) of one child process.

    Output goes to a real file: GNU grep stops at its first match when its
    output is /dev/null, which would time nothing.
    """
    with tempfile.TemporaryFile() as sink:
        start = time.perf_counter()
        process = subprocess.Popen(argv, stdout=sink, stderr=subprocess.DEVNULL, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
    return wall, usage.ru_maxrss, os.waitstatus_to_exitcode(status)


def best(argv: list[str], repeat: int, env: dict | None = None) -> tuple[float, int, int]:
    runs = [timed(argv, env) for _ in range(repeat)]
    return min(r[0] for r in runs), max(r[1] for r in runs), runs[-1][2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1G", help="size of the generated log (e.g. 100M, 1G)")
    parser.add_argument("--log", type=Path, help="benchmark this log instead of a generated one")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if args.log is None:
        out = ROOT / "bench" / "out"
        out.mkdir(exist_ok=True)
        args.log = out / f"bench-{args.size}.log"
        if not args.log.exists():
            print(f"generating {args.log} ...", flush=True)
            # In a child process: Linux carries a parent's peak RSS into the
            # children it forks, which would inflate every figure below.
            subprocess.run([sys.executable, str(Path(__file__).with_name("make_log.py")), args.size, str(args.log)],
                           check=True, stdout=subprocess.DEVNULL)
    size_mb = args.log.stat().st_size / 1e6
    percediag = [sys.executable, "-m", "percediag", "check", str(args.log), "--quiet"]
    # Warm the page cache so every tool reads from memory.
    subprocess.run(["cat", str(args.log)], stdout=subprocess.DEVNULL, check=True)
    wall, rss, code = best(percediag, args.repeat)
    # The same check held to one core: no helper process (prescan.Helper needs two).
    single = best(["taskset", "-c", "0", *percediag], args.repeat) if shutil.which("taskset") else None
    grep_wall, _, _ = best(["grep", "-c", "-E", MARKERS, str(args.log)], args.repeat)
    wc_wall, _, _ = best(["wc", "-l", str(args.log)], args.repeat)
    # A cold start as on an ordinary install: bytecode written once (this
    # workplace sets PYTHONDONTWRITEBYTECODE, which would recompile every run).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    small = [sys.executable, "-m", "percediag", "check", str(SMALL_LOG), "--quiet"]
    timed(small, env)
    small_wall, small_rss, _ = best(small, max(args.repeat, 5), env)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"log: {args.log.name}, {size_mb:.0f} MB (percediag exit code {code})")
    print(f"percediag check: {wall:.2f} s wall, {size_mb / wall:.0f} MB/s, peak memory {rss / 1024:.0f} MB")
    if single is not None:
        print(f"percediag check on one core (taskset -c 0, no helper): {single[0]:.2f} s wall, "
              f"{size_mb / single[0]:.0f} MB/s, peak memory {single[1] / 1024:.0f} MB")
    print(f"grep -c -E markers: {grep_wall:.2f} s ({wall / grep_wall:.1f}x faster than percediag)")
    print(f"wc -l: {wc_wall:.2f} s ({wall / wc_wall:.1f}x faster than percediag)")
    print(f"small log ({SMALL_LOG.stat().st_size / 1e3:.0f} KB) cold start: {small_wall * 1000:.0f} ms wall, "
          f"peak memory {small_rss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
