"""Traceback: `Traceback (most recent call last):` up to the exception line.

The exception line is the first non-indented line after the frames. A
traceback is `terminal` when no training record follows it in the run; a
KeyboardInterrupt is an interruption, not a crash (rules tell them apart).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from percediag.model import CrashInfo
from percediag.parsers.block import Block, Feed

if TYPE_CHECKING:
    from percediag.parsers.builder import Builder

MARKER = r"Traceback \(most recent call last\)"

_EXCEPTION = re.compile(r"^([A-Za-z_][\w.]{0,200})(?::\s?(.*))?$")


class TracebackBlock(Block):
    kind = "traceback"
    max_noise = 0

    def __init__(self, lineno: int, text: str) -> None:
        super().__init__(lineno)
        self.record = CrashInfo(line=lineno)

    def owns_marker(self, kind: str, text: str) -> bool:
        # Frames quote source lines, which may contain any marker; they are indented.
        return text[:1].isspace()

    def take(self, lineno: int, text: str) -> Feed | None:
        if not text.strip() or text[:1].isspace():
            return Feed.TAKEN
        stripped = text.strip()
        self.record.exception = stripped
        self.record.exception_line = lineno
        match = _EXCEPTION.match(stripped)
        self.record.exception_type = match.group(1).rsplit(".", 1)[-1] if match else None
        return Feed.DONE

    def finish(self, builder: Builder) -> None:
        if self.record.exception is None:
            builder.warn(self.record.line, "traceback without an exception line (log truncated?)")
        builder.add_crash(self.record)
