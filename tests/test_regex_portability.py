"""Patterns work the same on every Python 3.11+: no possessive repeat of a group.

CPython 3.11.2 (Debian 12's python3, the one the README's set-up and CI use there) lets
`(?:...)*+` run past the point where the group stops matching: `(?:1,)*+` matched `1 2`'s
first character. Possessive repeats of single characters or classes (`\\s*+`, `[^"]*+`) are fine.
"""

from __future__ import annotations

import re

from tests.helpers import ROOT

POSSESSIVE_GROUP = re.compile(r"\)(?:\*|\+|\?|\{\d*,?\d*\})\+")


def test_no_pattern_repeats_a_group_possessively():
    offenders = []
    for path in sorted((ROOT / "src" / "percediag").rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0] if not line.lstrip().startswith(("r'", 'r"')) else line
            if POSSESSIVE_GROUP.search(code):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)
