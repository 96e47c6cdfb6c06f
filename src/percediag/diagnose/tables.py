"""The cause and fix tables (configs/causes.yaml, configs/fixes.yaml), validated.

Validated when they load, so that nothing in them is silently inert: every
evidence key of a cause and of `tempered_by` must be in the signal
vocabulary (causes.yaml `rule_statuses` and `signals`, with the rule ids of
the registry and the bundled profiles), every prefix of `evidence_sources`
must match a key, and every cause a fix addresses must exist. The
references a configuration makes (applied fixes and their evidence keys,
`--tried`, history rows, the escalation's fixes) are checked against the
same tables by `check_references` before a ranking uses them. A typo is one
ConfigError line naming the file, the key and the nearest known name.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable
from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from percediag.errors import ConfigError, UsageError
from percediag.roundtable import load_fact_table, table_path
from percediag.rules import registry
from percediag.settings import DEFAULT_PROFILE, Settings, build_settings, profile_names


class Cause(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    title: str
    seed: str
    prior: float = Field(gt=0, lt=1)
    # Likelihood ratios: above 1 speaks for the cause, below 1 (0.02 ...) against it. Checked by
    # CauseTable, which can name the cause: NaN or inf would make every score NaN or 1.
    evidence: dict[str, float]


class Fix(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    title: str
    change: str
    addresses: list[str]
    cost: Literal["cheap", "long-run"]
    prior: float = Field(gt=0, le=1)

    @field_validator("addresses")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        # A cause named twice would count twice in P(at least one addressed cause).
        twice = [c for i, c in enumerate(value) if c in value[:i]]
        if twice:
            raise ValueError(f"cause '{twice[0]}' is listed twice")
        return value


class RuleStatus(BaseModel):
    """A STATUS of RULE:STATUS: a finding's worst status, or a direction some rules report."""

    model_config = ConfigDict(extra="forbid")

    healthy: bool = Field(default=False, description="describes a healthy run: never supports a cause on its own")
    rules: list[str] = Field(default_factory=list, description="the only rules that report it (empty: any rule)")
    reason: str


class Signal(BaseModel):
    """An evidence key that is not one rule's findings (diagnose/signals.py makes it)."""

    model_config = ConfigDict(extra="forbid")

    healthy: bool = False
    reason: str


class CauseTable(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rule_statuses: dict[str, RuleStatus]
    signals: dict[str, Signal]
    evidence_sources: dict[str, str]
    tempered_source: str
    tempered_by: list[str]
    causes: list[Cause]

    @model_validator(mode="after")
    def _sound(self) -> CauseTable:
        _refuse_twice("causes", [c.id for c in self.causes])
        for cause in self.causes:
            for key, ratio in cause.evidence.items():
                if not (math.isfinite(ratio) and ratio > 0):
                    raise ValueError(f"causes.{cause.id}.evidence: '{key}': likelihood ratio {ratio!r} is not a "
                                     f"finite number above 0 (below 1 speaks against the cause, above 1 for it)")
        return self


class FixTable(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # A cost weight scales a fix's score as its prior does: a finite number in (0, 1].
    cost_weights: dict[str, float]
    fixes: list[Fix]

    @model_validator(mode="after")
    def _sound(self) -> FixTable:
        for cost, weight in self.cost_weights.items():
            if not (math.isfinite(weight) and 0 < weight <= 1):
                raise ValueError(f"cost_weights.{cost}: {weight!r} is not a number above 0 and at most 1")
        _refuse_twice("fixes", [f.id for f in self.fixes])
        return self


def _refuse_twice(where: str, ids: list[str]) -> None:
    """Ids are how profiles, --tried and the ranking name entries: one written twice would shadow the other."""
    seen: set[str] = set()
    for name in ids:
        if name in seen:
            raise ValueError(f"{where}: id '{name}' is listed twice")
        seen.add(name)


class Tables(BaseModel):
    rule_statuses: dict[str, RuleStatus] = Field(description="STATUS of RULE:STATUS -> what it means")
    signals: dict[str, Signal] = Field(description="evidence keys that are not one rule's findings")
    evidence_sources: dict[str, str] = Field(description="evidence key prefix -> where that evidence comes from")
    tempered_source: str = Field(description="the source whose ratios are tempered when learning shows")
    tempered_by: list[str] = Field(description="signals that show the model learned")
    causes: list[Cause]
    fixes: list[Fix]
    cost_weights: dict[str, float]

    @model_validator(mode="after")
    def _consistent(self) -> Tables:
        cause_ids = {c.id for c in self.causes}
        for fix in self.fixes:
            unknown = [c for c in fix.addresses if c not in cause_ids]
            if unknown:
                raise ValueError(f"fix {fix.id} addresses unknown cause(s): {', '.join(unknown)}{_hint(unknown[0], cause_ids)}")
            if fix.cost not in self.cost_weights:
                raise ValueError(f"fix {fix.id}: no cost weight for '{fix.cost}'")
        return self

    def fix_ids(self) -> list[str]:
        return [f.id for f in self.fixes]

    def source_of(self, evidence: str) -> str:
        """Where an evidence key's signal comes from (the longest matching prefix)."""
        prefixes = [p for p in self.evidence_sources if evidence.startswith(p)]
        return self.evidence_sources[max(prefixes, key=len)] if prefixes else "other"

    def healthy(self, evidence: str) -> bool:
        """Does the evidence (a key or a signal it matched) describe a healthy run?"""
        if evidence in self.signals:
            return self.signals[evidence].healthy
        _, _, status = evidence.partition(":")
        spec = self.rule_statuses.get(status)
        return spec is not None and spec.healthy

    def is_signal(self, name: str) -> bool:
        """Is `name` (the part of a key before its status) a signal rather than a rule id?"""
        return any(key.partition(":")[0] == name for key in self.signals)

    def key_problem(self, key: str, rule_ids: Iterable[str]) -> str | None:
        """Why `key` is not in the vocabulary (None when it is), with the nearest known key."""
        known = set(rule_ids)
        if key in self.signals:
            return None
        rule, sep, status = key.partition(":")
        if rule.endswith("*"):
            # A wildcard must match something: a rule id, a generated-id prefix or a signal.
            prefix = rule[:-1]
            matches = ([r for r in known if r.startswith(prefix)] or registry.module_for(prefix) is not None
                       or any(k.startswith(prefix) for k in self.signals))
            if not prefix or not matches:
                return f"'{key}': the wildcard {rule} matches no rule id or signal"
            if sep and status not in self.rule_statuses:
                return f"'{key}': unknown status '{status}'{_hint(status, self.rule_statuses)}"
            return None
        if rule in known and sep:
            spec = self.rule_statuses.get(status)
            if spec is not None and (not spec.rules or rule in spec.rules):
                return None
        candidates = [*self.signals, *(f"{r}:{s}" for r in known for s, spec in self.rule_statuses.items()
                                       if not spec.rules or r in spec.rules)]
        if rule in known and not sep:
            return f"'{key}': a rule's evidence key needs a status (RULE:STATUS){_hint(key + ':fail', candidates)}"
        return f"'{key}' is not an evidence key: not RULE:STATUS of a rule and status it reports, nor a signal{_hint(key, candidates)}"


def _hint(name: str, known: Iterable[str]) -> str:
    match = difflib.get_close_matches(name, list(known), n=1)
    return f"; did you mean '{match[0]}'?" if match else ""


def bundled_rule_ids(needed: Iterable[str] = ()) -> set[str]:
    """The rule ids a report can hold under the bundled profiles: the default profile's, and the
    other profiles' too when one of `needed` is not among them (generated ids such as
    baseline.NAME depend on the profile's baselines)."""
    ids = set(registry.rule_ids(build_settings(DEFAULT_PROFILE)))
    missing = {n for n in needed if n not in ids}
    for name in profile_names():
        if not missing:
            break
        if name != DEFAULT_PROFILE:
            ids |= set(registry.rule_ids(build_settings(name)))
            missing -= ids
    return ids


def _check_vocabulary(table: Tables) -> None:
    path = table_path("causes.yaml")
    keys = [(f"causes.{cause.id}.evidence", key) for cause in table.causes for key in cause.evidence]
    keys += [("tempered_by", key) for key in table.tempered_by]
    rule_ids = bundled_rule_ids(key.partition(":")[0] for _, key in keys
                                if key not in table.signals and not key.partition(":")[0].endswith("*"))
    for status, spec in table.rule_statuses.items():
        for rule in spec.rules:
            if rule not in rule_ids:
                raise ConfigError(f"{path}: rule_statuses.{status}.rules: unknown rule id '{rule}'{_hint(rule, rule_ids)}")
    for where, key in keys:
        problem = table.key_problem(key, rule_ids)
        if problem is not None:
            raise ConfigError(f"{path}: {where}: {problem}")
    names = [*rule_ids, *table.signals]
    for prefix in table.evidence_sources:
        if not any(name.startswith(prefix) for name in names):
            raise ConfigError(f"{path}: evidence_sources: the prefix '{prefix}' matches no rule id or signal"
                              f"{_hint(prefix, names)}")
    if table.tempered_source not in table.evidence_sources.values():
        raise ConfigError(f"{path}: tempered_source: '{table.tempered_source}' is none of the evidence_sources"
                          f"{_hint(table.tempered_source, table.evidence_sources.values())}")


@cache
def tables() -> Tables:
    causes = load_fact_table("causes.yaml", CauseTable)
    fixes = load_fact_table("fixes.yaml", FixTable)
    try:
        table = Tables(rule_statuses=causes.rule_statuses, signals=causes.signals,
                       evidence_sources=causes.evidence_sources, tempered_source=causes.tempered_source,
                       tempered_by=causes.tempered_by, causes=causes.causes, fixes=fixes.fixes,
                       cost_weights=fixes.cost_weights)
    except ValidationError as exc:
        # The cross-table checks are about fixes: what they address and what they cost.
        message = exc.errors()[0]["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{table_path('fixes.yaml')}: {message}") from exc
    _check_vocabulary(table)
    return table


def _origin(settings: Settings, path: str, fallback: str) -> str:
    """The file (or option) a configuration value came from: the value's own origin, one of its
    leaves', or the nearest enclosing key's (a list is one leaf)."""
    found = settings.origins.get(path) or next((o for k, o in settings.origins.items() if k.startswith(path + ".")), None)
    parts = path.split(".")
    while found is None and len(parts) > 1:
        parts.pop()
        found = settings.origins.get(".".join(parts))
    return found or fallback


def check_references(settings: Settings, table: Tables | None = None) -> None:
    """Every fix id and evidence key the settings name must be in the tables: a typo is one line
    naming where it came from and the nearest known name, never a silently ignored entry."""
    table = table or tables()
    fix_ids = table.fix_ids()
    fallback = f"profile {settings.profile}"
    named: list[tuple[str, str, list[str]]] = [(_origin(settings, "tried", "--tried"), "tried", list(settings.tried_outcomes()))]
    named += [(_origin(settings, f"applied.{fix}", fallback), f"applied.{fix}", [fix]) for fix in settings.applied]
    named += [(_origin(settings, f"history.{i}", fallback), f"history (Round {row.round})", row.fixes)
              for i, row in enumerate(settings.history)]
    named.append((_origin(settings, "ranking.escalation.fixes", fallback), "ranking.escalation.fixes",
                  list(settings.ranking.escalation.fixes)))
    for origin, where, ids in named:
        unknown = list(dict.fromkeys(i for i in ids if i not in fix_ids))
        if unknown:
            shown = ", ".join("".join(ch if ch.isprintable() else "?" for ch in i) for i in unknown)
            error = UsageError if origin == "--tried" else ConfigError
            place = origin if origin == f"--{where}" else f"{origin}: {where}"  # `--tried`, not `--tried: tried`
            raise error(f"{place}: unknown fix id(s) {shown} (see `percediag fixes`){_hint(unknown[0], fix_ids)}")
    rule_ids = registry.rule_ids(settings)
    for fix, entry in settings.applied.items():
        for field, keys in (("verify_when", entry.verify_when), ("again_when", entry.again_when)):
            for key in keys:
                problem = table.key_problem(key, rule_ids)
                if problem is not None:
                    origin = _origin(settings, f"applied.{fix}.{field}", fallback)
                    raise ConfigError(f"{origin}: applied.{fix}.{field}: {problem}")
