"""The rule registry: loads the rule modules, checks their declarations, validates their
options against the settings, and runs them (the engine that makes Findings of Verdicts).

Settings are built by the configuration layer, which knows nothing of rules;
`validate_rules` is the rules' part of loading them: every configured rule
exists, every rule is configured, each entry validates against its rule's
options model. It attaches the resulting Catalogue to the settings, so that
`settings.rule(ID)` reads the validated options from then on.
`build_settings`, `load_settings` and `load_recipe` are the configuration
layer's loaders with that step done.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import pkgutil
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any, cast

from pydantic import BaseModel, ValidationError

import percediag.discovery as discovery
import percediag.settings as config_layer
from percediag.errors import ConfigError
from percediag.findings import CATEGORY_ORDER, Finding
from percediag.model import Run
from percediag.rules.options import RuleOptions
from percediag.rules.spec import FINAL_ONLY, SEVERITY, GeneratedId, RuleSpec, Verdict
from percediag.settings import Settings, SettingsRecipe

# Modules of the package that are not rules: the contract and what every rule shares.
_NOT_RULES = {"registry", "base", "spec", "options"}
_ID = re.compile(r"^[a-z]+(\.[a-z0-9_]+)+$")
_PREFIX = re.compile(r"^[a-z]+\.([a-z0-9_]+[._])?$")


class RuleContractError(Exception):
    """A rule module that does not follow the contract (spec.py): a bug in percediag, named by its module."""


@dataclass(frozen=True)
class Rule:
    """A loaded rule: its declaration, its module, and its documentation (the module docstring)."""

    spec: RuleSpec
    module: ModuleType

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def doc(self) -> str:
        return (self.module.__doc__ or "").strip()


# -- loading and checking the declarations ------------------------------------


@cache
def rules() -> tuple[Rule, ...]:
    """Every rule, in report order (category, then order, then id); each declaration checked."""
    import percediag.rules as package

    found = [check_module(importlib.import_module(f"percediag.rules.{info.name}"))
             for info in pkgutil.iter_modules(package.__path__) if info.name not in _NOT_RULES]
    _distinct(found)
    return tuple(sorted(found, key=lambda r: (CATEGORY_ORDER.index(r.spec.category), r.spec.order, r.spec.id)))


def check_module(module: ModuleType) -> Rule:
    """The module's rule, or RuleContractError naming the module and what is wrong."""
    name = module.__name__

    def broken(problem: str) -> RuleContractError:
        return RuleContractError(f"{name}: {problem} (see percediag/rules/spec.py)")

    spec = vars(module).get("SPEC")
    if not isinstance(spec, RuleSpec):
        raise broken("no SPEC = RuleSpec(...) declaration")
    if not (module.__doc__ or "").strip():
        raise broken("no docstring (a rule's documentation is its module's docstring)")
    if not _ID.match(spec.id):
        raise broken(f"id '{spec.id}' is not CATEGORY.NAME in lower case")
    if spec.category not in CATEGORY_ORDER:
        raise broken(f"category '{spec.category}' is not one of {', '.join(CATEGORY_ORDER)}")
    if not spec.id.startswith(spec.category + "."):
        raise broken(f"id '{spec.id}' does not start with its category '{spec.category}.'")
    if isinstance(spec.order, bool) or not isinstance(spec.order, int) or spec.order < 1:
        raise broken(f"order {spec.order!r} is not a positive integer")
    if not (isinstance(spec.options, type) and issubclass(spec.options, RuleOptions)):
        raise broken("options is not a RuleOptions model (rules/options.py)")
    if spec.final_only not in FINAL_ONLY:
        raise broken(f"final_only '{spec.final_only}' is not one of {', '.join(FINAL_ONLY)}")
    if not callable(spec.check):
        raise broken("check is not a function")
    wanted = 4 if spec.needs_baseline else 3
    try:
        inspect.signature(spec.check).bind(*range(wanted))
    except TypeError as exc:
        shape = "(run, options, settings, baseline)" if spec.needs_baseline else "(run, options, settings)"
        raise broken(f"check does not take {shape}") from exc
    if (spec.id_prefix is None) != (spec.ids is None):
        raise broken("id_prefix and ids go together (a rule reporting under generated ids declares both)")
    if spec.id_prefix is not None and not (_PREFIX.match(spec.id_prefix) and spec.id_prefix.startswith(spec.category + ".")):
        raise broken(f"id_prefix '{spec.id_prefix}' is not its category and a '.', up to a '.' or '_' ending it")
    return Rule(spec, module)


def _distinct(found: list[Rule]) -> None:
    seen: dict[str, str] = {}
    for rule in found:
        for key in (rule.spec.id, rule.spec.id_prefix):
            if key is None:
                continue
            if key in seen:
                raise RuleContractError(f"{rule.module.__name__}: id '{key}' is also declared by {seen[key]}")
            seen[key] = rule.module.__name__


def modules() -> tuple[ModuleType, ...]:
    """Every rule module, in report order."""
    return tuple(rule.module for rule in rules())


def module_ids() -> list[str]:
    return [rule.spec.id for rule in rules()]


def rule_for(rule_id: str) -> Rule | None:
    """The rule that reports `rule_id` (generated ids map to their rule)."""
    for rule in rules():
        if rule.spec.id == rule_id or (rule.spec.id_prefix and rule_id.startswith(rule.spec.id_prefix)):
            return rule
    return None


def spec_for(rule_id: str) -> RuleSpec | None:
    rule = rule_for(rule_id)
    return rule.spec if rule is not None else None


def module_for(rule_id: str) -> ModuleType | None:
    """The module that reports `rule_id` (generated ids map to their module)."""
    rule = rule_for(rule_id)
    return rule.module if rule is not None else None


# -- the catalogue: the rules under one configuration ---------------------------


@dataclass(frozen=True)
class Entry:
    """One rule id a report under given settings can contain, as `percediag rules` lists it."""

    id: str
    rule: Rule
    enabled: bool
    severity: str
    thresholds: str
    reason: str


class Catalogue:
    """The rules under one configuration: each rule's validated options, and every id a report
    can contain with its severity (the one place that decides it), thresholds and reason.
    Renderers that describe the rules (SARIF) read it from the Report."""

    def __init__(self, settings: Settings, options: dict[str, RuleOptions]) -> None:
        self.profile = settings.profile
        self._options = options
        entries: list[Entry] = []
        for rule in rules():
            spec, opts = rule.spec, options[rule.spec.id]
            if spec.ids is None:
                entries.append(Entry(spec.id, rule, opts.enabled, opts.severity, _thresholds(opts), opts.reason))
                continue
            for generated in spec.ids(settings, opts):
                if not isinstance(generated, GeneratedId) or not generated.id.startswith(spec.id_prefix or ""):
                    raise RuleContractError(f"{rule.module.__name__}: ids() yielded {generated!r}, "
                                            f"not a GeneratedId starting with '{spec.id_prefix}'")
                entries.append(Entry(generated.id, rule, opts.enabled, generated.severity or opts.severity,
                                     generated.thresholds, generated.reason))
        self.entries = tuple(entries)
        self._by_id = {entry.id: entry for entry in entries}

    def options(self, rule_id: str) -> RuleOptions:
        """A rule's validated options (a generated id gives its rule's)."""
        if rule_id in self._options:
            return self._options[rule_id]
        rule = rule_for(rule_id)
        if rule is None:
            raise KeyError(f"no rule reports '{rule_id}'")
        return self._options[rule.spec.id]

    def ids(self) -> list[str]:
        return [entry.id for entry in self.entries]

    def entry(self, rule_id: str) -> Entry | None:
        return self._by_id.get(rule_id)

    def finding(self, spec: RuleSpec, verdict: Verdict) -> Finding:
        """The Finding of a rule's verdict: its id, its category, and the severity of that id filled in."""
        rule_id = verdict.rule or spec.id
        entry = self._by_id.get(rule_id)
        if entry is None or entry.rule.spec is not spec:
            raise RuleContractError(f"rule {spec.id} reported under '{rule_id}', none of its ids")
        status = entry.severity if verdict.status == SEVERITY else verdict.status
        return Finding(rule=rule_id, category=spec.category, status=status, fold=verdict.fold, value=verdict.value,
                       expected=verdict.expected, message=verdict.message, lines=verdict.lines,
                       direction=verdict.direction, trainer_tag=verdict.trainer_tag)


def _thresholds(options: BaseModel) -> str:
    """A rule's own settings as `key=value` pairs (what `percediag rules` shows)."""
    skip = {"enabled", "severity", "reason", "reasons"}
    parts = [f"{k}={v}" for k, v in options.model_dump().items() if k not in skip and v not in (None, "")]
    return ", ".join(parts) or "-"


def catalogue(settings: Settings) -> Catalogue:
    """The settings' catalogue: validated (and attached to them) on first use."""
    return cast(Catalogue, validate_rules(settings).rule_table)


def rule_ids(settings: Settings) -> list[str]:
    """Every rule id a report under these settings can contain."""
    return catalogue(settings).ids()


# -- validating the rules' options (the rules' part of loading settings) --------


def validate_rules(settings: Settings) -> Settings:
    """Every configured rule exists, every rule is configured, and each validates; the settings are
    returned with their Catalogue attached (once: settings already checked are returned as they are)."""
    if settings.rule_table is not None:
        return settings
    known = module_ids()
    for rule_id in settings.rules:
        if rule_id not in known:
            hint = difflib.get_close_matches(rule_id, known, n=1)
            suggestion = f"; did you mean '{hint[0]}'?" if hint else ""
            origin = _origin(settings, f"rules.{rule_id}")
            raise ConfigError(f"{origin}: rules.{rule_id}: unknown rule{suggestion}")
    options: dict[str, RuleOptions] = {}
    for rule in rules():
        rule_id, model = rule.spec.id, rule.spec.options
        data = settings.rules.get(rule_id)
        if data is None:
            raise ConfigError(f"profile {settings.profile}: rules.{rule_id}: not configured (every rule needs its reason and thresholds; "
                              f"its defaults go in configs/profiles/generic.yaml)")
        if not isinstance(data, dict):
            raise ConfigError(f"{_origin(settings, f'rules.{rule_id}')}: rules.{rule_id}: expected a mapping")
        try:
            options[rule_id] = model.model_validate(data)
        except ValidationError as exc:
            error = exc.errors()[0]
            field = ".".join(str(p) for p in error["loc"])
            path = f"rules.{rule_id}" + (f".{field}" if field else "")
            if error["type"] == "extra_forbidden":
                hint = difflib.get_close_matches(str(error["loc"][-1]), list(model.model_fields), n=1)
                message = "unknown key" + (f"; did you mean '{hint[0]}'?" if hint else "")
            else:
                message = error["msg"].removeprefix("Value error, ")
            raise ConfigError(f"{_origin(settings, path)}: {path}: {message}") from exc
    settings.attach_rules(Catalogue(settings, options))
    return settings


def _origin(settings: Settings, path: str) -> str:
    for key, origin in settings.origins.items():
        if key == path or key.startswith(path + "."):
            return origin
    return f"profile {settings.profile}"


def build_settings(profile: str | None = None, user_config: tuple[str, dict[str, Any]] | None = None,
                   overrides: list[tuple[str, Any]] | None = None, tried: list[str] | None = None,
                   history: list[tuple[str, dict[str, Any]]] | None = None) -> Settings:
    """settings.build_settings, with the rules' options validated."""
    return validate_rules(config_layer.build_settings(profile, user_config, overrides, tried, history))


def load_settings(config: Path | None = None, profile: str | None = None, sets: list[str] | None = None,
                  tried: list[str] | None = None, start: Path | None = None, isolated: bool = False) -> Settings:
    """discovery.load_settings, with the rules' options validated."""
    return validate_rules(discovery.load_settings(config, profile, sets, tried, start, isolated))


def load_recipe(config: Path | None = None, profile: str | None = None, sets: list[str] | None = None,
                tried: list[str] | None = None, start: Path | None = None, isolated: bool = False) -> SettingsRecipe:
    """discovery.load_recipe, with the rules' options of its first settings validated: a bad
    configuration is an error before any log is read. Settings it builds later for another
    profile are validated where they are used (pipeline.settings_for, evaluate)."""
    recipe = discovery.load_recipe(config, profile, sets, tried, start, isolated)
    validate_rules(recipe.build())
    return recipe


# -- the engine ---------------------------------------------------------------


def evaluate(run: Run, settings: Settings, baseline: Run | None = None) -> list[Finding]:
    """Every enabled rule's findings, in report order; the rules needing a baseline only when one is given."""
    table = catalogue(settings)
    findings: list[Finding] = []
    for rule in rules():
        spec = rule.spec
        options = table.options(spec.id)
        if not options.enabled:
            continue
        if spec.needs_baseline:
            if baseline is None:
                continue
            verdicts = spec.check(run, options, settings, baseline)
        else:
            verdicts = spec.check(run, options, settings)
        findings.extend(table.finding(spec, verdict) for verdict in verdicts)
    return findings
