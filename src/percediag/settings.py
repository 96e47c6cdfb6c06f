"""Settings: profiles and user configuration, merged, validated, with provenance.

A profile is a YAML mapping under `configs/profiles/`. It may `extends:`
another profile; mappings merge key by key, anything else is replaced, and
a `null` value removes an inherited key (a milestone, a baseline).

Precedence, lowest first: the bundled profile chain, the user's
configuration file, then `--set KEY=VALUE` overrides. Every leaf value
remembers where it came from, for `percediag config`.

The schema (which keys exist, their types, their invariants) is code; the
values (every threshold, milestone, baseline and the reason behind each)
are YAML. Each rule's options (under `rules:`) are validated against that
rule's options model by the rules layer (rules/registry.validate_rules),
which attaches the result to the settings: this layer knows no rule.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import stat
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Protocol

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from percediag.errors import ConfigError

Severity = Literal["warn", "fail"]
DEFAULT_PROFILE = "round5"
# Bounds that keep a hostile configuration from costing time or memory.
MAX_CONFIG_BYTES = 1 << 20
MAX_EXTENDS_DEPTH = 16
MAX_NESTING = 32


# -- tables of the configuration ---------------------------------------------


class Baseline(BaseModel):
    model_config = ConfigDict(extra="forbid")

    r2: float
    label: str
    severity: Severity = "warn"
    enabled: bool = True
    reason: str

    @field_validator("reason")
    @classmethod
    def _sentence(cls, value: str) -> str:
        return value.strip().rstrip(".")


class Progression(BaseModel):
    model_config = ConfigDict(extra="forbid")

    milestones: dict[int, float] = Field(
        default_factory=dict, description="completed epochs -> minimum val R2"
    )
    notes: dict[int, str] = Field(default_factory=dict, description="what falling short of a milestone means")

    @field_validator("milestones")
    @classmethod
    def _positive_epochs(cls, value: dict[int, float]) -> dict[int, float]:
        for epoch, r2 in value.items():
            if epoch < 1:
                raise ValueError(f"milestone at epoch {epoch}: epochs are counted from 1 (after N completed epochs)")
            if math.isnan(r2):
                raise ValueError(f"milestone at epoch {epoch} is NaN")
        return dict(sorted(value.items()))


class Trajectory(BaseModel):
    """How the per-fold R2 forecast is made and when it is trusted."""

    # Every value is a finite number: an infinite horizon or interval cannot be computed with.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    min_points: int = Field(ge=3)
    extrapolation_factor: float = Field(ge=1.0)
    max_interval: float = Field(gt=0)
    max_residual: float = Field(gt=0)
    rising_slope: float = Field(ge=0)
    recent_window: int = Field(ge=2)
    decline_drop: float = Field(gt=0)
    decline_min_peak: float = Field(description="best R2 a fold must reach before a fall from it is a decline")
    decline_min_epochs: int = Field(ge=2, description="epochs after the best one before a fall can be a decline")
    decline_noise: float = Field(ge=0, description="a decline must also exceed this many times the fold's epoch-to-epoch scatter")
    overfit_drop: float = Field(gt=0, description="fall below the peak that makes a decline with falling train loss 'overfitting'")
    oscillation_share: float = Field(gt=0, le=1)
    oscillation_amplitude: float = Field(gt=0)
    oscillation_trend_ratio: float = Field(gt=0, description="swings must exceed this multiple of the net R2 change per epoch")
    bootstrap: int = Field(ge=20, le=5000)
    max_fit_points: int = Field(ge=20, le=5000)
    seed: int = Field(default=0, ge=0, lt=2**63)
    value_bound: float = Field(gt=0, description="an R2 or loss beyond this magnitude counts as non-finite")
    reasons: dict[str, str] = Field(default_factory=dict)


Outcome = Literal["helped", "no-effect", "worse", "unknown"]
OUTCOMES = ("helped", "no-effect", "worse", "unknown")


def split_tried(item: str) -> tuple[str, Outcome]:
    """`ID` or `ID=OUTCOME` (helped, no-effect, worse; none given: unknown)."""
    fix_id, sep, outcome = (part.strip() for part in item.partition("="))
    if not fix_id or (sep and outcome not in OUTCOMES):
        shown = "".join(ch if ch.isprintable() else "?" for ch in item)
        raise ValueError(f"'{shown}': expected ID or ID=OUTCOME with OUTCOME one of {', '.join(OUTCOMES[:3])}")
    return fix_id, outcome or "unknown"  # type: ignore[return-value]


class AppliedFix(BaseModel):
    """A catalog fix a round put in place, and what it meant concretely there."""

    model_config = ConfigDict(extra="forbid")

    round: int = Field(ge=1, description="the round that (last) applied it")
    detail: str = Field(description="what the fix id meant in that round: gain 1.0, LR 2.5e-5, ...")
    outcome: Outcome = Field(default="unknown", description="what the next run showed, as recorded")
    verify_when: list[str] = Field(
        default_factory=list,
        description="evidence keys (as in causes.yaml) that say the fix is not really in effect in this log",
    )
    again_when: list[str] = Field(
        default_factory=list,
        description="evidence keys that say the fix's setting is still off: tried is not refuted, try another setting",
    )


class HistoryRound(BaseModel):
    """One earlier round of the user's own project (the `history:` list of a rounds file or config)."""

    model_config = ConfigDict(extra="forbid")

    round: int = Field(ge=1, le=9999, strict=True)
    best_r2: float | None = Field(default=None, le=1.0, strict=True,
                                  description="the round's best validation R2 (cross-validation mean if printed), at most 1")
    fixes: list[str] = Field(default_factory=list, description="catalog fix ids the round put in place")
    outcome: Outcome = "unknown"
    note: str = ""
    log: str | None = Field(default=None, description="the log the row was read from, if any")

    @field_validator("best_r2")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("best_r2 must be a finite number")
        return value

    @field_validator("note", "log")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        # Shown in every report: no terminal control sequence rides along from a rounds file.
        return None if value is None else "".join(ch if ch.isprintable() or ch == "\t" else " " for ch in value)


class Escalation(BaseModel):
    """When targeted fixes stopped paying: the systematic comparison comes first."""

    model_config = ConfigDict(extra="forbid")

    rounds: int = Field(ge=1, description="rounds of targeted fixes without a meaningful best-R2 gain")
    margin: float = Field(gt=0, description="best-R2 gain over the best earlier round that counts as meaningful")
    fixes: list[str] = Field(min_length=1, description="fixes raised to the top, in this order")

    @field_validator("fixes")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("a fix is named twice")
        return value
    yield_above: float = Field(gt=0, le=1, description="a fix whose likeliest cause has at least this probability stays above the escalated ones")
    reason: str


class Ranking(BaseModel):
    """How history changes the ranking of the next fixes."""

    model_config = ConfigDict(extra="forbid")

    tried_weight: dict[Outcome, float] = Field(description="score multiplier of a tried fix, by its outcome")
    verify_weight: float = Field(gt=0, le=1, description="score multiplier of an applied fix whose evidence says it is not in effect")
    learned_r2_climb: float = Field(gt=0, description="best-R2 gain over a fold's first epoch that says the model learns")
    batch0_exponent: float = Field(gt=0, le=1, description="batch-0 likelihood ratios are raised to this power when learned evidence exists")
    escalation: Escalation
    reasons: dict[str, str] = Field(default_factory=dict)

    @field_validator("tried_weight")
    @classmethod
    def _all_outcomes(cls, value: dict[str, float]) -> dict[str, float]:
        missing = [o for o in OUTCOMES if o not in value]
        if missing:
            raise ValueError(f"no weight for outcome(s) {', '.join(missing)}")
        for outcome, weight in value.items():
            if not 0 < weight <= 1:
                raise ValueError(f"weight of '{outcome}' must be in (0, 1]")
        return value


class RuleTable(Protocol):
    """What the rules layer attaches to settings once it has validated their `rules:` entries."""

    def options(self, rule_id: str) -> Any: ...


class Settings(BaseModel):
    """The effective configuration a check runs with."""

    model_config = ConfigDict(extra="forbid")

    profile: str
    title: str = ""
    description: str = ""
    rules: dict[str, dict[str, Any]] = Field(default_factory=dict)
    progression: Progression = Field(default_factory=Progression)
    baselines: dict[str, Baseline] = Field(default_factory=dict)
    trajectory: Trajectory
    round: int | None = Field(default=None, description="the replica round this profile checks")
    applied: dict[str, AppliedFix] = Field(default_factory=dict, description="fix id -> the round that put it in place")
    ranking: Ranking
    history: list[HistoryRound] = Field(default_factory=list, description="the project's earlier rounds")
    tried: list[str] = Field(default_factory=list, description="ID or ID=OUTCOME")
    origins: dict[str, str] = Field(default_factory=dict, exclude=True)
    _rule_table: RuleTable | None = PrivateAttr(default=None)
    _config_origin: str | None = PrivateAttr(default=None)

    @property
    def config_origin(self) -> str | None:
        """The user's configuration file the settings were built with (as its origin names it), if any."""
        return self._config_origin

    @field_validator("tried")
    @classmethod
    def _tried_items(cls, value: list[str]) -> list[str]:
        for item in value:
            split_tried(item)
        return value

    def tried_outcomes(self) -> dict[str, Outcome]:
        """fix id -> outcome of the fixes the user tried (the last word on a fix wins)."""
        return dict(split_tried(item) for item in self.tried)

    @property
    def rule_table(self) -> RuleTable | None:
        """The rules' validated options, once the rules layer has checked them (registry.validate_rules)."""
        return self._rule_table

    def attach_rules(self, table: RuleTable) -> None:
        self._rule_table = table

    def rule(self, rule_id: str) -> Any:
        """The validated options of a rule (as its option model)."""
        if self._rule_table is None:
            # A bug, not a user's error: these settings never went through the rules' validation.
            raise RuntimeError(f"profile {self.profile}: rule options read before the rules validated them "
                               "(percediag.rules.registry.validate_rules)")
        return self._rule_table.options(rule_id)


# -- loading -----------------------------------------------------------------


def configs_dir() -> Path:
    """Where the bundled YAML tables live (inside the installed package)."""
    return Path(str(resources.files("percediag") / "configs"))


def profile_names() -> list[str]:
    """The bundled profiles, numbers in their order: generic, round1, round2, ..., round13."""
    return sorted((p.stem for p in (configs_dir() / "profiles").glob("*.yaml")),
                  key=lambda name: [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)])


# libyaml's C loader when the build has it (ten times faster), else the pure-Python one.
_BASE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _UniqueKeyLoader(_BASE_LOADER):  # type: ignore[misc, valid-type]
    """The safe loader, refusing a key written twice in one mapping. YAML requires unique keys;
    PyYAML would keep the last value silently, so a milestone or threshold written twice would
    change without the user seeing it. Construction is Python code on either parser."""

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, yaml.Node] = {}
            for key_node, _ in node.value:
                if key_node.tag == _MERGE_TAG:
                    continue  # `<<:` merges are keys of their own kind; the merged ones may be overridden
                key = self.construct_object(key_node, deep=deep)
                try:
                    first = seen.setdefault(key, key_node)
                except TypeError:
                    continue  # an unhashable key: the base constructor reports it
                if first is not key_node:
                    shown = "".join(ch if ch.isprintable() else "?" for ch in str(key))[:80]
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping", node.start_mark,
                        f"duplicate key '{shown}' (first at line {first.start_mark.line + 1})", key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


# Every YAML percediag reads (bundled tables, profiles, user configs, rounds files, --set values) goes through it.
_SAFE_LOADER = _UniqueKeyLoader


def _refuse_aliases(text: str, name: str) -> None:
    """Aliases are refused before anything is built: no billion-laughs expansion."""
    for event in yaml.parse(text, Loader=_SAFE_LOADER):
        if isinstance(event, yaml.AliasEvent):
            mark = event.start_mark
            raise ConfigError(f"{name}: line {mark.line + 1}: YAML aliases are not allowed in percediag configs")


def read_config_bytes(path: Path, limit: int = MAX_CONFIG_BYTES) -> bytes:
    """The bytes of a configuration file (YAML or pyproject.toml), size-checked before reading:
    a file whose size is above `limit` is refused unread, and at most limit+1 bytes are ever read."""
    too_big = f"{path}: configuration larger than {limit // 1024} KiB; not read"
    try:
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            if stat.S_ISREG(info.st_mode) and info.st_size > limit:
                raise ConfigError(too_big)
            data = handle.read(limit + 1)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if len(data) > limit:
        raise ConfigError(too_big)
    return data


def read_yaml(path: Path, trusted: bool = False) -> dict[str, Any]:
    """Read a YAML mapping safely, or raise ConfigError with one line."""
    data = read_config_bytes(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 (byte {exc.start})") from exc
    return parse_yaml(text, str(path), trusted)


def parse_yaml(text: str, name: str, trusted: bool = False) -> dict[str, Any]:
    """A YAML mapping. `trusted` (the bundled tables) skips the alias check."""
    try:
        if not trusted:
            _refuse_aliases(text, name)
        value = yaml.load(text, Loader=_SAFE_LOADER)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{name}:{where}: invalid YAML: {problem}") from exc
    except RecursionError as exc:
        raise ConfigError(f"{name}: YAML nested too deeply") from exc
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{name}: expected a mapping at the top level, found {type(value).__name__}")
    _check_depth(value, name, 0)
    return value


def _check_depth(value: Any, name: str, depth: int) -> None:
    if depth > MAX_NESTING:
        raise ConfigError(f"{name}: nested deeper than {MAX_NESTING} levels")
    if isinstance(value, dict):
        for item in value.values():
            _check_depth(item, name, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_depth(item, name, depth + 1)


def load_profile_chain(name: str) -> list[tuple[str, dict[str, Any]]]:
    """The profile and its ancestors, root first, as (origin, mapping)."""
    chain: list[tuple[str, dict[str, Any]]] = []
    seen: list[str] = []
    current: str | None = name
    while current is not None:
        if current in seen:
            raise ConfigError(f"profile {name}: 'extends' cycle: {' -> '.join(seen + [current])}")
        if len(seen) >= MAX_EXTENDS_DEPTH:
            raise ConfigError(f"profile {name}: 'extends' chain deeper than {MAX_EXTENDS_DEPTH}")
        seen.append(current)
        path = configs_dir() / "profiles" / f"{current}.yaml"
        if not path.is_file():
            known = profile_names()
            hint = difflib.get_close_matches(current, known, n=1)
            suggestion = f"; did you mean '{hint[0]}'?" if hint else f"; known profiles: {', '.join(known)}"
            raise ConfigError(f"unknown profile '{current}'{suggestion}")
        data = read_yaml(path, trusted=True)
        chain.append((f"profile {current}", data))
        parent = data.get("extends")
        if parent is not None and not isinstance(parent, str):
            raise ConfigError(f"{path}: extends: expected a profile name")
        current = parent
    chain.reverse()
    return chain


def merge(base: dict[str, Any], override: dict[str, Any], origins: dict[str, str], origin: str, prefix: str = "") -> None:
    """Merge `override` into `base` in place, recording where each leaf came from."""
    for key, value in override.items():
        path = f"{prefix}{key}"
        if value is None:
            base.pop(key, None)
            for known in [k for k in origins if k == path or k.startswith(path + ".")]:
                del origins[known]
            continue
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merge(base[key], value, origins, origin, path + ".")
            continue
        base[key] = value if not isinstance(value, dict) else _copy(value)
        for known in [k for k in origins if k.startswith(path + ".")]:
            del origins[known]
        _record(value, path, origins, origin)


def _copy(value: dict[str, Any]) -> dict[str, Any]:
    return {k: _copy(v) if isinstance(v, dict) else v for k, v in value.items()}


def _record(value: Any, path: str, origins: dict[str, str], origin: str) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _record(item, f"{path}.{key}", origins, origin)
    else:
        origins[path] = origin


def build_settings(
    profile: str | None = None,
    user_config: tuple[str, dict[str, Any]] | None = None,
    overrides: list[tuple[str, Any]] | None = None,
    tried: list[str] | None = None,
    history: list[tuple[str, dict[str, Any]]] | None = None,
) -> Settings:
    """Merge the profile chain, the user's configuration and overrides, then validate.

    `history` rows (origin, row) are appended to the configuration's `history:` list."""
    user_name, user_data = user_config if user_config is not None else ("", {})
    chosen = profile or user_data.get("profile") or DEFAULT_PROFILE
    if not isinstance(chosen, str):
        raise ConfigError(f"{user_name}: profile: expected a profile name")
    merged: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for origin, data in load_profile_chain(chosen):
        merge(merged, {k: v for k, v in data.items() if k not in ("extends", "id")}, origins, origin)
    if user_data:
        merge(merged, {k: v for k, v in user_data.items() if k != "profile"}, origins, user_name)
    for key, value in overrides or []:
        merge(merged, _nest(key, value, merged), origins, f"--set {key}")
    merged["profile"] = chosen
    if tried:
        merged["tried"] = list(dict.fromkeys([*merged.get("tried", []), *tried]))
        origins["tried"] = "--tried"
    if history:
        rows = list(merged.get("history") or [])
        for origin, row in history:
            origins[f"history.{len(rows)}"] = origin
            rows.append(row)
        merged["history"] = rows
    settings = validate(merged, origins, user_name or f"profile {chosen}")
    settings._config_origin = user_name or None
    return settings


@dataclass
class SettingsRecipe:
    """Everything settings are built from except, possibly, the profile.

    When neither `--profile` nor the configuration names a profile, each log
    is judged with the profile of the round it names (diagnose/profile_choice.py):
    the recipe builds the settings once that is known.
    """

    profile: str | None = None
    profile_origin: str = "--profile"
    user_config: tuple[str, dict[str, Any]] | None = None
    overrides: list[tuple[str, Any]] = field(default_factory=list)
    tried: list[str] | None = None
    history: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    config_file: Path | None = None  # the file user_config was read from (outputs must never overwrite it)
    # Settings already built, by profile and history: many logs of one round (check, history,
    # watch's re-judging) read and validate the profile chain once.
    _built: dict[tuple[str | None, str], Settings] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.profile is None and self.user_config is not None and self.user_config[1].get("profile") is not None:
            self.profile, self.profile_origin = self.user_config[1]["profile"], self.user_config[0]
        if self.profile is not None and (not isinstance(self.profile, str) or not self.profile.strip()):
            raise ConfigError(f"{self.profile_origin}: profile: expected a profile name")

    def build(self, profile: str | None = None) -> Settings:
        # No profile named is the default one (build_settings picks it): one key, one build.
        key = (self.profile or profile or DEFAULT_PROFILE, repr(self.history))
        if key not in self._built:
            self._built[key] = build_settings(key[0], self.user_config, self.overrides, self.tried, self.history)
        return self._built[key]


def _nest(key: str, value: Any, current: dict[str, Any]) -> dict[str, Any]:
    """`activation.logit_std.min` -> {'rules': {'activation.logit_std': {'min': v}}}."""
    parts = key.split(".")
    rules = current.get("rules", {})
    if len(parts) >= 4 and parts[0] == "rules":
        parts = parts[1:]  # `rules.activation.logit_std.min`: the rule id is still two parts
    # A rule id is CATEGORY.NAME: a key whose first part is a rule category names a rule, known or
    # not, so that a misspelt one is reported as an unknown rule with the nearest id.
    # (`progression.milestones.5` is a section of its own, not a rule).
    known = f"{parts[0]}.{parts[1]}" in rules if len(parts) >= 3 else False
    category = len(parts) >= 3 and parts[0] not in current and any(r.startswith(f"{parts[0]}.") for r in rules)
    if known or category:
        parts = ["rules", f"{parts[0]}.{parts[1]}", *parts[2:]]
    nested: Any = value
    for part in reversed(parts):
        nested = {_key(part): nested}
    return nested


def _key(part: str) -> Any:
    return int(part) if part.isdigit() else part


def validate(merged: dict[str, Any], origins: dict[str, str], name: str) -> Settings:
    try:
        settings = Settings.model_validate({**merged, "origins": origins})
    except ValidationError as exc:
        raise ConfigError(_describe(exc, origins, name, list(merged.get("rules") or {}),
                                    list(merged.get("applied") or {}))) from exc
    return settings


def _describe(exc: ValidationError, origins: dict[str, str], name: str, rule_ids: list[str],
              applied_ids: list[str] | None = None) -> str:
    error = exc.errors()[0]
    path = ".".join(str(p) for p in error["loc"])
    # The value that brought the key: its own origin, else the origin of a key below it (a --set).
    below = {origin for key, origin in origins.items() if key.startswith(path + ".")}
    source = (origins.get(path)
              or (below.pop() if len(below) == 1 else None)
              or next((origins[key] for key in sorted(origins, key=len, reverse=True) if path.startswith(key + ".")), name))
    if error["type"] == "extra_forbidden":
        field_names = _allowed_keys(error["loc"][:-1])
        hint = difflib.get_close_matches(str(error["loc"][-1]), field_names, n=1)
        suggestion = f"; did you mean '{hint[0]}'?" if hint else ""
        if not hint and len(error["loc"]) == 2:
            # `progression.convergance`: the section exists, but the key was meant as a rule id.
            rules = difflib.get_close_matches(path, [str(r) for r in rule_ids], n=1)
            suggestion = f"; did you mean the rule '{rules[0]}'?" if rules else ""
        return f"{source}: {path}: unknown key{suggestion}"
    loc = error["loc"]
    if error["type"] == "missing" and len(loc) == 3 and loc[0] == "applied" and loc[2] == "round":
        # An entry without `round` is one the profile chain does not hold: a new fix, or a misspelt
        # id of an inherited one (`raise-lrr`), which the bare "Field required" would hide.
        fix = "".join(ch if ch.isprintable() else "?" for ch in str(loc[1]))
        others = [str(i) for i in applied_ids or [] if i != loc[1]]
        hint = difflib.get_close_matches(str(loc[1]), others, n=1)
        suggestion = f"; did you mean '{hint[0]}', which the profile applies?" if hint else ""
        return (f"{source}: applied.{fix}: no profile of the chain applies this fix, so its entry needs "
                f"`round` (the round that applied it){suggestion}")
    message = error["msg"].removeprefix("Value error, ")
    return f"{source}: {path}: {message}"


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    model: type[BaseModel] = Settings
    for part in loc:
        annotation = model.model_fields.get(str(part))
        if annotation is None:
            return []
        candidate = annotation.annotation
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            model = candidate
        else:
            return []
    return list(model.model_fields)


def parse_override(text: str) -> tuple[str, Any]:
    """`KEY=VALUE` with VALUE read as a YAML scalar (numbers, booleans, strings)."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--set {text}: expected KEY=VALUE")
    if key == "profile":
        # The profile picks the chain the values merge into; --set cannot change it afterwards.
        raise ConfigError(f"--set {text}: choose the profile with --profile (or profile: in the configuration)")
    try:
        value = yaml.load(raw, Loader=_SAFE_LOADER) if raw.strip() else ""  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        raise ConfigError(f"--set {text}: value is not valid YAML") from exc
    if isinstance(value, (dict, list)):
        raise ConfigError(f"--set {text}: value must be a scalar")
    return key, value
