"""Untrusted text stays text: the one sanitiser every output path uses.

Everything a report quotes came from someone else: the log (messages,
exceptions, trainer tags, run titles, configuration values), its file name,
the user's configuration and options. Before any of it reaches an output,
`clean` removes what a terminal, a CI log or a reader of the file would
execute rather than show:

- every control character (Unicode category Cc: C0 U+0000-U+001F, DEL
  U+007F, C1 U+0080-U+009F, so ESC, CSI, OSC, BEL, NUL, backspace) except
  tab;
- line breaks (LF, CR, CRLF, VT, FF, NEL, and U+2028/U+2029) become one
  space in one-line text, and LF in text that is multi-line by design;
- the bidirectional embedding, override and isolate controls (U+202A-U+202E,
  U+2066-U+2069): not C0/C1, but they reorder what the reader sees
  ("Trojan Source", CVE-2021-42574), so a line can show something else
  than it says. They are removed; the marks LRM, RLM and ALM, which reorder
  nothing on their own, are kept;
- lone surrogates (undecodable file names) and U+FFFE/U+FFFF, which cannot
  be encoded or which XML 1.0 forbids, become U+FFFD.

The rest of Unicode is kept as it is. On top of `clean`, each format escapes
what its own syntax needs: `markdown_text` and `markdown_code` (HTML and
Markdown syntax, `@mentions` put in code spans so a pull-request comment
notifies nobody), `workflow_data` and `workflow_property` (GitHub workflow
commands). XML, JSON and HTML escape through their serialisers, which only
ever see cleaned strings. `clean_model` and `clean_data` apply `clean` to
every string of a pydantic model or of JSON-like data.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    # Imported when used: the CLI cleans its error line without loading pydantic.
    from pydantic import BaseModel

_BREAKS = "\n\r\x0b\x0c\x85\u2028\u2029"
_BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"

_UNSAFE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]")


def _table(line_break: str) -> dict[int, str | None]:
    table: dict[int, str | None] = {code: None for code in (*range(0x20), *range(0x7F, 0xA0))}
    del table[ord("\t")]
    for char in _BREAKS:
        table[ord(char)] = line_break
    for char in _BIDI:
        table[ord(char)] = None
    for code in (*range(0xD800, 0xE000), 0xFFFE, 0xFFFF):
        table[code] = "\ufffd"
    return table


_ONE_LINE = _table(" ")
_MULTI_LINE = _table("\n")


def clean(text: str, multiline: bool = False) -> str:
    """`text` without controls (but tab), bidi overrides, surrogates and U+FFFE/U+FFFF.

    Line breaks become a space, or with `multiline` one LF (CRLF counts as one break).
    The same string object comes back when there is nothing to remove.
    """
    if _UNSAFE.search(text) is None:
        return text
    if "\r\n" in text:
        text = text.replace("\r\n", "\n")
    return text.translate(_MULTI_LINE if multiline else _ONE_LINE)


def clean_data(value: Any, multiline: frozenset[str] = frozenset()) -> Any:
    """JSON-like data (dicts, lists, strings, numbers) with every string cleaned, keys too,
    and non-finite floats as None (so `json.dumps(..., allow_nan=False)` never fails).
    Strings under a key in `multiline` keep their line breaks (as LF)."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {clean(k) if isinstance(k, str) else k:
                clean(v, True) if isinstance(v, str) and k in multiline else clean_data(v, multiline)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_data(v, multiline) for v in value]
    return value


M = TypeVar("M", bound="BaseModel")


def clean_model(model: M) -> M:
    """A copy of `model` with every string in it cleaned (nested models, lists, dicts, keys).

    Parts with nothing to clean are shared, not copied: a clean report costs one walk.
    """
    from pydantic import BaseModel

    return _clean_any(model, BaseModel)


def _clean_any(value: Any, model_type: type) -> Any:
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, model_type):
        updates = {}
        for name in type(value).model_fields:
            item = getattr(value, name)
            cleaned = _clean_any(item, model_type)
            if cleaned is not item:
                updates[name] = cleaned
        return value.model_copy(update=updates) if updates else value
    if isinstance(value, list):
        if value and isinstance(value[0], (int, float)) and all(type(v) in (int, float) for v in value):
            return value
        items = [_clean_any(v, model_type) for v in value]
        return value if all(a is b for a, b in zip(items, value)) else items
    if isinstance(value, tuple):
        items = tuple(_clean_any(v, model_type) for v in value)
        return value if all(a is b for a, b in zip(items, value)) else items
    if isinstance(value, dict):
        changed = False
        out = {}
        for key, item in value.items():
            new_key, new_item = _clean_any(key, model_type), _clean_any(item, model_type)
            changed = changed or new_key is not key or new_item is not item
            out[new_key] = new_item
        return out if changed else value
    return value


# Markdown (GitHub flavoured): a pull-request comment.

# One or more mentions in a row (`@a@b` is one code span): users, and teams as @org/team.
_MENTION = re.compile(r"(?:@[A-Za-z0-9][A-Za-z0-9_-]*(?:/[A-Za-z0-9][A-Za-z0-9_.-]*)?)+")
# Backslash-escaped: what would start emphasis, code, links, images, strikethrough, table cells
# (`_` between two letters or digits, as in `logit_std`, starts nothing and stays as it is).
_MD_SPECIAL = re.compile(r"([\\`*\[\]~|]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")
# What would start a block at the beginning of a line: heading, list item, setext underline.
# (`-0.5`, `12.5` and `#3` start nothing and stay as they are.)
_MD_BLOCK = re.compile(r"^(#{1,6}(?=[ \t]|$)|[+-](?=[ \t]|$)|\d{1,9}(?=[.)](?:[ \t]|$))|[=-]+(?=[ \t]*$))")


def _md_escape(text: str) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def _md_block(match: re.Match) -> str:
    marker = match.group(1)
    # `#` -> `\#`; `12.` -> `12\.` (the escape goes before the list item's `.` or `)`).
    return f"\\{marker}" if not marker[0].isdigit() else f"{marker}\\"


def markdown_text(text: object) -> str:
    """Untrusted text as Markdown that shows exactly that text, on one line, safe in a table cell.

    HTML is escaped as entities (`&lt;b&gt;` shows `<b>`); Markdown syntax
    characters are backslash-escaped; an `@mention` goes in a code span
    (`` `@octocat` ``), where GitHub links and notifies nobody. (A backslash or an
    entity such as `&#64;` would not do: GitHub finds mentions in the rendered text.)
    """
    # Leading blanks show nothing, and four of them (or a tab) would start a code block.
    text = clean(str(text)).lstrip(" \t")
    out: list[str] = []
    last = 0
    for match in _MENTION.finditer(text):
        out.append(_md_escape(text[last:match.start()]))
        out.append(f"`{match.group()}`")
        last = match.end()
    out.append(_md_escape(text[last:]))
    return _MD_BLOCK.sub(_md_block, "".join(out), count=1)


def markdown_code(text: object, table: bool = False) -> str:
    """Untrusted text as one Markdown code span: shown verbatim, no HTML, no mention.

    The fence is longer than any run of backticks inside; `table` escapes `|`,
    which GitHub's table syntax splits cells on even inside code.
    """
    text = clean(str(text))
    longest = max((len(run) for run in re.findall("`+", text)), default=0)
    fence = "`" * (longest + 1)
    if text.startswith("`") or text.endswith("`") or (text.startswith(" ") and text.endswith(" ") and text.strip()):
        text = f" {text} "
    if table:
        text = text.replace("|", "\\|")
    return f"{fence}{text}{fence}" if text else "` `"


# GitHub workflow commands: `::error file=...,line=...,title=...::message`.

def workflow_data(text: str) -> str:
    """The message of a workflow command: cleaned (line breaks kept, as LF), then `%`, CR
    and LF percent-encoded, the runner's escaping, which it undoes: the command stays one
    line, and a message with a line break shows it."""
    return clean(text, multiline=True).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def workflow_property(text: str) -> str:
    """A property value of a workflow command (file, title): on one line, then `%`, CR, LF,
    `:` and `,` percent-encoded."""
    return workflow_data(clean(text)).replace(":", "%3A").replace(",", "%2C")


def model_json(model: BaseModel) -> str:
    """A pydantic model as indented JSON (one line break at the end), every string cleaned."""
    return clean_model(model).model_dump_json(indent=2) + "\n"
