"""Gradient monitor: `[GRAD] Step N: total=..., loss=...` and its three detail lines.

Printed for the first five steps and then every 100 steps, so a long run
holds thousands. They are folded into running statistics
(`gradient_stats`): memory stays constant whatever the log size. The fast
path reads them in bulk between the rare markers instead of scanning for
them, in their plain form (PLAIN).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from percediag.model import GradientStep
from percediag.parsers.block import Block, Feed
from percediag.parsers.grammar import Kind
from percediag.parsers.numbers import NUM, to_float

if TYPE_CHECKING:
    from percediag.parsers.builder import Builder

MARKER = r"\[GRAD\] Step"

_HEADER = re.compile(r"\[GRAD\] Step\s+(\d{1,12}):?(.*)")
_PAIR = re.compile(r"(\w{1,40})=(" + NUM + r")")
_CONTEXT = re.compile(r"context_vectors=(" + NUM + r")\s*(?:\[([^\]]{0,80})\])?")
_BALANCE = re.compile(r"Balance \(head/encoder\):\s*(" + NUM + r")x?\s*(?:\[([^\]]{0,80})\])?")
_COMPONENTS = re.compile(r"han=")

# The plain form the fast path reads in bulk, without this parser (flag
# [OK], unsigned finite numbers, no context line), with total, loss and
# balance captured; any other block after the header matches the empty
# alternative, so `findall` gives one tuple per header and a plain region is
# one whose tuples all hold numbers. `gradient_matrix` reads it as columns.
PLAIN = (
    rb"\[GRAD\] Step(?: \d{1,12}: total=(\d{1,20}\.\d{1,20}), loss=(\d{1,20}\.\d{1,20})\n"
    rb" {4}han=\d{1,20}\.\d{1,20}, contractor=\d{1,20}\.\d{1,20}, attn=\d{1,20}\.\d{1,20}, head=\d{1,20}\.\d{1,20}\n"
    rb" {4}Balance \(head/encoder\): (\d{1,20}\.\d{1,20})x \[OK\]\n|)"
)


class GradientBlock(Block):
    kind = "gradient step"
    max_noise = 0

    def __init__(self, lineno: int, text: str) -> None:
        super().__init__(lineno)
        match = _HEADER.search(text)
        self.step = GradientStep(line=lineno, step=int(match.group(1)) if match else -1)
        self.lines = [lineno]
        if match:
            for key, value in _PAIR.findall(match.group(2)):
                if key in ("total", "loss"):
                    setattr(self.step, key, to_float(value))

    def take(self, lineno: int, text: str) -> Feed | None:
        step = self.step
        if not text.strip():
            return Feed.TAKEN  # a paste may gain blank lines inside the block
        if _COMPONENTS.search(text):
            for key, value in _PAIR.findall(text):
                if key in ("han", "contractor", "attn", "head"):
                    setattr(step, key, to_float(value))
            self.lines.append(lineno)
            return Feed.TAKEN
        if match := _CONTEXT.search(text):
            raw = match.group(1)
            step.context_vectors = to_float(raw)
            decimals = len(raw.partition(".")[2]) if "." in raw and "e" not in raw.lower() else None
            if decimals is not None:
                step.context_resolution = 0.5 * 10.0 ** -decimals
            step.context_flag = match.group(2)
            self.lines.append(lineno)
            return Feed.TAKEN
        if match := _BALANCE.search(text):
            step.balance = to_float(match.group(1))
            step.balance_flag = match.group(2)
            self.lines.append(lineno)
            return Feed.DONE
        return Feed.REJECT

    def finish(self, builder: Builder) -> None:
        builder.add_gradient(self.step, self.lines)


# Common, so not scanned for: read in bulk between the rare markers.
KIND = Kind(name="gradient", marker=MARKER, block=GradientBlock, bulk=PLAIN)
