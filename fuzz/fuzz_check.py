"""Coverage-guided fuzzing of the whole check pipeline with atheris (optional, not part of CI).

Any exception other than percediag's own one-line errors (PercediagError) is
a bug: atheris reports it with the input that caused it. Run it for as long
as you like:

    python -m pip install atheris
    python fuzz/fuzz_check.py -max_len=65536 -timeout=10 -max_total_time=3600 fuzz/corpus

Seed the corpus with real logs first (`mkdir -p fuzz/corpus && cp
tests/fixtures/real-logs/*.log examples/logs/*.log fuzz/corpus/`); crashing
inputs are written as crash-* files in the working directory.
"""

from __future__ import annotations

import io
import sys

import atheris

with atheris.instrument_imports():
    from percediag.errors import PercediagError
    from percediag.pipeline import check_log, parse_source
    from percediag.settings import build_settings
    from percediag.sources import LogSource

SETTINGS = build_settings("round5")


def test_one_input(data: bytes) -> None:
    try:
        check_log(parse_source(LogSource.from_stream(io.BytesIO(data), "fuzz")), SETTINGS)
    except PercediagError:
        pass


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
