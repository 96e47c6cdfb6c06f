"""Where the user's configuration comes from.

Precedence, first found wins: `--config FILE`; else discovery (unless
`--isolated`); else none (the bundled profile alone). Command-line
`--profile`, `--set` and `--tried` apply on top.

Discovery looks in the working directory, then in each parent, and in each
folder, in this order, at `.percediag.yaml`, `.percediag.yml`, then
`pyproject.toml`. It stops at the first folder holding any of the three (a
`pyproject.toml` without a `[tool.percediag]` table still ends the search:
that folder is the project, and its configuration is "none"), or at the
folder holding `.git` (the project's root): no file above a project is ever
read. Outside any project the search also ends at the user's home folder
(when it started inside it) and at the filesystem's root.

Every candidate is checked before it is read:
- a name that exists but is not a regular file (a folder, a FIFO, a socket, a
  dangling symlink) is an error, not a silent skip: the user meant something;
- a discovered file in a folder anyone can write to (such as /tmp) that the
  current user does not own is refused: anyone could have planted it to flip
  a verdict. `--config FILE` reads it on purpose; `--isolated` ignores it;
- every file is size-checked before it is read.
"""

from __future__ import annotations

import os
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from percediag.errors import ConfigError
from percediag.events.regular import kind_of
from percediag.settings import Settings, SettingsRecipe, parse_override, read_config_bytes, read_yaml
from percediag.settings import _check_depth as check_depth

CONFIG_NAMES = (".percediag.yaml", ".percediag.yml")
PYPROJECT = "pyproject.toml"


@dataclass
class Discovery:
    """What discovery found: the file (None: no configuration), its origin and mapping, and the folders searched."""

    path: Path | None = None
    origin: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    searched: list[Path] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return self.path is not None


def discover(start: Path | None = None) -> Discovery:
    """Search from `start` (the working directory) up to the project's end; see the module docstring."""
    try:
        here = (start or Path.cwd()).resolve()
        return _search(here)
    except OSError as exc:
        where = f" in {exc.filename}" if getattr(exc, "filename", None) else " from the working directory"
        raise ConfigError(f"cannot search for configuration{where}: {exc.strerror or exc} "
                          "(give --config FILE, or --isolated)") from exc


def config_candidates(start: Path | None = None) -> list[Path]:
    """Every configuration file discovery could read from `start` up to the project's end, used or
    not (`--isolated`, `-c`, a pyproject without the table): outputs must never overwrite them."""
    try:
        here = (start or Path.cwd()).resolve()
    except OSError:
        return []
    found: list[Path] = []
    for directory in _folders(here):
        found += [directory / name for name in (*CONFIG_NAMES, PYPROJECT) if (directory / name).is_file()]
        if found or (directory / ".git").exists():
            return found
    return found


def _folders(here: Path) -> list[Path]:
    """The folders discovery may look in, nearest first: up to the root, or the home folder
    when the search starts inside it (a project-less folder never reads above its owner's home)."""
    folders = [here, *here.parents]
    home = _home()
    if home is not None and home in folders:
        folders = folders[:folders.index(home) + 1]
    return folders


def _home() -> Path | None:
    value = os.environ.get("HOME")
    if not value:
        return None
    try:
        return Path(value).resolve()
    except OSError:
        return None


def _search(here: Path) -> Discovery:
    result = Discovery()
    for directory in _folders(here):
        result.searched.append(directory)
        for name in CONFIG_NAMES:
            candidate = directory / name
            if _regular(candidate):
                result.path, result.origin, result.data = candidate, str(candidate), read_yaml(candidate)
                return result
        pyproject = directory / PYPROJECT
        if _regular(pyproject):
            table = _pyproject_table(pyproject)
            if table is not None:
                result.path, result.origin, result.data = pyproject, f"{pyproject} [tool.percediag]", table
            return result
        if (directory / ".git").exists():
            return result
    return result


def _regular(candidate: Path) -> bool:
    """True for a readable candidate, False when nothing is there; an error for anything else."""
    try:
        info = candidate.stat()
    except FileNotFoundError:
        if candidate.is_symlink():
            raise ConfigError(f"{candidate}: dangling symlink to {os.readlink(candidate)} "
                              "(remove it, or pass --isolated)") from None
        return False
    if stat.S_ISREG(info.st_mode):
        _check_trusted(candidate, info)
        return True
    raise ConfigError(f"{candidate}: {kind_of(info.st_mode)}, not a configuration file (remove it, or pass --isolated)")


def _check_trusted(candidate: Path, info: os.stat_result) -> None:
    """Refuse a discovered file another user could have planted in a shared folder (/tmp)."""
    folder = candidate.parent.stat()
    if folder.st_mode & stat.S_IWOTH and info.st_uid not in (os.geteuid(), 0):
        raise ConfigError(f"{candidate}: in a folder anyone can write to and owned by another user "
                          f"(uid {info.st_uid}); not read (use --config {candidate} to trust it, or --isolated)")


def find_user_config(start: Path | None = None) -> tuple[str, dict[str, Any]] | None:
    """The project's configuration, as (origin, mapping), or None (see `discover`)."""
    found = discover(start)
    return (found.origin, found.data) if found.found else None


def _pyproject_table(path: Path) -> dict[str, Any] | None:
    try:
        data = tomllib.loads(read_config_bytes(path).decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 (byte {exc.start})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    except RecursionError as exc:
        raise ConfigError(f"{path}: TOML nested too deeply") from exc
    tool = data.get("tool")
    table = tool.get("percediag") if isinstance(tool, dict) else None
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.percediag] must be a table")
    check_depth(table, f"{path} [tool.percediag]", 0)
    return table


def load_recipe(
    config: Path | None = None,
    profile: str | None = None,
    sets: list[str] | None = None,
    tried: list[str] | None = None,
    start: Path | None = None,
    isolated: bool = False,
) -> SettingsRecipe:
    """What the settings are made of; the profile may still be chosen per log.
    `isolated` skips discovery: only an explicit `config` is read."""
    path: Path | None = None
    user = None
    if config is not None:
        try:
            found = config.is_file()
        except OSError as exc:  # a name too long, a folder we cannot search
            raise ConfigError(f"{str(config)[:200]}: {exc.strerror or exc}") from exc
        if not found:
            what = ("is a directory, not a configuration file" if config.is_dir()
                    else "is not a regular file (a configuration is read from a file)" if config.exists()
                    else "no such configuration file")
            raise ConfigError(f"{config}: {what}")
        path, user = config, (str(config), read_yaml(config))
    elif not isolated:
        found = discover(start)
        if found.found:
            path, user = found.path, (found.origin, found.data)
    overrides = [parse_override(item) for item in sets or []]
    recipe = SettingsRecipe(profile=profile, user_config=user, overrides=overrides, tried=tried, config_file=path)
    recipe.build()  # validate now: a bad configuration is an error before any log is read
    return recipe


def load_settings(
    config: Path | None = None,
    profile: str | None = None,
    sets: list[str] | None = None,
    tried: list[str] | None = None,
    start: Path | None = None,
    isolated: bool = False,
) -> Settings:
    """The settings of commands that judge no particular log (rules, config): the profile given, or the default."""
    return load_recipe(config, profile, sets, tried, start, isolated).build()
