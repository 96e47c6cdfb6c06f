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
the writer's start time) and their points joined.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from percediag.errors import InputError
from percediag.events.reader import read_event_file
from percediag.events.scalars import ScalarFile

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


def read_metrics_csv(path: str, display: str | None = None) -> ScalarFile:
    """A Lightning CSVLogger metrics.csv: one row per logged step, a column per tag, `epoch` and `step`."""
    name = display or path
    result = ScalarFile(path=name, kind="csv")
    csv.field_size_limit(MAX_CSV_FIELD)
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if not header or "step" not in header or len(header) < 2:
                raise InputError(f"{name}: not a Lightning metrics.csv (no header with a `step` column)")
            step_at = header.index("step")
            epoch_at = header.index("epoch") if "epoch" in header else None
            for number, row in enumerate(reader, start=2):
                if not row:
                    continue
                if len(row) != len(header):
                    result.stop(f"row {number}", f"it has {len(row)} fields, not {len(header)} (a file cut short?)")
                    break
                try:
                    step = int(row[step_at])
                    cells = [(tag, float(cell)) for tag, cell in zip(header, row) if cell and tag != "step"]
                except ValueError as exc:
                    if result.records == 0:
                        raise InputError(f"{name}: not a Lightning metrics.csv (row {number}: {exc})") from exc
                    result.stop(f"row {number}", "it is not numbers")
                    break
                result.records += 1
                for tag, value in cells:
                    if tag == "epoch" and epoch_at is not None:
                        result.mark_epoch(step, value)
                    else:
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
    found = find_scalar_files(root)
    if not found:
        raise InputError(f"{root}: no TensorBoard event file (events.out.tfevents.*) or metrics.csv under it")
    return run_folders(root, found, lambda chosen: read_scalar_file(chosen, str(chosen)))


def find_scalar_files(root: Path) -> dict[Path, list[Path]]:
    """The event files and metrics.csv files under `root` by folder (`root` itself when it is a file);
    empty when there are none (yet). Refuses a walk too deep or too wide to be a run's log folder."""
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
            chosen = sorted(f for f in files if EVENT_MARK in f or f == CSV_NAME)
            if chosen:
                found[Path(folder)] = [Path(folder) / f for f in chosen]
                count += len(chosen)
                if count > MAX_FILES:
                    raise InputError(f"{root}: more than {MAX_FILES} event files and metrics.csv files; "
                                     "give the folder of one run")
    except OSError as exc:
        raise InputError(f"{root}: cannot read: {exc.strerror or exc}") from exc
    return found


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
