"""The quick reader of a plain check line: `percediag check train.log -q --fail-on warn`.

Most runs of percediag are a check of one log; typer's import and the build of every
command's parser are about 45 ms of such a run's start (docs/benchmarks.md). A check line
made only of log paths and check's own options, each written out in full (`--format json`,
`--format=json`, `-f json`), is read here into run_check's arguments, and typer is never
imported. Anything else returns None and the typer app reads the whole line: another
command, `--help`, `--` , joined short flags (`-qv`), a value glued to a short option
(`-fjson`), a --config path that exists and cannot be read, an option or path starting with `-` that is not in OPTIONS, a value starting with
`-` (but `-` itself), a choice that is not one, an option given twice that takes one value, a missing value.
So help and every usage error stay typer's, word for word.

tests/test_quick_check.py holds that OPTIONS names exactly check's options in the typer app,
and that for every line this reader accepts, typer hands run_check the same arguments.
"""

from __future__ import annotations

import os
from enum import Enum
from pathlib import Path
from typing import Any, NamedTuple

from percediag.cli.choices import Color, FailOn, Format


class Option(NamedTuple):
    parameter: str  # run_check's argument
    kind: str  # flag (no value), one (a value, once) or many (repeatable, a list)
    convert: Any = str  # str, Path or an Enum of the accepted choices


_FLAG, _ONE, _MANY = "flag", "one", "many"

# check's options as the typer app declares them (cli.commands.check); a test keeps the two equal.
OPTIONS: dict[str, Option] = {}
for names, option in (
    (("--profile", "-p"), Option("profile", _ONE)),
    (("--config", "-c"), Option("config", _ONE, Path)),
    (("--set",), Option("set_", _MANY)),
    (("--tried",), Option("tried", _MANY)),
    (("--history",), Option("history", _MANY)),
    (("--format", "-f"), Option("formats", _MANY, Format)),
    (("--output", "-o"), Option("outputs", _MANY)),
    (("--run",), Option("run", _ONE)),
    (("--fail-on",), Option("fail_on", _ONE, FailOn)),
    (("--quiet", "-q"), Option("quiet", _FLAG)),
    (("--verbose", "-v"), Option("verbose", _FLAG)),
    (("--color",), Option("color", _ONE, Color)),
    (("--baseline", "-b"), Option("baseline", _ONE)),
    (("--events",), Option("events", _ONE)),
    (("--isolated",), Option("isolated", _FLAG)),
):
    for name in names:
        OPTIONS[name] = option


def _value(option: Option, text: str) -> Any:
    """The value typer would pass for `text`, or None when typer would refuse it (or might)."""
    if (text.startswith("-") and text != "-") or (option.convert is Path and not _plain_path(text)):
        return None  # typer decides: a value that looks like an option, a path its Path type refuses
    if isinstance(option.convert, type) and issubclass(option.convert, Enum):
        return next((choice for choice in option.convert if choice.value == text), None)
    return option.convert(text)


def _plain_path(text: str) -> bool:
    """A path typer's Path type passes as it is: not empty, and missing or readable (an existing
    path that cannot be read is refused there, with typer's message)."""
    try:
        return bool(text) and (not os.path.exists(text) or os.access(text, os.R_OK))
    except (OSError, ValueError):  # a NUL in the name, a name too long: typer's to say
        return False


def read_check_line(argv: list[str]) -> dict[str, Any] | None:
    """run_check's arguments for a plain check line (argv without the program name): those the
    line gives, the others left to run_check's defaults; or None: the typer app reads the line."""
    if not argv or argv[0] != "check":
        return None
    request: dict[str, Any] = {}
    tokens = iter(argv[1:])
    for token in tokens:
        if token == "-" or not token.startswith("-"):
            request["paths"] = [*request.get("paths", []), token]
            continue
        name, glued, text = token.partition("=")
        option = OPTIONS.get(name)
        if option is None or (glued and not name.startswith("--")):
            return None  # unknown (or --help, --), or `-f=json`: typer's to read
        if option.kind != _MANY and option.parameter in request:
            return None  # given twice: typer's to read
        if option.kind == _FLAG:
            if glued:
                return None
            request[option.parameter] = True
            continue
        if not glued:
            text = next(tokens, None)
            if text is None:
                return None  # the value is missing: typer says so
        value = _value(option, text)
        if value is None:
            return None
        request[option.parameter] = [*request.get(option.parameter, []), value] if option.kind == _MANY else value
    return request
