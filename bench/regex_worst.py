"""The worst case of every regular expression the parser runs, measured.

For each compiled pattern (the same set tests/test_hostile.py audits), every
adversarial seed (runs of each character a pattern repeats, and of the
pattern's own literal text) is repeated into lines of 20,000 and 200,000
characters, searched and matched as is, with a newline and with a prefix
and a stray last character. The seed that costs most at 200,000 is the
pattern's worst case; the ratio of the two times says how it grows (about
10 for a tenfold longer line: linear; 100: quadratic).

    python bench/regex_worst.py            # every pattern, slowest first
    python bench/regex_worst.py --top 10
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.test_hostile import ADVERSARIAL, _patterns  # noqa: E402  (the audit's own patterns and seeds)

SIZES = (20_000, 200_000)
# Growth over a tenfold longer line above which a pattern is not linear,
# judged only where the long line costs more than NOISE seconds (below,
# fixed costs dominate the ratio).
SUPERLINEAR = 25.0
NOISE = 0.005


def literal_seed(pattern: re.Pattern) -> str:
    text = pattern.pattern if isinstance(pattern.pattern, str) else pattern.pattern.decode("latin-1")
    return re.sub(r"\\.|[\[\](){}?*+|^$]", "", text)[:30] or "a"


def cost(pattern: re.Pattern, seed: str, size: int) -> float:
    """Seconds for search and match on three lines of `size` characters built from `seed`."""
    text = seed * (size // len(seed))
    lines = [text, text + "\n", "  " + text + "!"]
    if isinstance(pattern.pattern, bytes):
        lines = [line.encode("utf-8") for line in lines]
    started = time.perf_counter()
    for data in lines:
        pattern.search(data)
        pattern.match(data)
    return time.perf_counter() - started


def worst(pattern: re.Pattern) -> tuple[str, float, float]:
    """(seed, seconds at the short size, seconds at the long size) of the costliest seed."""
    rows = []
    for seed in [*ADVERSARIAL, literal_seed(pattern)]:
        rows.append((seed, cost(pattern, seed, SIZES[0]), cost(pattern, seed, SIZES[1])))
    return max(rows, key=lambda row: row[2])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=0, help="show only the N slowest patterns")
    args = parser.parse_args()
    results = sorted(((name, *worst(pattern)) for name, pattern in _patterns()), key=lambda row: -row[3])
    shown = results[: args.top] if args.top else results
    print(f"{'pattern':58} {'worst seed':14} {'20k ms':>8} {'200k ms':>8} {'growth':>7}")
    for name, seed, short, long in shown:
        growth = long / short if short > 0 else float("inf")
        flag = "  SUPER-LINEAR" if growth > SUPERLINEAR and long > NOISE else ""
        print(f"{name:58} {seed!r:14} {short * 1000:8.2f} {long * 1000:8.2f} {growth:7.1f}{flag}")
    slow = [row for row in results if row[3] > NOISE and row[3] / row[2] > SUPERLINEAR]
    print(f"{len(results)} patterns; worst at 200,000 characters: {results[0][3] * 1000:.1f} ms ({results[0][0]}); "
          f"super-linear: {len(slow)}")
    return 1 if slow else 0


if __name__ == "__main__":
    raise SystemExit(main())
