"""Hostile input, point 6 of issue 14: verdicts that survive odd writers and readers.

A log written by several processes at once keeps the verdict it would have alone (labelled
ranks: the lowest rank is judged; lines written twice in a row: read once), or says plainly
that it cannot tell (`log.interleaved`); every command keeps its exit code when the reader of
its stdout leaves early; `watch` sees a file truncated and written again between two polls,
even to the same size or larger.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
import time

import pytest

from percediag.live.follow import FileFollower
from tests.helpers import REAL, ROOT, run_cli
from tests.test_invariance import verdicts
from tests.test_watch import ROUND6, FIRST_EPOCH, is_alert, start_watch, wait_for


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


WRITERS = {
    "every line twice": lambda t: "".join(line + line for line in _lines(t)),
    "every line three times": lambda t: "".join(line * 3 for line in _lines(t)),
    "torchrun ranks": lambda t: "".join(f"[rank{r}]: {line}" for line in _lines(t) for r in (0, 1)),
    "torchrun --tee": lambda t: "".join(f"[default{r}]:{line}" for line in _lines(t) for r in (0, 1, 2, 3)),
    "open mpi --tag-output": lambda t: "".join(f"[1,{r}]<stdout>:{line}" for line in _lines(t) for r in (1, 0)),
    "one rank labelled": lambda t: "".join(f"[rank0]: {line}" for line in _lines(t)),
    # Each rank's lines in order, the two ranks' lines mixed at random (as two processes flush).
    "ranks out of step": lambda t: interleave("".join(f"[rank0]: {line}" for line in _lines(t)),
                                              "".join(f"[rank1]: {line}" for line in _lines(t))),
}


@pytest.mark.parametrize("log", ["round5.log", "round4.log", "round5-interrupted.log"])
@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_several_writers_keep_the_verdict_of_one(log, writer):
    text = (REAL / log).read_text()
    expected = verdicts(text.encode())
    assert verdicts(WRITERS[writer](text).encode()) == expected


def test_the_report_says_what_was_left_out(tmp_path):
    path = tmp_path / "ranks.log"
    path.write_text(WRITERS["torchrun ranks"]((REAL / "round5.log").read_text()))
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    code, out, err = run_cli(["check", str(path), "-f", "json"])
    import json

    report = json.loads(out)
    assert code == 1 and err == ""
    assert any("lines of 2 processes (0, 1): judged on rank 0's lines" in note for note in report["notes"])
    interleaved = next(f for f in report["findings"] if f["rule"] == "log.interleaved")
    assert interleaved["status"] == "pass"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    path.write_text(WRITERS["every line twice"]((REAL / "round5.log").read_text()))
    report = json.loads(run_cli(["check", str(path), "-f", "json"])[1])
    assert any("written twice in a row" in note for note in report["notes"])


def test_a_warning_printed_in_a_loop_is_not_several_writers():
    text = (REAL / "round5.log").read_text()
    spam = "UserWarning: The dataloader does not have many workers\n" * 300
    shaped = text.replace("\n", "\n" + spam, 1)
    code, out, err = run_cli(["check", "-", "-f", "json"], stdin=shaped.encode())
    import json

    assert not any("written twice" in note for note in json.loads(out)["notes"])
    assert verdicts(shaped.encode()) == verdicts(text.encode())


def test_watch_judges_labelled_ranks_as_check_does():
    from percediag.live.watcher import Watcher
    from percediag.settings import SettingsRecipe

    text = WRITERS["torchrun ranks"]((REAL / "round5.log").read_text())
    watcher = Watcher(SettingsRecipe(profile="round5"), lambda event: None, "<pipe>")
    data = text.encode()
    for start in range(0, len(data), 4096):
        watcher.feed(data[start:start + 4096])
    watcher.evaluate(final=True)
    assert [(f.rule, f.fold, f.status) for f in watcher.report.findings] == verdicts((REAL / "round5.log").read_bytes())


def interleave(first: str, second: str, seed: int = 0) -> str:
    """Two runs written into one file at once, each next line from either at random."""
    a, b, rng, out = _lines(first), _lines(second), random.Random(seed), []
    while a or b:
        out.append((a if a and (not b or rng.random() < 0.5) else b).pop(0))
    return "".join(out)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_two_runs_interleaved_say_they_cannot_be_judged(tmp_path, seed):
    path = tmp_path / "two.log"
    path.write_text(interleave((REAL / "round5.log").read_text(), (REAL / "round4.log").read_text(), seed))
    code, out, err = run_cli(["check", str(path), "-f", "json"])
    import json

    report = json.loads(out)
    finding = next(f for f in report["findings"] if f["rule"] == "log.interleaved")
    assert finding["status"] == "warn" and "several processes at once" in finding["message"] and finding["lines"]
    assert report["status"] in ("warn", "fail") and err == ""


def test_one_restart_is_one_restart():
    """A run restarted into the same file without its banner: a new run, not interleaving."""
    text = (REAL / "round5.log").read_text()
    cut = text.index("[Fold 1] Epoch   5")
    code, out, err = run_cli(["check", "-", "-f", "json"], stdin=(text[:cut] + text[text.index("[Fold 1] Epoch   0"):]).encode())
    import json

    finding = next(f for f in json.loads(out)["findings"] if f["rule"] == "log.interleaved")
    assert finding["status"] == "pass" and finding["value"] == 1


# -- readers that leave early -----------------------------------------------------

R = str(REAL)
EARLY_READER = [
    ["diff", f"{R}/round4.log", f"{R}/round6.log"], ["diff", f"{R}/round5.log", f"{R}/round4.log", "-f", "json"],
    ["history", f"{R}/round4.log", f"{R}/round5.log", "-f", "markdown"], ["check", f"{R}/round5.log", f"{R}/round4.log"],
    ["check", f"{R}/round5.log", "-f", "sarif"], ["parse", f"{R}/round5.log"], ["rules"], ["config"], ["schema"],
    ["explain", "log.interleaved"], ["watch", f"{R}/round5.log", "--idle-exit", "0", "--interval", "0.01"],
]


@pytest.mark.parametrize("args", EARLY_READER, ids=lambda a: " ".join(a[:1] + a[-2:]).replace(R + "/", ""))
def test_the_exit_code_does_not_depend_on_the_reader(args):
    """stdout is a pipe whose reader is already gone (`| head` that has read its lines): every
    write fails with EPIPE. The command ends as it would have, silently."""
    expected = run_cli(args)[0]
    read, write = os.pipe()
    os.close(read)
    env = {**os.environ, "NO_COLOR": "1"}
    try:
        result = subprocess.run([sys.executable, "-m", "percediag", *args], stdout=write, stderr=subprocess.PIPE,
                                cwd=ROOT, env=env, timeout=60)
    finally:
        os.close(write)
    assert result.returncode == expected, result.stderr.decode()[-2000:]
    assert result.stderr == b""


# -- a log rewritten between two polls --------------------------------------------

@pytest.mark.parametrize("size", ["same", "larger", "same head"])
def test_follower_sees_a_rewrite_between_two_polls(tmp_path, size):
    path = tmp_path / "train.log"
    first = "".join(f"line {i}: " + "a" * 50 + "\n" for i in range(2000))
    path.write_text(first)
    follower = FileFollower(path)
    data, event = follower.poll()
    assert event == "appeared" and data == first.encode()
    assert follower.poll() == (b"", None)
    if size == "same":
        second = first.replace("a", "b")
    elif size == "larger":
        second = first.replace("a", "c") + "more\n" * 100
    else:
        second = first[:5000] + first[5000:].replace("a", "d")  # the first bytes are unchanged
    with open(path, "r+") as handle:  # truncated and written again in place: the same inode
        handle.truncate(0)
        handle.write(second)
    data, event = follower.poll()
    assert event == "rewritten" and data == second.encode()
    with open(path, "a") as handle:
        handle.write("appended\n")
    assert follower.poll() == (b"appended\n", None)
    follower.close()


def test_watch_starts_over_on_a_rewrite(tmp_path):
    log = tmp_path / "train.log"
    healthy = (REAL / "round4.log").read_text()
    log.write_text(healthy[: healthy.index("[GRAD] Step 0")])
    process, events = start_watch(str(log), "--format", "jsonl", "--idle-exit", "2", "--interval", "0.05")
    try:
        wait_for(events, lambda e: e["event"] == "fold_start")
        time.sleep(0.3)
        rewritten = "".join(ROUND6[:FIRST_EPOCH])
        assert len(rewritten) > log.stat().st_size
        with open(log, "r+") as handle:  # rewritten in place, never shorter: no poll can see it shrink
            handle.write(rewritten)
        wait_for(events, lambda e: e["event"] == "restart" and e["reason"] == "rewritten")
        wait_for(events, is_alert("activation.logit_std"))
        assert process.wait(timeout=20) == 1
        assert process.stderr.read() == b""
    finally:
        process.kill()


# -- a log truncated under its writer (logrotate's copytruncate) ----------------------------------

@pytest.mark.parametrize("between", [True, False])
def test_follower_skips_the_hole_a_truncation_under_the_writer_leaves(tmp_path, between):
    """The writer keeps its offset (no O_APPEND) while the file is truncated: it reads back as zeros
    up to that offset, then the text. The follower starts over and hands on the text only, and
    says once how many zeros it skipped. `between`: a poll sees the file empty before the writer
    goes on (an ordinary truncation) or only after (the head no longer matches: a rewrite)."""
    path = tmp_path / "train.log"
    before = "".join(f"[Fold 0] Epoch {i:3d} | train_loss: 0.0{i % 9 + 1}00 | val_r2: +0.0{i % 7}00\n" for i in range(400))
    writer = open(path, "w")
    writer.write(before)
    writer.flush()
    follower = FileFollower(path)
    assert follower.poll() == (before.encode(), "appeared")
    os.truncate(path, 0)  # logrotate has copied the file; the writer does not know
    events = []
    if between:
        events.append(follower.poll())
    writer.write("after the rotation\n")
    writer.flush()
    data, event = follower.poll()
    events.append((data, event))
    assert [e for _, e in events] == (["truncated", None] if between else ["rewritten"])
    assert b"".join(d for d, _ in events) == b"after the rotation\n"
    assert follower.take_hole() == len(before) and follower.take_hole() == 0
    writer.write("and on\n")
    writer.flush()
    assert follower.poll() == (b"and on\n", None)  # the head is compared where it is, after the hole
    writer.close()
    follower.close()


def test_watch_and_check_read_on_past_the_hole(tmp_path):
    """A copytruncate in the middle of a run: watch starts over, warns once of the zeros it
    skipped, and ends on the verdict check gives the file; check notes the hole."""
    log = tmp_path / "train.log"
    lines = (REAL / "round5.log").read_text().splitlines(keepends=True)
    half = len(lines) // 2
    writer = open(log, "w")
    writer.write("".join(lines[:half]))
    writer.flush()
    process, events = start_watch(str(log), "--format", "jsonl", "--idle-exit", "2", "--interval", "0.05")
    try:
        wait_for(events, lambda e: e["event"] == "fold_start")
        time.sleep(0.3)
        os.truncate(log, 0)
        writer.write("".join(lines[half:]))
        writer.close()
        wait_for(events, lambda e: e["event"] == "restart")
        _, end = wait_for(events, lambda e: e["event"] == "end", timeout=30)
        process.wait(timeout=20)
        warnings = process.stderr.read().decode().splitlines()
    finally:
        process.kill()
    assert warnings == [f"percediag: warning: {log}: skipped {len(''.join(lines[:half]).encode()):,} zero byte(s) at its start: "
                        "a hole left when the file was truncated while its writer went on (as logrotate's copytruncate leaves it)"]
    code, out, _ = run_cli(["check", str(log), "-f", "json"])
    report = json.loads(out)
    assert end["counts"] == report["counts"] and end["status"] == report["status"] and code == 1
    assert any("were zeros and were skipped" in note for note in report["notes"])


@pytest.mark.parametrize("lead", [0, 100])
def test_zeros_before_a_utf32_be_mark_leave_the_mark_whole(tmp_path, lead):
    """00 00 FE FF opens UTF-32 BE text: its two zeros are the mark's, never a hole's (with a hole
    before it or not), in check and in watch alike."""
    text = (REAL / "round5.log").read_text()
    path = tmp_path / "train.log"
    path.write_bytes(b"\0" * lead + b"\0\0\xfe\xff" + text.encode("utf-32-be"))
    plain = json.loads(run_cli(["check", str(REAL / "round5.log"), "-f", "json"])[1])["counts"]
    assert json.loads(run_cli(["check", str(path), "-f", "json"])[1])["counts"] == plain
    follower = FileFollower(path)
    data, _ = follower.poll()
    assert data.startswith(b"\0\0\xfe\xff") and follower.take_hole() == lead
    follower.close()


def test_a_watch_that_ends_inside_a_hole_says_so(tmp_path):
    """A file of zeros and nothing else yet: the watch ends on its missing data, as for any log
    without training blocks, and says once what it saw."""
    log = tmp_path / "train.log"
    log.write_bytes(b"\0" * 5000)
    result = subprocess.run([sys.executable, "-m", "percediag", "watch", str(log), "--idle-exit", "0.5"],
                            capture_output=True, text=True, cwd=ROOT, timeout=60)
    warnings = [line for line in result.stderr.splitlines() if line.startswith("percediag: warning:")]
    assert warnings == [f"percediag: warning: {log}: 5,000 zero byte(s) at its start and no text after them: "
                        "a hole left when the file was truncated while its writer went on (as logrotate's copytruncate leaves it)?"]
    assert "log.no_data" in result.stdout + result.stderr
