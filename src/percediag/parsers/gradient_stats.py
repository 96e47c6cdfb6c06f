"""A fold's gradient steps, folded into running statistics in constant memory.

The gradient monitor prints the first five steps and then every 100, so a
long run holds thousands of `[GRAD]` blocks (`parsers/gradient.py` reads
one; the fast path reads plain ones in bulk). The builder keeps one
accumulator per fold: running statistics (Welford) plus a bounded sample
of steps, whatever the log size.
"""

from __future__ import annotations

import math
from collections import deque

from percediag.model import GradientStats, GradientStep, SeriesStats

# Steps kept verbatim per fold: the first ones (where collapse and explosion
# show) and the most recent ones.
SAMPLE_HEAD = 10
SAMPLE_TAIL = 10
# Values kept for the median; beyond this, every other value is dropped
# (a deterministic thinning that keeps the median representative).
MEDIAN_RESERVOIR = 512
NONFINITE_LINES_KEPT = 5


class RunningSeries:
    """Welford mean/variance, extremes and a thinned reservoir for the median."""

    __slots__ = ("count", "nonfinite", "mean", "m2", "min", "max", "min_line", "max_line", "values", "stride", "_skip")

    def __init__(self) -> None:
        self.count = 0
        self.nonfinite = 0
        self.mean = 0.0
        self.m2 = 0.0
        self.min = math.inf
        self.max = -math.inf
        self.min_line: int | None = None
        self.max_line: int | None = None
        self.values: list[float] = []
        self.stride = 1
        self._skip = 0

    def add(self, value: float, lineno: int) -> None:
        if not math.isfinite(value):
            self.nonfinite += 1
            return
        self.count += 1
        delta = value - self.mean
        self.mean += delta / self.count
        self.m2 += delta * (value - self.mean)
        if value < self.min:
            self.min, self.min_line = value, lineno
        if value > self.max:
            self.max, self.max_line = value, lineno
        self._skip += 1
        if self._skip >= self.stride:
            self._skip = 0
            self.values.append(value)
            if len(self.values) >= MEDIAN_RESERVOIR:
                self.values = self.values[::2]
                self.stride *= 2

    def extremes(self, values, line_of) -> None:
        """Update min and max from a batch; `line_of(index)` gives the line of a new extreme."""
        low, high = float(values.min()), float(values.max())
        if low < self.min:
            self.min, self.min_line = low, line_of(int(values.argmin()))
        if high > self.max:
            self.max, self.max_line = high, line_of(int(values.argmax()))

    def add_many(self, values, line_of=None) -> None:
        """Add a batch of finite values (a numpy array), exactly as `add` would one by one.

        Mean and variance combine by Chan's formula; extremes keep their first
        occurrence (`line_of(index)` gives its line; None when `extremes`
        already saw the batch); the median reservoir is thinned at the same
        positions as the sequential path.
        """
        n = len(values)
        if n == 0:
            return
        batch_mean = float(values.mean())
        batch_m2 = float(((values - batch_mean) ** 2).sum())
        total = self.count + n
        delta = batch_mean - self.mean
        self.mean += delta * n / total
        self.m2 += batch_m2 + delta * delta * self.count * n / total
        self.count = total
        if line_of is not None:
            self.extremes(values, line_of)
        index = 0
        while index < n:
            take_at = index + (self.stride - self._skip) - 1
            if take_at >= n:
                self._skip += n - index
                break
            room = MEDIAN_RESERVOIR - len(self.values)
            taken = values[take_at:n:self.stride][:room]
            self.values.extend(taken.tolist())
            index = take_at + (len(taken) - 1) * self.stride + 1
            self._skip = 0
            if len(self.values) >= MEDIAN_RESERVOIR:
                self.values = self.values[::2]
                self.stride *= 2

    def to_model(self) -> SeriesStats:
        if self.count == 0:
            return SeriesStats(nonfinite=self.nonfinite)
        ordered = sorted(self.values)
        mid = len(ordered) // 2
        median = ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
        std = math.sqrt(self.m2 / (self.count - 1)) if self.count > 1 else 0.0
        return SeriesStats(
            count=self.count,
            nonfinite=self.nonfinite,
            min=self.min,
            max=self.max,
            mean=self.mean,
            std=std,
            median=median,
            min_line=self.min_line,
            max_line=self.max_line,
        )


class GradientAccumulator:
    """Everything a fold's gradient steps say, in constant memory."""

    def __init__(self) -> None:
        self.steps = 0
        self.first_line: int | None = None
        self.last_line: int | None = None
        self.series = {name: RunningSeries() for name in ("total", "loss", "balance", "context_vectors")}
        self.flags: dict[str, int] = {}
        self.flag_lines: dict[str, int] = {}
        self.context_not_learning = 0
        self.context_not_learning_line: int | None = None
        self.context_unresolved: dict[str, int] = {}
        self.context_unresolved_line: int | None = None
        self.context_resolution: float | None = None
        self.nonfinite_lines: list[int] = []
        # A norm cannot be negative; plain fast-path blocks hold unsigned numbers only, so every
        # negative value passes through add().
        self.negative_norms = 0
        self.negative_lines: list[int] = []
        self.head_sample: list[GradientStep] = []
        self.tail_sample: deque[GradientStep] = deque(maxlen=SAMPLE_TAIL)
        # Fast-path batches not yet folded into the running statistics, and
        # the last batch's tail, kept as a function that builds its records.
        self._pending: list[tuple] = []
        self._pending_steps = 0
        self._pending_tail = None

    PENDING_LIMIT = 200_000

    def _flush_stats(self) -> None:
        if self._pending:
            import numpy as np

            for index, name in enumerate(("total", "loss", "balance")):
                self.series[name].add_many(np.concatenate([batch[index] for batch in self._pending]))
            self._pending, self._pending_steps = [], 0

    def _flush_tail(self) -> None:
        if self._pending_tail is not None:
            for step in self._pending_tail():
                self.tail_sample.append(step)
            self._pending_tail = None

    def _flush(self) -> None:
        self._flush_stats()
        self._flush_tail()

    def add(self, step: GradientStep, lines: list[int]) -> None:
        self._flush()  # keep the order of the sequential path
        self.steps += 1
        if self.first_line is None:
            self.first_line = step.line
        self.last_line = lines[-1]
        values = {
            "total": step.total,
            "loss": step.loss,
            "balance": step.balance,
            "context_vectors": step.context_vectors,
        }
        if step.context_vectors == 0.0 and step.context_resolution is not None:
            # Printed as 0 at a fixed number of decimals: the true value is
            # somewhere below the resolution, not necessarily zero.
            values.pop("context_vectors")
            flag = step.context_flag or "no flag"
            self.context_unresolved[flag] = self.context_unresolved.get(flag, 0) + 1
            self.context_resolution = step.context_resolution
            if self.context_unresolved_line is None:
                self.context_unresolved_line = step.line
        nonfinite = False
        for name, value in values.items():
            if value is not None:
                self.series[name].add(value, step.line)
                nonfinite = nonfinite or not math.isfinite(value)
        for value in (step.han, step.contractor, step.attn, step.head):
            if value is not None and not math.isfinite(value):
                nonfinite = True
        if step.balance_flag and "NAN" in step.balance_flag.upper():
            nonfinite = True
        if nonfinite and len(self.nonfinite_lines) < NONFINITE_LINES_KEPT:
            self.nonfinite_lines.append(step.line)
        norms = (step.total, step.han, step.contractor, step.attn, step.head, step.context_vectors, step.balance)
        if any(value is not None and value < 0 for value in norms):
            self.negative_norms += 1
            if len(self.negative_lines) < NONFINITE_LINES_KEPT:
                self.negative_lines.append(step.line)
        if step.balance_flag:
            self.flags[step.balance_flag] = self.flags.get(step.balance_flag, 0) + 1
            self.flag_lines.setdefault(step.balance_flag, step.line)
        if step.context_flag and "not learning" in step.context_flag.lower():
            self.context_not_learning += 1
            if self.context_not_learning_line is None:
                self.context_not_learning_line = step.line
        if len(self.head_sample) < SAMPLE_HEAD:
            self.head_sample.append(step)
        else:
            self.tail_sample.append(step)

    def add_plain_batch(self, totals, losses, balances, first_line: int, last_line: int, tail, line_of) -> None:
        """Steps without context line, flag [OK] and finite values, folded in at once (the fast path).

        Extremes are settled now (`line_of(index)` gives a step's line);
        mean, variance and the median reservoir are folded in large batches.
        `tail()` builds the batch's last steps as records, when needed.
        """
        n = len(totals)
        if n == 0:
            return
        if n >= SAMPLE_TAIL:
            self._pending_tail = None  # displaced entirely by this batch's own tail
        else:
            self._flush_tail()
        self.steps += n
        if self.first_line is None:
            self.first_line = first_line
        self.last_line = last_line
        for name, values in (("total", totals), ("loss", losses), ("balance", balances)):
            self.series[name].extremes(values, line_of)
        self._pending.append((totals, losses, balances))
        self._pending_steps += n
        self.flags["OK"] = self.flags.get("OK", 0) + n
        self.flag_lines.setdefault("OK", first_line)
        self._pending_tail = tail
        if self._pending_steps >= self.PENDING_LIMIT:
            self._flush_stats()

    def to_model(self) -> GradientStats:
        self._flush()
        return GradientStats(
            steps=self.steps,
            first_line=self.first_line,
            last_line=self.last_line,
            total=self.series["total"].to_model(),
            loss=self.series["loss"].to_model(),
            balance=self.series["balance"].to_model(),
            context_vectors=self.series["context_vectors"].to_model(),
            flags=self.flags,
            flag_lines=self.flag_lines,
            context_not_learning=self.context_not_learning,
            context_not_learning_line=self.context_not_learning_line,
            context_unresolved=self.context_unresolved,
            context_unresolved_line=self.context_unresolved_line,
            context_resolution=self.context_resolution,
            nonfinite_lines=self.nonfinite_lines,
            negative_norms=self.negative_norms,
            negative_lines=self.negative_lines,
            sample=self.head_sample + list(self.tail_sample),
        )
