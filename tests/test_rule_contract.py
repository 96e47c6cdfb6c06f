"""The rule contract: one declared SPEC per rule module, checked when the registry loads; the engine
fills in each finding's id, category and severity; one catalogue of ids and severities feeds the
findings, `percediag rules` and the SARIF rule table; settings know no rule."""

from __future__ import annotations

import ast
import json
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

from percediag.errors import ConfigError
from percediag.findings import CATEGORY_ORDER, Finding
from percediag.live.watcher import held_back
from percediag.rules import registry
from percediag.rules.options import RangeOptions, RuleOptions
from percediag.rules.registry import RuleContractError, check_module
from percediag.rules.spec import SEVERITY, RuleSpec, Verdict
from percediag.settings import build_settings
from tests.helpers import EXAMPLES, REAL, run_cli

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "percediag"
LOG = str(EXAMPLES / "round5-plateau.log")


def _check(run, options, settings):
    return []


def _module(name: str = "percediag.rules.fake_rule", doc: str | None = "fake.rule: a rule for the contract tests.",
            **spec) -> ModuleType:
    module = ModuleType(name, doc)
    fields = {"id": "gradient.fake", "category": "gradient", "order": 9, "options": RangeOptions, "check": _check}
    fields.update(spec)
    module.SPEC = RuleSpec(**fields)
    return module


# -- the declarations ---------------------------------------------------------


def test_every_rule_module_declares_a_spec_and_loads():
    rules = registry.rules()
    files = sorted(p.stem for p in (PACKAGE / "rules").glob("*.py")
                   if p.stem not in {"__init__", "registry", "base", "spec", "options"})
    assert sorted(r.module.__name__.rsplit(".", 1)[1] for r in rules) == files
    keys = [(CATEGORY_ORDER.index(r.spec.category), r.spec.order, r.spec.id) for r in rules]
    assert keys == sorted(keys) and len({r.spec.id for r in rules}) == len(rules)
    for rule in rules:
        assert rule.module.SPEC is rule.spec and rule.doc.startswith(rule.spec.id.split(".")[0])


def test_no_rule_metadata_outside_the_spec():
    """No module-level ID/CATEGORY/ORDER/NEEDS_*/ID_PREFIX in the rules, and nobody reads them."""
    legacy = {"ID", "CATEGORY", "ORDER", "NEEDS_BASELINE", "ID_PREFIX", "FINAL_ONLY_RULES"}
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in legacy:
                pytest.fail(f"{path}:{node.lineno}: reads .{node.attr}")
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("getattr", "hasattr") and \
                    len(node.args) > 1 and isinstance(node.args[1], ast.Constant) and node.args[1].value in legacy | {"ids"}:
                pytest.fail(f"{path}:{node.lineno}: {node.func.id}(..., {node.args[1].value!r})")
        if path.parent.name == "rules":
            names = {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
            assert not names & legacy, f"{path}: {sorted(names & legacy)} outside SPEC"


@pytest.mark.parametrize(("change", "problem"), [
    ({"doc": None}, "no docstring"),
    ({"id": "Gradient.Fake"}, "not CATEGORY.NAME"),
    ({"category": "grads"}, "category 'grads' is not one of"),
    ({"id": "activation.fake"}, "does not start with its category 'gradient.'"),
    ({"order": 0}, "order 0 is not a positive integer"),
    ({"order": True}, "order True is not a positive integer"),
    ({"options": dict}, "options is not a RuleOptions model"),
    ({"final_only": "sometimes"}, "final_only 'sometimes' is not one of never, always, run-level"),
    ({"check": "check"}, "check is not a function"),
    ({"needs_baseline": True}, "check does not take (run, options, settings, baseline)"),
    ({"check": lambda run, options: []}, "check does not take (run, options, settings)"),
    ({"id_prefix": "gradient.fake_"}, "id_prefix and ids go together"),
    ({"id_prefix": "fake_", "ids": lambda settings, options: []}, "id_prefix 'fake_' is not its category"),
])
def test_a_malformed_declaration_is_an_error_naming_the_module(change, problem):
    change = dict(change)
    doc = change.pop("doc", "fake.rule: a rule for the contract tests.")
    with pytest.raises(RuleContractError) as error:
        check_module(_module(doc=doc, **change))
    assert str(error.value).startswith("percediag.rules.fake_rule: ") and problem in str(error.value)


def test_a_module_without_spec_is_named():
    with pytest.raises(RuleContractError, match=r"^percediag\.rules\.bare: no SPEC = RuleSpec\(\.\.\.\) declaration"):
        check_module(ModuleType("percediag.rules.bare", "bare: a docstring."))


def test_the_registry_refuses_a_malformed_rule_module_when_it_loads(tmp_path, monkeypatch):
    """A module dropped into the rules package without its SPEC stops the registry, naming the file's module."""
    import percediag.rules as package

    (tmp_path / "gradient_sloppy.py").write_text(textwrap.dedent('''\
        """gradient.sloppy: declares its metadata the old way."""

        ID = "gradient.sloppy"
        CATEGORY = "gradient"
        ORDER = 9


        def check(run, options, settings):
            return []
        '''))
    monkeypatch.setattr(package, "__path__", [*package.__path__, str(tmp_path)])
    registry.rules.cache_clear()
    try:
        with pytest.raises(RuleContractError, match=r"^percediag\.rules\.gradient_sloppy: no SPEC"):
            registry.rules()
    finally:
        sys.modules.pop("percediag.rules.gradient_sloppy", None)
        monkeypatch.undo()
        registry.rules.cache_clear()
    assert len(registry.rules()) == len(registry.modules())


def test_two_rules_cannot_declare_one_id():
    real = registry.rules()
    twin = check_module(_module(id=real[0].spec.id, category=real[0].spec.category))
    with pytest.raises(RuleContractError, match=f"id '{real[0].spec.id}' is also declared by {real[0].module.__name__}"):
        registry._distinct([*real, twin])


# -- the engine fills in id, category and severity --------------------------------


def test_the_engine_fills_in_id_category_and_the_configured_severity():
    settings = registry.build_settings("round5")
    table = registry.catalogue(settings)
    spec = registry.spec_for("activation.logit_std")
    finding = table.finding(spec, Verdict(status=SEVERITY, message="logits std 0.031 below 0.5-1.5", fold=1))
    assert (finding.rule, finding.category, finding.status) == ("activation.logit_std", "activation", "fail")
    warned = registry.catalogue(registry.build_settings("round5", overrides=[("activation.logit_std.severity", "warn")]))
    assert warned.finding(spec, Verdict(status=SEVERITY, message="m")).status == "warn"
    # A generated id has its own severity: the baseline's, not the rule's.
    baseline = registry.spec_for("baseline.midibert")
    assert table.finding(baseline, Verdict(rule="baseline.midibert", status=SEVERITY, message="m")).status == "warn"
    assert table.finding(baseline, Verdict(rule="baseline.mean", status=SEVERITY, message="m")).status == "fail"
    # Concrete statuses pass through unchanged.
    assert table.finding(spec, Verdict(status="missing", message="m")).status == "missing"


def test_a_rule_cannot_report_under_an_id_it_does_not_own():
    table = registry.catalogue(registry.build_settings("round5"))
    with pytest.raises(RuleContractError, match="rule activation.logit_std reported under 'baseline.mean'"):
        table.finding(registry.spec_for("activation.logit_std"), Verdict(status="pass", message="m", rule="baseline.mean"))
    with pytest.raises(RuleContractError, match="reported under 'progression.epoch_7'"):
        table.finding(registry.spec_for("progression.epoch_5"),
                      Verdict(status="pass", message="m", rule="progression.epoch_7"))


def test_verdict_carries_every_finding_field_but_the_category():
    fields = set(Verdict.__dataclass_fields__)
    assert fields == set(Finding.model_fields) - {"category"}


def test_one_severity_for_findings_rules_listing_and_sarif(tmp_path):
    """--set a rule's and a baseline's severity: the finding, `percediag rules` and SARIF all follow it."""
    sets = ["--set", "activation.logit_std.severity=warn", "--set", "baselines.midibert.severity=fail"]
    report = json.loads(run_cli(["check", LOG, "-f", "json", "--isolated", "--fail-on", "never", *sets])[1])
    statuses = {(f["rule"], f["status"]) for f in report["findings"] if f["rule"] in ("activation.logit_std", "baseline.midibert")}
    assert statuses == {("activation.logit_std", "warn"), ("baseline.midibert", "fail")}
    listed = json.loads(run_cli(["rules", "-f", "json", "--isolated", *sets])[1])["rules"]
    severity = {row["rule"]: row["severity"] for row in listed}
    assert severity["activation.logit_std"] == "warn" and severity["baseline.midibert"] == "fail"
    sarif = json.loads(run_cli(["check", LOG, "-f", "sarif", "--isolated", "--fail-on", "never", *sets])[1])
    levels = {r["id"]: r["defaultConfiguration"]["level"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert levels["activation.logit_std"] == "warning" and levels["baseline.midibert"] == "error"
    assert levels["activation.pred_std"] == "error" and levels["baseline.bilstm"] == "warning"


def test_sarif_rules_follow_the_configuration_file_not_the_bare_profile(tmp_path, monkeypatch):
    """The SARIF rule table once rebuilt settings from the profile name: a config file's severity and
    milestones were lost. It now lists the rules of the configuration that judged the run."""
    config = tmp_path / "ci.yaml"
    config.write_text("rules:\n  gradient.total_norm:\n    severity: warn\nprogression:\n  milestones:\n    15: 0.1\n    20: null\n")
    sarif = json.loads(run_cli(["check", LOG, "-f", "sarif", "-c", str(config), "--fail-on", "never"])[1])
    [run] = sarif["runs"]
    levels = {r["id"]: r["defaultConfiguration"]["level"] for r in run["tool"]["driver"]["rules"]}
    assert levels["gradient.total_norm"] == "warning"
    assert "progression.epoch_15" in levels and "progression.epoch_20" not in levels
    results = [r for r in run["results"] if r["ruleId"] == "gradient.total_norm"]
    assert results and {r["level"] for r in results} == {"warning"}
    rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert all(rules[r["ruleIndex"]] == r["ruleId"] for r in run["results"])


def test_sarif_names_the_round_profile_each_log_was_judged_with():
    """Two logs naming different rounds: each SARIF run lists its own profile's rules."""
    sarif = json.loads(run_cli(["check", str(REAL / "round4.log"), str(REAL / "round6.log"), "-f", "sarif",
                                "--isolated", "--fail-on", "never"])[1])
    profiles = [run["properties"]["profile"] for run in sarif["runs"]]
    assert profiles == ["round4", "round6"]
    for run in sarif["runs"]:
        settings = registry.build_settings(run["properties"]["profile"])
        assert [r["id"] for r in run["tool"]["driver"]["rules"]] == registry.rule_ids(settings)


def test_sarif_does_not_import_the_package_or_settings():
    tree = ast.parse((PACKAGE / "report" / "sarif.py").read_text(encoding="utf-8"))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not imported & {"percediag", "percediag.settings"}


# -- settings and the rules' validation -------------------------------------------


def test_settings_know_no_rule_and_the_registry_validates_their_options():
    settings = build_settings("round6")
    with pytest.raises(RuntimeError, match="rule options read before the rules validated them"):
        settings.rule("activation.logit_std")
    assert registry.validate_rules(settings) is settings
    table = settings.rule_table
    assert registry.validate_rules(settings).rule_table is table  # validated once
    assert isinstance(settings.rule("architecture.param_count"), RuleOptions)
    assert settings.rule("progression.epoch_10") is settings.rule("progression.milestone")


def test_an_invalid_rule_option_from_set_is_a_config_error_naming_it():
    with pytest.raises(ConfigError, match=r"^--set activation.logit_std.severity: rules.activation.logit_std.severity: "
                                          r"Input should be 'warn' or 'fail'$"):
        registry.build_settings("round5", overrides=[("activation.logit_std.severity", "error")])
    code, _, err = run_cli(["check", LOG, "--isolated", "--set", "activation.logit_std.severity=error"])
    assert code == 2 and err.count("\n") == 1 and "rules.activation.logit_std.severity" in err


# -- watch holds back what the spec says ---------------------------------------


@pytest.mark.parametrize(("rule", "fold", "round_known", "held"), [
    ("run.complete", None, True, True),
    ("log.no_data", None, True, True),
    ("baseline.mean", None, True, True),
    ("progression.convergence", None, True, True),
    ("progression.convergence", 2, True, False),
    ("architecture.prediction_head", None, False, True),
    ("architecture.prediction_head", None, True, False),
    ("activation.logit_std", 1, False, False),
])
def test_watch_holds_back_what_each_spec_declares(rule, fold, round_known, held):
    spec = registry.spec_for(rule)
    finding = Finding(rule=rule, category=spec.category, status="warn", fold=fold, message="m")
    assert held_back(finding, run_over=False, round_known=round_known) is held
    assert held_back(finding, run_over=True, round_known=round_known) is False
