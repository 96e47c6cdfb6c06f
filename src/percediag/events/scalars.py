"""Scalar series read from a TensorBoard event file or a Lightning metrics.csv, bounded in memory.

Each tag keeps at most MAX_POINTS points: past that, every other point is
dropped and from then on only every 2nd (4th, ...) point is kept, so a tag
logged at every one of ten million steps keeps an even sample of its curve.
The per-epoch tags percediag judges (`val/*`, one point per epoch) never come
near the bound, which lies above the parser's cap on epochs. The `epoch` tag
Lightning writes beside every logged row is kept only where its value
changes: the step at which each epoch begins, which maps any step to its
epoch; its value must be a whole number from 0 to MAX_EPOCH (the readers
stop at a record or row holding another: an epoch of 1e30 is damage, and
would wreck every curve fitted over epochs). At most MAX_TAGS tags are kept
per file.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

MAX_POINTS = 20_000
MAX_TAGS = 1_000
EPOCH_TAG = "epoch"
# The text parser reads epoch numbers of up to 7 digits; the same bound here.
MAX_EPOCH = 9_999_999


def epoch_number(value: float) -> int | None:
    """`value` as an epoch number: a whole number from 0 to MAX_EPOCH, else None."""
    if value != value or not 0 <= value <= MAX_EPOCH or not float(value).is_integer():
        return None
    return int(value)


@dataclass
class Series:
    steps: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    seen: int = 0
    stride: int = 1

    def add(self, step: int, value: float) -> None:
        self.seen += 1
        if (self.seen - 1) % self.stride:
            return
        self.steps.append(step)
        self.values.append(value)
        if len(self.steps) > MAX_POINTS:
            self.steps, self.values = self.steps[::2], self.values[::2]
            self.stride *= 2

    @property
    def thinned(self) -> bool:
        return self.stride > 1


@dataclass
class ScalarFile:
    """The scalars of one file (event file or metrics.csv), where it stopped, and what to note."""

    path: str
    kind: str  # "tfevents" or "csv"
    series: dict[str, Series] = field(default_factory=dict)
    epoch_starts: list[tuple[int, int]] = field(default_factory=list, repr=False)
    records: int = 0
    stopped: str | None = None
    dropped_tags: int = 0
    crc_pending: int = 0
    markers: set[str] = field(default_factory=set)
    first_wall: float | None = None
    _sorted_for: int = field(default=-1, repr=False)
    _starts: list = field(default_factory=list, repr=False)
    _start_steps: list = field(default_factory=list, repr=False)

    def add(self, tag: str, step: int, value: float, wall: float | None = None) -> None:
        if tag == EPOCH_TAG:
            self.mark_epoch(step, value)
            return
        series = self.series.get(tag)
        if series is None:
            if len(self.series) >= MAX_TAGS:
                self.dropped_tags += 1
                return
            series = self.series[tag] = Series()
        series.add(step, value)

    def mark_epoch(self, step: int, value: float) -> None:
        epoch = epoch_number(value)
        if epoch is None:  # the readers stop before such a value; kept out here too
            return
        if not self.epoch_starts or self.epoch_starts[-1][1] != epoch:
            if len(self.epoch_starts) < MAX_POINTS:
                self.epoch_starts.append((step, epoch))

    def stop(self, where: str, why: str) -> None:
        self.stopped = f"read up to {where}: {why}; the {self.records} record(s) before it are used"

    def epoch_of(self, step: int) -> int | None:
        """The epoch a step belongs to, from the `epoch` tag; None without one."""
        if not self.epoch_starts:
            return None
        # Sorted once per change of the epoch marks, not once per lookup: a lookup per train/loss
        # point made a 20,000-epoch metrics.csv quadratic (20 s for 835 KB).
        if self._sorted_for != len(self.epoch_starts):
            self._starts = sorted(self.epoch_starts)
            self._start_steps = [s for s, _ in self._starts]
            self._sorted_for = len(self.epoch_starts)
        index = bisect.bisect_right(self._start_steps, step) - 1
        return self._starts[index][1] if index >= 0 else self._starts[0][1]

    def notes(self) -> list[str]:
        notes = []
        if self.stopped:
            notes.append(f"{self.path}: {self.stopped}")
        thinned = sorted(tag for tag, s in self.series.items() if s.thinned)
        if thinned:
            notes.append(f"{self.path}: {len(thinned)} tag(s) with more than {MAX_POINTS:,} points kept as an even sample "
                         f"({', '.join(thinned[:3])}{', ...' if len(thinned) > 3 else ''})")
        if self.dropped_tags:
            notes.append(f"{self.path}: values of tags beyond the first {MAX_TAGS:,} ignored ({self.dropped_tags:,})")
        return notes
