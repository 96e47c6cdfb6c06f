"""A progress bar on stderr while a large log is read: bytes read, MB/s, and the ETA when the size is known.

The CLI hands a `ReadProgress` to a `LogSource` as its progress callback
(the source layer knows nothing of rich). The bar appears only once it is
worth it: at once for a log larger than SHOW_SIZE, else after SHOW_AFTER
seconds of reading (a slow stream, a large compressed file). It is drawn
only on a terminal (`wanted`): never into a pipe or a file, never on
stdout, and not with `--quiet`. It is transient: it erases itself when the
reading ends, so the report follows on a clean screen.
"""

from __future__ import annotations

import os
import time
from typing import TextIO

# Display choices, not diagnostic thresholds: the "over 50 MB, or about half a second".
SHOW_SIZE = 50 * 1000 * 1000
SHOW_AFTER = 0.5


def wanted(stream: TextIO | None, quiet: bool) -> bool:
    """Draw a bar on `stream`? Only on a terminal that can redraw a line, and never with --quiet."""
    if quiet or stream is None:
        return False
    try:
        terminal = stream.isatty()
    except ValueError:  # a closed stream
        return False
    return terminal and os.environ.get("TERM") != "dumb"


class ReadProgress:
    """Callable with the bytes read so far; shows a rich progress bar once the read is large or slow."""

    def __init__(self, name: str, total: int | None, stream: TextIO, clock=time.monotonic) -> None:
        self.name = name
        self.total = total
        self.stream = stream
        self.clock = clock
        self.started = clock()
        self.bar = None
        self.task = None

    @property
    def shown(self) -> bool:
        return self.bar is not None

    def __call__(self, done: int) -> None:
        if self.bar is None:
            large = self.total is not None and self.total > SHOW_SIZE
            if not large and self.clock() - self.started < SHOW_AFTER:
                return
            self._begin()
        self.bar.update(self.task, completed=done)

    def _begin(self) -> None:
        # Imported here: a small log never pays for rich.progress.
        from rich.console import Console
        from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn,
                                   TransferSpeedColumn)

        from percediag.report.sanitize import clean

        console = Console(file=self.stream, stderr=True, highlight=False, emoji=False)
        columns = [TextColumn("reading {task.description}", markup=False), BarColumn(), DownloadColumn(),
                   TransferSpeedColumn()]
        if self.total is not None:
            columns += [TextColumn("ETA"), TimeRemainingColumn()]
        self.bar = Progress(*columns, console=console, transient=True, refresh_per_second=8)
        self.task = self.bar.add_task(clean(self.name), total=self.total)
        self.bar.start()

    def close(self) -> None:
        """Erase the bar (if it was shown); the report comes next."""
        if self.bar is not None:
            self.bar.stop()
            self.bar = None
