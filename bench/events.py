"""Benchmark percediag's TensorBoard event-file reader: import time, MB/s, peak memory.

Writes (once) a large event file shaped like the replica's Lightning logs
(a validation row of 24 scalars per epoch, train/loss and Lightning's
`epoch` tag at every training step: the worst case for the number of
records), then measures, each in a fresh process:

- the import time of percediag's reader (`percediag.events.tree`) and,
  when `--tensorboard-python PY` names an interpreter with tensorboard
  installed, of TensorBoard's own `event_accumulator`;
- reading the whole file (all scalars, bounded per tag): wall time, MB/s,
  peak memory (max RSS); with the same PY, TensorBoard's EventAccumulator
  with every scalar kept (size_guidance 0), for comparison.

    python bench/events.py --size 50M
    python bench/events.py --size 50M --tensorboard-python /path/to/venv-with-tensorboard/bin/python

The file is written by a minimal encoder here (struct and CRC32C), not by
percediag's reader, so the bench does not read back its own assumptions.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import struct
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from tfrecord import field, frame  # noqa: E402  (after the path set-up; bench/ is the script's folder)

DIMS = 19
STEPS_PER_EPOCH = 93


def _event(step: int, wall: float, tag: str | None = None, value: float = 0.0, version: str | None = None) -> bytes:
    body = field(1, 1, struct.pack("<d", wall)) + field(2, 0, step)
    if version is not None:
        body += field(3, 2, version.encode())
    if tag is not None:
        summary_value = field(1, 2, tag.encode()) + field(2, 5, struct.pack("<f", value))
        body += field(5, 2, field(1, 2, summary_value))
    return body


def write_file(path: Path, size: int) -> None:
    """Records until `size` bytes. Each (tag, value) payload is CRC'd once and its step patched in
    would change the CRC, so records are built in full; this takes a while for large sizes, once."""
    tags = ["val/loss", "val/mean_r2", "val/pred_mean", "val/pred_std", *[f"val/r2_dim{i}" for i in range(DIMS)]]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as handle:
        handle.write(frame(_event(0, 1.795e9, version="brain.Event:2")))
        written, step, epoch = 0, 0, 0
        while written < size:
            for _ in range(STEPS_PER_EPOCH):
                for tag, value in (("train/loss", 0.01), ("epoch", float(epoch))):
                    written += handle.write(frame(_event(step, 1.795e9 + step, tag, value)))
                step += 1
            for index, tag in enumerate(tags):
                written += handle.write(frame(_event(step - 1, 1.795e9 + step, tag, 0.1 + 0.001 * index)))
            epoch += 1
    tmp.replace(path)


READ_PERCEDIAG = """
import sys, time
start = time.perf_counter()
from percediag.events.tree import read_scalars
imported = time.perf_counter()
folders = read_scalars(sys.argv[1])
done = time.perf_counter()
points = sum(s.seen for f in folders for part in f.files for s in part.series.values())
print(imported - start, done - imported, points)
"""

READ_TENSORBOARD = """
import sys, time
start = time.perf_counter()
from tensorboard.backend.event_processing import event_accumulator as ea
imported = time.perf_counter()
acc = ea.EventAccumulator(sys.argv[1], size_guidance={ea.SCALARS: 0})
acc.Reload()
done = time.perf_counter()
points = sum(len(acc.Scalars(t)) for t in acc.Tags()["scalars"])
print(imported - start, done - imported, points)
"""


def measure(python: str, script: str, target: Path) -> tuple[float, float, int, int]:
    """(import seconds, read seconds, points, max RSS KiB) of one fresh process."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out = subprocess.run([python, "-c", script, str(target)], capture_output=True, text=True, env=env, check=True)
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    imported, read, points = out.stdout.split()
    return float(imported), float(read), int(points), max(rss, before)


def parse_size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return int(float(text[:-1]) * units[text[-1].upper()]) if text[-1].upper() in units else int(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="50M", help="event file size to write (default 50M)")
    parser.add_argument("--tensorboard-python", help="an interpreter with tensorboard installed, for comparison")
    args = parser.parse_args()
    size = parse_size(args.size)
    target = ROOT / "bench" / "out" / f"events-{args.size}" / "fold_1" / "version_0" / "events.out.tfevents.1795000000.bench.1"
    if not target.exists() or target.stat().st_size < size:
        print(f"writing {target.relative_to(ROOT)} ...", flush=True)
        write_file(target, size)
    megabytes = target.stat().st_size / 1e6
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"event file: {megabytes:.0f} MB")
    # Separate processes, so each max RSS is that reader's own (RUSAGE_CHILDREN keeps the largest child).
    imported, read, points, rss = measure(sys.executable, READ_PERCEDIAG, target.parent)
    print(f"percediag reader: import {imported * 1000:.0f} ms; read {read:.2f} s, {megabytes / read:.1f} MB/s, "
          f"{points / read / 1e3:.0f}k scalars/s ({points:,} scalars); peak memory {rss / 1024:.0f} MB")
    if args.tensorboard_python:
        imported, read, points, rss = measure(args.tensorboard_python, READ_TENSORBOARD, target.parent)
        print(f"tensorboard EventAccumulator: import {imported * 1000:.0f} ms; read {read:.2f} s, {megabytes / read:.1f} MB/s "
              f"({points:,} scalars); peak memory {rss / 1024:.0f} MB (max of both processes)")


if __name__ == "__main__":
    main()
