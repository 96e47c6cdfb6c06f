"""Where the commands' logs come from: paths, standard input, TensorBoard folders, event
files and metrics.csv, a baseline; and the inputs an output must never replace."""

from __future__ import annotations

import sys
from pathlib import Path

from percediag.errors import UsageError


def sources(paths: list[str]):
    from percediag.sources import LogSource

    if not paths:
        if sys.stdin is None or sys.stdin.isatty():
            raise UsageError("no log given: pass a path, or '-' to read standard input")
        paths = ["-"]
    for path in paths:
        if path == "-":
            if sys.stdin is None:
                raise UsageError("-: standard input is closed")
            yield LogSource.from_stream(sys.stdin.buffer, "<stdin>")
        else:
            yield LogSource.from_path(path)


def logs(paths: list[str], events: str | None = None, progress: bool = False):
    """(parsed log, line labeller) per input: a text log (joined with `events` when given), or a
    TensorBoard folder, event file or metrics.csv read alone. `progress`: a bar on a terminal's
    stderr while a large or slow log is read."""
    from percediag.pipeline import is_scalar_input, parse_source, read_source, scalar_input

    if events is not None and len(paths) != 1:
        raise UsageError("--events: give exactly one log to join the event files with")
    if events is not None and is_scalar_input(paths[0]):
        raise UsageError(f"--events: {paths[0]} is itself an event folder or file; pass the stdout log first")
    for path in paths or [None]:
        if path is not None and is_scalar_input(path):
            yield scalar_input(path), None
            continue
        source = next(iter(sources([path] if path is not None else [])))
        yield read_source(source, events, _parse_with_progress if progress else parse_source)


def _parse_with_progress(source):
    """Parse `source`, with a progress bar on stderr when it is a terminal and the read is large or slow."""
    from percediag.pipeline import parse_source
    from percediag.report.progress import ReadProgress, wanted

    if not wanted(sys.stderr, quiet=False):
        return parse_source(source)
    bar = ReadProgress(source.name, source.size, sys.stderr)
    source.progress = bar
    try:
        return parse_source(source)
    finally:
        bar.close()


def read_log(path: str):
    """A log file, or a TensorBoard folder, event file or metrics.csv read as a log (diff, history)."""
    from percediag.pipeline import is_scalar_input, parse_source, scalar_input
    from percediag.sources import LogSource

    return scalar_input(path) if is_scalar_input(path) else parse_source(LogSource.from_path(path))


def read_baseline(path: str | None):
    if path is None:
        return None
    from percediag.pipeline import is_scalar_input, parse_source, scalar_input
    from percediag.sources import LogSource

    if is_scalar_input(path):  # an event folder, file or metrics.csv, read as check reads it
        return scalar_input(path).runs[-1]
    return parse_source(LogSource.from_path(path)).runs[-1]


def add_input(inputs, path: str | None, role: str) -> None:
    """Remember `path` and, for a TensorBoard folder, event file or metrics.csv, every scalar file
    it reads: an output must not replace an event file any more than the log itself."""
    if path is None or path == "-":
        return
    inputs.add(path, role)
    from percediag.errors import InputError
    from percediag.events.tree import find_scalar_files
    from percediag.pipeline import is_scalar_input

    try:
        if not is_scalar_input(path):
            return
        found = find_scalar_files(Path(path))
    except (InputError, OSError):
        return  # unreadable: reading it fails next, with its own one-line error, before any write
    for files in found.values():
        for file in files:
            inputs.add(file, f"a file read from {role} {path}:")
