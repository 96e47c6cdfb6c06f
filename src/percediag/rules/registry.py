"""Discovers the rule modules and validates their options."""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from percediag.errors import ConfigError
from percediag.findings import CATEGORY_ORDER

if TYPE_CHECKING:
    from percediag.settings import Settings

_NOT_RULES = {"registry", "base"}


@cache
def modules() -> tuple[ModuleType, ...]:
    """Every rule module, in report order (category, then ORDER)."""
    import percediag.rules as package

    found = []
    for info in pkgutil.iter_modules(package.__path__):
        if info.name in _NOT_RULES:
            continue
        found.append(importlib.import_module(f"percediag.rules.{info.name}"))
    return tuple(sorted(found, key=lambda m: (CATEGORY_ORDER.index(m.CATEGORY), m.ORDER, m.ID)))


def module_ids() -> list[str]:
    return [m.ID for m in modules()]


def rule_ids(settings: Settings) -> list[str]:
    """Every rule id a report under these settings can contain."""
    ids: list[str] = []
    for module in modules():
        ids.extend(module.ids(settings) if hasattr(module, "ids") else [module.ID])
    return ids


def module_for(rule_id: str) -> ModuleType | None:
    """The module that reports `rule_id` (generated ids map to their module)."""
    for module in modules():
        if module.ID == rule_id:
            return module
        prefix = getattr(module, "ID_PREFIX", None)
        if prefix and rule_id.startswith(prefix):
            return module
    return None


def options_for(settings: Settings, rule_id: str) -> Any:
    """The rule's validated options, cached on the settings object they belong to."""
    cache = settings.options_cache
    if rule_id not in cache:
        module = module_for(rule_id)
        cache[rule_id] = module.Options.model_validate(settings.rules[module.ID])
    return cache[rule_id]


def validate_rules(settings: Settings) -> None:
    """Every configured rule exists, every rule is configured, and each validates."""
    known = module_ids()
    for rule_id in settings.rules:
        if rule_id not in known:
            hint = difflib.get_close_matches(rule_id, known, n=1)
            suggestion = f"; did you mean '{hint[0]}'?" if hint else ""
            origin = _origin(settings, f"rules.{rule_id}")
            raise ConfigError(f"{origin}: rules.{rule_id}: unknown rule{suggestion}")
    for module in modules():
        data = settings.rules.get(module.ID)
        if data is None:
            raise ConfigError(f"profile {settings.profile}: rules.{module.ID}: not configured (every rule needs its reason and thresholds)")
        if not isinstance(data, dict):
            raise ConfigError(f"{_origin(settings, f'rules.{module.ID}')}: rules.{module.ID}: expected a mapping")
        try:
            module.Options.model_validate(data)
        except ValidationError as exc:
            error = exc.errors()[0]
            field = ".".join(str(p) for p in error["loc"])
            path = f"rules.{module.ID}" + (f".{field}" if field else "")
            if error["type"] == "extra_forbidden":
                hint = difflib.get_close_matches(str(error["loc"][-1]), list(module.Options.model_fields), n=1)
                message = "unknown key" + (f"; did you mean '{hint[0]}'?" if hint else "")
            else:
                message = error["msg"].removeprefix("Value error, ")
            raise ConfigError(f"{_origin(settings, path)}: {path}: {message}") from exc


def _origin(settings: Settings, path: str) -> str:
    for key, origin in settings.origins.items():
        if key == path or key.startswith(path + "."):
            return origin
    return f"profile {settings.profile}"
