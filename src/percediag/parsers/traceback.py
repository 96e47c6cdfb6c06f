"""Traceback: `Traceback (most recent call last):` up to the exception line.

Frames are `File "...", line N, in f` lines, each followed by a quoted source
line and sometimes a `^^^^` marker line. The exception line is the first line
after the frames that is neither: normally the first non-indented one, but a
paste that lost its indentation is read by structure (the line after a
`File` line is its source). A traceback is `terminal` when no training record
follows it in the run; a KeyboardInterrupt is an interruption, not a crash
(rules tell them apart).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from percediag.model import CrashInfo
from percediag.parsers.block import Block, Feed
from percediag.parsers.grammar import Kind

if TYPE_CHECKING:
    from percediag.parsers.builder import Builder

MARKER = r"Traceback \(most recent call last\)"

_EXCEPTION = re.compile(r"^([A-Za-z_][\w.]{0,200})(?::\s?(.*))?$")
_FRAME = re.compile(r'^\s*File "')
_CARETS = re.compile(r"^\s*+[\^~][\^~\s]*+$")
# An exception line by its look: a (dotted) class name ending like one.
_EXCEPTION_LIKE = re.compile(
    r"^(?:[A-Za-z_]\w{0,80}\.){0,8}[A-Z]\w{0,80}(?:Error|Exception|Interrupt|Exit|Warning|Failure|Iteration)(?::|$)"
)
_CHAINED = re.compile(r"^\s*(During handling of the above exception|The above exception was the direct cause)")


class TracebackBlock(Block):
    kind = "traceback"
    max_noise = 0

    def __init__(self, lineno: int, text: str) -> None:
        super().__init__(lineno)
        self.record = CrashInfo(line=lineno)
        self.source_expected = False
        self.lost_indentation = False

    def owns_marker(self, kind: str, text: str) -> bool:
        # Frames quote source lines, which may contain any marker; they are indented.
        return text[:1].isspace()

    def take(self, lineno: int, text: str) -> Feed | None:
        stripped = text.strip()
        if not stripped or _CARETS.match(text) or _CHAINED.match(text):
            return Feed.TAKEN
        indented = text[:1].isspace()
        if _FRAME.match(text):
            self.lost_indentation = not indented
            self.source_expected = True
            return Feed.TAKEN
        if indented:
            self.source_expected = False
            return Feed.TAKEN  # a frame's source line
        if self.source_expected and self.lost_indentation and not _EXCEPTION_LIKE.match(stripped):
            self.source_expected = False
            return Feed.TAKEN  # the source line of a frame whose indentation was lost
        self.record.exception = stripped
        self.record.exception_line = lineno
        match = _EXCEPTION.match(stripped)
        self.record.exception_type = match.group(1).rsplit(".", 1)[-1] if match else None
        return Feed.DONE

    def finish(self, builder: Builder) -> None:
        if self.record.exception is None:
            builder.warn(self.record.line, "traceback without an exception line (log truncated?)")
        builder.add_crash(self.record)


KIND = Kind(name="traceback", marker=MARKER, scan=(rb"Traceback \(most recent",), block=TracebackBlock)
