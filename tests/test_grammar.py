"""One grammar: the dispatcher, the fast scan and the helper process are built from the
parser modules' declarations, and the fast parse equals the line parse on generated runs.

The generated runs are tests/synth.py's scenarios with random seeds, gradient
densities and lengths, several runs appended, noise put between any two
lines (DataLoader warnings, progress-bar redraws, Lightning lines, the task
text's dialect of the activation check, text that holds a marker mid-line,
windows of the genuine later-round logs, a traceback), in the shapes a log
arrives in (progress bars, ANSI colours, CRLF, BOM). Each is parsed by the
bytes fast path (in-process, with the helper process, and in buffers large
enough for the vectorised passes) and line by line: the two Logs are equal.
"""

from __future__ import annotations

import ast
import dataclasses
import io
import math
import random
import re
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from percediag import prescan
from percediag.normalize import SourceStats
from percediag.parsers import GRAMMAR, KINDS, MARKERS, fast, parse_lines, read
from percediag.parsers.block import Block, Feed
from percediag.parsers.grammar import Grammar, Kind
from percediag.sources import CHUNK_SIZE, LogSource
from tests import synth, transforms
from tests.helpers import EXAMPLES, REAL, ROOT
from tests.test_prescan import MARKER_LINES

PARSERS = ROOT / "src" / "percediag" / "parsers"
LATER = [REAL / "round9.log", REAL / "round13.log", REAL / "round13-han.log", REAL / "round9-ckpt-glob-fix.log"]

# The activation check in the task text's dialect (docs: LOG_FORMATS.md 1b).
TASK_DIALECT = """============================================================
  ACTIVATION CHECK - Batch 0
============================================================
  Model parameters: ~X,XXX,XXX
  Prediction head: 512->128, 128->19
    [OK] Prediction head architecture correct (Round 5)
  Targets:     mean=0.55, std=0.11
  Predictions: mean=0.50, std=0.12, range=[0.30, 0.70]
  Logits:      mean=-0.01, std=0.8

  Health Check:
    [OK] Logits std in good range (0.5-1.5)
    [OK] Prediction std in good range (0.10-0.15)
    [OK] Pred/target std ratio (0.8-1.5x)
============================================================"""


def _noise(rng: random.Random, later: list[list[str]]) -> str:
    """One piece of what lands between a log's blocks."""
    kind = rng.randrange(11)
    if kind == 0:
        return synth.WORKER_WARNING.format(line=rng.randrange(500, 700))
    if kind == 1:
        return synth.PIN_WARNING
    if kind == 2:
        epoch, total = rng.randrange(200), rng.choice([89, 1500, 5735])
        return "\r".join(f"Epoch {epoch}: {p:3d}%|{'#' * (p // 10):<10}| {total * p // 100}/{total} [00:{p // 5:02d}<00:20, "
                         f"2.95it/s, v_num=0, train/loss=0.01{p:02d}]" for p in range(0, 101, rng.choice([5, 20, 50])))
    if kind == 3:
        return rng.choice(["GPU available: True (cuda), used: True", "LOCAL_RANK: 0 - CUDA_VISIBLE_DEVICES: [0]",
                           "13.8 M    Total params", "`Trainer.fit` stopped: `max_epochs=200` reached.",
                           "Monitored metric val/mean_r2 did not improve in the last 20 records. Best score: 0.017. "
                           "Signaling Trainer to stop.",
                           "Metric val/mean_r2 improved by 0.012 >= min_delta = 0.0. New best score: 0.081"])
    if kind == 4:
        return TASK_DIALECT
    if kind == 5:
        # A marker inside other text: the fold header must fill its line; the others open their block.
        return rng.choice(["see FOLD 2/3 above", "  [GRAD] Step 12", "[GRAD] Stepping back", "notes on the TEST SET EVALUATION",
                           "[Fold 1] Epoch", "Fold 2 Best Val R2: n/a", "TRAINING: resumed"])
    if kind == 6:
        return "\n".join(synth.OOM)
    if kind == 7:
        return ""
    lines = rng.choice(later)
    start = rng.randrange(len(lines))
    return "\n".join(lines[start:start + rng.randrange(3, 60)])


def generated_log(seed: int, runs: int = 2, noise: int = 40, dense: bool = False, min_bytes: int = 0) -> bytes:
    """A generated log: up to `runs` synth runs appended (more up to `min_bytes`), `noise` pieces of noise, a random shape."""
    rng = random.Random(seed)
    later = [path.read_text(encoding="utf-8").split("\n") for path in LATER]
    parts: list[str] = []
    wanted = rng.randint(1, runs)
    while len(parts) < wanted or sum(map(len, parts)) < min_bytes:
        scenario = synth.SCENARIOS[rng.choice(sorted(synth.SCENARIOS))]
        # Gradient blocks every 100 steps: 1 to 20 an epoch, so regions of many plain blocks too.
        steps = rng.choice([1500, 2000]) if dense else rng.choice([89, 89, 450, 1500])
        scenario = dataclasses.replace(scenario, seed=rng.randrange(1 << 30), steps_per_epoch=steps,
                                       max_epochs=rng.choice([scenario.max_epochs, 12, 40]), progress_bars=rng.random() < 0.3)
        parts.append(synth.render(scenario))
    lines = "".join(parts).split("\n")
    for _ in range(rng.randint(0, noise)):
        lines.insert(rng.randrange(len(lines)), _noise(rng, later))
    text = "\n".join(lines)
    for shape, chance in (("progress_bars", 0.3), ("ansi", 0.3), ("crlf", 0.3), ("bom", 0.2)):
        if rng.random() < chance:
            text = transforms.TEXT_TRANSFORMS[shape](text)
    return text.encode()


def line_parse(data: bytes, grammar: Grammar = GRAMMAR):
    return parse_lines(LogSource.from_stream(io.BytesIO(data), "x").lines(), "x", grammar)


def fast_parse(source: LogSource):
    """The source's parse, which must take the bytes fast path (no prefix to strip, UTF-8)."""
    with mock.patch.object(read, "parse_bytes", wraps=read.parse_bytes) as spy:
        log = read.parse_log(source)
    assert spy.called, "the line parser was taken"
    return log


def _differences(got, expected, path: str = "") -> list[str]:
    """Where two dumps differ; floats equal to the last bits (batch and sequential statistics round apart)."""
    if isinstance(got, float) and isinstance(expected, float):
        same = (got == expected or math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-12)
                or (math.isnan(got) and math.isnan(expected)))
        return [] if same else [f"{path}: {got!r} != {expected!r}"]
    if isinstance(got, dict) and isinstance(expected, dict) and got.keys() == expected.keys():
        return [d for key in got for d in _differences(got[key], expected[key], f"{path}.{key}")]
    if isinstance(got, list) and isinstance(expected, list) and len(got) == len(expected):
        return [d for index, pair in enumerate(zip(got, expected)) for d in _differences(*pair, f"{path}[{index}]")]
    return [] if got == expected else [f"{path}: {str(got)[:200]} != {str(expected)[:200]}"]


def assert_same(fast_log, slow_log) -> None:
    got, expected = fast_log.model_dump(), slow_log.model_dump()
    got["source"] = expected["source"]
    assert _differences(got, expected) == []


@dataclasses.dataclass
class UsedAnswers:
    answers: list

    def used(self) -> list:
        return [answer for answer in self.answers if answer is not None]


def with_helper(chunk: int):
    """A helper for any file size, buffers of `chunk` bytes, every region read by the helper."""
    seen = UsedAnswers([])
    original = prescan.Helper.answer

    def counting(self, buf):
        answer = original(self, buf)
        seen.answers.append(answer)
        return answer

    patches = [mock.patch.object(prescan, "HELPER_MIN_BYTES", 0), mock.patch.object(prescan, "CHUNK", chunk),
               mock.patch.object(prescan, "HELPER_SHARE", 100), mock.patch.object(prescan.Helper, "answer", counting)]
    return patches, seen


# -- the property: fast parse == line parse -------------------------------------


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2 ** 32 - 1))
def test_fast_and_line_parse_agree_on_generated_runs(seed):
    data = generated_log(seed)
    assert_same(fast_parse(LogSource.from_stream(io.BytesIO(data), "x")), line_parse(data))


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2 ** 32 - 1))
def test_with_the_helper_process_too(tmp_path_factory, seed):
    path = tmp_path_factory.mktemp("grammar") / "train.log"
    # Past the first read (sources.CHUNK_SIZE), in buffers of 64 KiB: several answers.
    path.write_bytes(generated_log(seed, runs=3, dense=True, min_bytes=CHUNK_SIZE + 4 * 65_537))
    patches, seen = with_helper(65_537)
    with patches[0], patches[1], patches[2], patches[3]:
        source = LogSource.from_path(path)
        log = fast_parse(source)
    assert_same(log, line_parse(path.read_bytes()))
    assert len(seen.used()) == len(seen.answers) > 3, "the helper's answers were not used"
    assert not [note for note in source.stats.notes if "in-process" in note]


@pytest.mark.parametrize("helper", [True, False])
def test_buffers_large_enough_for_the_vectorised_passes(tmp_path, helper):
    data = generated_log(11, runs=3, noise=120, dense=True, min_bytes=CHUNK_SIZE + 3 * prescan.VECTOR_MIN_BYTES)
    path = tmp_path / "train.log"
    path.write_bytes(data)
    patches, seen = with_helper(prescan.VECTOR_MIN_BYTES + 4093)
    if not helper:
        patches[0] = mock.patch.object(prescan, "HELPER_MIN_BYTES", 1 << 60)
    bulk = mock.patch.object(fast.FastParser, "_bulk", autospec=True, side_effect=fast.FastParser._bulk)
    with patches[0], patches[1], patches[2], patches[3], bulk as read_in_bulk:
        log = fast_parse(LogSource.from_path(path))
    assert_same(log, line_parse(data))
    assert read_in_bulk.call_count > 100  # regions of plain gradient blocks, read without the line parser
    if helper:
        assert len(seen.used()) >= 2 and any(answer.gaps for answer in seen.used())
    else:
        assert seen.answers == []


# -- the declarations are the only grammar ----------------------------------------


def _declaring_modules() -> set[str]:
    """Parser modules with a top-level `KIND = ...`, read from their source."""
    found = set()
    for path in PARSERS.glob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "KIND" for t in node.targets):
                found.add(f"percediag.parsers.{path.stem}")
    return found


def test_every_declaring_module_is_listed_once():
    listed = [module.__name__ for module in KINDS]
    assert len(set(listed)) == len(listed)
    assert set(listed) == _declaring_modules()


def test_the_dispatcher_and_the_scan_hold_exactly_the_declared_markers():
    kinds = [module.KIND for module in KINDS]
    assert list(MARKERS.groupindex) == [kind.name for kind in kinds]
    assert MARKERS.pattern == "|".join(f"(?P<{kind.name}>{kind.marker})" for kind in kinds)
    pieces = [piece for kind in kinds for piece in kind.scan]
    assert GRAMMAR.scan.markers == tuple(pieces)
    assert GRAMMAR.scan.pattern.pattern == b"|".join(pieces)
    assert set(GRAMMAR.blocks) | set(GRAMMAR.lines) == {kind.name for kind in kinds}
    assert set(GRAMMAR.whole_line) == {"fold"}
    # The first bytes the scan searches for come from the pieces: one, or two after `[`.
    assert set(GRAMMAR.scan.firsts) == {b"F", b"C", b"T", b"P", b"I", b"[A", b"[S"}, (
        "the first bytes of the fast scan changed: a new kind's scan pieces add theirs; add them here "
        "once you have checked the new kind's marker lines reach the line parser through the fast path")
    # The bulk kind is read, not scanned for: its header and plain form are the gradient module's.
    assert [kind.name for kind in kinds if not kind.scan] == ["gradient"]
    assert GRAMMAR.scan.header == b"[GRAD] Step"


def test_no_marker_is_restated_outside_its_module():
    """prescan, the fast path and the byte matrix hold no marker text of their own."""
    for name in ("prescan.py", "gradient_matrix.py", "parsers/fast.py", "parsers/__init__.py"):
        source = (ROOT / "src" / "percediag" / name).read_text(encoding="utf-8")
        for kind in GRAMMAR.kinds:
            for piece in (*kind.scan, kind.marker.encode()):
                assert piece.decode() not in source, (name, piece)
    for gone in ("SCAN", "PLAIN", "GRAD", "_FIRST_BYTES"):
        assert not hasattr(prescan, gone)


def _sample_lines() -> list[str]:
    lines = list(MARKER_LINES) + TASK_DIALECT.split("\n")
    for path in [*EXAMPLES.glob("*.log"), *REAL.glob("*.log")]:
        lines += path.read_text(encoding="utf-8", errors="replace").splitlines()
    return lines


def test_each_kinds_own_pieces_find_its_marker_lines():
    """A kind's scan pieces find every line its marker opens, without another kind's help."""
    own = {kind.name: re.compile(b"|".join(kind.scan)) for kind in GRAMMAR.kinds if kind.scan}
    seen = set()
    for line in _sample_lines():
        match = MARKERS.search(line)
        if match is None or match.lastgroup == "gradient":
            continue
        seen.add(match.lastgroup)
        assert own[match.lastgroup].search(line.encode()) is not None, (match.lastgroup, line)
    assert seen == set(own)


def test_no_two_markers_match_at_one_place():
    """So the alternation's order (the order of KINDS) decides nothing."""
    singles = {kind.name: re.compile(kind.marker) for kind in GRAMMAR.kinds}
    for line in _sample_lines():
        for match in MARKERS.finditer(line):
            matching = [name for name, single in singles.items() if single.match(line, match.start())]
            assert matching == [match.lastgroup], line


# -- a new kind, from its declaration alone -----------------------------------------

_LR = re.compile(r"suggested lr: (\S+)")


class LrFinderBlock(Block):
    """A made-up later block: `[LR FINDER] ...` and its `suggested lr:` line."""

    kind = "lr finder"

    def __init__(self, lineno: int, text: str) -> None:
        super().__init__(lineno)
        self.value = None

    def take(self, lineno: int, text: str) -> Feed | None:
        if match := _LR.search(text):
            self.value = match.group(1)
            return Feed.DONE
        return None

    def finish(self, builder) -> None:
        builder.warn(self.start_line, f"lr finder at {self.start_line}: {self.value}")


NEW = Kind(name="lrfinder", marker=r"\[LR FINDER\]", scan=(rb"\[LR FINDER\]",), block=LrFinderBlock)


def _with_lr_finder(data: bytes) -> tuple[bytes, int]:
    lines = data.split(b"\n")
    rng = random.Random(3)
    count = 0
    for _ in range(300):
        at = rng.randrange(len(lines))
        # Between blocks: after a blank line, where no block is open.
        if lines[at - 1].strip() == b"" and b"\r" not in lines[at - 1]:
            lines[at:at] = [b"[LR FINDER] range test over 100 steps", b"  suggested lr: 3.2e-04", b""]
            count += 1
    return b"\n".join(lines), count


@pytest.mark.parametrize("helper", [True, False])
def test_a_new_kind_reaches_the_dispatcher_the_scan_and_the_helper_from_its_declaration(tmp_path, helper):
    grammar = Grammar([*(module.KIND for module in KINDS), NEW])
    assert grammar.markers.groupindex["lrfinder"] and b"[L" in grammar.scan.firsts
    data, count = _with_lr_finder(generated_log(21, noise=0, dense=True, min_bytes=CHUNK_SIZE + 2 * prescan.VECTOR_MIN_BYTES))
    assert count > 5 and len(data) > 2 * prescan.VECTOR_MIN_BYTES
    path = tmp_path / "train.log"
    path.write_bytes(data)
    slow = line_parse(data, grammar)
    found = [w.message for w in slow.warnings if w.message.startswith("lr finder")]
    assert len(found) == count and all(message.endswith("3.2e-04") for message in found)
    assert not [w for w in line_parse(data).warnings if w.message.startswith("lr finder")]  # undeclared: unseen
    patches, seen = with_helper(prescan.VECTOR_MIN_BYTES + 4093)
    with patches[0], patches[1], patches[2], patches[3], path.open("rb") as handle:
        stats = SourceStats(name="x")
        log = fast.parse_bytes(handle, handle.read(CHUNK_SIZE), "x", stats, path=str(path) if helper else None,
                               grammar=grammar)
    assert_same(log, slow)
    assert (len(seen.used()) >= 2) if helper else seen.answers == []
    assert not [note for note in stats.notes if "in-process" in note]


# -- the declared form is checked ------------------------------------------------------


def _block(lineno, text):
    return None


def test_wrong_declarations_are_refused_when_built():
    for bad, message in [
        (lambda: Kind(name="a", marker="A", scan=(b"A",), block=LrFinderBlock, handle=_block), "neither or both"),
        (lambda: Kind(name="a", marker="A", block=LrFinderBlock), "needs scan pieces"),
        (lambda: Kind(name="a b", marker="A", scan=(b"A",), block=LrFinderBlock), "not an identifier"),
        (lambda: Grammar([*GRAMMAR.kinds, Kind(name="a", marker="A", scan=(rb"\d+ A",), block=LrFinderBlock)]),
         "does not open with a literal"),
        (lambda: Grammar([*GRAMMAR.kinds, Kind(name="a", marker="A", scan=(rb"A?B",), block=LrFinderBlock)]), "optional"),
        (lambda: Grammar([*GRAMMAR.kinds, Kind(name="a", marker="A|B", scan=(rb"A|B",), block=LrFinderBlock)]),
         "alternation"),
        (lambda: Grammar([*GRAMMAR.kinds, GRAMMAR.kinds[0]]), "declared twice"),
        (lambda: Grammar([kind for kind in GRAMMAR.kinds if kind.name != "gradient"]), "one kind in bulk"),
    ]:
        with pytest.raises(ValueError, match=message):
            bad()


def test_the_plain_form_is_what_the_byte_matrix_assumes():
    scan = GRAMMAR.scan
    # gradient_matrix: headers found from `[` bytes and the byte after; the flag's `[` ends a block; three numbers.
    assert scan.header[:1] == b"[" and scan.header[1:2] != b"["
    assert scan.plain_form.groups == 3
    assert scan.plain.startswith(re.escape(scan.header).replace(b"\\ ", b" ")) and scan.plain.endswith(rb"\[OK\]\n|)")


def test_the_scan_travels_to_the_helper_whole():
    scan = GRAMMAR.scan
    again = prescan.Scan.from_arg(scan.to_arg())
    assert (again.markers, again.header, again.plain, again.firsts) == (scan.markers, scan.header, scan.plain, scan.firsts)
    result = subprocess.run([sys.executable, "-m", "percediag.prescan", "x.log", "1", "0", "2", "3", "zz,not-hex"],
                            capture_output=True, text=True)
    assert result.returncode == 2 and result.stderr.startswith("usage: python -m percediag.prescan")


def test_the_helper_starts_without_the_parsers():
    """The helper imports prescan alone: no parser module, no pydantic, no numpy until its first buffer."""
    code = (f"import sys; sys.path.append({str(Path(prescan.__file__).parents[1])!r}); import percediag.prescan; "
            "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in ('percediag', 'pydantic', 'numpy'))))")
    loaded = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert "percediag.prescan" in loaded
    assert not [m for m in loaded if m.startswith(("pydantic", "numpy", "percediag.parsers", "percediag.model"))], loaded
