"""The contract between the dispatcher and a multi-line block parser.

A block is opened on its marker line. The dispatcher then hands it every
following line until it answers DONE (the line was its last) or REJECT (the
line is not part of it and must be dispatched anew). A block that sees too
many lines it does not understand ends itself: noise inside a block is
tolerated, an endless block is not.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from percediag.parsers.builder import Builder


class Feed(enum.Enum):
    TAKEN = 1
    DONE = 2
    REJECT = 3


class Block:
    """Base class for multi-line block parsers."""

    #: consecutive unrecognised lines after which the block ends itself
    max_noise = 8
    #: name used in parse warnings
    kind = "block"

    def __init__(self, lineno: int) -> None:
        self.start_line = lineno
        self.last_line = lineno
        self._noise = 0
        self.closed_cleanly = False

    def feed(self, lineno: int, text: str) -> Feed:
        result = self.take(lineno, text)
        if result is None:
            self._noise += 1
            if self._noise > self.max_noise:
                return Feed.REJECT
            return Feed.TAKEN
        self._noise = 0
        self.last_line = lineno
        if result is Feed.DONE:
            self.closed_cleanly = True
        return result

    def owns_marker(self, kind: str, text: str) -> bool:
        """May a line that carries another block's marker still belong to this block?"""
        return False

    def take(self, lineno: int, text: str) -> Feed | None:
        """Consume one line: TAKEN, DONE, REJECT, or None for an unrecognised line."""
        raise NotImplementedError

    def finish(self, builder: Builder) -> None:
        """Attach the record to the log being built."""
        raise NotImplementedError
