"""Issue 17, point 5: the domain's tables come from the YAML configs, and a typo in them is an error.

Each table is changed in a copy of the bundled configs (configs_dir pointed at it) and the output
is seen to change; each kind of typo (evidence key, fix id, signal, status, key of a table) gives
one ConfigError line naming the file and the key, and exit 2 from the CLI, never a traceback.
"""

from __future__ import annotations

import json
import re
import shutil

import pytest

import percediag.settings as config
from percediag import trajectory
from percediag.diagnose.signals import learned_signals, reference_signals, signals
from percediag.diagnose.tables import bundled_rule_ids, check_references, tables
from percediag.errors import ConfigError
from percediag.pipeline import check, check_log, parse_source
from percediag.roundtable import display, round_table
from percediag.rules import registry
from percediag.settings import build_settings, profile_names
from percediag.sources import LogSource
from percediag.trajectory import run_forecasts
from tests.helpers import EXAMPLES, REAL, ROOT, run_cli

LOGS = sorted(EXAMPLES.glob("*.log")) + sorted(REAL.glob("*.log"))


def _clear() -> None:
    for loader in (tables, round_table, display):
        loader.cache_clear()
    trajectory._CACHE.clear()


@pytest.fixture
def configs(tmp_path, monkeypatch):
    """A copy of the bundled configs that every loader reads instead; `edit(name, old, new)` changes it."""
    copy = tmp_path / "configs"
    shutil.copytree(config.configs_dir(), copy)
    monkeypatch.setattr(config, "configs_dir", lambda: copy)
    _clear()

    def edit(name: str, old: str, new: str, count: int = 1) -> None:
        path = copy / name
        text = path.read_text()
        assert text.count(old) >= count, f"{old!r} not in {name}"
        path.write_text(text.replace(old, new))
        _clear()

    edit.path = copy
    yield edit
    _clear()


def _one_line_exit_2(args: list[str]) -> str:
    code, out, err = run_cli(args)
    assert code == 2, (code, out, err)
    assert err.startswith("percediag: error:") and err.count("\n") == 1 and "Traceback" not in err
    assert "nan" not in out
    return err


# -- each table is read from the YAML ------------------------------------------------------------


def test_history_columns_are_display_yaml_milestones(configs):
    code, out, _ = run_cli(["history", str(REAL / "round4.log"), str(REAL / "round5.log"), "--profile", "generic"])
    header = next(line for line in out.splitlines() if line.lstrip().startswith("run"))
    assert code == 0 and re.findall(r"R2@\d+", header) == ["R2@5", "R2@10", "R2@20"]
    configs("display.yaml", "  - epochs: 20\n", "  - epochs: 14\n")
    code, out, _ = run_cli(["history", str(REAL / "round4.log"), str(REAL / "round5.log"), "--profile", "generic"])
    header = next(line for line in out.splitlines() if line.lstrip().startswith("run"))
    assert code == 0 and re.findall(r"R2@\d+", header) == ["R2@5", "R2@10", "R2@14"]
    # Round 4 recorded R2 -0.039 at epoch 14 (ROUND_HISTORY.md): the new column holds the log's value there.
    code, out, _ = run_cli(["history", str(REAL / "round4.log"), "--profile", "generic", "-f", "json"])
    row = json.loads(out)["runs"][0]
    assert 14 in {int(k) for k in row["milestones"]} and 20 not in {int(k) for k in row["milestones"]}


def test_diff_rows_follow_the_same_milestones(configs):
    args = ["diff", str(REAL / "round4.log"), str(REAL / "round5.log"), "--profile", "generic", "-f", "json"]
    names = {c["name"] for c in json.loads(run_cli(args)[1])["r2"]}
    assert "R2 after 20 epochs" in names and "R2 after 14 epochs" not in names
    configs("display.yaml", "  - epochs: 20\n", "  - epochs: 14\n")
    names = {c["name"] for c in json.loads(run_cli(args)[1])["r2"]}
    assert "R2 after 14 epochs" in names and "R2 after 20 epochs" not in names


def test_sparkline_scale_is_display_yaml_r2_axis(configs):
    log = EXAMPLES / "slow-climb.log"
    code, out, _ = run_cli(["check", str(log), "--verbose", "--fail-on", "never"])
    assert "scaled 0 to 0.4" in out
    before = [fc.sparkline for fc in check(log).forecast]
    configs("display.yaml", "  ceiling: 0.4\n", "  ceiling: 0.8\n")
    code, out, _ = run_cli(["check", str(log), "--verbose", "--fail-on", "never"])
    assert "scaled 0 to 0.8" in out and "scaled 0 to 0.4" not in out
    after = [fc.sparkline for fc in check(log).forecast]
    # A curve that stays below 0.4 draws lower on a 0-0.8 scale: its highest character drops.
    assert max(max(s) for s in after) < max(max(s) for s in before)


def test_html_r2_axes_follow_display_yaml(configs):
    log = str(EXAMPLES / "slow-climb.log")
    before = run_cli(["check", log, "-f", "html", "--fail-on", "never"])[1]
    configs("display.yaml", "  ceiling: 0.4\n", "  ceiling: 0.9\n")
    after = run_cli(["check", log, "-f", "html", "--fail-on", "never"])[1]
    ticks = re.compile(r'<text[^>]*>0\.8</text>')
    assert not ticks.search(before) and ticks.search(after)


def test_dimension_count_is_rounds_yaml(configs):
    text = (REAL / "round5.log").read_text()
    log = parse_source(LogSource.from_text(text))
    for fold in log.runs[-1].folds:
        if fold.activation is not None:
            fold.activation.total_dims = None  # a line that gives no total: the table's count is shown

    def messages() -> set[str]:
        report = check_log(log, build_settings("round5"))
        return {f.message for f in report.findings if f.rule == "activation.collapsed_dims"}

    assert any("/19 dimensions" in m for m in messages())
    configs("rounds.yaml", "  count: 19\n", "  count: 20\n")
    configs("rounds.yaml", "->19", "->20", count=5)
    assert any("/20 dimensions" in m for m in messages()) and not any("/19 " in m for m in messages())


def test_healthy_signals_are_read_from_causes_yaml(configs):
    # healthy-sota reaches the target: forecast.reaches_target alone raises too-little-training, but a
    # healthy signal never supports a cause on its own, so no fix is ranked; declared a problem, it is.
    log = EXAMPLES / "healthy-sota.log"
    assert check(log).fixes == []
    configs("causes.yaml", "  forecast.reaches_target:\n    healthy: true\n", "  forecast.reaches_target:\n    healthy: false\n")
    assert "more-epochs" in {f.id for f in check(log).fixes}


def test_signal_names_are_read_from_causes_yaml(configs):
    # A signal is reported among a fix's signals, a rule id among its evidence: the vocabulary says which.
    log = EXAMPLES / "slow-climb.log"
    fix = next(f for f in check(log, tried=["more-epochs"]).fixes if f.id == "more-epochs")
    assert "trend.rising" in fix.signals and "trend.rising" not in fix.evidence


# -- the vocabulary agrees with what the code makes ----------------------------------------------


@pytest.mark.parametrize("log", LOGS, ids=lambda p: p.name)
def test_every_signal_a_log_gives_is_in_the_vocabulary(log):
    parsed = parse_source(LogSource.from_path(log))
    run = parsed.runs[-1]
    settings = build_settings("round5")
    report = check_log(parsed, settings)
    available = {**signals(report.findings, run_forecasts(run, settings)), **learned_signals(run, settings),
                 **reference_signals(run)}
    ids = registry.rule_ids(settings)
    assert available
    for name in available:
        assert tables().key_problem(name, ids) is None, name


def test_every_bundled_profile_names_known_fixes_and_evidence():
    for name in profile_names():
        check_references(build_settings(name))
    assert {"baseline.mean", "progression.epoch_20"} <= bundled_rule_ids()


# -- a typo is one line, exit 2, naming the file and the key ----------------------------------------

TYPOS = [
    ("causes.yaml", "      activation.logit_std:below: 4.0\n", "      activation.logit_sdt:below: 4.0\n",
     ["causes.yaml", "causes.init-scale.evidence", "'activation.logit_sdt:below'", "did you mean 'activation.logit_std:below'?"]),
    ("causes.yaml", "      gradient.total_norm:above: 4.0\n", "      gradient.total_norm:abvoe: 4.0\n",
     ["causes.yaml", "causes.lr-too-high.evidence", "did you mean 'gradient.total_norm:above'?"]),
    ("causes.yaml", "      trend.oscillating: 3.0\n", "      trend.oscilating: 3.0\n",
     ["causes.yaml", "causes.lr-too-high.evidence", "did you mean 'trend.oscillating'?"]),
    ("causes.yaml", "      run.crash:crashed: 500.0\n", "      activation.logit_std:crashed: 500.0\n",
     ["causes.yaml", "causes.crash.evidence", "'activation.logit_std:crashed'"]),
    ("causes.yaml", "      progression.epoch_*:fail: 1.5\n", "      progression.epok_*:fail: 1.5\n",
     ["causes.yaml", "causes.lr-too-low.evidence", "the wildcard progression.epok_* matches no rule id"]),
    ("causes.yaml", "      baseline.mean:fail: 2.0\n", "      baseline.meen:fail: 2.0\n",
     ["causes.yaml", "causes.data-preprocessing.evidence", "did you mean 'baseline.mean:fail'?"]),
    ("causes.yaml", "tempered_by: [learning.r2_climbs,", "tempered_by: [learning.r2_climb,",
     ["causes.yaml", "tempered_by", "did you mean 'learning.r2_climbs'?"]),
    ("causes.yaml", "  gradient.: gradients\n", "  gradeint.: gradients\n",
     ["causes.yaml", "evidence_sources", "'gradeint.'"]),
    ("causes.yaml", "    rules: [run.crash]\n", "    rules: [run.crsh]\n",
     ["causes.yaml", "rule_statuses.crashed.rules", "did you mean 'run.crash'?"]),
    ("causes.yaml", "  trend.rising:\n    healthy: true\n", "  trend.rising:\n    healty: true\n",
     ["causes.yaml", "signals.trend.rising.healty: unknown key; did you mean 'healthy'?"]),
    ("fixes.yaml", "    addresses: [crash]\n", "    addresses: [crsh]\n",
     ["fixes.yaml", "fix fix-crash addresses unknown cause(s): crsh; did you mean 'crash'?"]),
    ("rounds.yaml", "    best_r2: -0.039\n", "    best_r3: -0.039\n",
     ["rounds.yaml", "rounds.4.best_r3: unknown key; did you mean 'best_r2'?"]),
    ("rounds.yaml", "  count: 19\n", "  count: 18\n", ["rounds.yaml", "head '512->512, 512->19' does not end in ->18"]),
    ("display.yaml", "  ceiling: 0.4\n", "  cieling: 0.4\n", ["display.yaml", "r2_axis.cieling: unknown key; did you mean 'ceiling'?"]),
    ("display.yaml", "  ceiling: 0.4\n", "  ceiling: -0.4\n", ["display.yaml", "r2_axis: expected lowest <= floor < ceiling"]),
    ("profiles/round5.yaml", "  pytorch-default-init:\n", "  pytorch-default-int:\n",
     ["profile round5: applied.pytorch-default-int: unknown fix id(s) pytorch-default-int (see `percediag fixes`); did you mean 'pytorch-default-init'?"]),
    ("profiles/round5.yaml", '["architecture.prediction_head:fail"]', '["architecture.prediction_head:fial"]',
     ["profile round5: applied.pytorch-default-init.verify_when", "did you mean 'architecture.prediction_head:fail'?"]),
    ("profiles/round5.yaml", '"activation.std_ratio:below"]', '"activation.std_ratio:bellow"]',
     ["profile round5: applied.rescale-head-init.again_when", "did you mean 'activation.std_ratio:below'?"]),
    ("profiles/generic.yaml", "fixes: [compare-original, check-preprocessing]", "fixes: [compare-orginal, check-preprocessing]",
     ["profile generic: ranking.escalation.fixes: unknown fix id(s) compare-orginal (see `percediag fixes`); did you mean 'compare-original'?"]),
]


@pytest.mark.parametrize("name, old, new, needles", TYPOS, ids=[f"{t[0]}:{t[2].strip()[:30]}" for t in TYPOS])
def test_a_typo_in_a_table_is_one_config_error_line_and_exit_2(configs, name, old, new, needles):
    configs(name, old, new)
    err = _one_line_exit_2(["check", str(REAL / "round5.log"), "--profile", "round5"])
    for needle in needles:
        assert needle in err, (needle, err)
    if not name.startswith("profiles/"):
        with pytest.raises(ConfigError) as error:
            (tables() if name in ("causes.yaml", "fixes.yaml") else round_table() if name == "rounds.yaml" else display())
        assert str(error.value).startswith(str(configs.path / name)) and "\n" not in str(error.value)


@pytest.mark.parametrize("args, needles", [
    (["--tried", "more-epoch"], ["--tried: unknown fix id(s) more-epoch (see `percediag fixes`); did you mean 'more-epochs'?"]),
])
def test_a_typo_on_the_command_line_says_did_you_mean(args, needles):
    err = _one_line_exit_2(["check", str(REAL / "round5.log"), *args])
    for needle in needles:
        assert needle in err, (needle, err)


@pytest.mark.parametrize("yaml_text, needles", [
    ("applied:\n  more-epoch: {round: 2, detail: d}\n", ["c.yaml: applied.more-epoch: unknown fix id(s) more-epoch", "did you mean 'more-epochs'?"]),
    ("applied:\n  more-epochs: {round: 2, detail: d, verify_when: [trend.rsing]}\n",
     ["c.yaml: applied.more-epochs.verify_when: 'trend.rsing'", "did you mean 'trend.rising'?"]),
    ("history:\n  - {round: 2, best_r2: 0.01, fixes: [lower-lr, raise-lrr]}\n",
     ["c.yaml: history (Round 2): unknown fix id(s) raise-lrr (see `percediag fixes`); did you mean 'raise-lr'?"]),
    ("tried: [lowerlr]\n", ["c.yaml: tried: unknown fix id(s) lowerlr (see `percediag fixes`); did you mean 'lower-lr'?"]),
    # A misspelt id of a fix the profile applies is a new entry without its round: said as such, with the id meant.
    ("profile: round5\napplied:\n  raise-lrr: {outcome: helped}\n",
     ["c.yaml: applied.raise-lrr: no profile of the chain applies this fix, so its entry needs `round`",
      "did you mean 'raise-lr', which the profile applies?"]),
    ("profile: generic\napplied:\n  raise-lr: {outcome: helped}\n",
     ["c.yaml: applied.raise-lr: no profile of the chain applies this fix, so its entry needs `round` (the round that applied it)\n"]),
])
def test_a_typo_in_a_users_configuration_names_the_file(tmp_path, yaml_text, needles):
    path = tmp_path / "c.yaml"
    path.write_text(yaml_text)
    err = _one_line_exit_2(["check", str(REAL / "round5.log"), "-c", str(path)])
    for needle in needles:
        assert needle in err, (needle, err)


def test_the_errors_docs_configuration_shows_are_what_the_cli_prints(configs):
    text = (ROOT / "docs" / "configuration.md").read_text()
    shown = [line for line in text.splitlines() if line.startswith("percediag: error:")]
    assert len(shown) == 2
    err = _one_line_exit_2(["check", str(REAL / "round5.log"), "--tried", "more-epoch"])
    assert err.rstrip("\n") == shown[1]
    configs("causes.yaml", "      activation.logit_std:below: 4.0\n", "      activation.logit_sdt:below: 4.0\n")
    err = _one_line_exit_2(["check", str(REAL / "round5.log")])
    assert err.rstrip("\n") == shown[0].replace(".../configs", str(configs.path))
