"""Issue 13: advice that knows the history (round profiles, applied fixes, tried outcomes,
history input, escalation, learned evidence), on the real logs and the shipped examples."""

import json

import pytest
import yaml

from percediag.diagnose.tables import tables
from percediag.pipeline import check
from percediag.settings import build_settings, profile_names
from tests.helpers import EXAMPLES, REAL, run_cli

ROUNDS = [f"round{n}" for n in range(1, 7)]
LOGS = sorted(EXAMPLES.glob("*.log")) + sorted(REAL.glob("*.log"))


def ranked(report):
    return [f for f in report.fixes if f.rank is not None]


def by_id(report, fix_id):
    return next(f for f in report.fixes if f.id == fix_id)


# -- profiles that know their round -------------------------------------------


def test_a_profile_for_every_round_each_with_the_fixes_of_its_round_and_the_rounds_before():
    assert set(ROUNDS) <= set(profile_names())
    catalog = set(tables().fix_ids())
    previous: set[str] = set()
    for number, name in enumerate(ROUNDS, start=1):
        settings = build_settings(name)
        assert settings.round == number
        assert set(settings.applied) <= catalog
        assert previous <= set(settings.applied), f"{name} forgets a fix of an earlier round"
        assert any(entry.round == number for entry in settings.applied.values()), f"{name} applies nothing"
        assert all(entry.round <= number and entry.detail for entry in settings.applied.values())
        previous = set(settings.applied)
    round5 = build_settings("round5").applied
    assert round5["pytorch-default-init"].round == 5 and "default init" in round5["pytorch-default-init"].detail
    assert build_settings("round6").applied["lower-lr"].detail.startswith("learning rate 5e-5 -> 2.5e-5")


@pytest.mark.parametrize("log, profile, why", [
    (REAL / "round4.log", "round4", "the log names Round 4 (training configuration title, line 54)"),
    (REAL / "round5.log", "round5", "the log names Round 5 (training configuration title, line 54)"),
    (REAL / "round6.log", "round6", "the log names Round 6 (training configuration title, line 54)"),
    (EXAMPLES / "seed-dialect.log", "round5", "the log names Round 5 (trainer tag, line 8)"),
])
def test_the_profile_is_the_round_the_log_names(log, profile, why):
    report = check(log)
    assert report.profile == profile and report.profile_reason == f"profile {profile}: {why}"
    code, out, _ = run_cli(["check", str(log), "--fail-on", "never"])
    assert f"profile {profile}: {why}" in out.splitlines()[2]


def test_a_later_round_gets_the_latest_bundled_round_before_it(tmp_path):
    text = (REAL / "round6.log").read_text().replace("TRAINING CONFIGURATION (SOTA - ROUND 6)",
                                                     "TRAINING CONFIGURATION (SOTA - ROUND 11)")
    report = check(text)
    assert report.profile == "round9"
    assert "Round 11" in report.profile_reason and "round9 is the latest before it" in report.profile_reason


def test_an_explicit_profile_wins_and_says_so(tmp_path):
    report = check(REAL / "round5.log", "round6")
    assert report.profile == "round6" and "chosen by --profile" in report.profile_reason
    assert "the log names Round 5" in report.profile_reason
    config = tmp_path / ".percediag.yaml"
    config.write_text("profile: round4\n")
    code, out, _ = run_cli(["check", str(REAL / "round5.log"), "-c", str(config), "-f", "json"])
    assert json.loads(out)["profile_reason"].startswith(f"profile round4: chosen by {config}")


def test_a_log_naming_no_round_gets_the_default_and_says_so():
    text = (REAL / "round5.log").read_text().replace("(SOTA + ROUND 5 FIXES)", "(SOTA)").replace(" (Round 5)", "")
    report = check(text)
    assert report.profile == "round5" and "names no round" in report.profile_reason


def test_a_stale_round_label_is_reported():
    """A notebook title left at Round 5 on a Round 6 model: head, LR and count are Round 6's."""
    text = (REAL / "round6.log").read_text().replace("TRAINING CONFIGURATION (SOTA - ROUND 6)",
                                                     "TRAINING CONFIGURATION (SOTA + ROUND 5 FIXES)")
    report = check(text)
    assert report.profile == "round5"
    stale = report.profile_notes
    assert stale and "matches Round 6" in stale[0] and "learning rate 2.50e-05" in stale[0]
    assert not check(REAL / "round6.log").profile_notes
    # The head and LR already are the original's: matching them again is not the advice.
    assert ranked(report)[0].id != "match-reference-head"
    code, out, _ = run_cli(["check", "-", "--fail-on", "never"], stdin=text.encode())
    assert "is the round label stale?" in " ".join(" ".join(out.splitlines()[3:6]).split())


# -- applied fixes are not the next fix --------------------------------------


def test_round5_log_does_not_rank_default_init_and_says_round5_applied_it():
    report = check(REAL / "round5.log")
    assert ranked(report)[0].id != "pytorch-default-init"
    applied = by_id(report, "pytorch-default-init")
    assert applied.status == "applied" and applied.rank is None and applied.applied_round == 5
    code, out, _ = run_cli(["check", str(REAL / "round5.log"), "--verbose"])
    assert code == 1 and "pytorch-default-init: applied in Round 5 (profile round5)" in " ".join(out.split())
    # The default view says it in one line; the details are in the full report.
    assert "Already applied, not ranked: pytorch-default-init (Round 5)" in run_cli(["check", str(REAL / "round5.log")])[1]


@pytest.mark.parametrize("log", LOGS, ids=lambda p: p.stem)
@pytest.mark.parametrize("profile", [None, *ROUNDS])
def test_an_applied_fix_is_never_first(log, profile):
    report = check(log, profile)
    fixes = ranked(report)
    if fixes:
        assert fixes[0].status not in ("applied", "verify", "again")
        settings = build_settings(report.profile)
        assert fixes[0].id not in settings.applied


def test_an_applied_fix_whose_evidence_says_it_is_not_in_effect_comes_back_as_verify():
    report = check(EXAMPLES / "nan-gradients.log")
    clip = by_id(report, "clip-gradients")
    assert clip.status == "verify" and clip.rank and clip.rank > 1
    assert clip.title.startswith("Verify it is active") and "gradient.finite:fail" in clip.placement
    assert "applied in Round 1" in clip.placement


def test_tried_is_not_refuted_an_applied_setting_comes_back_at_another_setting():
    """Round 3's head init (gain 2.0) overshoots: rescaling again is a real option, never the first."""
    report = check(EXAMPLES / "overshoot.log", "round3")
    again = by_id(report, "rescale-head-init")
    assert again.status == "again" and again.rank and again.rank > 1
    assert "another setting" in again.title and "activation.std_ratio:above" in again.placement


# -- tried, with an outcome -------------------------------------------------------


def test_tried_demotes_and_the_outcome_decides_by_how_much():
    base = check(EXAMPLES / "slow-climb.log", "generic")
    first = ranked(base)[0]
    scores = {}
    for outcome in ("helped", "no-effect", "worse"):
        report = check(EXAMPLES / "slow-climb.log", "generic", tried=[f"{first.id}={outcome}"])
        fix = by_id(report, first.id)
        assert fix.status == "tried" and fix.rank is not None and fix.outcome == outcome
        assert f"tried, {outcome}" in fix.placement
        scores[outcome] = fix.score
    assert scores["helped"] > scores["no-effect"] > scores["worse"]
    plain = by_id(check(EXAMPLES / "slow-climb.log", "generic", tried=[first.id]), first.id)
    assert plain.outcome == "unknown" and plain.score < first.score


@pytest.mark.parametrize("value, message", [
    ("more-epochs=great", "expected ID or ID=OUTCOME"),
    ("no-such-fix=helped", "unknown fix id(s) no-such-fix"),
])
def test_a_bad_tried_value_is_one_line_and_exit_2(value, message):
    code, _, err = run_cli(["check", str(REAL / "round5.log"), "--tried", value])
    assert code == 2 and message in err and err.count("\n") == 1


# -- history as input, and escalation -------------------------------------------


def test_round5_escalates_from_the_profile_round_and_says_why_in_one_sentence():
    report = check(REAL / "round5.log")
    assert report.escalation.escalate and report.escalation.basis == "profile round"
    assert [f.id for f in ranked(report)[:2]] == ["compare-original", "check-preprocessing"]
    assert "Rounds 1-4 as the replica recorded them" in report.escalation.reason
    assert "0.258" in report.escalation.reason and report.escalation.reason.count(". ") == 0
    assert all(f.status == "escalated" for f in ranked(report)[:2])


def test_an_early_round_does_not_escalate():
    text = (REAL / "round5.log").read_text().replace("(SOTA + ROUND 5 FIXES)", "(SOTA + ROUND 2 FIXES)")
    report = check(text)
    assert report.profile == "round2"
    assert not report.escalation.escalate and "fewer than the 3" in report.escalation.reason


def test_the_run_counts_as_the_round_it_names_not_its_profile_round():
    """Round 7 judged with round6: Rounds 1-6 were before it; Round 6, with no recorded R2, is no
    evidence either way and is not counted (the reason claims no history the table does not hold)."""
    text = (REAL / "round6.log").read_text().replace("(SOTA - ROUND 6)", "(SOTA - ROUND 7)")
    report = check(text)
    assert report.profile == "round6" and "6 rounds in a row (Rounds 1-5 as the replica" in report.escalation.reason


def test_several_logs_of_one_round_count_once(tmp_path):
    rounds = write_rounds(tmp_path / "rounds.yaml", [
        {"round": 4, "best_r2": 0.20}, {"round": 5, "best_r2": 0.21}, {"round": 5, "best_r2": 0.22},
    ])
    code, out, _ = run_cli(["check", str(REAL / "round6.log"), "--history", str(rounds), "-f", "json"])
    reason = json.loads(out)["escalation"]["reason"]
    assert reason.startswith("6 rounds in a row (Rounds 1-3 as the replica recorded them, Rounds 4-5 from your history")
    assert "without raising your best R2 by 0.05" in reason and "best earlier in your history 0.220" in reason


def test_history_at_or_after_the_run_is_said_to_be_left_out(tmp_path):
    code, out, _ = run_cli(["check", str(REAL / "round5.log"), "--history", str(REAL / "round6.log"), "-f", "json"])
    report = json.loads(out)
    assert report["history"] == []
    assert "history: Round 6 not before this run's Round 5; left out of the ranking" in report["notes"]


def test_a_crash_stays_above_the_escalation():
    report = check(EXAMPLES / "crashed-oom.log")
    assert report.escalation.escalate and ranked(report)[0].id == "fix-crash"


def test_escalation_thresholds_come_from_yaml():
    report = check(REAL / "round5.log")
    code, out, _ = run_cli(["check", str(REAL / "round5.log"), "--set", "ranking.escalation.rounds=9", "-f", "json"])
    assert not json.loads(out)["escalation"]["escalate"]
    assert report.escalation.escalate


def write_rounds(path, rows):
    path.write_text(yaml.safe_dump({"history": rows}))
    return path


def test_history_with_progress_does_not_escalate(tmp_path):
    rounds = write_rounds(tmp_path / "rounds.yaml", [
        {"round": 3, "best_r2": 0.05, "fixes": ["restore-context-attention"], "outcome": "helped"},
        {"round": 4, "best_r2": 0.15, "fixes": ["raise-lr"], "outcome": "helped"},
    ])
    code, out, _ = run_cli(["check", str(REAL / "round5.log"), "--history", str(rounds), "-f", "json"])
    report = json.loads(out)
    assert report["escalation"]["escalate"] is False and report["escalation"]["basis"] == "history"
    assert [row["round"] for row in report["history"]] == [3, 4]
    assert report["fixes"][0]["status"] != "escalated"


def test_history_without_progress_escalates_and_names_the_rounds(tmp_path):
    rounds = write_rounds(tmp_path / "rounds.yaml", [
        {"round": 2, "best_r2": 0.24, "fixes": ["rescale-head-init"]},
        {"round": 3, "best_r2": 0.26, "fixes": ["restore-context-attention"], "outcome": "no-effect"},
        {"round": 4, "best_r2": 0.25, "fixes": ["raise-lr"], "outcome": "no-effect"},
    ])
    code, out, _ = run_cli(["check", str(REAL / "round5.log"), "--history", str(rounds), "-f", "json"])
    report = json.loads(out)
    assert report["escalation"]["escalate"] and "Round 1 as the replica recorded them" in report["escalation"]["reason"]
    assert "Rounds 2-4 from your history" in report["escalation"]["reason"]
    assert "best earlier in your history 0.260" in report["escalation"]["reason"]


def test_history_in_the_project_config_marks_fixes_applied(tmp_path):
    config = tmp_path / ".percediag.yaml"
    config.write_text(yaml.safe_dump({"profile": "round5", "history": [
        {"round": 1, "best_r2": 0.10, "fixes": ["more-epochs"], "outcome": "no-effect", "note": "max_epochs 10 -> 40"},
    ]}))
    code, out, _ = run_cli(["check", str(EXAMPLES / "slow-climb.log"), "-c", str(config), "-f", "json"])
    fix = next(f for f in json.loads(out)["fixes"] if f["id"] == "more-epochs")
    assert fix["status"] == "applied" and fix["rank"] is None
    assert "applied in Round 1 (history): max_epochs 10 -> 40; outcome: no-effect" in fix["placement"]


def test_history_logs_and_the_rounds_file_history_writes(tmp_path):
    rounds = tmp_path / "rounds.yaml"
    code, _, err = run_cli(["history", str(REAL / "round4.log"), str(REAL / "round5.log"), "--write-rounds", str(rounds)])
    assert code == 0, err
    rows = yaml.safe_load(rounds.read_text())["history"]
    assert [(r["round"], r["fixes"]) for r in rows] == [(4, ["rescale-head-init", "raise-lr"]), (5, ["pytorch-default-init"])]
    assert rows[0]["best_r2"] == pytest.approx(0.2786, abs=1e-4) and rows[1]["outcome"] == "no-effect"
    from_file = json.loads(run_cli(["check", str(REAL / "round6.log"), "--history", str(rounds), "-f", "json"])[1])
    from_logs = json.loads(run_cli(["check", str(REAL / "round6.log"), "--history", str(REAL / "round4.log"),
                                    "--history", str(REAL / "round5.log"), "-f", "json"])[1])
    assert [r["best_r2"] for r in from_file["history"]] == [r["best_r2"] for r in from_logs["history"]]
    assert from_file["escalation"] == from_logs["escalation"]


@pytest.mark.parametrize("content, message", [
    ("history: 3\n", "holds a `history:` list"),
    ("history:\n  - round: four\n", "history.0.round"),
    ("history:\n  - round: 4\n    outcome: maybe\n", "history.0.outcome"),
    ("rounds: []\n", "holds a `history:` list"),
])
def test_a_bad_rounds_file_is_one_line_and_exit_2(tmp_path, content, message):
    rounds = tmp_path / "rounds.yaml"
    rounds.write_text(content)
    code, _, err = run_cli(["check", str(REAL / "round5.log"), "--history", str(rounds)])
    assert code == 2 and message in err and err.count("\n") == 1


# -- learned evidence outweighs batch-0 evidence ------------------------------------


def test_r2_that_climbs_tempers_the_first_batch_and_the_report_says_which_evidence_drove_it():
    report = check(REAL / "round5.log")
    init = next(c for c in report.causes if c.id == "init-scale")
    batch0 = [c for c in init.contributions if c.source == "batch-0 activations"]
    assert batch0 and all(c.table_ratio is not None and c.ratio < c.table_ratio for c in batch0 if c.table_ratio > 1)
    assert any(c.evidence == "learning.r2_climbs" for c in init.contributions)
    code, out, _ = run_cli(["check", str(REAL / "round5.log"), "--set", "ranking.batch0_exponent=1", "-f", "json"])
    untempered = next(c for c in json.loads(out)["causes"] if c["id"] == "init-scale")
    assert untempered["probability"] > 0.5 > 0.3 > init.probability


def test_a_run_that_does_not_learn_keeps_its_batch0_evidence_whole():
    report = check(EXAMPLES / "round5-plateau.log")
    init = next(c for c in report.causes if c.id == "init-scale")
    assert all(c.table_ratio is None for c in init.contributions)


def test_every_fix_line_says_why_it_stands_where_it_does():
    for log in LOGS:
        for fix in check(log).fixes:
            assert fix.placement, (log.name, fix.id)


# -- hostile and careless input to the history features ------------------------------


@pytest.mark.parametrize("args, message", [
    (["--set", "trajectory.seed=-1"], "trajectory.seed"),
    (["--profile", ""], "profile: expected a profile name"),
    (["--tried", "lower-lr="], "expected ID or ID=OUTCOME"),
])
def test_bad_options_are_one_line_and_exit_2(args, message):
    code, _, err = run_cli(["check", str(REAL / "round5.log"), *args])
    assert code == 2 and message in err and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("row, message", [
    ({"round": 4, "best_r2": 25.3}, "history.0.best_r2"),
    ({"round": 4, "best_r2": True}, "history.0.best_r2"),
    ({"round": "3", "best_r2": 0.1}, "history.0.round"),
    ({"round": 10**30, "best_r2": 0.1}, "history.0.round"),
])
def test_a_rounds_row_that_cannot_be_a_round_is_refused(tmp_path, row, message):
    rounds = write_rounds(tmp_path / "rounds.yaml", [row])
    code, _, err = run_cli(["check", str(REAL / "round5.log"), "--history", str(rounds)])
    assert code == 2 and message in err and err.count("\n") == 1


def test_a_history_log_without_results_is_refused(tmp_path):
    empty = tmp_path / "round1.log"
    empty.write_text("")
    code, _, err = run_cli(["check", str(REAL / "round5.log"), "--history", str(empty)])
    assert code == 2 and "no R2 in this log" in err and err.count("\n") == 1


def test_control_characters_in_a_rounds_note_do_not_reach_the_report(tmp_path):
    rounds = write_rounds(tmp_path / "rounds.yaml", [
        {"round": 3, "best_r2": 0.1, "fixes": ["more-epochs"], "note": "\x1b[2J\x1b]0;pwned\x07EVIL\nFAKE: PASS"},
    ])
    code, out, _ = run_cli(["check", str(EXAMPLES / "slow-climb.log"), "--history", str(rounds), "--verbose"])
    assert "\x1b" not in out and "\x07" not in out and "EVIL FAKE: PASS" in " ".join(out.split())


@pytest.mark.parametrize("escalation, message", [
    ("{rounds: 3, margin: 0.05, yield_above: 0.9, reason: r, fixes: [nope]}", "unknown fix id(s) nope"),
    ("{rounds: 3, margin: 0.05, yield_above: 0.9, reason: r, fixes: [compare-original, compare-original]}", "named twice"),
])
def test_escalation_fixes_must_be_catalog_fixes_once(tmp_path, escalation, message):
    config = tmp_path / ".percediag.yaml"
    config.write_text(f"ranking:\n  escalation: {escalation}\n")
    code, _, err = run_cli(["check", str(REAL / "round5.log"), "-c", str(config)])
    assert code == 2 and message in err and err.count("\n") == 1


def test_a_fix_applied_after_the_run_is_not_applied_and_a_users_entry_names_its_file(tmp_path):
    config = tmp_path / ".percediag.yaml"
    config.write_text("applied:\n  more-epochs: {round: 9, detail: later}\n  fix-gradient-flow: {round: 2, detail: earlier}\n")
    code, out, _ = run_cli(["check", str(REAL / "round5.log"), "-c", str(config), "-f", "json"])
    fixes = {f["id"]: f for f in json.loads(out)["fixes"]}
    assert fixes["more-epochs"]["status"] != "applied"
    assert fixes["fix-gradient-flow"]["status"] == "applied" and f"({config})" in fixes["fix-gradient-flow"]["placement"]


@pytest.mark.parametrize("title", ["ROUND 1234 FIXES", "ROUND 1e3", "ROUND 5.5", "ROUND 0"])
def test_a_round_number_that_is_not_one_names_no_round(title):
    text = (REAL / "round6.log").read_text().replace("(SOTA - ROUND 6)", f"(SOTA - {title})")
    text = text.replace(" (Round 6)", "")
    report = check(text)
    assert report.profile == "round5" and "names no round" in report.profile_reason


def test_a_log_naming_no_round_counts_every_history_row_as_earlier(tmp_path):
    text = (REAL / "round5.log").read_text().replace("(SOTA + ROUND 5 FIXES)", "(SOTA)").replace(" (Round 5)", "")
    log = tmp_path / "train.log"
    log.write_text(text)
    rounds = write_rounds(tmp_path / "rounds.yaml", [{"round": 7, "best_r2": 0.25}, {"round": 8, "best_r2": 0.26}])
    code, out, _ = run_cli(["check", str(log), "--history", str(rounds), "-f", "json"])
    report = json.loads(out)
    assert [r["round"] for r in report["history"]] == [7, 8] and report["escalation"]["basis"] == "history"


def test_an_r2_printed_with_a_percent_sign_is_not_read_as_a_fraction(tmp_path):
    import re

    text = re.sub(r"val_r2: ([+-][0-9.]+)", r"val_r2: \1%", (EXAMPLES / "healthy-sota.log").read_text())
    log = tmp_path / "pct.log"
    log.write_text(text)
    code, out, _ = run_cli(["check", str(log), "-f", "json"])
    report = json.loads(out)
    assert report["status"] != "pass" and report["counts"]["missing"] > 0
    assert any("printed with '%'" in w["message"] for w in report["parse_warnings"])


def test_an_absurd_r2_is_impossible_and_diverged_without_numpy_noise(tmp_path, capfd):
    log = tmp_path / "huge.log"
    log.write_text((REAL / "round5.log").read_text().replace("val_r2: +0.2562", "val_r2: -1e308"))
    code, out, err = run_cli(["check", str(log), "-f", "json"])
    report = json.loads(out)
    impossible = [f for f in report["findings"] if f["rule"] == "log.impossible_values" and f["status"] == "fail"]
    assert impossible and "is below -1000" in impossible[0]["message"]
    assert any(fc["trend"] == "diverged" for fc in report["forecast"])
    assert "RuntimeWarning" not in err + capfd.readouterr().err


def test_diff_of_logs_without_data_is_no_data_and_exits_1():
    code, out, _ = run_cli(["diff", "/dev/null", str(EXAMPLES / "healthy-sota.log")])
    assert code == 1 and "NO-DATA  OLD holds no training data" in out


def test_watch_holds_the_architecture_back_until_the_log_names_its_round():
    """The trainer's round tag comes after the learning rate: the default profile is only a guess till then."""
    from percediag.live.watcher import Watcher
    from percediag.settings import SettingsRecipe

    text = (EXAMPLES / "healthy-sota.log").read_text().replace("TRAINING CONFIGURATION (SOTA - ROUND 6)",
                                                                 "TRAINING CONFIGURATION (SOTA)")
    events: list[dict] = []
    watcher = Watcher(SettingsRecipe(), events.append, "train.log")
    lines = text.splitlines(keepends=True)
    for start in range(0, len(lines), 20):
        watcher.feed("".join(lines[start:start + 20]).encode())
        watcher.evaluate()
    watcher.evaluate(final=True)
    alerts = [e for e in events if e.get("event") == "finding" and e.get("change") == "alert"]
    assert not [e for e in alerts if e["rule"].startswith("architecture.")], alerts[:2]
    assert watcher.report.profile == "round6"


def test_the_seed_dialect_gets_the_same_history_treatment():
    """A paste in the seed task's dialect: round from the trainer tag, applied fixes listed, tried demoted."""
    report = check(EXAMPLES / "seed-dialect.log")
    assert report.profile == "round5" and report.escalation.escalate
    assert by_id(report, "raise-lr").status == "applied"
    tried = check(EXAMPLES / "seed-dialect.log", tried=["match-reference-head=worse"])
    fix = by_id(tried, "match-reference-head")
    assert fix.status == "tried" and fix.score == pytest.approx(by_id(report, "match-reference-head").score * 0.1, abs=1e-3)
