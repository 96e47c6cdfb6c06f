"""Profiles, discovery and precedence, --set, and validation messages."""

from pathlib import Path

import pytest

from percediag.discovery import find_user_config
from percediag.errors import ConfigError
from percediag.rules.registry import build_settings, load_settings
from percediag.settings import parse_override
from tests.helpers import REAL, run_cli


def test_profiles_extend_and_override():
    round6 = build_settings("round6")
    assert round6.rule("architecture.prediction_head").expected == "512->512, 512->19"
    assert round6.rule("activation.logit_std").min == 0.5  # inherited from generic
    assert round6.origins["rules.architecture.prediction_head.expected"] == "profile round6"
    assert round6.origins["rules.activation.logit_std.min"] == "profile generic"
    assert build_settings("generic").progression.milestones == {}


def test_round4_profile_drops_the_inherited_delta():
    options = build_settings("round4").rule("architecture.param_count")
    assert options.previous is None and options.expected == 13_962_515


def test_precedence_config_file_over_pyproject_over_default(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text("[tool.percediag]\nprofile = 'round6'\n")
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    settings = load_settings(start=nested)
    assert settings.profile == "round6"
    (tmp_path / "a" / ".percediag.yaml").write_text("profile: round4\n")
    assert load_settings(start=nested).profile == "round4"
    explicit = tmp_path / "my.yaml"
    explicit.write_text("profile: generic\n")
    assert load_settings(config=explicit, start=nested).profile == "generic"
    assert load_settings(config=explicit, profile="round5", start=nested).profile == "round5"


def test_no_user_config_uses_the_bundled_default(tmp_path):
    assert find_user_config(tmp_path) is None or find_user_config(tmp_path)[0].startswith(str(Path("/")))
    assert load_settings(start=tmp_path).profile in ("round5",) or find_user_config(tmp_path) is not None


def test_set_overrides_thresholds_milestones_and_severity():
    settings = build_settings("round5", overrides=[parse_override("activation.logit_std.min=0.4"),
                                                   parse_override("progression.milestones.20=0.12"),
                                                   parse_override("gradient.balance_ratio.severity=warn")])
    assert settings.rule("activation.logit_std").min == 0.4
    assert settings.progression.milestones[20] == 0.12
    assert settings.rule("gradient.balance_ratio").severity == "warn"
    assert settings.origins["rules.activation.logit_std.min"] == "--set activation.logit_std.min"


def test_tried_from_config_and_cli(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("tried: [pytorch-default-init]\n")
    settings = load_settings(config=config, tried=["lower-lr"])
    assert settings.tried == ["pytorch-default-init", "lower-lr"]


@pytest.mark.parametrize(("yaml_text", "message"), [
    ("rules:\n  activation.logit_std:\n    mni: 0.4\n", "rules.activation.logit_std.mni: unknown key; did you mean 'min'?"),
    ("rules:\n  activation.logit_sdt:\n    min: 0.4\n", "rules.activation.logit_sdt: unknown rule; did you mean 'activation.logit_std'?"),
    ("rules:\n  activation.logit_std:\n    min: lots\n", "rules.activation.logit_std.min: Input should be a valid number"),
    ("rules:\n  activation.logit_std:\n    min: 2.0\n", "min (2.0) is above max (1.5)"),
    ("progression:\n  milestones:\n    0: 0.1\n", "progression.milestones: milestone at epoch 0"),
    ("progresion:\n  milestones: {}\n", "progresion: unknown key; did you mean 'progression'?"),
    ("- a\n- b\n", "expected a mapping at the top level"),
    ("rules: [\n", "invalid YAML"),
    ("a: &x [1]\nb: *x\n", "aliases are not allowed"),
])
def test_validation_errors_name_file_key_and_problem(tmp_path, yaml_text, message):
    path = tmp_path / ".percediag.yaml"
    path.write_text(yaml_text)
    with pytest.raises(ConfigError) as error:
        load_settings(config=path)
    text = str(error.value)
    assert message in text and "\n" not in text
    assert str(path) in text or "line" in text


def test_non_utf8_config(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_bytes(b"profile: \xff\xfe\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_settings(config=path)


def test_bad_set_syntax():
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_override("activation.logit_std.min")


def test_round6_log_passes_the_head_with_its_own_round_and_fails_it_as_round5():
    import json

    code, out, _ = run_cli(["check", str(REAL / "round6.log"), "-f", "json"])
    head = next(f for f in json.loads(out)["findings"] if f["rule"] == "architecture.prediction_head")
    assert head["status"] == "pass" and json.loads(out)["profile"] == "round6"
    code, out, _ = run_cli(["check", str(REAL / "round6.log"), "-f", "json", "--profile", "round5"])
    head = next(f for f in json.loads(out)["findings"] if f["rule"] == "architecture.prediction_head")
    assert head["status"] == "fail"


def test_every_reported_rule_is_listed_and_explained():
    import json

    from percediag.rules import registry

    listed = run_cli(["rules"])[1]
    seen = set()
    for path in list(REAL.glob("*.log")):
        report = json.loads(run_cli(["check", str(path), "-f", "json"])[1])
        seen |= {f["rule"] for f in report["findings"]}
    for rule in seen:
        assert rule in listed
        assert registry.module_for(rule) is not None and registry.module_for(rule).__doc__.strip()
        code, out, _ = run_cli(["explain", rule])
        assert code == 0 and len(out) > 200


@pytest.mark.parametrize(("override", "message"), [
    # A misspelt rule id is an unknown rule with the nearest id, blamed on the --set that wrote it.
    ("activation.logit_sd.min=1", "--set activation.logit_sd.min: rules.activation.logit_sd: unknown rule; "
                                  "did you mean 'activation.logit_std'?"),
    ("rules.activation.logit_sd.min=1", "--set rules.activation.logit_sd.min: rules.activation.logit_sd: unknown rule; "
                                        "did you mean 'activation.logit_std'?"),
    # A key of a section that is also a rule category: the rule it resembles is named.
    ("progression.convergance.min=0.1", "--set progression.convergance.min: progression.convergance: unknown key; "
                                        "did you mean the rule 'progression.convergence'?"),
    ("progression.milestones.x=0.1", "--set progression.milestones.x: progression.milestones.x"),
])
def test_set_typos_name_the_set_and_the_nearest_rule(override, message):
    with pytest.raises(ConfigError) as error:
        load_settings(profile="round5", sets=[override], isolated=True)
    assert str(error.value).startswith(message), str(error.value)


def test_set_with_the_rules_prefix_reaches_the_rule():
    plain = load_settings(profile="round5", sets=["activation.logit_std.min=0.9"], isolated=True)
    prefixed = load_settings(profile="round5", sets=["rules.activation.logit_std.min=0.9"], isolated=True)
    assert plain.rules["activation.logit_std"]["min"] == prefixed.rules["activation.logit_std"]["min"] == 0.9
