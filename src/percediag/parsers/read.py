"""Read a source into a Log: the one place that chooses between the two ways of parsing.

The decoding core (`percediag.normalize.plan`) looks at the first chunk: a
UTF-8 input whose first lines ask for no line filter (no repeated prefix,
no ranks, no doubled lines) is parsed from its bytes by the fast path
(`parsers.fast`); anything else (UTF-16, a prefix to strip, a notebook) is
normalised line by line (`sources`, `normalize`) and fed to the line
parser. Both give the same Log (tests/parsers/test_fast.py).
"""

from __future__ import annotations

from percediag.model import Log
from percediag.parsers import parse_lines
from percediag.parsers.fast import parse_bytes
from percediag.sources import LogSource


def parse_log(source: LogSource) -> Log:
    """Parse the whole source into a Log: the bytes fast path where it applies, else line by line."""
    if not source.reads_bytes:
        return parse_lines(source.lines(), source.name)
    with source.reading() as reading:
        if reading.plan.plain:
            body = reading.body()
            return parse_bytes(reading.handle, body, source.name, source.stats, path=source.path,
                               skip=reading.hole + reading.plan.bom)
        return parse_lines(reading.lines(), source.name)
