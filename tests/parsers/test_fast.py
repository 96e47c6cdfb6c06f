"""The bytes fast path gives the same Log as the line-by-line parse."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from percediag.parsers import parse_lines
from percediag.parsers.read import parse_log
from percediag.sources import LogSource
from tests import transforms
from tests.helpers import EXAMPLES, REAL, ROOT, rounded

sys.path.insert(0, str(ROOT / "bench"))
import make_log  # noqa: E402


def both(data: bytes):
    fast = parse_log(LogSource.from_stream(io.BytesIO(data), "x"))
    slow = parse_lines(LogSource.from_stream(io.BytesIO(data), "x").lines(), "x")
    return rounded(fast.model_dump()), rounded(slow.model_dump())


LOGS = sorted(EXAMPLES.glob("*.log")) + sorted(REAL.glob("*.log"))


@pytest.mark.parametrize("path", LOGS, ids=lambda p: p.name)
def test_examples_and_real_logs(path: Path):
    fast, slow = both(path.read_bytes())
    assert fast == slow


@pytest.mark.parametrize("shape", ["ansi", "crlf", "progress_bars", "lossy_paste", "bom"])
def test_shapes(shape):
    text = transforms.TEXT_TRANSFORMS[shape]((EXAMPLES / "nan-gradients.log").read_text())
    fast, slow = both(text.encode())
    assert fast == slow


@pytest.fixture(scope="module")
def every_step_log(tmp_path_factory) -> bytes:
    """The benchmark's shape: a gradient block at every step, so the bulk path does most of the work."""
    path = tmp_path_factory.mktemp("bench") / "big.log"
    make_log.write(3 << 20, path, seed=3)
    return path.read_bytes()


def test_bulk_gradients_match_the_line_parse(every_step_log):
    fast, slow = both(every_step_log)
    assert fast == slow
    steps = [f["gradients"]["steps"] for run in fast["runs"] for f in run["folds"] if f["gradients"]]
    assert max(steps) > 3000


def test_bulk_with_odd_blocks_falls_back(every_step_log):
    text = every_step_log.replace(b"Balance (head/encoder): 0.7x [OK]", b"Balance (head/encoder): 14.2x [IMBALANCED - head doing all work]", 3)
    text = text.replace(b"total=0.2", b"total=nan", 2)
    fast, slow = both(text)
    assert fast == slow


def test_chunk_boundaries(monkeypatch, every_step_log):
    import percediag.prescan as prescan
    import percediag.sources as sources

    monkeypatch.setattr(prescan, "CHUNK", 65_537)
    monkeypatch.setattr(sources, "CHUNK_SIZE", 65_537)
    fast, slow = both(every_step_log[: 1 << 20])
    assert fast == slow
