"""Hostile input: nothing a file can do crashes percediag or makes it unbounded.

Each case ends in a report or one line on stderr, with exit 0, 1 or 2, within
bounded time (and, for the large cases, bounded memory, measured on a child
process).
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import re
import signal
import subprocess
import sys
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from percediag.errors import PercediagError
from tests.helpers import REAL, ROOT, activation_block, epoch_line, grad_block, run_cli

MiB = 1 << 20


# Runs the command given in argv and prints its peak memory (KiB). Linux
# carries a process's peak RSS across fork and exec, so a child started
# straight from pytest would report pytest's own peak; started from this
# small launcher, the figure is the command's own.
_LAUNCHER = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(child.pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
"""


def child_rss(args: list[str], timeout: float = 180) -> tuple[int, str, float, float]:
    """Exit code, stderr, seconds and peak memory (MiB, with any helper process) of `percediag ARGS`."""
    import tempfile

    with tempfile.TemporaryFile() as err:
        started = time.monotonic()
        launcher = subprocess.Popen([sys.executable, "-c", _LAUNCHER, sys.executable, "-m", "percediag", *args],
                                    stdout=subprocess.PIPE, stderr=err, cwd=ROOT, start_new_session=True)
        try:
            out, _ = launcher.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            os.killpg(launcher.pid, signal.SIGKILL)  # the launcher and percediag under it
            launcher.communicate()
            raise AssertionError(f"percediag {args[:2]} did not finish in {timeout}s") from exc
        seconds = time.monotonic() - started
        err.seek(0)
        code, rss = (int(field) for field in out.split())
        print(f"percediag {args[:2]}: {seconds:.1f} s, {rss / 1024:.0f} MiB")
        return code, err.read().decode(), seconds, rss / 1024


def assert_clean(code: int, err: str) -> None:
    assert code in (0, 1, 2)
    assert "Traceback" not in err
    assert err.count("\n") <= 1


def test_random_bytes_are_refused(tmp_path):
    path = tmp_path / "random.bin"
    path.write_bytes(os.urandom(MiB))
    code, out, err = run_cli(["check", str(path)])
    assert code == 2 and "binary" in err and err.count("\n") == 1


def test_random_printable_text_is_no_data(tmp_path):
    import random

    rng = random.Random(1)
    path = tmp_path / "noise.log"
    path.write_text("".join(rng.choice("abc XYZ 0123=[]|:.-\n\r\t") for _ in range(200_000)))
    code, out, err = run_cli(["check", str(path), "-f", "json"])
    assert code == 1 and '"log.no_data"' in out and err == ""


def test_a_100_mb_single_line(tmp_path):
    path = tmp_path / "one-line.log"
    with open(path, "wb") as handle:
        block = (b"Epoch 0: 50%|#####     | 1/2 [00:01<00:01] " * 1000)
        for _ in range(100 * MiB // len(block)):
            handle.write(block)
    code, err, seconds, rss = child_rss(["check", str(path), "-q"])
    assert_clean(code, err)
    assert code == 1 and seconds < 90 and rss < 150


@pytest.mark.parametrize("prefix", ["FOLD 1 SUMMARY\n  Dim ", "[GRAD] Step 1: total=", "  ACTIVATION CHECK - Batch 0\n  Prediction head: "])
def test_a_16_mb_line_of_digits_inside_a_block(tmp_path, prefix):
    """The number patterns cost time per character: a block parser sees at most parsers.MAX_BLOCK_LINE of a line."""
    path = tmp_path / "digits.log"
    path.write_bytes(prefix.encode() + b"0" * (16 * MiB) + b"\n")
    code, err, seconds, rss = child_rss(["check", str(path), "-q"])
    assert_clean(code, err)
    assert seconds < 30 and rss < 150


def test_a_60_mb_line_packed_with_markers(tmp_path):
    """Millions of markers on one line, in a file large enough for the helper process."""
    path = tmp_path / "markers.log"
    with open(path, "wb") as handle:
        block = b"Total params [Fold 1] Epoch FOLD 1/3 " * 10_000
        for _ in range(60 * MiB // len(block)):
            handle.write(block)
    code, err, seconds, rss = child_rss(["check", str(path), "-q"])
    assert_clean(code, err)
    assert seconds < 90 and rss < 150


@pytest.mark.parametrize("header", [
    "  ACTIVATION CHECK - Batch 0\n",
    "FOLD 1/3\n",
    "  FOLD 1 SUMMARY\n",
    "TRAINING CONFIGURATION (SOTA)\n",
    "  AGGREGATE RESULTS (4-Fold Cross-Validation)\n",
    "Traceback (most recent call last):\n",
    "  [GRAD] Step 0: total=0.5, loss=0.01\n",
])
def test_a_million_repeated_block_headers(tmp_path, header):
    path = tmp_path / "headers.log"
    path.write_text(header * 1_000_000)
    code, err, seconds, rss = child_rss(["check", str(path), "-q"])
    assert_clean(code, err)
    assert seconds < 120 and rss < 150


def test_a_million_alternating_epoch_lines(tmp_path):
    path = tmp_path / "epochs.log"
    lines = [epoch_line(0, 1, 0.1), epoch_line(0, 0, 0.05)]
    path.write_text("\n".join(lines * 500_000) + "\n")
    code, err, seconds, rss = child_rss(["check", str(path), "-q"])
    assert_clean(code, err)
    assert seconds < 120 and rss < 150


def test_a_60_mb_training_log_stays_in_the_memory_budget(tmp_path):
    """Large enough for the helper process (its memory counts too), every step logged."""
    sys.path.insert(0, str(ROOT / "bench"))
    import make_log

    path = tmp_path / "big.log"
    make_log.write(60 << 20, path, seed=9)
    code, err, seconds, rss = child_rss(["check", str(path), "-q"])
    assert code == 1 and "Traceback" not in err
    assert rss < 150


def test_a_fold_of_30000_epochs_is_capped_and_forecast_in_bounded_memory(tmp_path):
    path = tmp_path / "long.log"
    path.write_text("\n".join(epoch_line(1, epoch, 0.3 - 0.3 * 0.9995 ** epoch) for epoch in range(30_000)) + "\n")
    code, err, seconds, rss = child_rss(["check", str(path), "-q"])
    assert_clean(code, err)
    assert seconds < 60 and rss < 150
    from percediag.pipeline import parse

    log = parse(path)
    assert len(log.runs[0].folds[0].epochs) == 10_000
    assert any("more than 10000 epoch lines in one fold" in w.message for w in log.warnings)


def test_300000_distinct_epoch_lines_are_capped_for_the_whole_log(tmp_path):
    path = tmp_path / "wide.log"
    with path.open("w") as handle:
        for fold in range(30):
            handle.write("\n".join(epoch_line(fold, epoch, 0.2) for epoch in range(10_000)) + "\n")
    code, err, seconds, rss = child_rss(["check", str(path), "-q"])
    assert_clean(code, err)
    assert seconds < 120 and rss < 150


@pytest.mark.parametrize("number", ["1e309", "-0", "nan%", "0x10", "+inf", "-1e-400", "00000000000000000000001"])
def test_odd_numbers(number):
    text = (activation_block(logit_std=0.6).replace("std=0.600", f"std={number}")
            + grad_block(0, total=number, balance=number) + "\n" + epoch_line(0, 0, number) + "\n")
    code, out, err = run_cli(["check", "-", "-f", "json"], stdin=text.encode())
    assert_clean(code, err)
    assert out.startswith("{")


def test_1e309_is_infinite_and_fails_finite():
    text = activation_block() + grad_block(0, total="1e309") + "\n"
    code, out, err = run_cli(["check", "-", "-f", "json"], stdin=text.encode())
    import json

    finite = next(f for f in json.loads(out)["findings"] if f["rule"] == "gradient.finite")
    assert finite["status"] == "fail"


@pytest.mark.parametrize("header", ["  ACTIVATION CHECK - Batch 0", "FOLD 1/3", "  FOLD 1 SUMMARY", "TRAINING CONFIGURATION (X)",
                                    "  AGGREGATE RESULTS (4-Fold Cross-Validation)", "  TEST SET EVALUATION",
                                    "PER-DIMENSION R2 (Mean +/- Std across folds)", "Traceback (most recent call last):",
                                    "  [GRAD] Step 7: total=0.4, loss=0.01"])
def test_block_header_alone_at_end_of_file(header):
    text = (REAL / "round5.log").read_text()[:20_000] + header
    code, out, err = run_cli(["check", "-", "-q"], stdin=text.encode())
    assert_clean(code, err)
    assert out


def test_a_line_of_a_million_equals_signs():
    text = activation_block() + "=" * 1_000_000 + "\n" + "  ACTIVATION CHECK - Batch 0\n" + "=" * 1_000_000 + "\n"
    started = time.monotonic()
    code, out, err = run_cli(["check", "-", "-q"], stdin=text.encode())
    assert_clean(code, err)
    assert time.monotonic() - started < 20


def _patterns():
    import percediag.parsers as parsers

    modules = [importlib.import_module(f"percediag.parsers.{m.name}") for m in pkgutil.iter_modules(parsers.__path__)]
    modules += [parsers, *(importlib.import_module(f"percediag.{name}") for name in ("sources", "prescan", "live.lines", "notebook"))]
    for module in modules:
        for name, value in vars(module).items():
            if isinstance(value, re.Pattern):
                yield f"{module.__name__}.{name}", value


ADVERSARIAL = ["a", "0", " ", "\t", "=", "-", "1.", "a ", "0 ", "[", "x=", "a=", "#", "\u2500", "0,", ". ", "R2=", "->",
               "1->", "|", "e", "Epoch ", ": ", "a: ", "key: ", "0e", "[0", "(", "\r"]


@pytest.mark.parametrize(("name", "pattern"), list(_patterns()), ids=lambda v: v if isinstance(v, str) else "")
def test_no_regex_backtracks_super_linearly(name, pattern):
    """Runs of every character a pattern repeats, and of its own literal text, in a 20,000-character line."""
    literal = re.sub(r"\\.|[\[\](){}?*+|^$]", "", pattern.pattern if isinstance(pattern.pattern, str)
                     else pattern.pattern.decode("latin-1"))[:30] or "a"
    for seed in ADVERSARIAL + [literal]:
        text = seed * (20_000 // len(seed))
        for candidate in (text, text + "\n", "  " + text + "!"):
            data = candidate.encode("utf-8") if isinstance(pattern.pattern, bytes) else candidate
            started = time.perf_counter()
            pattern.search(data)
            pattern.match(data)
            assert time.perf_counter() - started < 0.25, f"{name} on {seed!r} x {len(text) // len(seed)}"


@pytest.mark.parametrize(("content", "needle"), [
    ("a: &a [1, 2]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n", "aliases"),
    ("a: " + "[" * 10_000 + "]" * 10_000 + "\n", "nesting"),
    ("tried:\n" + "".join(f"  - fix-{i}\n" for i in range(200_000)), "larger than"),
    ("rules: {activation.logit_std: {min: .nan}}\n", "NaN"),
])
def test_hostile_configs(tmp_path, content, needle):
    path = tmp_path / "hostile.yaml"
    path.write_text(content)
    started = time.monotonic()
    code, out, err = run_cli(["check", "--config", str(path), str(REAL / "round5.log")])
    assert code == 2 and needle in err and err.count("\n") == 1 and "Traceback" not in err
    assert time.monotonic() - started < 10


# -- fuzz properties (bounded; see fuzz/ for the coverage-guided harness) -------

TOKENS = ["ACTIVATION CHECK - Batch 0", "=" * 60, "  [GRAD] Step 3: total=", "    han=0.1, contractor=0.2, attn=0.01, head=0.3",
          "    Balance (head/encoder): ", "x [OK]", "  [Fold 0] Epoch   4 | train_loss: ", " | val_r2: ", "FOLD 1/3",
          "  FOLD 0 SUMMARY", "  Training: 11 epochs (90.1s) | Best epoch: 3", "    R2:       ", "AGGREGATE RESULTS (4-Fold",
          "TRAINING CONFIGURATION (ROUND 5)", "  learning_rate: ", "Traceback (most recent call last):", "KeyboardInterrupt",
          "  Prediction head: ", "512->128, 128->19", "  Logits:      mean=0.0, std=", "[WARN] ", "/19 dimensions collapsed",
          "nan", "inf", "-0.25", "1e309", "0.0001", "13,758,227", "~X,XXX,XXX", "\r", "\x1b[31m", "\t", " ", "\n", "\n"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS) | st.text(max_size=8), max_size=120))
def test_fuzz_log_like_text_always_gives_a_report(parts):
    from percediag.pipeline import check_log, parse_source
    from percediag.settings import build_settings
    from percediag.sources import LogSource

    text = "".join(parts)
    try:
        report = check_log(parse_source(LogSource.from_text(text)), build_settings("round5"))
    except PercediagError:
        return
    assert report.status in ("pass", "warn", "fail")
    assert all(f.status in ("pass", "warn", "fail", "missing") for f in report.findings)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=4096))
def test_fuzz_bytes_give_a_report_or_a_one_line_error(data):
    code, out, err = run_cli(["check", "-", "-q"], stdin=data)
    assert_clean(code, err)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 900), st.integers(0, 900), st.sampled_from(["delete", "duplicate", "swap", "truncate"]))
def test_fuzz_mutated_real_log(first, second, action):
    lines = (REAL / "round5.log").read_text().splitlines(keepends=True)
    first, second = first % len(lines), second % len(lines)
    if action == "delete":
        del lines[min(first, second):max(first, second)]
    elif action == "duplicate":
        lines[first:first] = lines[min(first, second):max(first, second)][:50]
    elif action == "swap":
        lines[first], lines[second] = lines[second], lines[first]
    else:
        lines = lines[:first] + [lines[first][: len(lines[first]) // 2]]
    code, out, err = run_cli(["check", "-", "-q"], stdin="".join(lines).encode())
    assert_clean(code, err)
