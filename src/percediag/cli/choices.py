"""The values of the options `check` shares with the typer app: output formats, the exit gate,
colour; and the exit codes (ruff/pytest style). Typer-free: the quick reader of a plain
`check` (cli.quick) converts to them without importing typer."""

from __future__ import annotations

from enum import Enum

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class Format(str, Enum):
    auto = "auto"
    text = "text"
    json = "json"
    markdown = "markdown"
    github = "github"
    junit = "junit"
    sarif = "sarif"
    html = "html"


class FailOn(str, Enum):
    fail = "fail"
    warn = "warn"
    never = "never"


class Color(str, Enum):
    auto = "auto"
    always = "always"
    never = "never"
