"""Benchmark `percediag check` against grep and wc, in one run, on the same files.

Prints, for a generated 1 GB and 300 MB log (or --log files): the wall time
of `percediag check` (best of --repeat), its throughput, its ratio to
`grep -c -E` of the block markers and to `wc -l` on the same file in the
same run, the same check held to one core (no helper process), and the
peak memory of each process (the check's processes, and the helper alone
doing its share of the work); then the cold start of a check on a small
log and on one with nothing to forecast (median of --cold runs, wall and
CPU time) with the floor of such a check (its imports alone), and the peak memory of one check of 300 small logs against that
of one. The machine's load is printed first: on a shared machine compare
the ratios and the CPU times, not the wall seconds.

    python bench/run.py                      # generates the logs once, in the temp folder
    python bench/run.py --sizes 300M --repeat 5
    python bench/run.py --log /path/to/train.log
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
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
NO_FORECAST_LOG = ROOT / "tests" / "fixtures" / "real-logs" / "round6-startup-crash.log"
# The logs a many-log check cycles through: the examples and the genuine logs, 10-80 KB each.
MANY_SOURCES = sorted((ROOT / "examples" / "logs").glob("*.log")) + sorted((ROOT / "tests" / "fixtures" / "real-logs").glob("*.log"))
MANY = 300


def timed(argv: list[str], env: dict | None = None) -> tuple[float, int, int]:
    """(wall seconds, max RSS in KiB, exit code) of one child process.

    Output goes to a real file: GNU grep stops at its first match when its
    output is /dev/null, which would time nothing. The max RSS wait4 gives
    is the largest of the child and of the children it waited for.
    """
    with tempfile.TemporaryFile() as sink:
        start = time.perf_counter()
        process = subprocess.Popen(argv, stdout=sink, stderr=subprocess.DEVNULL, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
    return wall, usage.ru_maxrss, os.waitstatus_to_exitcode(status)


def best(argv: list[str], repeat: int, env: dict | None = None) -> tuple[float, int, int]:
    """(best wall, largest max RSS, last exit code) of `repeat` runs."""
    runs = [timed(argv, env) for _ in range(repeat)]
    return min(r[0] for r in runs), max(r[1] for r in runs), runs[-1][2]


def cold_env() -> dict:
    """A cold start as on an ordinary install: bytecode written once (this workplace sets
    PYTHONDONTWRITEBYTECODE, which would recompile every run)."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def helper_argv(log: Path) -> list[str]:
    """The helper process as `check` starts it for `log`, to be measured alone."""
    from percediag import prescan
    from percediag.parsers import GRAMMAR
    from percediag.sources import CHUNK_SIZE

    return [sys.executable, "-I", "-c", prescan._BOOT, prescan._PACKAGE_ROOT, str(log), str(CHUNK_SIZE), "0",
            str(prescan.CHUNK), str(prescan.HELPER_SHARE), GRAMMAR.scan.to_arg()]


def large(log: Path, repeat: int, one_core: bool) -> None:
    size_mb = log.stat().st_size / 1e6
    percediag = [sys.executable, "-m", "percediag", "check", str(log), "--quiet"]
    # Warm the page cache so every tool reads from memory.
    subprocess.run(["cat", str(log)], stdout=subprocess.DEVNULL, check=True)
    wall, rss, code = best(percediag, repeat)
    grep_wall, grep_rss, _ = best(["grep", "-c", "-E", MARKERS, str(log)], repeat)
    wc_wall, _, _ = best(["wc", "-l", str(log)], repeat)
    helper_wall, helper_rss, _ = best(helper_argv(log), repeat)
    print(f"\n{log.name}: {size_mb:.0f} MB (percediag exit code {code})")
    print(f"  percediag check: {wall:.2f} s wall, {size_mb / wall:.0f} MB/s, "
          f"{wall / grep_wall:.2f}x grep, {wall / wc_wall:.1f}x wc; "
          f"peak memory {rss / 1024:.0f} MB (the larger of its two processes)")
    print(f"  its helper alone: {helper_wall:.2f} s wall, peak memory {helper_rss / 1024:.0f} MB")
    if one_core and shutil.which("taskset"):
        # The same check held to one core: no helper process (prescan.Helper needs two).
        single = best(["taskset", "-c", "0", *percediag], repeat)
        print(f"  on one core (taskset -c 0, no helper): {single[0]:.2f} s wall, {size_mb / single[0]:.0f} MB/s, "
              f"{single[0] / grep_wall:.2f}x grep, peak memory {single[1] / 1024:.0f} MB")
    print(f"  grep -c -E markers: {grep_wall:.2f} s ({size_mb / grep_wall:.0f} MB/s, peak memory {grep_rss / 1024:.1f} MB)")
    print(f"  wc -l: {wc_wall:.2f} s ({size_mb / wc_wall:.0f} MB/s)")


def timed_cpu(argv: list[str], env: dict | None = None) -> tuple[float, float, int]:
    """(wall seconds, user+sys CPU seconds, max RSS in KiB) of one child process. On a loaded
    machine the CPU time is the steadier figure: the wall time also counts the waits for a core."""
    with tempfile.TemporaryFile() as sink:
        start = time.perf_counter()
        process = subprocess.Popen(argv, stdout=sink, stderr=subprocess.DEVNULL, env=env)
        _, _, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss


# The modules a small check imports, without running it (the rule modules are imported by the
# registry); it ends as the check does, without the interpreter's teardown (cli.main).
FLOOR = ("import os, percediag.cli.quick, percediag.cli.check, percediag.pipeline, percediag.report.quiet; "
         "from percediag.rules.registry import rules; rules()")


def cold(runs: int) -> None:
    env = cold_env()
    # The bench's small log forecasts four folds (numpy is loaded); the second log crashed
    # before its first epoch, so nothing is forecast and numpy is never imported.
    for log, what in ((SMALL_LOG, "cold check"), (NO_FORECAST_LOG, "cold check, nothing to forecast")):
        small = [sys.executable, "-m", "percediag", "check", str(log), "--quiet"]
        timed(small, env)  # writes the bytecode once
        results = [timed_cpu(small, env) for _ in range(runs)]
        walls = sorted(r[0] for r in results)
        print(f"\nsmall log {log.name} ({log.stat().st_size / 1e3:.0f} KB) {what}: median "
              f"{statistics.median(walls) * 1000:.0f} ms wall over {runs} runs (fastest {walls[0] * 1000:.0f}, "
              f"slowest {walls[-1] * 1000:.0f}), CPU (user+sys) median {statistics.median(r[1] for r in results) * 1000:.0f} ms, "
              f"peak memory {max(r[2] for r in results) / 1024:.0f} MB")
    bare = [timed_cpu([sys.executable, "-c", "pass"], env) for _ in range(runs)]
    print(f"the bare interpreter: median {statistics.median(r[0] for r in bare) * 1000:.0f} ms wall, "
          f"CPU median {statistics.median(r[1] for r in bare) * 1000:.0f} ms")
    # What a check cannot go below while it keeps the design's libraries: importing the modules
    # it imports (pydantic with percediag's models, PyYAML, the rule modules), reading nothing.
    for code, what in ((FLOOR + "; os._exit(0)", "its imports alone"),
                       (FLOOR + "; import numpy.random; os._exit(0)", "with numpy for a forecast")):
        # One OpenBLAS thread, as check asks for itself (cli.main), so numpy's import costs the same.
        results = [timed_cpu([sys.executable, "-c", code], {**env, "OPENBLAS_NUM_THREADS": "1"}) for _ in range(runs)]
        walls = sorted(r[0] for r in results)
        print(f"a check's floor, {what}: median {statistics.median(walls) * 1000:.0f} ms wall over {runs} runs "
              f"(fastest {walls[0] * 1000:.0f}, slowest {walls[-1] * 1000:.0f}), "
              f"CPU (user+sys) median {statistics.median(r[1] for r in results) * 1000:.0f} ms")


def many(folder: Path, count: int) -> None:
    """One check of `count` small logs, against one of the same logs: memory must not grow with the count."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        source = MANY_SOURCES[index % len(MANY_SOURCES)]
        path = folder / f"{index:03d}-{source.name}"
        if not path.exists():
            shutil.copyfile(source, path)
        paths.append(str(path))
    total_mb = sum(os.path.getsize(p) for p in paths) / 1e6
    check = [sys.executable, "-m", "percediag", "check", "--quiet"]
    one_wall, one_rss, _ = timed([*check, paths[0]])
    wall, rss, _ = timed([*check, *paths])
    with tempfile.TemporaryDirectory() as out:
        json_wall, json_rss, _ = timed([*check, *paths, "--format", "json", "--output", os.path.join(out, "report.json")])
    print(f"\n{count} logs ({total_mb:.0f} MB) in one check: {wall:.1f} s wall ({wall / count * 1000:.0f} ms a log), "
          f"peak memory {rss / 1024:.0f} MB; with --format json to a file: {json_wall:.1f} s, peak memory "
          f"{json_rss / 1024:.0f} MB; one of them alone: peak memory {one_rss / 1024:.0f} MB")


def load() -> str:
    try:
        return ", load average " + " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1G,300M", help="generated log sizes, comma-separated (default 1G,300M)")
    parser.add_argument("--log", type=Path, action="append", help="benchmark this log instead of generated ones (repeatable)")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "percediag-bench",
                        help="where generated logs are written and kept (default: TMPDIR/percediag-bench)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each large-log timing; the best is shown")
    parser.add_argument("--cold", type=int, default=11, help="runs of the small-log cold start; the median is shown")
    parser.add_argument("--no-one-core", action="store_true", help="skip the one-core check")
    parser.add_argument("--no-many", action="store_true", help="skip the many-log check")
    args = parser.parse_args()
    logs = args.log or []
    if not logs:
        args.dir.mkdir(parents=True, exist_ok=True)
        for size in args.sizes.split(","):
            path = args.dir / f"bench-{size}.log"
            if not path.exists():
                print(f"generating {path} ...", flush=True)
                # In a child process: Linux carries a parent's peak RSS into the
                # children it forks, which would inflate every figure below.
                subprocess.run([sys.executable, str(Path(__file__).with_name("make_log.py")), size, str(path)],
                               check=True, stdout=subprocess.DEVNULL)
            logs.append(path)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}{load()}")
    for log in logs:
        large(log, args.repeat, not args.no_one_core)
    cold(args.cold)
    if not args.no_many:
        many(args.dir / "many", MANY)
    print(f"\nat the end{load()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
