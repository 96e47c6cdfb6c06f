"""One decoding core (issue 17, point 2): `check` (file, stdin, bytes fast path or lines) and
`watch` decode every input shape alike, so watch's final report equals check's.

Before the core, three decoders disagreed: a UTF-16 copy of an example log gave 4 folds to
`check` and none to `watch` (issue 14), and watch decided what the first lines say (a prefix,
ranks, doubled lines) on its first 20 lines where check read 400.

The reports are compared as data (the Report model, in-process): every finding with its
lines and message, the forecasts, the ranked fixes, the records. Only the source name and
the input notes differ by construction (watch notes what it will do before the counts are
known); gradient statistics are rounded to 9 digits, as the fast and the line parse sum them
in different orders (tests/parsers/test_fast.py).
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import random

import pytest

from percediag.discovery import load_recipe
from percediag.errors import InputError
from percediag.live.lines import LineStream
from percediag.live.watcher import Watcher
from percediag.normalize import (
    MAX_LINE_CHARS,
    PREFIX_SNIFF_CHARS,
    PREFIX_SNIFF_LINES,
    LineSplitter,
    Normalizer,
    SourceStats,
    clean_line,
    decode_line,
    normalize_bytes,
    plan,
    reduce_long,
)
from percediag.pipeline import check_log, read_source, settings_for
from percediag.sources import LogSource
from tests import transforms
from tests.helpers import EXAMPLES, REAL, ROOT, rounded, run_cli

TENSORBOARD = ROOT / "tests" / "fixtures" / "tensorboard"
LOGS = sorted(EXAMPLES.glob("*.log")) + sorted(REAL.glob("*.log")) + sorted(TENSORBOARD.glob("*/stdout.log"))


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


SHAPES = {
    "plain": lambda text: text.encode(),
    "crlf": lambda text: transforms.crlf(text).encode(),
    "utf-8 bom": lambda text: transforms.bom(text).encode(),
    "utf-16 le": lambda text: b"\xff\xfe" + text.encode("utf-16-le"),  # with its byte order mark
    "utf-16 be": lambda text: b"\xfe\xff" + text.encode("utf-16-be"),
    # UTF-32 LE's mark starts with UTF-16 LE's: it was once read as UTF-16 garbage.
    "utf-32 le": lambda text: b"\xff\xfe\x00\x00" + text.encode("utf-32-le"),
    "utf-32 be": lambda text: b"\x00\x00\xfe\xff" + text.encode("utf-32-be"),
    "gzip": lambda text: gzip.compress(text.encode()),
    "bz2": lambda text: bz2.compress(text.encode()),
    "xz": lambda text: lzma.compress(text.encode()),
    "progress redraws": lambda text: transforms.progress_bars(text).encode(),
    "ansi": lambda text: transforms.ansi(text).encode(),
    "timestamps": lambda text: transforms.timestamps(text).encode(),
    "torchrun ranks": lambda text: "".join(f"[rank{r}]: {line}" for line in _lines(text) for r in (0, 1)).encode(),
}
# Shapes that keep every line where it was: their reports equal the plain log's.
SAME_LINES = {"plain", "crlf", "utf-8 bom", "utf-16 le", "utf-16 be", "utf-32 le", "utf-32 be", "gzip", "bz2", "xz",
              "ansi", "timestamps"}

RECIPE = load_recipe(None, None, [], isolated=True)


def _data(report) -> dict:
    data = json.loads(report.model_dump_json())
    for key in ("notes", "source"):
        data.pop(key)
    data["records"].pop("source", None)
    return rounded(data)


def check_report(source: LogSource) -> dict:
    """The report `check` makes of a source (the CLI's and the API's pipeline)."""
    log, label = read_source(source)
    index = len(log.runs) - 1
    settings, choice = settings_for(RECIPE, log, index)
    return _data(check_log(log, settings, index, label, None, choice))


def watch_report(data: bytes, name: str, piece: int) -> dict:
    """Watch's final report of `data` arriving in pieces (4 MiB: a finished file; small: a busy pipe)."""
    watcher = Watcher(RECIPE, lambda event: None, name)
    for start in range(0, len(data), piece):
        watcher.feed(data[start:start + piece])
    watcher.evaluate(final=True)
    return _data(watcher.report)


# check's report of each log as it is, made once.
_PLAIN: dict = {}


# Standard input (`check -`: read once, its first bytes peeked) and watch of a busy pipe (small
# pieces, never idle) exercise their own code for these shapes; the others decode after them alike.
STDIN_SHAPES = {"plain", "utf-16 le", "gzip", "xz", "torchrun ranks"}
PIPE_SHAPES = {"plain": 4093, "utf-16 le": 4093, "gzip": 4093, "torchrun ranks": 65536, "progress redraws": 65536}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("log", LOGS, ids=lambda path: f"{path.parent.name}/{path.stem}")
def test_watch_ends_with_checks_report_in_every_shape(tmp_path, log, shape):
    text = log.read_bytes().decode("utf-8")  # not read_text: a progress bar's carriage returns stay
    data = SHAPES[shape](text)
    path = tmp_path / "train.log"
    path.write_bytes(data)
    expected = check_report(LogSource.from_path(path))
    assert expected["counts"]["pass"] > 0  # decoded: the log's records were read
    assert watch_report(data, str(path), 4 << 20) == expected  # a finished file, as watch reads it
    if shape in STDIN_SHAPES:
        assert check_report(LogSource.from_stream(io.BufferedReader(io.BytesIO(data)), "<stdin>")) == expected
    if shape in PIPE_SHAPES:
        assert watch_report(data, str(path), PIPE_SHAPES[shape]) == expected
    if shape in SAME_LINES:
        if log not in _PLAIN:
            # Under a name that names no round, as train.log: the profile is chosen from the text.
            _PLAIN[log] = check_report(LogSource.from_stream(io.BytesIO(log.read_bytes()), "<stdin>"))
        assert expected == _PLAIN[log]


# -- the old test_watch_decoding, through the CLI --------------------------------------------

def check_verdict(path) -> tuple:
    code, out, err = run_cli(["check", str(path), "-f", "json", "--isolated"])
    assert code in (0, 1), err
    report = json.loads(out)
    bad = {(f["rule"], f["fold"], f["status"]) for f in report["findings"] if f["status"] in ("warn", "fail")}
    top = next((fix["id"] for fix in report["fixes"] if fix["rank"] == 1), None)
    return code, report["status"], report["counts"], top, bad


def watch_verdict(path) -> tuple:
    code, out, err = run_cli(["watch", str(path), "-f", "jsonl", "--idle-exit", "0", "--interval", "0.01", "--isolated"])
    assert code in (0, 1), err
    events = [json.loads(line) for line in out.splitlines()]
    final: dict[tuple, str] = {}
    for event in events:
        if event["event"] == "finding":
            final[(event["rule"], event["fold"])] = event["status"]
    end = events[-1]
    assert end["event"] == "end"
    bad = {(rule, fold, status) for (rule, fold), status in final.items() if status in ("warn", "fail")}
    return code, end["status"], end["counts"], end["top_fix"], bad


CLI_FORMS = {
    "plain": lambda text: text.encode("utf-8"),
    "utf-16": lambda text: text.encode("utf-16"),  # with its byte order mark, as Windows tools write it
    "crlf": lambda text: text.replace("\n", "\r\n").encode("utf-8"),
}


@pytest.mark.usefixtures("deadline")
@pytest.mark.parametrize("form", CLI_FORMS)
@pytest.mark.parametrize("log", sorted(EXAMPLES.glob("*.log")), ids=lambda path: path.stem)
def test_the_watch_and_check_commands_agree_on_every_example(tmp_path, log, form):
    path = tmp_path / log.name
    path.write_bytes(CLI_FORMS[form](log.read_text(encoding="utf-8")))
    expected = check_verdict(path)
    assert expected[2]["pass"] > 0
    assert watch_verdict(path) == expected


@pytest.mark.usefixtures("deadline")
def test_gzip_input_gives_the_same_verdict_through_the_commands(tmp_path):
    log = EXAMPLES / "round5-plateau.log"
    path = tmp_path / "train.log.gz"  # compressed: known by its first bytes, not its name
    path.write_bytes(gzip.compress(log.read_bytes()))
    assert watch_verdict(path) == check_verdict(path) == check_verdict(log)


@pytest.mark.usefixtures("deadline")
@pytest.mark.parametrize("data", [
    b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 40,  # an executable
    b"  [Fold 0] Epoch   0 | val_r2: 0.1\n" + b"\x00\x01\x02\x03" * 3000,  # a NUL early on
    gzip.compress(b"  [Fold 0] Epoch   0 | val_r2: 0.1\n")[:-12],  # a truncated gzip
])
def test_binary_or_damaged_input_is_refused_alike(tmp_path, data):
    path = tmp_path / "train.log"
    path.write_bytes(data)
    check_code, _, check_err = run_cli(["check", str(path), "--isolated"])
    watch_code, _, watch_err = run_cli(["watch", str(path), "--idle-exit", "0", "--isolated"])
    assert check_code == watch_code == 2
    assert watch_err.count("\n") == 1 and watch_err.startswith("percediag: error: ")
    assert watch_err.split(": ")[:3] == check_err.split(": ")[:3]  # the same reason


def test_the_format_is_decided_from_pieces_as_a_pipe_delivers_them():
    """A UTF-16 log and a gzip log arriving a few bytes at a time give the lines of the plain log."""
    text = (EXAMPLES / "healthy-sota.log").read_text(encoding="utf-8")

    def lines(data: bytes, piece: int) -> list[tuple[int, str]]:
        stream = LineStream("<pipe>")
        out = []
        for start in range(0, len(data), piece):
            out += stream.feed(data[start:start + piece])
        return out + stream.close()

    plain = lines(text.encode(), 4096)
    assert len(plain) > 1000
    assert plain == list(LogSource.from_text(text).lines())
    assert lines(text.encode("utf-16"), 3) == plain
    assert lines(b"\xfe\xff" + text.encode("utf-16-be"), 7) == plain
    assert lines(gzip.compress(text.encode()) + gzip.compress(b""), 5) == plain
    with pytest.raises(InputError, match="binary data, not a text log"):
        lines(b"a\x00" * 5000, 1)


# -- the decisions themselves ------------------------------------------------------------------

def _normalizer_lines(data: bytes, piece: int) -> tuple[list[tuple[int, str]], Normalizer]:
    normalizer = Normalizer("x")
    out = []
    for start in range(0, len(data), piece):
        out += normalizer.feed(data[start:start + piece])
    return out + normalizer.close(), normalizer


def test_watch_decides_on_the_first_lines_check_decides_on():
    """Rank 1 prints its first 30 lines before rank 0 starts: on its first 20 lines alone, watch
    used to judge rank 1's lines, where check (and now watch) judges rank 0's, the lowest."""
    rank1 = [f"[rank1]: rank one line {n}\n" for n in range(30)]
    both = [f"[rank{r}]: line {n} of rank {r}\n" for n in range(200) for r in (0, 1)]
    data = "".join(rank1 + both).encode()
    expected = list(LogSource.from_stream(io.BytesIO(data), "x").lines())
    assert expected[0][1] == "line 0 of rank 0" and len(expected) == 200
    for piece in (len(data), 4096, 97):
        stream = LineStream("x")
        got = []
        for start in range(0, len(data), piece):
            got += stream.feed(data[start:start + piece])
        assert got + stream.close() == expected


def _head_cases() -> list:
    cases = []
    rng = random.Random(17)
    line = "  [Fold 0] Epoch   3 | train_loss: 0.0141 | val_loss: 0.0152 | val_r2: +0.0170 | lr: 5.00e-05"
    stamp = "2025-12-25 14:03:11,201 INFO "
    for case in range(40):
        plain_lines = rng.randint(0, PREFIX_SNIFF_LINES + 50)
        width = rng.choice([40, 200, PREFIX_SNIFF_CHARS // 300, PREFIX_SNIFF_CHARS // 150])
        body = [line.ljust(width, "#") for _ in range(plain_lines)]
        stamped = [stamp + line for _ in range(rng.randint(0, PREFIX_SNIFF_LINES * 2))]
        text = "\n".join(body + stamped) + rng.choice(["\n", "", "\r\n"])
        cases.append(pytest.param(text, id=f"case{case}-{plain_lines}x{width}+{len(stamped)}"))
    return cases


@pytest.mark.parametrize("text", _head_cases())
def test_the_fast_paths_plan_is_the_line_readers_decision(text):
    """`plan` (the bytes fast path's decision, from the first chunk) and the line reader decide
    alike, whether the prefixed lines start inside the head or past it."""
    data = text.encode()
    chunk = data[:1 << 20]
    decided = plan(chunk, len(chunk) == len(data), "x")
    _, normalizer = _normalizer_lines(data, 1 << 20)
    assert decided.plain == (normalizer.lines.filter is None)
    _, pieces = _normalizer_lines(data, 1013)
    assert (pieces.lines.filter is None) == decided.plain


def test_fast_paths_bytes_are_cleaned_as_the_line_reader_cleans_them():
    """CRLF (also after several carriage returns), ANSI (a terminal title never spans a line end)."""
    raw = b"a\r\r\nb \x1b]0;title\nc\x07 d\r\n\x1b[1;32m[OK]\x1b[0m e\r\n"
    buf, crlf = normalize_bytes(raw)
    stats = SourceStats("x")
    fast = [decode_line(line, stats) for line in buf.split(b"\n")[:-1]]
    lines, normalizer = _normalizer_lines(raw, 3)
    assert fast == [text for _, text in lines] == ["a", "b 0;title", "c\x07 d", "[OK] e"]
    assert crlf == normalizer.stats.crlf_lines == 3


def test_a_long_line_is_reduced_alike_however_it_arrives():
    """The splitter (bounded memory, any chunking) keeps what `reduce_long` keeps of the whole line,
    which is what the fast path gives its line parser."""
    rng = random.Random(3)
    frame = "Epoch 1: 50%|#####     | 1/2 [00:01<00:01]"
    lines = [
        "z" * (MAX_LINE_CHARS + 10) + "\r" + frame + "\r   \r\x1b[2K",
        (frame + "\r") * (MAX_LINE_CHARS // len(frame) + 5),
        "y" * (MAX_LINE_CHARS + 3),
        frame + "\r" + "x" * (MAX_LINE_CHARS + 1) + "\r" + " " * 20,
        "\r".join(["w" * 10] + ["v" * (MAX_LINE_CHARS // 2)] * 3),
    ]
    for line in lines:
        expected, cut = reduce_long(line)
        for _ in range(3):
            splitter, out, at = LineSplitter(), [], 0
            text = line + "\n"
            while at < len(text):
                step = rng.choice([1, 7, 4096, 1 << 16, MAX_LINE_CHARS])
                out += splitter.feed(text[at:at + step])
                at += step
            assert out == [expected] and splitter.cut == cut
        stats = SourceStats("x")
        assert decode_line(line.encode(), stats) == clean_line(expected) and stats.cut_lines == cut


def test_a_terminal_title_left_open_hides_no_line_from_the_fast_path():
    """An OSC sequence (a terminal title) opened on one line and ended by a BEL lines later: the
    bytes fast path used to strip everything in between, the epoch line with it; both parses now
    strip only the escape's own line's part, as the line reader always did."""
    from percediag.parsers import parse_lines
    from percediag.parsers.read import parse_log

    raw = (b"x\n\x1b]0;title\n  [Fold 0] Epoch   0 | train_loss: 0.0141 | val_loss: 0.0152 | val_r2: +0.0170 | "
           b"lr: 5.00e-05 | time: 31.4s\n\x07\n")
    fast = parse_log(LogSource.from_stream(io.BytesIO(raw), "x"))
    slow = parse_lines(LogSource.from_stream(io.BytesIO(raw), "x").lines(), "x")
    assert fast.model_dump() == slow.model_dump()
    assert [len(fold.epochs) for fold in fast.runs[-1].folds] == [1]


def test_lines_that_no_decision_changes_go_out_before_the_decision_and_change_nothing():
    """Before the head is complete, the neutral lines (no prefix, not a repeat) go out at once, so
    watch alerts on an early block without waiting; the result equals deciding on the whole head
    first and filtering every line, whatever the lines and however they arrive."""
    from percediag.normalize import LineFilter, head_count

    rng = random.Random(11)
    active = 0
    kinds = ["  [Fold 0] Epoch   1 | val_r2: +0.0170", "", "", "[stdout] tagged", "[rank1]: other rank", "[rank0]: mine",
             "2025-12-25 14:03:11,201 INFO stamped", "same", "same"]
    for _ in range(60):
        lines = [rng.choice(kinds) + (f" {n}" if rng.random() < 0.5 else "") for n in range(rng.randint(0, 600))]
        if rng.random() < 0.4:  # written twice in a row, from some line on
            start = rng.randint(0, len(lines))
            lines = lines[:start] + [line for line in lines[start:] for _ in (0, 1)]
        text = "\n".join(lines) + "\n"
        cleaned = [clean_line(raw) for raw in text.split("\n")[:-1]]
        keep = LineFilter(cleaned[:head_count(text, True)])
        expected = [(n, out) for n, line in enumerate(cleaned, 1) if (out := keep(line)) is not None]
        for piece in (len(text) or 1, 1 << 12, 97):
            got, _ = _normalizer_lines(text.encode(), piece)
            assert got == expected
        active += keep.active
    assert 10 < active < 50  # both kinds of decision were met
    normalizer = Normalizer("x")
    first = normalizer.feed(b"  [Fold 0] Epoch   1 | val_r2: +0.0170\n\n  [GRAD] Step 0: total=1.284, loss=0.015321\n")
    assert len(first) == 3 and not normalizer.lines.decided  # out before the head is complete
