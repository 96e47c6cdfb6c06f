"""Finding the scalar files of a run: a TensorBoard log folder, one event file, or a Lightning metrics.csv.

Lightning writes one folder per fold and version
(`<save_dir>/<name>/fold_N/version_M/events.out.tfevents.*` or `.../metrics.csv`).
Each folder holding event files (or a metrics.csv) is one run folder; its fold
number is the last `fold_N` (also `fold-N`, `foldN`) among its path parts.
When one fold has several versions (a fold trained again into the same
folder), the highest version is read and the others are named in a note.
Two fold folders with the same fold number (another run beside the main
one) are refused: the user names the run's own folder.
Within a folder, event files are read in name order (their names start with
the writer's start time) and their points joined. Only regular files are
read: a FIFO, socket or device named like a scalar file is skipped by the
walk with a note, and refused when named on the command line (reading a FIFO
blocks until a writer appears).

A metrics.csv cell is a plain ASCII number (`0.0119`, `-1.2e-05`, `nan`,
`inf`) or empty (not logged in that row); `step` is a whole number from 0 to
MAX_STEP, `epoch` one from 0 to MAX_EPOCH. Anything else (`1_000`, an
Arabic-Indic digit, `0x10`, which Python's own parsers accept) in the first
row refuses the file; in a later row it ends the reading there, with a note,
as a damaged event file does.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from percediag.errors import InputError
from percediag.events.reader import read_event_file
from percediag.events.regular import kind_of, open_regular
from percediag.events.scalars import EPOCH_TAG, MAX_EPOCH, ScalarFile, epoch_number

EVENT_MARK = "tfevents"
CSV_NAME = "metrics.csv"
MAX_FILES = 400
# Lightning's layout is save_dir/name/fold_N/version_M: a few levels. A walk deeper or wider than this
# is not a run's log folder (`check /`), and is refused instead of searching a whole disk.
MAX_DEPTH = 6
MAX_DIRS = 20_000
_FOLD = re.compile(r"^fold[_-]?(\d{1,6})$", re.IGNORECASE)
_VERSION = re.compile(r"^version_(\d{1,9})$")
# A metrics.csv cell is a number; a larger one is not Lightning's.
MAX_CSV_FIELD = 4096
# Lightning's global step; a billion times the replica's 93 steps per epoch is not a training run.
MAX_STEP = 10**12
# What Lightning's CSVLogger writes (Python's repr of a float or an int); float() also takes `1_000`,
# non-ASCII digits and surrounding spaces, which no logger writes.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?(?:nan|inf|infinity)",
                     re.IGNORECASE | re.ASCII)
_STEP = re.compile(r"[0-9]{1,13}", re.ASCII)


@dataclass
class RunFolder:
    """The scalars of one fold's folder."""

    folder: str
    fold: int | None
    version: int | None
    files: list[ScalarFile] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def is_scalar_input(path: str | Path) -> bool:
    """A folder, an event file or a metrics.csv: something `read_scalars` takes."""
    path = Path(path)
    return path.is_dir() or EVENT_MARK in path.name or path.name.endswith(".csv")


def _fold_of(parts: tuple[str, ...]) -> int | None:
    for part in reversed(parts):
        match = _FOLD.match(part)
        if match:
            return int(match.group(1))
    return None


def _version_of(parts: tuple[str, ...]) -> int | None:
    match = _VERSION.match(parts[-1]) if parts else None
    return int(match.group(1)) if match else None


class _BadRow(ValueError):
    """A metrics.csv row holding something other than Lightning's numbers."""


def _csv_row(header: list[str], row: list[str], step_at: int) -> tuple[int, list[tuple[str, float]]]:
    """(step, [(tag, value)]) of one row; raises _BadRow naming the first cell that is not Lightning's."""
    step_text = row[step_at]
    if not _STEP.fullmatch(step_text) or int(step_text) > MAX_STEP:
        raise _BadRow(f"`step` {step_text[:40]!r} is not a whole number from 0 to {MAX_STEP:,}")
    cells = []
    for tag, cell in zip(header, row):
        if not cell or tag == "step":
            continue
        if not _NUMBER.fullmatch(cell):
            raise _BadRow(f"`{tag[:80]}` {cell[:40]!r} is not a number")
        value = float(cell)
        if tag == EPOCH_TAG and epoch_number(value) is None:
            raise _BadRow(f"`epoch` {cell[:40]!r} is not a whole number from 0 to {MAX_EPOCH:,}")
        cells.append((tag, value))
    return int(step_text), cells


def read_metrics_csv(path: str, display: str | None = None) -> ScalarFile:
    """A Lightning CSVLogger metrics.csv: one row per logged step, a column per tag, `epoch` and `step`."""
    name = display or path
    result = ScalarFile(path=name, kind="csv")
    csv.field_size_limit(MAX_CSV_FIELD)
    binary = open_regular(path, name)
    try:
        # utf-8-sig: a file saved by a spreadsheet or an editor on Windows starts with a byte order mark.
        with io.TextIOWrapper(binary, encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if not header or "step" not in header or len(header) < 2:
                raise InputError(f"{name}: not a Lightning metrics.csv (no header with a `step` column)")
            step_at = header.index("step")
            for number, row in enumerate(reader, start=2):
                if not row:
                    continue
                if len(row) != len(header):
                    result.stop(f"row {number}", f"it has {len(row)} fields, not {len(header)} (a file cut short?)")
                    break
                try:
                    step, cells = _csv_row(header, row, step_at)
                except _BadRow as exc:
                    if result.records == 0:
                        raise InputError(f"{name}: not a Lightning metrics.csv (row {number}: {exc})") from exc
                    result.stop(f"row {number}", str(exc))
                    break
                result.records += 1
                for tag, value in cells:
                    result.add(tag, step, value)
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: not a Lightning metrics.csv (not UTF-8 text)") from exc
    except csv.Error as exc:
        raise InputError(f"{name}: not a Lightning metrics.csv ({exc})") from exc
    except OSError as exc:
        raise InputError(f"{name}: cannot read: {exc.strerror or exc}") from exc
    if result.records == 0:
        raise InputError(f"{name}: a metrics.csv without rows")
    return result


def read_scalar_file(path: Path, display: str) -> ScalarFile:
    if path.name.endswith(".csv"):
        return read_metrics_csv(str(path), display)
    return read_event_file(str(path), display)


def read_scalars(path: str | Path) -> list[RunFolder]:
    """The run folders under `path` (a folder, an event file or a metrics.csv), in fold-folder order."""
    root = Path(path)
    skipped: list[str] = []
    found = find_scalar_files(root, skipped)
    if not found:
        also = f" ({'; '.join(skipped)})" if skipped else ""
        raise InputError(f"{root}: no TensorBoard event file (events.out.tfevents.*) or metrics.csv under it{also}")
    folders = run_folders(root, found, lambda chosen: read_scalar_file(chosen, str(chosen)))
    if folders:
        folders[0].notes.extend(skipped)
    return folders


def find_scalar_files(root: Path, skipped: list[str] | None = None) -> dict[Path, list[Path]]:
    """The event files and metrics.csv files under `root` by folder (`root` itself when it is a file);
    empty when there are none (yet). Files named like them that are not regular files (a FIFO, ...)
    are left out, each with a note in `skipped`. Refuses a walk too deep or too wide to be a run's
    log folder, and one that meets a folder it cannot list (naming it)."""
    try:
        if not root.exists():
            raise InputError(f"{root}: no such file or folder")
        if not root.is_dir():
            return {root.parent: [root]}
    except OSError as exc:
        raise InputError(f"{root}: cannot open: {exc.strerror or exc}") from exc
    found: dict[Path, list[Path]] = {}
    count = visited = 0
    try:
        for folder, dirs, files in os.walk(root, onerror=_walk_error):
            visited += 1
            if visited > MAX_DIRS:
                raise InputError(f"{root}: more than {MAX_DIRS:,} folders under it; give the log folder of one run")
            dirs.sort()
            if len(Path(folder).relative_to(root).parts) >= MAX_DEPTH:
                dirs.clear()  # deeper than any Lightning log layout
            chosen = _regular(Path(folder), sorted(f for f in files if EVENT_MARK in f or f == CSV_NAME), skipped)
            if chosen:
                found[Path(folder)] = chosen
                count += len(chosen)
                if count > MAX_FILES:
                    raise InputError(f"{root}: more than {MAX_FILES} event files and metrics.csv files; "
                                     "give the folder of one run")
    except OSError as exc:
        failed = f" {exc.filename}" if exc.filename and str(exc.filename) != str(root) else ""
        raise InputError(f"{root}: cannot read{failed}: {exc.strerror or exc}") from exc
    return found


def _regular(folder: Path, names: list[str], skipped: list[str] | None) -> list[Path]:
    """The regular files among `names` (symbolic links followed); the others noted in `skipped`."""
    kept = []
    for file_name in names:
        path = folder / file_name
        try:
            kind = kind_of(path.stat().st_mode)
        except OSError as exc:
            # A dangling link or a file removed since the listing: nothing to read there.
            kind = f"unreadable ({exc.strerror or exc})"
        if kind is None:
            kept.append(path)
        elif skipped is not None:
            skipped.append(f"{path}: {kind}, not a regular file: skipped")
    return kept


def run_folders(root: Path, found: dict[Path, list[Path]], read: Callable[[Path], ScalarFile]) -> list[RunFolder]:
    """The run folders of `found` (find_scalar_files), each file's scalars from `read`: one folder per
    fold, its latest version."""
    if not root.is_dir():
        parts = root.parent.parts
        return [RunFolder(folder=str(root.parent), fold=_fold_of(parts), version=_version_of(parts), files=[read(root)])]
    folders = []
    for folder, paths in found.items():
        parts = folder.relative_to(root).parts if folder != root else (root.name,)
        run = RunFolder(folder=str(folder), fold=_fold_of(parts) if _fold_of(parts) is not None else _fold_of(root.parts),
                        version=_version_of(parts))
        events = [p for p in paths if EVENT_MARK in p.name]
        # Lightning writes one kind per logger; with both, the event files carry every point.
        for chosen in events or paths:
            run.files.append(read(chosen))
        if events and len(paths) > len(events):
            run.notes.append(f"{folder}: metrics.csv beside event files not read (the event files hold the same points)")
        folders.append(run)
    return _latest_versions(folders)


def _walk_error(exc: OSError) -> None:
    raise exc


def _fold_folder(run: RunFolder) -> str:
    """The fold's own folder: a `version_M` folder's parent, else the run folder itself."""
    folder = Path(run.folder)
    return str(folder.parent) if run.version is not None else str(folder)


def _latest_versions(folders: list[RunFolder]) -> list[RunFolder]:
    """One folder per fold: the highest version; folders without a fold number are all kept."""
    best: dict[int, RunFolder] = {}
    kept: list[RunFolder] = []
    for run in folders:
        if run.fold is None:
            kept.append(run)
            continue
        other = best.get(run.fold)
        if other is None:
            best[run.fold] = run
            kept.append(run)
            continue
        if _fold_folder(run) != _fold_folder(other):
            # Versions of one fold share its folder; two fold folders are two runs (the main run and
            # another model's beside it): picking one would judge a log with the other's numbers.
            raise InputError(f"two runs hold fold {run.fold}: {_fold_folder(other)} and {_fold_folder(run)}; "
                             "give the folder of one run")
        if (-1 if run.version is None else run.version) > (-1 if other.version is None else other.version):
            run.notes.append(f"fold {run.fold}: {other.folder} not read; the later version {run.folder} is")
            best[run.fold] = run
            kept[kept.index(other)] = run
        else:
            other.notes.append(f"fold {run.fold}: {run.folder} not read; {other.folder} is read for this fold")
    return kept
