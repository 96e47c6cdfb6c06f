"""The declared form of a block kind, and the grammar built from the declarations.

Each parser module ends with one `KIND = Kind(...)`: its name, its marker
(the regex that opens it), the pieces of that marker the fast scan looks
for, and what the marker opens (a multi-line `Block` class or a
single-line handler). `Grammar` builds from those declarations alone
everything that recognises a marker: the dispatcher's alternation and
tables (`parsers.Parser`) and the fast scan (`prescan.Scan`), which the
helper process receives on its command line (it imports no parser).
So a new block kind is one module, listed once in `parsers.KINDS`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from percediag.prescan import Scan

if TYPE_CHECKING:
    from percediag.parsers.block import Block
    from percediag.parsers.builder import Builder


@dataclass(frozen=True)
class Kind:
    """One block kind, as the dispatcher and the fast scan see it.

    - `name`: the marker's group name; `Block.owns_marker` receives it.
    - `marker`: a regex; a line holding a match opens this kind (and ends
      the block open before it, unless that block owns the marker).
    - `scan`: byte regexes, each a piece of the marker from a byte that is
      rare in the bulk of a log (gradient blocks and progress bars hold no
      F, C, T, P or I), opening with a literal (`prescan.Scan` derives the
      bytes it searches for from it). Together they must find every line
      the marker matches; they may find more (the line parser decides).
    - `block` (a multi-line record, opened on the marker line) or
      `handle` (a single-line record, handled at once): exactly one.
    - `fills_line`: the marker opens the kind only when it is the whole
      line (blanks around it allowed); elsewhere it still ends an open block.
    - `bulk`: the kind the fast path reads in bulk between markers, instead
      of scanning for it (one kind: gradient). Its marker is a literal (the
      line start the fast path searches for) and `bulk` the regex of its
      plain form, capturing total, loss and balance (`gradient_matrix`).
    """

    name: str
    marker: str
    scan: tuple[bytes, ...] = ()
    block: type[Block] | None = None
    handle: Callable[[int, str, Builder], None] | None = None
    fills_line: bool = False
    bulk: bytes | None = None

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(f"kind name {self.name!r} is not an identifier")
        if (self.block is None) == (self.handle is None):
            raise ValueError(f"kind {self.name!r} declares neither or both of block and handle")
        if (self.bulk is None) == (not self.scan):
            raise ValueError(f"kind {self.name!r} needs scan pieces, or a bulk form instead of them")
        re.compile(self.marker)


def literal(pattern: str) -> bytes:
    """The bytes a regex of literal characters only matches (`\\[GRAD\\] Step` -> `[GRAD] Step`)."""
    out = []
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            char = next(chars, "")
            if not char or char.isalnum() or char == "_":
                raise ValueError(f"{pattern!r} is not a literal")
        elif char in ".^$*+?{}[]|()":
            raise ValueError(f"{pattern!r} is not a literal")
        out.append(char)
    return "".join(out).encode("ascii")


class Grammar:
    """The dispatcher's tables and the fast scan, built from the kinds' declarations."""

    def __init__(self, kinds: Iterable[Kind]) -> None:
        self.kinds = tuple(kinds)
        names = [kind.name for kind in self.kinds]
        if len(set(names)) != len(names):
            raise ValueError(f"kind names declared twice: {sorted({n for n in names if names.count(n) > 1})}")
        # One alternation, in the declared order: every line costs one search.
        self.markers = re.compile("|".join(f"(?P<{kind.name}>{kind.marker})" for kind in self.kinds))
        self.blocks: dict[str, type[Block]] = {kind.name: kind.block for kind in self.kinds if kind.block is not None}
        self.lines = {kind.name: kind.handle for kind in self.kinds if kind.handle is not None}
        # Markers that must fill their line: checked after the search, on marker lines only.
        self.whole_line = {kind.name: re.compile(rf"^\s*(?:{kind.marker})\s*$") for kind in self.kinds if kind.fills_line}
        bulk = [kind for kind in self.kinds if kind.bulk is not None]
        if len(bulk) != 1:
            raise ValueError(f"the fast path reads one kind in bulk; declared: {[kind.name for kind in bulk]}")
        self.bulk = bulk[0]
        self.scan = Scan(
            markers=tuple(piece for kind in self.kinds for piece in kind.scan),
            header=literal(self.bulk.marker),
            plain=self.bulk.bulk,
        )
