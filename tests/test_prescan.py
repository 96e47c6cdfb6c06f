"""The helper process: its answers give the same Log as the line parse, and when they
cannot be used the parser does the work itself and says so."""

from __future__ import annotations

import sys

import pytest

import percediag.prescan as prescan
from percediag.parsers import GRAMMAR, parse_lines
from percediag.pipeline import parse_source
from percediag.sources import LogSource
from tests import transforms
from tests.helpers import ROOT
from tests.parsers.test_fast import rounded

sys.path.insert(0, str(ROOT / "bench"))
import make_log  # noqa: E402

# The fast scan, as the grammar builds it from the parser modules' declarations.
SCAN = GRAMMAR.scan


@pytest.fixture(scope="module")
def every_step_bytes(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("prescan") / "big.log"
    make_log.write(2 << 20, path, seed=5)
    return path.read_bytes()


@pytest.fixture
def helper_always(monkeypatch):
    """A helper for any file size, many small buffers, and every region read by the helper."""
    monkeypatch.setattr(prescan, "HELPER_MIN_BYTES", 0)
    monkeypatch.setattr(prescan, "CHUNK", 65_537)
    monkeypatch.setattr(prescan, "HELPER_SHARE", 100)
    answers = []
    original = prescan.Helper.answer

    def counting(self, buf):
        answer = original(self, buf)
        answers.append(answer)
        return answer

    monkeypatch.setattr(prescan.Helper, "answer", counting)
    return answers


def parse_both(path):
    fast_log = parse_source(LogSource.from_path(path))
    slow = parse_lines(LogSource.from_path(path).lines(), str(path))
    fast = rounded(fast_log.model_dump())
    notes = fast.pop("notes")
    slow_dump = rounded(slow.model_dump())
    slow_dump.pop("notes")
    return fast, slow_dump, notes


@pytest.mark.parametrize("shape", [None, "ansi", "crlf", "bom"])
def test_helper_answers_give_the_line_parse(tmp_path, every_step_bytes, helper_always, shape):
    data = every_step_bytes
    if shape is not None:
        data = transforms.TEXT_TRANSFORMS[shape](data.decode()).encode()
    path = tmp_path / "train.log"
    path.write_bytes(data)
    fast, slow, notes = parse_both(path)
    assert fast == slow
    used = [answer for answer in helper_always if answer is not None]
    assert len(used) == len(helper_always) > 10
    assert any(answer.gaps for answer in used), "the helper read no region"
    assert not [note for note in notes if "in-process" in note]


def test_a_helper_that_dies_is_replaced_by_in_process_work(tmp_path, every_step_bytes, helper_always, monkeypatch):
    path = tmp_path / "train.log"
    path.write_bytes(every_step_bytes)
    monkeypatch.setattr(sys, "executable", "/bin/false")
    fast, slow, notes = parse_both(path)
    assert fast == slow
    assert helper_always[0] is None
    assert any("did the helper's work in-process: the helper stopped answering" in note for note in notes)


def test_answers_for_a_changed_file_are_not_used(tmp_path, every_step_bytes, helper_always, monkeypatch):
    path = tmp_path / "train.log"
    path.write_bytes(every_step_bytes)
    # The helper reads a file of the same length whose numbers differ, as if
    # the log had been rewritten between the two reads.
    other = tmp_path / "rewritten.log"
    other.write_bytes(every_step_bytes.replace(b"total=0.1", b"total=0.9"))
    start = prescan.Helper.start.__func__

    def start_on_other(cls, _path, first_size, skip, scan):
        return start(cls, str(other), first_size, skip, scan)

    monkeypatch.setattr(prescan.Helper, "start", classmethod(start_on_other))
    fast, slow, notes = parse_both(path)
    assert fast == slow
    assert any("the file changed while it was read" in note for note in notes)


def test_no_helper_for_a_small_file_or_a_stream(tmp_path, monkeypatch):
    path = tmp_path / "small.log"
    path.write_text("[Fold 1] Epoch   0 | train_loss: 0.0150 | val_loss: 0.0140 | val_r2: +0.0100 | lr: 5.00e-05 | time: 30.0s\n")
    assert prescan.Helper.start(str(path), 100, 0, SCAN) is None
    monkeypatch.setattr(prescan, "HELPER_MIN_BYTES", 0)
    monkeypatch.setattr(prescan, "_cores", lambda: 1)
    assert prescan.Helper.start(str(path), 100, 0, SCAN) is None


def test_the_helper_refuses_wrong_arguments():
    import subprocess

    result = subprocess.run([sys.executable, "-m", "percediag.prescan", "only-a-path"], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("usage: python -m percediag.prescan")


def test_the_combined_scan_finds_what_needs_normalising():
    buf, positions, crlf = prescan.find_markers(b"a\r\nTotal params: 5\r\n\x1b[32mok\x1b[0m\n", SCAN)
    assert buf == b"a\nTotal params: 5\nok\n"
    assert crlf == 2
    assert [buf[p:p + 5] for p in positions] == [b"Total"]
    clean = b"x\n[Fold 1] Epoch   0 | val_r2: +0.01\n"
    same, positions, crlf = prescan.find_markers(clean, SCAN)
    assert same is clean and crlf == 0 and positions == [clean.index(b"Fold")]


MARKER_LINES = [
    "ACTIVATION CHECK - Batch 0", "AGGREGATE RESULTS", "PER-DIMENSION R2 (test set)",
    "  [Fold 3] Epoch  12 | val_r2: +0.2000", "FOLD 2/3", "FOLD 1 SUMMARY", "TEST SET EVALUATION",
    "Traceback (most recent call last):", "TRAINING CONFIGURATION - SOTA + ROUND 5 FIXES",
    "`Trainer.fit` stopped: `max_epochs=200` reached.", "Signaling Trainer to stop.",
    "Detected KeyboardInterrupt, attempting graceful shutdown ...", "13.8 M    Total params",
    "  4-FOLD CROSS-VALIDATION",
]


def test_the_scan_finds_every_marker_the_line_parser_knows():
    """The scan holds substrings of the markers; a line the parser would open a block on must never be skipped."""
    from percediag.parsers import MARKERS
    from tests.helpers import EXAMPLES, REAL

    lines = list(MARKER_LINES)
    for path in [*EXAMPLES.glob("*.log"), *REAL.glob("*.log")]:
        lines += path.read_text(encoding="utf-8", errors="replace").splitlines()
    checked = set()
    for line in lines:
        match = MARKERS.search(line)
        if match is None or match.lastgroup == "gradient":  # gradient blocks are the bulk path's own
            continue
        checked.add(match.lastgroup)
        assert SCAN.pattern.search(line.encode()) is not None, line
        assert prescan.marker_positions(line.encode(), SCAN), line
    assert checked == set(MARKERS.groupindex) - {"gradient"}, (
        "a block kind none of these lines opens: add one of its marker lines to MARKER_LINES")


def first_match_per_line(buf: bytes) -> list[int]:
    firsts = {}
    for match in SCAN.pattern.finditer(buf):
        firsts.setdefault(buf.rfind(b"\n", 0, match.start()), match.start())
    return sorted(firsts.values())


def test_marker_positions_are_the_first_match_of_each_line_in_sparse_and_dense_text(every_step_bytes):
    sparse = every_step_bytes[:1 << 20]
    assert prescan.marker_positions(sparse, SCAN) == first_match_per_line(sparse) != []
    # Two markers on one line, and lines that start with a marker's first byte.
    packed = b"x\nTotal params 5 [Fold 1] Epoch 0\nFOLD 1/3\nFOLD 2/3\n"
    assert prescan.marker_positions(packed, SCAN) == first_match_per_line(packed) == [2, packed.index(b"FOLD 1"), packed.index(b"FOLD 2")]
    # Text full of candidate bytes: past the budget the regex scan takes over.
    dense = b"FCTPI " * 50_000 + b"\n  [Fold 2] Epoch   3 | val_r2: +0.1 Total params\n" + b"TFTF\n" * 1000 + b"FOLD 1/3\n"
    assert prescan.marker_positions(dense, SCAN) == first_match_per_line(dense) == [dense.index(b"Fold"), dense.index(b"FOLD")]


@pytest.mark.parametrize("hole", [1, 3_000_000, (4 << 20) + 7])
def test_a_leading_hole_of_zeros_is_skipped_by_every_path(tmp_path, every_step_bytes, helper_always, hole):
    """A log truncated while its writer went on (logrotate's copytruncate) opens with zeros: the
    fast path with its helper and the line parse both read the text after them, as if the zeros
    were not there, and say so in a note (within the first chunk, and past it)."""
    (tmp_path / "plain").mkdir()
    (tmp_path / "holed").mkdir()
    plain, holed = tmp_path / "plain" / "train.log", tmp_path / "holed" / "train.log"
    plain.write_bytes(every_step_bytes)
    holed.write_bytes(b"\0" * hole + every_step_bytes)
    reference, _, _ = parse_both(plain)
    fast, slow, notes = parse_both(holed)
    for dump in (reference, fast, slow):
        dump.pop("source", None)
    assert fast == slow == reference
    assert [note for note in notes if "zeros and were skipped" in note] == [
        f"the first {hole:,} byte(s) were zeros and were skipped: a hole left when the file was truncated while "
        "its writer went on (as logrotate's copytruncate leaves it); line numbers count from the text after it"]
    assert not [note for note in notes if "in-process" in note]


def test_the_helper_seeks_past_a_sparse_hole_and_does_not_read_it(tmp_path):
    """A hole of 512 MiB made by a truncation (sparse: no disk, no time) before the text: the
    check and its helper seek past it; the helper's peak memory does not grow with it (it read
    the whole hole into memory once: 1 GB for a 1 GiB hole)."""
    path = tmp_path / "train.log"
    with open(path, "wb") as handle:
        handle.truncate(512 << 20)
        handle.seek(512 << 20)
        handle.write((ROOT / "tests" / "fixtures" / "real-logs" / "round5.log").read_bytes() * 40)
    probe = ("import resource, sys; from percediag.pipeline import parse_source; from percediag.sources import LogSource; "
             "log = parse_source(LogSource.from_path(sys.argv[1])); "
             "print(len(log.runs), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, log.notes[0][:40])")
    import subprocess
    result = subprocess.run([sys.executable, "-c", probe, str(path)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    runs, helper_kib, note = result.stdout.split(" ", 2)
    assert result.returncode == 0 and int(runs) == 40, result.stderr
    assert note.startswith("the first 536,870,912 byte(s) were zeros")
    assert 0 < int(helper_kib) < 150 * 1024  # the helper ran, in bounded memory
