"""Follow a TensorBoard log folder, an event file or a Lightning metrics.csv as a run writes it.

Design: polling, as for a text log, with the state kept per file. At every
poll each known file is stat'ed; an event file that grew is decoded from the
end of its last whole record (`events.reader.EventFileReader`), so a run is
read once in all, whatever its length, and memory stays what `check` needs
(`ScalarFile`'s bounds). A record cut short at the end of a growing file is
the writer mid-write, not corruption: it is read whole at a later poll, and
only if it is still cut short when the watch ends is it noted, as `check`
notes it. The folder is walked again for new fold and version folders and
new files every WALK_EVERY seconds (a walk lists every folder; a stat of the
few known files is cheap enough for every poll). A metrics.csv is read again
whole when it changes (Lightning's CSVLogger rewrites it whenever a new
column appears, so appending cannot be relied on), at most once per
CSV_PAUSE times its last read's duration, which bounds the time spent on a
large one. Once anything was added, the records are assembled as `check DIR`
assembles them (`tree.run_folders`, `parsers.scalars.scalar_log`): the final
verdict of the watch is the verdict of `check DIR` on the same files.

A file truncated or replaced (another inode at its path) is read from its
start, and the watch starts over (a `restart` event); a file that is
removed is dropped at the next walk. A folder that does not exist yet, or
holds no scalar file yet, is waited for.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from percediag.errors import InputError
from percediag.events.reader import EventFileReader
from percediag.events.scalars import ScalarFile
from percediag.events.tree import EVENT_MARK, RunFolder, find_scalar_files, read_metrics_csv, read_scalar_file, run_folders
from percediag.live.watcher import Watcher
from percediag.model import Log
from percediag.parsers.merge import merge
from percediag.parsers.scalars import scalar_log

WALK_EVERY = 1.0
# Bytes of one event file decoded per poll: a long file already written is read over several polls,
# so alerts, signals and --idle-exit are served in between (at the reader's ~2 MB/s, about 2 s each).
READ_BUDGET = 4 << 20
CSV_PAUSE = 10.0


def is_scalar_target(path: str) -> bool:
    """A folder (or a path ending in `/`, which may not exist yet), an event file, or a .csv."""
    target = Path(path)
    return path.endswith(("/", os.sep)) or target.is_dir() or EVENT_MARK in target.name or target.name.endswith(".csv")


@dataclass
class _File:
    identity: tuple[int, int]
    size: int = -1
    mtime: int = -1
    reader: EventFileReader | None = None  # an event file
    table: ScalarFile | None = None  # a metrics.csv, as last read
    error: InputError | None = None  # a metrics.csv that did not read (a rewrite in progress?)
    next_read: float = 0.0
    busy: list[float] = field(default_factory=list)


class ScalarFollower:
    """Poll a scalar input for new records. `poll()` returns (grew, event): grew is True when a
    record was added (or a file appeared or went away); event is None or 'truncated' / 'rotated'
    (a file read from its start again: the caller starts over)."""

    def __init__(self, path: str | Path) -> None:
        self.root = Path(path)
        self._files: dict[Path, _File] = {}
        self._found: dict[Path, list[Path]] = {}
        self._walked = -math.inf
        self._grew = False
        self._event: str | None = None
        self._folders: list[RunFolder] = []
        self._skipped: list[str] = []  # files named like scalar files that are not regular files (a FIFO)

    def close(self) -> None:
        """Nothing stays open between polls (each read opens its file)."""

    def poll(self) -> tuple[bool, str | None]:
        self._grew, self._event = False, None
        now = time.monotonic()
        if now - self._walked >= WALK_EVERY:
            self._walked = now
            try:
                exists = self.root.exists()
            except OSError as exc:
                raise InputError(f"{self.root}: cannot open: {exc.strerror or exc}") from exc
            skipped: list[str] = []
            found = find_scalar_files(self.root, skipped) if exists else {}
            self._skipped = skipped
            listed = {path for paths in found.values() for path in paths}
            for gone in [path for path in self._files if path not in listed]:
                del self._files[gone]
                self._grew = True
            self._found = found
        if self._found:
            self._folders = run_folders(self.root, self._found, self._scalars)
        elif self._folders:
            self._folders, self._grew = [], True
        return self._grew, self._event

    def folders(self, final: bool = False) -> list[RunFolder]:
        """The run folders as read so far; with `final`, every byte there is now read, and what is
        still cut short or unreadable is noted or refused as `check` does (InputError)."""
        if not final:
            return self._folders
        self._walked = -math.inf
        self.poll()
        if not self._found:
            also = f" ({'; '.join(self._skipped)})" if self._skipped else ""
            raise InputError(f"{self.root}: no TensorBoard event file (events.out.tfevents.*) or metrics.csv "
                             f"appeared under it{also}")
        folders = run_folders(self.root, self._found, self._final)
        if folders:
            folders[0].notes.extend(self._skipped)  # as check notes them
        return folders

    def _final(self, path: Path) -> ScalarFile:
        state = self._files.get(path)
        if state is not None and state.reader is not None:
            state.reader.read()
            return state.reader.finish()
        # A metrics.csv (or a file gone since the walk) is read now, errors and all, as check reads it.
        return read_scalar_file(path, str(path))

    def _scalars(self, path: Path) -> ScalarFile:
        """The scalars of one file, brought up to date (the read callback of run_folders)."""
        state = self._files.get(path)
        try:
            status = os.stat(path)
        except FileNotFoundError:
            status = None  # removed since the walk: its records stay until the next walk drops it
        except OSError as exc:
            raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
        if status is not None:
            identity = (status.st_dev, status.st_ino)
            if state is None or state.identity != identity or status.st_size < state.size:
                if state is not None and state.reader is not None:
                    # An event file read again from its start. A metrics.csv is read whole at every change
                    # anyway: Lightning truncating it to write a wider header is no restart of the run.
                    self._event = "rotated" if state.identity != identity else "truncated"
                kept = state.table if state is not None else None  # a metrics.csv's rows, until it reads again
                state = self._files[path] = _File(identity=identity, table=kept)
                if EVENT_MARK in path.name:
                    state.reader = EventFileReader(str(path), str(path))
            if (status.st_size, status.st_mtime_ns) != (state.size, state.mtime):
                self._update(path, state, status)
        if state is None:
            return ScalarFile(path=str(path), kind="csv" if path.name.endswith(".csv") else "tfevents")
        if state.reader is not None:
            return state.reader.result
        return state.table if state.table is not None else ScalarFile(path=str(path), kind="csv")

    def _update(self, path: Path, state: _File, status: os.stat_result) -> None:
        reader = state.reader
        if reader is not None:
            added = reader.read(READ_BUDGET)
            # Past the budget more whole records wait: the size is not recorded, so the next poll reads on.
            if reader.cut is not None or reader.offset >= status.st_size or reader.result.stopped is not None:
                state.size, state.mtime = status.st_size, status.st_mtime_ns
            self._grew = self._grew or added > 0
            return
        now = time.monotonic()
        if now < state.next_read:
            return
        started = time.monotonic()
        try:
            table = read_metrics_csv(str(path), str(path))
        except InputError as exc:
            # A metrics.csv being written or rewritten (no row yet, a header cut short): read again
            # when it changes; still unreadable when the watch ends, it is refused as check refuses it.
            state.error = exc
        else:
            state.error = None
            if state.table is None or table.records != state.table.records or table.series.keys() != state.table.series.keys():
                self._grew = True
            state.table = table
        state.size, state.mtime = status.st_size, status.st_mtime_ns
        state.next_read = now + CSV_PAUSE * (time.monotonic() - started)


class ScalarWatcher(Watcher):
    """A Watcher whose records come from a ScalarFollower instead of text lines."""

    def __init__(self, recipe, emit, name: str, follower: ScalarFollower) -> None:
        self.follower = follower
        self._pending = False
        super().__init__(recipe, emit, name)

    def feed(self, grew: bool) -> None:  # type: ignore[override]
        self._pending = self._pending or bool(grew)

    def idle(self) -> None:
        """Records are whole when they are read: nothing is held back."""

    def _log(self, final: bool) -> Log | None:
        if final:
            return scalar_log(self.follower.folders(final=True), self.name)
        if not self._pending:
            return None
        self._pending = False
        return scalar_log(self.follower.folders(), self.name)


class JoinedWatcher(Watcher):
    """A text log (a file or a command's output) joined with the event folder of the same run
    (`watch LOG --events DIR`), re-judged when either grows, as `check LOG --events DIR` joins them."""

    def __init__(self, recipe, emit, name: str, events: ScalarFollower) -> None:
        self.events = events
        self._pending = False
        super().__init__(recipe, emit, name)

    def events_grew(self, grew: bool) -> None:
        self._pending = self._pending or grew

    def _log(self, final: bool) -> Log | None:
        if final:
            log = super()._log(True)
            folders = self.events.folders(final=True)
        else:
            if not self._pending and self.parser.version == self._version:
                return None
            self._pending = False
            self._version = self.parser.version
            log = self.parser.snapshot()
            folders = self.events.folders()
        if log.runs and folders:
            log.notes.extend(merge(log, scalar_log(folders, str(self.events.root))))
        return log
