"""The vectorised passes of the fast path equal the regex and bytes passes they replace.

`gradient_matrix.plain_array` against `prescan.plain_values` (the regex
`findall` and `float()`), on generated regions of gradient blocks in every
layout the trainer prints and many it does not, and on fuzzed copies of
them; the CRLF test and the two-byte marker search against bytes methods.
Whole-log equality of the fast path and the line parser is in
tests/parsers/test_fast.py and tests/test_prescan.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import percediag.gradient_matrix as gradient_matrix
from percediag import prescan
from percediag.parsers import GRAMMAR
from percediag.pipeline import parse_source
from percediag.sources import LogSource
from tests import transforms
from tests.test_prescan import every_step_bytes, parse_both  # noqa: F401  (a fixture, and the two parses it compares)


def plain_array(buf: bytes, start: int, end: int) -> np.ndarray | None:
    """The byte matrix on the gradient kind's declared plain form."""
    return gradient_matrix.plain_array(buf, start, end, GRAMMAR.scan.header, GRAMMAR.scan.plain_form)


def plain_values(buf: bytes, start: int, end: int) -> list[bytes] | None:
    """The regex reading of the same form."""
    return prescan.plain_values(buf, start, end, GRAMMAR.scan)


def reference(buf: bytes, start: int, end: int) -> np.ndarray | None:
    flat = plain_values(buf, start, end)
    return None if flat is None else np.array([float(value) for value in flat], dtype=np.float64).reshape(-1, 3)


def assert_same(buf: bytes, start: int = 0, end: int | None = None) -> np.ndarray | None:
    end = len(buf) if end is None else end
    expected = reference(buf, start, end)
    got = plain_array(buf, start, end)
    if expected is None:
        assert got is None
    else:
        assert got is not None
        assert got.shape == expected.shape
        assert got.tobytes() == expected.tobytes()  # bit for bit, not approximately
    return expected


def number(integer: int, decimals: int) -> str:
    return f"{integer / 10 ** decimals:.{decimals}f}" if decimals else str(integer)


# A printed unsigned number: the trainer's formats (.3f, .4f, .6f) and wider ones, up to
# 25 digits (past what the columns decode exactly, and past the regex's 20 per part).
DECIMAL = st.builds(
    lambda whole, frac: f"{whole}.{frac}",
    st.one_of(st.sampled_from(["0", "1", "12"]), st.from_regex(r"\A[0-9]{1,22}\Z")),
    st.one_of(st.sampled_from(["146", "0015", "025481", "7"]), st.from_regex(r"\A[0-9]{1,22}\Z")),
)
TYPICAL = st.builds(lambda v, d: number(v, d), st.integers(0, 999_999), st.sampled_from([3, 4, 6]))
VALUE = st.one_of(TYPICAL, TYPICAL, TYPICAL, DECIMAL)

# What can differ from the plain form; each but "prefix" makes the block not plain.
VARIANTS = ["plain"] * 12 + ["prefix", "context", "flag", "nan", "negative", "sci", "crlf", "ansi",
                             "truncated", "spaces", "no_x", "cr_inside"]


@st.composite
def blocks(draw) -> bytes:
    step = draw(st.integers(0, 10 ** 7))
    total, loss, han, contractor, attn, head, balance = (draw(VALUE) for _ in range(7))
    variant = draw(st.sampled_from(VARIANTS))
    flag = "OK"
    indent = "    "
    if variant == "nan":
        total = "nan"
    elif variant == "negative":
        loss = "-" + loss
    elif variant == "sci":
        loss = "5.00e-05"
    elif variant == "flag":
        flag = draw(st.sampled_from(["WARN", "LOW", "OK: learning", "NaN"]))
    elif variant == "spaces":
        indent = "   "
    lines = [f"  [GRAD] Step {step}: total={total}, loss={loss}",
             f"{indent}han={han}, contractor={contractor}, attn={attn}, head={head}"]
    if variant == "context":
        lines.append("    context_vectors=0.0003 [OK: learning]")
    x = "" if variant == "no_x" else "x"
    lines.append(f"    Balance (head/encoder): {balance}{x} [{flag}]")
    if variant == "prefix":
        lines[0] = "Epoch 3:  41%|####      | 2360/5735 [00:25<00:30, 2.95it/s]\r" + lines[0].lstrip()
    elif variant == "truncated":
        lines.pop()
    elif variant == "ansi":
        lines[-1] = lines[-1].replace("[OK]", "\x1b[32m[OK]\x1b[0m")
    elif variant == "cr_inside":
        lines[1] = lines[1].replace(", attn", ",\rattn")
    end = "\r\n" if variant == "crlf" else "\n"
    return (end.join(lines) + end).encode()


# What a log holds between blocks: blank lines, progress-bar frames (with their `[`),
# warnings, text that opens like a header and is not one.
NOISE = st.sampled_from([
    b"\n",
    b"Epoch 0:   3%|3         | 27/5735 [00:26<00:30, 2.96it/s, v_num=0, train/loss=0.0126]\r"
    b"Epoch 0:   3%|3         | 28/5735 [00:26<00:30, 2.96it/s, v_num=0, train/loss=0.0127]\n",
    b"/usr/lib/python3/dist-packages/torch/utils/data/dataloader.py:557: UserWarning: This DataLoader will create 4"
    b" worker processes in total.\n",
    b"[GPU 0] memory 10.2 GB\n",
    b"[GRAD] Stepping back\n",
    b"  [GRAD] Step 12",
    b"[OK]\n",
])


@st.composite
def regions(draw, kinds=blocks()) -> tuple[bytes, int, int]:
    """(buffer, start, end): a region of blocks and noise inside a buffer with more around it."""
    parts = draw(st.lists(st.one_of(kinds, kinds, kinds, NOISE), min_size=0, max_size=60))
    before = draw(st.sampled_from([b"", b"  [GRAD] Step 1: total=0.1, loss=0.2\n", b"[Fold 1] Epoch   2 | val_r2: +0.0100\n"]))
    after = draw(st.sampled_from([b"", b"    Balance (head/encoder): 0.7x [OK]\n", b"[Fold 1] Epoch   3 | val_r2: +0.0200\n"]))
    body = b"".join(parts)
    return before + body + after, len(before), len(before) + len(body)


PLAIN_ONLY = blocks().filter(lambda block: b"[OK]\n" in block and b"-" not in block and b"nan" not in block)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(regions())
def test_generated_regions_read_as_the_regex_reads_them(region):
    assert_same(*region)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(regions(PLAIN_ONLY))
def test_generated_plain_regions_read_as_the_regex_reads_them(region):
    assert_same(*region)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(regions())
def test_small_regions_through_the_matrix_too(region):
    # Below MIN_BLOCKS the regex reads every block; here the matrix does, on the same regions.
    original = gradient_matrix.MIN_BLOCKS
    gradient_matrix.MIN_BLOCKS = 0
    try:
        assert_same(*region)
    finally:
        gradient_matrix.MIN_BLOCKS = original


def uniform_region(count: int, seed: int) -> bytes:
    """`count` blocks as bench/make_log.py writes them (one layout), with progress frames between."""
    rng = np.random.default_rng(seed)
    out = []
    for step in range(1000, 1000 + count):
        total = rng.uniform(0.12, 0.24)
        out.append(f"\n  [GRAD] Step {step}: total={total:.3f}, loss={rng.uniform(0.008, 0.03):.6f}\n"
                   f"    han={total * 0.2:.3f}, contractor={total * 0.4:.3f}, attn={total * 0.01:.4f}, head={total * 0.4:.3f}\n"
                   f"    Balance (head/encoder): 0.7x [OK]\n")
        if step % 25 == 24:
            out.append(f"Epoch 1:  {step % 100:2d}%|###       | {step}/5735 [00:25<00:30, 2.95it/s]\r" * 3 + "\n")
    return "".join(out).encode()


def test_a_uniform_region_is_read_from_columns_alone(monkeypatch):
    buf = uniform_region(500, seed=1)

    def no_regex(*args):
        raise AssertionError("a block of the common layout went to the regex")

    monkeypatch.setattr(gradient_matrix, "_by_regex", no_regex)
    got = plain_array(buf, 0, len(buf))
    monkeypatch.undo()
    assert got.tobytes() == reference(buf, 0, len(buf)).tobytes()
    assert len(got) == 500


def test_layouts_of_one_length_take_a_template_each():
    # 12.5 and 1.25 print at one length: each layout needs its own template, and both read exactly.
    lines = []
    for step in range(100, 140):
        total = "12.5" if step % 3 else "1.25"
        lines.append(f"  [GRAD] Step {step}: total={total}, loss=0.012946\n    han=0.207, contractor=0.466, attn=0.0064,"
                     f" head=0.252\n    Balance (head/encoder): {'0.4' if step % 2 else '1.0'}x [OK]\n")
    buf = "".join(lines).encode()
    assert len(assert_same(buf)) == 40


@pytest.mark.parametrize("mutation", ["context", "flag", "long", "cut"])
def test_one_odd_block_among_many_makes_the_region_not_plain(mutation):
    buf = uniform_region(300, seed=2)
    at = buf.index(b"[GRAD] Step 1150")
    flag = buf.index(b"[OK]", at)
    if mutation == "context":
        buf = buf[:flag - 28] + b"    context_vectors=0.0003 [OK: learning]\n" + buf[flag - 28:]
    elif mutation == "flag":
        buf = buf[:flag] + b"[LOW]" + buf[flag + 4:]
    elif mutation == "long":
        total = buf.index(b"total=", at) + 6
        buf = buf[:total] + b"0.12345678901234567890123" + buf[total + 5:]
    assert reference(buf, 0, len(buf) if mutation != "cut" else flag) is None
    assert plain_array(buf, 0, len(buf) if mutation != "cut" else flag) is None


# Bytes a fuzzer puts where they break (or keep) a block's layout.
FUZZ_BYTES = b"0123456789.:? \n\r[]xGOKe-+\x1b"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2 ** 32 - 1), st.integers(1, 6))
def test_fuzzed_regions_read_as_the_regex_reads_them(seed, count):
    # Edits drawn from a seeded generator, uniform over the region (hypothesis' own
    # integers crowd near zero, where the first block is the regex-checked template).
    rng = np.random.default_rng(seed)
    buf = bytearray(uniform_region(40, seed % 1000))
    for _ in range(count):
        where = int(rng.integers(len(buf)))
        byte = FUZZ_BYTES[int(rng.integers(len(FUZZ_BYTES)))]
        kind = rng.integers(3)
        if kind == 0:
            buf[where] = byte
        elif kind == 1:
            buf.insert(where, byte)
        else:
            del buf[where]
    assert_same(bytes(buf))


@pytest.mark.parametrize("byte", [b":", b"?", b"/", b" ", b"a"])
@pytest.mark.parametrize("number", ["total=", "loss=", "han=", "Balance (head/encoder): "])
def test_a_non_digit_in_a_digit_column_is_seen(byte, number):
    buf = uniform_region(60, seed=4)
    at = buf.index(number.encode(), buf.index(b"[GRAD] Step 1040")) + len(number) + 2
    buf = buf[:at] + byte + buf[at + 1:]
    assert reference(buf, 0, len(buf)) is None
    assert plain_array(buf, 0, len(buf)) is None


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64), st.integers(0, 70))
def test_the_crlf_test_and_the_two_byte_search_equal_the_bytes_methods(data, start):
    data = data + b"[A\r\n[S"[: start % 7]
    assert prescan._has_crlf(np.frombuffer(data, dtype=np.uint8)) == (b"\r\n" in data)
    finders = prescan._pair_finders(data, [b"[A", b"[S"])
    for pair in (b"[A", b"[S"):
        assert finders[pair](pair, start) == data.find(pair, start)


def test_crlf_at_either_end_and_odd_offsets():
    for data in (b"\r\n", b"x\r\n", b"abc\r\n", b"ab\r\nc", b"\r\nabc", b"a\r", b"\n\r", b"\r\r\n\n"):
        assert prescan._has_crlf(np.frombuffer(data, dtype=np.uint8)) == (b"\r\n" in data), data


# The whole parse, with and without the helper, on buffers large enough for the vectorised
# buffer passes (CRLF test, two-byte marker search, newline-mask line counts): the same Log as
# the line parser. The helper is a separate interpreter: it sees the chunk size passed to it,
# not a monkeypatched threshold, so the chunks here are above VECTOR_MIN_BYTES.


@pytest.mark.parametrize("helper", [True, False])
@pytest.mark.parametrize("shape", [None, "ansi", "crlf", "bom"])
def test_large_buffers_give_the_line_parse(tmp_path, every_step_bytes, monkeypatch, shape, helper):  # noqa: F811 (fixture)
    monkeypatch.setattr(prescan, "CHUNK", prescan.VECTOR_MIN_BYTES + 4093)
    monkeypatch.setattr(prescan, "HELPER_MIN_BYTES", 0 if helper else 1 << 60)
    monkeypatch.setattr(prescan, "HELPER_SHARE", 50)
    answers = []
    original = prescan.Helper.answer

    def counting(self, buf):
        answer = original(self, buf)
        answers.append((len(buf), answer))
        return answer

    monkeypatch.setattr(prescan.Helper, "answer", counting)
    data = every_step_bytes * 2  # two runs: about 4 MiB, three buffers past the first chunk
    if shape is not None:
        data = transforms.TEXT_TRANSFORMS[shape](data.decode()).encode()
    path = tmp_path / "train.log"
    path.write_bytes(data)
    fast, slow, notes = parse_both(path)
    assert fast == slow
    # What normalising counted (CRLF line ends) is the same too.
    fast_source, slow_source = LogSource.from_path(path), LogSource.from_path(path)
    parse_source(fast_source)
    for _ in slow_source.lines():
        pass
    assert fast_source.stats.crlf_lines == slow_source.stats.crlf_lines
    assert (fast_source.stats.crlf_lines > 0) == (shape == "crlf")
    large = [answer for size, answer in answers if size >= prescan.VECTOR_MIN_BYTES]
    if helper:
        assert len(large) >= 2 and all(answer is not None for answer in large)
        assert any(answer.gaps for answer in large), "the helper read no region"
    else:
        assert answers == []
    assert not [note for note in notes if "in-process" in note]
