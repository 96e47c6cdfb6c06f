"""Parse: logical lines -> a `Log` of runs, folds and block records.

One streaming pass. Every line is tested once against a single compiled
alternation of the block markers; a line that starts no block and is not
inside one costs that one regex search and nothing more. Every alternative
begins with a literal character, so the regex engine skips ahead in C;
markers that must fill their line are checked for that afterwards. A line inside a
block goes to that block's parser, unless it carries another block's marker,
which ends the current block first.

The alternation, the dispatch tables and the fast path's scan are built
(`grammar.Grammar`) from the `KIND` each parser module declares; KINDS
lists those modules. A new block kind is one module, and one entry there.
"""

from __future__ import annotations

from collections.abc import Iterable

from percediag.model import Log
from percediag.parsers import (
    ablation,
    activation,
    aggregate,
    datacheck,
    diagnostics,
    dimensions,
    epoch,
    fold,
    gradient,
    indexstats,
    issues,
    lightning,
    modeltype,
    postanalysis,
    slices,
    summary,
    testset,
    trainconfig,
    traceback,
    trainingsummary,
)
from percediag.parsers.block import Block, Feed
from percediag.parsers.builder import Builder
from percediag.parsers.grammar import Grammar

# Every block kind's module, listed here once (an import the layering test
# and a reader can follow, where discovering them would import every module
# of the package). The order is the alternation's: no two markers match at
# one place (tests/test_grammar.py), so it only decides which is tried first.
KINDS = (
    activation, gradient, epoch, summary, fold, aggregate, testset, trainconfig, dimensions, traceback, lightning,
    # Later rounds (Round 8 on): docs/later-rounds.md.
    diagnostics, ablation, datacheck, modeltype, slices, indexstats, issues, postanalysis, trainingsummary,
)
GRAMMAR = Grammar(module.KIND for module in KINDS)
MARKERS = GRAMMAR.markers

# What a block parser is shown of a longer line: from a little before its
# marker, this many characters. No real block line comes near it, and the
# number patterns cost time per character (bench/regex_worst.py): a 16 MiB
# line of digits after a gradient header took 8.7 s and 152 MB, now 0.5 s.
MAX_BLOCK_LINE = 4096
_BEFORE_MARKER = 1024


class Parser:
    """Incremental parser: feed lines as they come, take a snapshot at any time."""

    def __init__(self, source: str = "<text>", grammar: Grammar = GRAMMAR) -> None:
        self.builder = Builder(source)
        self.block: Block | None = None
        self.lineno = 0
        self.grammar = grammar
        self._search = grammar.markers.search

    @property
    def version(self) -> int:
        """Grows whenever a record is added: a cheap "did anything change" test."""
        return self.builder.version

    def feed(self, lineno: int, text: str) -> None:
        self.lineno = lineno
        search = self._search
        match = search(text)
        if len(text) > MAX_BLOCK_LINE:
            start = 0 if match is None else max(0, match.start() - _BEFORE_MARKER)
            text = text[start:start + MAX_BLOCK_LINE]
            match = search(text)
        block = self.block
        if block is not None:
            if match is None or block.owns_marker(match.lastgroup, text):
                result = block.feed(lineno, text)
                if result is Feed.TAKEN:
                    return
                block.finish(self.builder)
                self.block = None
                if result is Feed.DONE:
                    return
            else:
                block.finish(self.builder)
                self.block = None
        if match is None:
            return
        kind = match.lastgroup
        grammar = self.grammar
        whole_line = grammar.whole_line.get(kind)
        if whole_line is not None and not whole_line.match(text):
            return
        block_class = grammar.blocks.get(kind)
        if block_class is not None:
            self.block = block_class(lineno, text)
        else:
            grammar.lines[kind](lineno, text, self.builder)

    def snapshot(self) -> Log:
        """The log as parsed so far (an open block is not in it yet)."""
        return self.builder.snapshot(self.lineno)

    def finish(self) -> Log:
        if self.block is not None:
            self.block.finish(self.builder)
            self.block = None
        return self.builder.finish(self.lineno)


def parse_lines(lines: Iterable[tuple[int, str]], source: str = "<text>", grammar: Grammar = GRAMMAR) -> Log:
    """Parse (line number, text) pairs into a Log."""
    parser = Parser(source, grammar)
    feed = parser.feed
    for lineno, text in lines:
        feed(lineno, text)
    return parser.finish()
