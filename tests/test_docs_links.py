"""Every relative link in the README and docs/ points at a file that exists and, with a #fragment, at a
heading of that file (GitHub's anchor rules): reference material moved out of the README stays reachable."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    found = set()
    for heading in re.findall(r"^#{1,6} (.+)$", text, re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        found.add(slug)
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_resolve(page: Path) -> None:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    broken = []
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):
            continue  # an external address
        file_part, _, fragment = target.partition("#")
        destination = (page.parent / file_part).resolve() if file_part else page
        if not destination.exists():
            broken.append(target)
        elif fragment and destination.suffix == ".md" and fragment not in anchors(destination):
            broken.append(target)
    assert not broken, broken


def test_the_readme_is_a_front_door() -> None:
    """What it is, the two commands, a picture, commands, exit codes: a few screens; the rest in docs/."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 220
    for heading in ("## Commands", "## Exit codes", "## How the advice is ranked", "## Hostile input", "## Documentation"):
        assert heading in readme
    linked = set(re.findall(r"\(docs/([a-z-]+\.md)", readme))
    assert linked == {p.name for p in (ROOT / "docs").glob("*.md")}, "every docs page is linked from the README"
