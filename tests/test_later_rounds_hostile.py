"""Hostile input to the later-round blocks (Round 9 and 13): cut short, non-finite, impossible, repeated.

Every variant rewrites the genuine round9.log (a run killed while printing
a block, a number that overflowed or is corrupt, a block repeated a
million times). Each must end in a report that does not call what it did
not understand `pass`, with no traceback, and repeated blocks in bounded
memory (measured on a child process, as tests/test_hostile.py does).
"""

from __future__ import annotations

import io
import json
import re

import pytest

from percediag.parsers import parse_lines
from percediag.parsers.read import parse_log
from percediag.parsers.builder import MAX_ABLATIONS, MAX_DIAGNOSTIC_RECORDS, MAX_DIAGNOSTICS
from percediag.sources import LogSource
from tests.helpers import REAL, run_cli
from tests.parsers.test_fast import rounded
from tests.test_hostile import child_rss

ROUND9 = REAL / "round9.log"
TEXT = ROUND9.read_text()
LINES = TEXT.splitlines(keepends=True)
# The judged summary: the last one, `DIAGNOSTIC SUMMARY - Epoch 5` (lines 304-341 with its rules).
LAST = TEXT.index("DIAGNOSTIC SUMMARY - Epoch 5")
SUMMARY = "".join(LINES[303:341])
ABLATION = "".join(LINES[272:276])


def in_last_summary(old: str, new: str) -> str:
    """round9.log with `old` replaced by `new` in the judged summary only."""
    head, tail = TEXT[:LAST], TEXT[LAST:]
    assert old in tail[:len(SUMMARY)], old
    return head + tail.replace(old, new, 1)


def replaced(old: str, new: str) -> str:
    assert TEXT.count(old) == 1, old
    return TEXT.replace(old, new)


def checked(tmp_path, text: str, code: int = 1) -> dict:
    """`percediag check FILE -f json`: the exit code, no traceback or internal error, the report."""
    path = tmp_path / "round9.log"
    path.write_text(text)
    got, out, err = run_cli(["check", str(path), "-f", "json"])
    assert got == code, err
    assert "Traceback" not in err and "internal error" not in err
    return json.loads(out)


def rule(report: dict, rule_id: str) -> list[dict]:
    return [f for f in report["findings"] if f["rule"] == rule_id]


def both(text: str):
    """The fast parse, after checking it equals the line parse."""
    fast = parse_log(LogSource.from_stream(io.BytesIO(text.encode()), "x"))
    slow = parse_lines(LogSource.from_stream(io.BytesIO(text.encode()), "x").lines(), "x")
    assert rounded(fast.model_dump()) == rounded(slow.model_dump())
    return fast


# -- a run killed while printing its last summary ------------------------------


@pytest.mark.parametrize("cut", [30, 100, 200])
@pytest.mark.parametrize("command", ["check", "diff", "history", "watch"])
def test_summary_cut_short_at_the_end_of_the_log(tmp_path, cut, command):
    path = tmp_path / "round9.log"
    path.write_text(TEXT[:LAST + len("DIAGNOSTIC SUMMARY - Epoch 5") + cut])
    args = {"check": ["check", str(path), "-f", "json"], "diff": ["diff", str(ROUND9), str(path)],
            "history": ["history", str(ROUND9), str(path)], "watch": ["watch", str(path), "--idle-exit", "1"]}[command]
    code, out, err = run_cli(args)
    assert "Traceback" not in err and "internal error" not in err
    assert code == {"check": 1, "diff": 1, "history": 0, "watch": 1}[command], err
    if command == "check":
        report = json.loads(out)
        # The cut block does not hide the complete summary before it (line 233), and it is warned.
        stage = rule(report, "diagnostics.stage_std")
        assert [f["status"] for f in stage] == ["fail"] and "(line 233)" in stage[0]["message"]
        assert any(w["line"] == 305 and "truncated" in w["message"] for w in report["parse_warnings"])
        both(path.read_text())


def test_a_fold_whose_only_summary_is_cut_short_is_missing(tmp_path):
    """Without the epoch-0 summary (lines 232-269), the cut one is all the fold has after the sanity check."""
    text = "".join(LINES[:231] + LINES[269:])
    start = text.index("DIAGNOSTIC SUMMARY - Epoch 5")
    report = checked(tmp_path, text[:start + 200])
    found = rule(report, "diagnostics.stage_std")
    assert [f["status"] for f in found] == ["missing"] and "printed no stage std" in found[0]["message"]
    assert [f["status"] for f in rule(report, "diagnostics.attention_entropy")] == ["missing"]


# -- non-finite and impossible numbers -------------------------------------------


def test_every_stage_std_nan_fails(tmp_path):
    text = TEXT.replace(SUMMARY, re.sub(r"\d\.\d{4}(?= \[(?:OK|LOW - ISSUE)\])", "   nan", SUMMARY))
    found = rule(checked(tmp_path, text), "diagnostics.stage_std")
    assert [f["status"] for f in found] == ["fail"]
    assert "impossible stage std" in found[0]["message"] and found[0]["value"] == 16


@pytest.mark.parametrize("value", ["nan", "inf", "1e309", "9" * 5000, "-0.0303"])
def test_one_impossible_stage_std_is_named_not_left_out(tmp_path, value):
    text = in_last_summary("note_out (LSTM)               0.0303", f"note_out (LSTM)               {value}")
    found = rule(checked(tmp_path, text), "diagnostics.stage_std")
    impossible = [f for f in found if "impossible" in f["message"]]
    assert len(impossible) == 1 and impossible[0]["status"] == "fail"
    assert "note_out" in impossible[0]["message"] and impossible[0]["lines"] == [318]
    # The readable stages are still judged: their collapse is still said.
    assert any(f["direction"] == "below" and f["status"] == "fail" for f in found)


@pytest.mark.parametrize(("old", "new"), [
    ("Beat indices: min=1, max=79", "Beat indices: min=nan, max=inf"),
    ("Range: [-3.9130, 3.6276]", "Range: [nan, inf]"),
    ("Overall: mean=0.0033, std=0.1019", "Overall: mean=0.0033, std=-1"),
    ("Range: [0.3297, 0.7425]", "Range: [0.3297, 1e309]"),
])
def test_impossible_data_check_numbers_fail(tmp_path, old, new):
    found = rule(checked(tmp_path, replaced(old, new)), "data.checks")
    assert [f["status"] for f in found] == ["fail"]
    assert "the trainer said all checks passed" in found[0]["message"]


@pytest.mark.parametrize("restarted", [False, True], ids=["end of log", "run goes on"])
def test_data_checks_cut_short_are_missing_not_pass(tmp_path, restarted):
    start = TEXT.index("[2] INDEX ANALYSIS:")
    rest = TEXT[TEXT.index("Seed set to 42"):] if restarted else ""
    report = checked(tmp_path, TEXT[:start] + rest)
    found = rule(report, "data.checks")
    assert [f["status"] for f in found] == ["missing"]
    assert "no index, NaN or label check" in found[0]["message"]
    assert any("without their summary" in w["message"] for w in report["parse_warnings"])


@pytest.mark.parametrize(("old", "new"), [
    ("Hierarchy gain: +0.0060", "Hierarchy gain: +1e308"),
    ("Hierarchy gain: +0.0060", "Hierarchy gain: +0.2000"),
    ("Hierarchy gain: +0.0060", "Hierarchy gain: inf"),
    ("Full R2: -0.4530", "Full R2: nan"),
    ("Full R2: -0.4530", "Full R2: 1.4650"),
])
def test_impossible_ablation_results_fail(tmp_path, old, new):
    found = rule(checked(tmp_path, replaced("[ABLATION] " + old, "[ABLATION] " + new)), "diagnostics.ablation_gain")
    assert found[0]["status"] == "fail" and "impossible ablation at epoch 0" in found[0]["message"]
    assert found[1]["direction"] == "zeroed"


def test_a_gain_within_rounding_of_full_minus_ablated_is_judged(tmp_path):
    found = rule(checked(tmp_path, replaced("[ABLATION] Hierarchy gain: +0.0060", "[ABLATION] Hierarchy gain: +0.0061")),
                 "diagnostics.ablation_gain")
    assert found[0]["status"] == "fail" and found[0]["direction"] == "below" and found[0]["value"] == 0.0061


@pytest.mark.parametrize("value", ["nan", "-inf", "1.500", "-0.100"])
def test_impossible_attention_entropy_fails_not_above(tmp_path, value):
    found = rule(checked(tmp_path, in_last_summary("Beat attention:    1.000", f"Beat attention:    {value}")),
                 "diagnostics.attention_entropy")
    impossible = [f for f in found if "impossible" in f["message"]]
    assert len(impossible) == 1 and impossible[0]["status"] == "fail" and impossible[0]["direction"] is None
    assert impossible[0]["lines"] == [334]


@pytest.mark.parametrize("value", ["nan", "1e309", "-3.0", "130.2"])
def test_impossible_hierarchy_contribution_fails(tmp_path, value):
    found = rule(checked(tmp_path, in_last_summary("beat_spanned:          30.2%", f"beat_spanned:          {value}%")),
                 "diagnostics.hierarchy_contribution")
    assert [f["status"] for f in found] == ["fail"] and "impossible hierarchy contribution" in found[0]["message"]


# -- repeated blocks: capped, newest kept, warned, bounded memory ---------------


def _repeated(kind: str, count: int, folds: int = 1) -> str:
    """round9.log with `count` summaries or ablation groups (numbered by epoch) per fold, in `folds` folds."""
    block, key, at = (SUMMARY, "Epoch 5\n", 303) if kind == "summary" else (ABLATION, "at epoch 0...", 272)
    fold_header = "=" * 70 + "\nFOLD {k}/{n}\n" + "=" * 70 + "\n"
    parts = []
    for k in range(2, folds + 2):  # after the genuine fold 1
        if folds > 1:
            parts.append(fold_header.format(k=k, n=folds + 1))
        parts += [block.replace(key, key.replace("5" if kind == "summary" else "0", str(5 + i))) for i in range(count)]
    return "".join(LINES[:at]) + "".join(parts) + "".join(LINES[at + len(block.splitlines()):])


@pytest.mark.parametrize(("kind", "cap"), [("summary", MAX_DIAGNOSTICS), ("ablation", MAX_ABLATIONS)])
def test_repeated_blocks_in_one_fold_keep_the_newest_and_say_how_many_were_dropped(kind, cap):
    count = cap + 70
    log = both(_repeated(kind, count))
    fold = log.runs[-1].folds[-1]
    kept = fold.diagnostics if kind == "summary" else fold.ablations
    assert len(kept) == cap and kept[-1].epoch == 4 + count  # the newest kept
    # The genuine log's own blocks before the repeated ones (the sanity check's; a second summary) are dropped too.
    total = count + (2 if kind == "summary" else 1)
    dropped = [w.message for w in log.warnings if "oldest not kept" in w.message]
    assert len(dropped) == 1 and f"the {total - cap} oldest" in dropped[0]


def test_summaries_across_many_folds_are_capped_for_the_whole_log():
    log = both(_repeated("summary", 20, folds=60))
    folds = log.runs[-1].folds
    assert sum(len(f.diagnostics) for f in folds) == MAX_DIAGNOSTIC_RECORDS
    # 2 genuine summaries in fold 1 and 60 x 20: the 202 oldest go, fold 1's and folds 2-11's; folds 12-61 are whole.
    assert [len(f.diagnostics) for f in folds] == [0] * 11 + [20] * 50
    assert any(f"{MAX_DIAGNOSTIC_RECORDS} in the log: the 202 oldest not kept" in w.message for w in log.warnings)


@pytest.mark.parametrize(("kind", "count"), [("summary", 7_000), ("ablation", 100_000)])
def test_repeated_blocks_stay_in_the_memory_budget(tmp_path, kind, count):
    """Uncapped, these cost about 230 MB and 250 MB (25 KB per summary, 2 KB per ablation group)."""
    path = tmp_path / "repeated.log"
    path.write_text(_repeated(kind, count))
    code, err, seconds, rss = child_rss(["check", str(path), "-q"])
    assert code == 1 and "Traceback" not in err and "internal error" not in err
    assert rss < 150


def test_impossible_slices_per_sample_from_the_data_check_fails(tmp_path):
    """Without the dataset lines, the data check's average is judged; `inf` is not more than 1.1."""
    text = re.sub(r"KFold Dataset: fold=1, mode=\w+, samples=22, slices=22 \(1\.0/sample\)\n", "", TEXT)
    found = rule(checked(tmp_path, text.replace("Avg slices per sample: 1.0", "Avg slices per sample: inf")),
                 "data.slices_per_sample")
    assert [f["status"] for f in found] == ["fail"] and "impossible slices per sample inf" in found[0]["message"]
