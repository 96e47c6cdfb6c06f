"""percediag diff, check --baseline and history."""

import json

import pytest

from tests.helpers import EXAMPLES, REAL, run_cli


@pytest.fixture
def unchanged_head(tmp_path):
    """Round 5's log as it would read had the head stayed 512->512 (the fix not taken)."""
    text = (REAL / "round5.log").read_text()
    text = text.replace("13,758,227", "13,962,515").replace("512->128, 128->19", "512->512, 512->19")
    path = tmp_path / "round5-head-unchanged.log"
    path.write_text(text)
    return path


def diff_json(old, new, *extra):
    code, out, err = run_cli(["diff", str(old), str(new), "-f", "json", *extra])
    assert err == ""
    return code, json.loads(out)


def test_round4_to_round5_parameter_drop_matches_the_round():
    code, d = diff_json(REAL / "round4.log", REAL / "round5.log")
    params = next(c for c in d["architecture"] if c["name"] == "parameters")
    assert (params["old"], params["new"], params["delta"]) == (13_962_515, 13_758_227, -204_288)
    head = next(c for c in d["architecture"] if c["name"] == "prediction head")
    assert head["new"] == "512->128, 128->19"
    delta = next(f for f in d["comparison"] if f["rule"] == "architecture.param_delta")
    assert delta["status"] == "pass" and delta["value"] == -204_288


def test_head_unchanged_fails_param_delta(unchanged_head):
    code, d = diff_json(REAL / "round4.log", unchanged_head)
    delta = next(f for f in d["comparison"] if f["rule"] == "architecture.param_delta")
    assert delta["status"] == "fail" and delta["value"] == 0
    assert code == 1 and d["verdict"] in ("regressed", "mixed")


def test_diff_sections_and_status_changes():
    code, d = diff_json(REAL / "round6.log", EXAMPLES / "healthy-sota.log", "--profile", "round6")
    assert d["verdict"] == "improved" and code == 0
    kinds = {s["kind"] for s in d["findings"]}
    assert "fixed" in kinds
    fixed = {s["rule"] for s in d["findings"] if s["kind"] == "fixed"}
    assert "activation.logit_std" in fixed
    names = {c["name"] for c in d["metrics"]}
    assert {"logit_std", "pred_std", "std_ratio", "total_norm", "balance_ratio"} <= names
    r2 = {c["name"] for c in d["r2"]}
    assert {"R2 after 5 epochs", "R2 after 10 epochs", "best R2", "best R2 epoch", "cross-validation mean R2"} <= r2
    cv = next(c for c in d["r2"] if c["name"] == "cross-validation mean R2")
    assert cv["old"] == -0.2105 and cv["delta"] > 0.5


def test_config_keys_that_changed():
    code, d = diff_json(REAL / "round5.log", REAL / "round6.log", "--profile", "round6")
    changed = {c["name"]: (c["old"], c["new"]) for c in d["config"]}
    assert changed["learning_rate"] == ("5e-05", "2.5e-05")
    assert changed["final_hidden"] == ("128", None)


def test_unchanged_verdict():
    code, d = diff_json(REAL / "round5.log", REAL / "round5.log")
    assert d["verdict"] == "unchanged" and d["findings"] == []
    delta = next(f for f in d["comparison"] if f["rule"] == "architecture.param_delta")
    assert delta["status"] == "pass" and "both logs are Round 5" in delta["expected"]


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_diff_human_formats(fmt):
    code, out, _ = run_cli(["diff", str(REAL / "round4.log"), str(REAL / "round5.log"), "-f", fmt])
    assert "-204,288" in out and "MIXED" in out


def test_check_with_baseline_adds_comparison_findings():
    code, out, _ = run_cli(["check", str(REAL / "round5.log"), "--baseline", str(REAL / "round4.log"), "-f", "json"])
    rules = {f["rule"]: f for f in json.loads(out)["findings"]}
    assert rules["architecture.param_delta"]["status"] == "pass"
    assert rules["progression.regression"]["status"] == "fail"  # fold 1 and the CV mean fell
    code, out, _ = run_cli(["check", str(REAL / "round5.log"), "-f", "json"])
    assert "architecture.param_delta" not in {f["rule"] for f in json.loads(out)["findings"]}


def test_baseline_regression_gates_ci():
    code, out, _ = run_cli(["check", str(REAL / "round6.log"), "--baseline", str(REAL / "round5.log"),
                            "--profile", "round6", "-f", "json", "--set", "activation.logit_std.enabled=false"])
    regression = [f for f in json.loads(out)["findings"] if f["rule"] == "progression.regression"]
    assert regression and all(f["status"] == "fail" for f in regression) and code == 1


HISTORY_LOGS = [REAL / "round4.log", REAL / "round5.log", REAL / "round6.log"]


def test_history_json_every_column():
    code, out, _ = run_cli(["history", *map(str, HISTORY_LOGS), "-f", "json"])
    runs = json.loads(out)["runs"]
    assert [r["name"] for r in runs] == ["round4", "round5", "round6"]
    assert [r["round"] for r in runs] == [4, 5, 6]
    assert [r["params"] for r in runs] == [13_962_515, 13_758_227, 13_957_395]
    assert [r["head"] for r in runs] == [None, "512->128, 128->19", "512->512, 512->19"]
    assert [r["learning_rate"] for r in runs] == [5e-5, 5e-5, 2.5e-5]
    assert runs[1]["means"]["logit_std"] == pytest.approx((0.220 + 0.304 + 0.252 + 0.187) / 4)
    assert runs[1]["means"]["pred_std"] == pytest.approx((0.054 + 0.074 + 0.062 + 0.046) / 4)
    assert runs[1]["means"]["std_ratio"] == pytest.approx((0.45 + 0.57 + 0.50 + 0.32) / 4)
    assert runs[1]["milestones"]["5"] == pytest.approx((0.0989 + 0.1010 + 0.0406 + 0.0838) / 4, abs=0.05)
    assert runs[1]["milestones"]["20"] is None
    assert runs[1]["best_r2"] == 0.337 and runs[1]["best_fold"] == 2 and runs[1]["best_epoch"] == 10
    assert [r["cv_mean"] for r in runs] == [0.2786, 0.2584, -0.2105]
    assert [r["status"] for r in runs] == ["fail", "fail", "fail"]


def test_history_text_and_markdown_columns():
    code, out, _ = run_cli(["history", *map(str, HISTORY_LOGS), "-f", "markdown"])
    lines = out.strip().splitlines()
    assert lines[0] == "| run | round | params | head | lr | logits std | pred std | std ratio | R2@5 | R2@10 | R2@20 | best R2 | CV mean | status |"
    round5 = next(line for line in lines if line.startswith("| round5 |")).split(" | ")
    # Markdown escapes HTML in quoted text (`>` as `&gt;`; a reader sees 512->128).
    assert round5[1:5] == ["Round 5", "13,758,227", "512-&gt;128, 128-&gt;19", "5.00e-05"]
    assert round5[-2] == "0.2584" and round5[-1].startswith("FAIL")
    code, out, _ = run_cli(["history", *map(str, HISTORY_LOGS)])
    assert "Experiment history" in out and "13,957,395" in out


def test_history_over_examples_glob_and_mtime(tmp_path):
    code, out, _ = run_cli(["history", str(EXAMPLES / "*.log"), "-f", "json"])
    assert len(json.loads(out)["runs"]) == len(list(EXAMPLES.glob("*.log")))
    import os
    import shutil

    for i, name in enumerate(["c.log", "a.log", "b.log"]):
        shutil.copy(REAL / "round5.log", tmp_path / name)
        os.utime(tmp_path / name, (1_000_000 + i, 1_000_000 + i))
    code, out, _ = run_cli(["history", str(tmp_path / "*.log"), "--sort", "mtime", "-f", "json"])
    assert [r["name"] for r in json.loads(out)["runs"]] == ["c", "a", "b"]
    code, _, err = run_cli(["history", str(tmp_path / "*.nothing")])
    assert code == 2 and "no file matches" in err


# -- pairs of rounds and the verdict (issue 13, point 9) -----------------------


@pytest.mark.parametrize(("old", "new", "pair", "value"), [
    ("round4", "round5", "Round 4 -> Round 5", -204_288),
    ("round5", "round6", "Round 5 -> Round 6", 199_168),
    ("round5", "round5", "Round 5 -> Round 5", 0),
])
def test_diff_names_the_rounds_compared(old, new, pair, value):
    code, d = diff_json(REAL / f"{old}.log", REAL / f"{new}.log")
    delta = next(f for f in d["comparison"] if f["rule"] == "architecture.param_delta")
    assert delta["status"] == "pass" and delta["value"] == value
    assert delta["message"].startswith(f"{pair}: {value:+,}") and f"expected {value:+,} +/- 0" in delta["message"]
    assert d["reason"].startswith(pair)


def test_check_with_baseline_names_the_rounds():
    code, out, _ = run_cli(["check", str(REAL / "round6.log"), "--baseline", str(REAL / "round5.log"), "-f", "json"])
    [delta] = [f for f in json.loads(out)["findings"] if f["rule"] == "architecture.param_delta"]
    assert delta["status"] == "pass" and delta["message"].startswith("Round 5 -> Round 6: +199,168")


@pytest.fixture(scope="module")
def large_gain(tmp_path_factory):
    """Two noisy four-fold Round 5 runs: the second climbs much higher, and is interrupted in its last fold."""
    import dataclasses

    from tests import synth

    base = synth.SCENARIOS["slow-climb"]
    old = dataclasses.replace(base, curve=synth.saturating(-0.09, 0.14, 25.0, 0.006), seed=21)
    new = dataclasses.replace(base, curve=synth.saturating(-0.05, 0.34, 12.0, 0.006), seed=22,
                              interrupt_in_fold=0, interrupt_at_epoch=20)
    folder = tmp_path_factory.mktemp("gain")
    (folder / "old.log").write_text(synth.render(old))
    (folder / "new.log").write_text(synth.render(new))
    return folder / "old.log", folder / "new.log"


def test_large_best_r2_gain_with_incidental_warnings_is_improved(large_gain):
    code, d = diff_json(*large_gain)
    regressed = [s for s in d["findings"] if s["kind"] == "regressed"]
    assert regressed and all(s["new"] == "warn" for s in regressed)  # run.crash and run.complete: interrupted
    best = next(c for c in d["r2"] if c["name"] == "best R2" and c["fold"] is None)
    assert best["delta"] > 0.05
    assert d["verdict"] == "improved" and code == 0
    assert "incidental" in d["reason"]
    # The threshold is YAML's: raised above the gain, the same pair is mixed again.
    code, d = diff_json(*large_gain, "--set", "progression.regression.decisive_gain=0.5")
    assert d["verdict"] == "mixed"


def _summary(**numbers):
    from percediag.compare.summary import RunSummary

    return RunSummary(name="x", source="x.log", status="warn", counts={}, **numbers)


def _status(kind, new):
    from percediag.compare.diff import StatusChange

    return StatusChange(rule="activation.logit_std", fold="1", old="pass" if kind == "regressed" else "fail", new=new, kind=kind)


@pytest.mark.parametrize(("old_best", "new_best", "statuses", "verdict"), [
    (0.10, 0.30, [_status("regressed", "warn")], "improved"),                             # decisive gain, warning beside it
    (0.10, 0.30, [_status("regressed", "fail")], "mixed"),                                # a finding turned to fail
    (0.10, 0.13, [_status("regressed", "warn")], "mixed"),                                # a gain, but not decisive
    (0.30, 0.10, [_status("fixed", "pass")], "regressed"),                                # R2 really fell: fixes do not mix it
    (0.30, 0.29, [_status("fixed", "pass")], "improved"),                                 # within noise: the fix decides
    (0.30, 0.30, [], "unchanged"),
])
def test_verdict_rules(old_best, new_best, statuses, verdict):
    from percediag.compare.diff import _verdict

    got, reason = _verdict(_summary(best_r2=old_best, round=4), _summary(best_r2=new_best, round=5), statuses, [],
                           tolerance=0.02, decisive_gain=0.05)
    assert got == verdict, reason
    assert reason.startswith("Round 4 -> Round 5")


def test_verdict_compares_like_with_like():
    """One log with a cross-validation mean, the other without: the headline is the best R2 of both."""
    from percediag.compare.diff import _verdict

    old = _summary(best_r2=0.20, cv_mean=0.10)
    new = _summary(best_r2=0.21)
    verdict, reason = _verdict(old, new, [], [], tolerance=0.02, decisive_gain=0.05)
    assert verdict == "unchanged" and "best R2 0.2000 -> 0.2100" in reason
