"""Hostile input, point 5 of issue 14: every path bounded.

Notebooks are read as a stream (memory under 150 MB at any size; `json.load` of the
notebook below alone peaks near 370 MB), watch's line splitter is linear on a line of any
length and holds at most about a megabyte of it, and `check` of many logs prints each text
report as it is made instead of holding them all.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
import tracemalloc

import pytest

from percediag.live.lines import LineStream
from percediag.normalize import MAX_LINE_CHARS, LineSplitter, clean_line
from percediag.sources import LogSource, NotebookSource
from tests.helpers import REAL, run_cli
from tests.test_hostile import MiB, assert_clean, child_rss


def write_big_notebook(path, image_mb: int = 60, bars_mb: int = 20, line_mb: int = 40) -> None:
    """round5.log as a cell's output, then a 60 MB plot (base64), 20 MB of progress-bar frames
    and a 40 MB line without end: 125 MB of notebook."""
    log_lines = (REAL / "round5.log").read_text().splitlines(keepends=True)
    with open(path, "w") as handle:
        handle.write('{"metadata": {"kernelspec": {"name": "python3"}}, "nbformat": 4, "nbformat_minor": 5, "cells": [')
        handle.write(json.dumps({"cell_type": "code", "source": ["train()"],
                                 "outputs": [{"name": "stdout", "output_type": "stream", "text": log_lines}]}))
        handle.write(', {"cell_type": "code", "outputs": [{"data": {"image/png": "')
        block = "iVBORw0KGgoAAAANSUhEUgAAA" * 4096
        for _ in range(image_mb * MiB // len(block)):
            handle.write(block)
        handle.write('", "text/plain": ["<Figure>"]}, "metadata": {}, "output_type": "display_data"}]}')
        handle.write(', {"cell_type": "code", "outputs": [{"name": "stderr", "output_type": "stream", "text": "')
        frame = "Epoch 3: 42%|####2     | 42/100 [00:05<00:07, 8.1it/s]\\r" * 1000
        for _ in range(bars_mb * MiB // len(frame)):
            handle.write(frame)
        handle.write("\\n")
        for _ in range(line_mb):
            handle.write("x" * MiB)
        handle.write('"}]}]}')


def test_a_125_mb_notebook_is_read_in_bounded_memory(tmp_path):
    path = tmp_path / "big.ipynb"
    write_big_notebook(path)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    code, err, seconds, rss = child_rss(["check", str(path), "-q"])
    assert_clean(code, err)
    assert code == 1 and err == "" and rss < 150 and seconds < 60
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    # The log in its first cell is judged as the log itself is.
    from percediag.pipeline import check_log, parse_source
    from percediag.settings import build_settings

    settings = build_settings("round5")
    notebook = check_log(parse_source(NotebookSource(str(path), lambda: open(path, "rb"))), settings)
    plain = check_log(parse_source(LogSource.from_path(REAL / "round5.log")), settings)
    assert [(f.rule, f.fold, f.status) for f in notebook.findings] == [(f.rule, f.fold, f.status) for f in plain.findings]
    assert any("cut to that length" in note for note in notebook.notes)


def test_notebook_labels_point_into_cells():
    text = '{"cells": [{"outputs": []}, {"outputs": [{"output_type": "stream", "text": ["a\\n", "b\\n"]}]}, ' \
           '{"outputs": [{"output_type": "error", "traceback": ["T1", "T2"]}]}]}'
    source = NotebookSource("x.ipynb", lambda: io.BytesIO(text.encode()))
    assert [t for _, t in source.lines()] == ["a", "b", "T1", "T2"]
    assert [source.label(n) for n in (1, 2, 3, 4, 5)] == ["cell 2, line 1", "cell 2, line 2", "cell 3, line 1", "cell 3, line 2",
                                                         "line 5"]


@pytest.mark.parametrize("kind", ["plain", "redraws", "ansi"])
def test_watch_splits_a_50_mb_line_in_linear_time_and_bounded_memory(kind):
    """A 50 MB line without a newline, fed in chunks of about 64 KiB as a pipe delivers it. The splitter
    used to join and re-split all it held on every chunk (20 MB took 3 s, 50 MB about 20 s);
    now each byte is handled once. The time bound is generous (a slow, shared machine); the
    memory bound is not: the line is held to MAX_LINE_CHARS."""
    chunk = {
        "plain": b"x" * 65536,
        "redraws": b"Epoch 1: 50%|#####     | 1/2 [00:01<00:01]\r" * 1500,
        "ansi": (b"\x1b[31mred\x1b[0m " + b"y" * 200 + b"\r") * 300,
    }[kind]
    stream = LineStream("<pipe>")
    tracemalloc.start()
    started = time.perf_counter()
    released = []
    for _ in range(50 * MiB // len(chunk)):
        released += stream.feed(chunk)
    released += stream.close()
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert seconds < 15 and peak < 16 * MiB, (seconds, peak)
    [(lineno, text)] = released
    if kind == "plain":
        assert len(text) == MAX_LINE_CHARS and any("cut to that length" in note for note in stream.stats.notes)
    elif kind == "redraws":
        assert text == "Epoch 1: 50%|#####     | 1/2 [00:01<00:01]"
    else:
        assert text == "red " + "y" * 200


def test_line_splitter_is_exact_below_the_bound():
    """Lines under MAX_LINE_CHARS come out exactly as `str.split` gives them, however the text is cut."""
    import random

    rng = random.Random(5)
    for _ in range(500):
        text = "".join(rng.choice(["a", "b ", "\r", "\n", "\x1b[1m", "\r\n", "\u00e9"]) for _ in range(rng.randint(0, 80)))
        splitter, lines, at = LineSplitter(), [], 0
        while at < len(text):
            step = rng.randint(1, 9)
            lines += splitter.feed(text[at:at + step])
            at += step
        if splitter.pending():
            lines.append(splitter.finish())
        expected = text.split("\n")
        if expected[-1] == "":
            expected.pop()
        assert lines == expected


def test_a_long_line_keeps_its_last_visible_frame():
    splitter = LineSplitter()
    frame = "step 7/9 loss 0.25"
    out = splitter.feed("z" * (MAX_LINE_CHARS + 10) + "\r" + frame + "\r   \r\x1b[2K\n")
    assert clean_line(out[0]) == frame and splitter.cut == 1


def test_check_prints_each_text_report_as_it_is_made(monkeypatch):
    """With the text format on stdout, report N is printed before log N+1 is read."""
    import percediag.pipeline as pipeline
    import percediag.report.text as text

    events = []
    parse_source, print_report = pipeline.parse_source, text.print_report
    monkeypatch.setattr(pipeline, "parse_source", lambda source: events.append(("read", source.name)) or parse_source(source))
    monkeypatch.setattr(text, "print_report", lambda report, *a, **k: events.append(("print", report.source)) or print_report(report, *a, **k))
    logs = [str(REAL / name) for name in ("round4.log", "round5.log", "round6.log")]
    code, out, err = run_cli(["check", *logs])  # not -q: its one line is printed by the CLI itself
    assert code == 1 and err == ""
    assert [kind for kind, _ in events] == ["read", "print"] * 3
    assert [name for _, name in events[::2]] == logs


def test_check_of_many_logs_in_text_holds_no_more_memory_than_one(tmp_path):
    logs = []
    for number in range(60):
        path = tmp_path / f"run{number}.log"
        path.write_bytes((REAL / "round5.log").read_bytes())
        logs.append(str(path))
    one = child_rss(["check", logs[0], "-q"])
    many = child_rss(["check", *logs, "-q"])
    assert one[0] == many[0] == 1 and many[1] == ""
    assert many[3] < one[3] + 15, (one[3], many[3])  # JSON, which holds every report, takes about 40 MB more here
