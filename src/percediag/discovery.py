"""Where the user's configuration comes from.

Precedence, first found wins: `--config FILE`; `.percediag.yaml` or
`.percediag.yml` in the working directory or the nearest parent; the
`[tool.percediag]` table of the nearest `pyproject.toml`; none (the bundled
profile alone). Command-line `--profile`, `--set` and `--tried` apply on top.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from percediag.errors import ConfigError
from percediag.settings import Settings, SettingsRecipe, parse_override, read_yaml

CONFIG_NAMES = (".percediag.yaml", ".percediag.yml")


def find_user_config(start: Path | None = None) -> tuple[str, dict[str, Any]] | None:
    """The nearest project configuration, as (origin, mapping), or None."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        for name in CONFIG_NAMES:
            candidate = directory / name
            if candidate.is_file():
                return str(candidate), read_yaml(candidate)
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file():
            table = _pyproject_table(pyproject)
            if table is not None:
                return f"{pyproject} [tool.percediag]", table
    return None


def _pyproject_table(path: Path) -> dict[str, Any] | None:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    table = data.get("tool", {}).get("percediag")
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.percediag] must be a table")
    return table


def load_recipe(
    config: Path | None = None,
    profile: str | None = None,
    sets: list[str] | None = None,
    tried: list[str] | None = None,
    start: Path | None = None,
) -> SettingsRecipe:
    """What the settings are made of; the profile may still be chosen per log."""
    if config is not None:
        if not config.is_file():
            raise ConfigError(f"{config}: no such configuration file")
        user = (str(config), read_yaml(config))
    else:
        user = find_user_config(start)
    overrides = [parse_override(item) for item in sets or []]
    recipe = SettingsRecipe(profile=profile, user_config=user, overrides=overrides, tried=tried)
    recipe.build()  # validate now: a bad configuration is an error before any log is read
    return recipe


def load_settings(
    config: Path | None = None,
    profile: str | None = None,
    sets: list[str] | None = None,
    tried: list[str] | None = None,
    start: Path | None = None,
) -> Settings:
    """The settings of commands that judge no particular log (rules, config): the profile given, or the default."""
    return load_recipe(config, profile, sets, tried, start).build()
