"""Parse: logical lines -> a `Log` of runs, folds and block records.

One streaming pass. Every line is tested once against a single compiled
alternation of the block markers; a line that starts no block and is not
inside one costs that one regex search and nothing more. A line inside a
block goes to that block's parser, unless it carries another block's marker,
which ends the current block first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from percediag.model import Log
from percediag.parsers import (
    activation,
    aggregate,
    dimensions,
    epoch,
    fold,
    gradient,
    lightning,
    summary,
    testset,
    trainconfig,
    traceback,
)
from percediag.parsers.block import Block, Feed
from percediag.parsers.builder import Builder

# Multi-line blocks: marker group name -> block class.
_BLOCKS: dict[str, type[Block]] = {
    "activation": activation.ActivationBlock,
    "gradient": gradient.GradientBlock,
    "fold": fold.FoldHeaderBlock,
    "summary": summary.SummaryBlock,
    "aggregate": aggregate.AggregateBlock,
    "testset": testset.TestSetBlock,
    "config": trainconfig.ConfigBlock,
    "dimensions": dimensions.DimensionBlock,
    "traceback": traceback.TracebackBlock,
}
# Single-line records: marker group name -> handler.
_LINES = {
    "epoch": epoch.handle,
    "lightning": lightning.handle,
}
_MARKER_SOURCES = {
    "activation": activation.MARKER,
    "gradient": gradient.MARKER,
    "epoch": epoch.MARKER,
    "summary": summary.MARKER,
    "fold": fold.MARKER,
    "aggregate": aggregate.MARKER,
    "testset": testset.MARKER,
    "config": trainconfig.MARKER,
    "dimensions": dimensions.MARKER,
    "traceback": traceback.MARKER,
    "lightning": lightning.MARKER,
}
MARKERS = re.compile("|".join(f"(?P<{name}>{pattern})" for name, pattern in _MARKER_SOURCES.items()))


def parse_lines(lines: Iterable[tuple[int, str]], source: str = "<text>") -> Log:
    """Parse (line number, text) pairs into a Log."""
    builder = Builder(source)
    block: Block | None = None
    search = MARKERS.search
    lineno = 0
    for lineno, text in lines:
        match = search(text)
        if block is not None:
            if match is None or block.owns_marker(match.lastgroup, text):
                result = block.feed(lineno, text)
                if result is Feed.TAKEN:
                    continue
                block.finish(builder)
                block = None
                if result is Feed.DONE:
                    continue
            else:
                block.finish(builder)
                block = None
        if match is None:
            continue
        kind = match.lastgroup
        block_class = _BLOCKS.get(kind)
        if block_class is not None:
            block = block_class(lineno, text)
        else:
            _LINES[kind](lineno, text, builder)
    if block is not None:
        block.finish(builder)
    return builder.finish(lineno)
