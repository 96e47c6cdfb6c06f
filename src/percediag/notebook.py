"""A Jupyter notebook's output text, read as a stream: memory does not grow with the notebook.

`json.loads` holds the whole document, and a Python object per value: a
notebook of empty lists or short strings takes 10-20 times its size in
memory. Here a small pull parser walks the JSON in chunks of CHUNK_SIZE
characters and keeps only where it is (the path down to the current value,
at most MAX_DEPTH containers deep); strings stream in pieces, so a 100 MB
output string or a base64 image costs no more than a short one. Only what a
log can be made of is decoded: the outputs' `text` (streams), `data` /
`text/plain` (results and displays) and `traceback` (errors), in cell order.

Anything else, whatever its type or depth, is skipped; a value of the wrong
type where output text is expected (a number, null, a nested list) is
skipped or taken as its JSON literal, never an error. Invalid JSON (a
truncated file, a bad escape, trailing data) and nesting deeper than
MAX_DEPTH are refused with `InputError`.

`output_texts(handle, name)` yields (cell number, piece) pairs: a `str` piece
of the current output text, or None when one output text ends (the caller
splits lines; an output text that ends without a newline ends its last line).
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from typing import BinaryIO

from percediag.errors import InputError

CHUNK_SIZE = 1 << 20
MAX_DEPTH = 512
# Longest number literal, key or output_type kept (the rest of a key is scanned, not kept).
MAX_LITERAL = 1024
KEY_CHARS = 64

_WS = re.compile(r"[ \t\n\r]*+")
# A string's body up to its closing quote, an incomplete escape, or the end of the buffer.
# Possessive repeats of a group (`(?:...)*+`) are not used: CPython 3.11.2's re (Debian 12's
# python3) lets them run past their own stop; each iteration here starts with a
# backslash or a literal, so the greedy repeat cannot backtrack into a second reading.
_BODY = re.compile(r'[^"\\]*+(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\]*+)*')
_HIGH_SURROGATE_END = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}\Z")
_LITERAL = re.compile(r"-?(?:0|[1-9][0-9]*+)(?:\.[0-9]++)?(?:[eE][+-]?[0-9]++)?|true|false|null")

# A run of `literal,` inside an array being skipped (plots, embeddings: dense numbers), taken in
# one C-level match instead of one event per number. Each literal is bounded so a longer one
# (refused by `_literal`) stops the run and meets the event path; a literal cut by the buffer's
# end is never followed by its comma, so the run stops before it.
_SCALAR_RUN = re.compile(r"(?:[ \t\n\r]*+(?:-?(?:0|[1-9][0-9]{0,300})(?:\.[0-9]{1,300})?(?:[eE][+-]?[0-9]{1,300})?"
                         r"|true|false|null)[ \t\n\r]*+,)*")

START_MAP, END_MAP, START_ARRAY, END_ARRAY, KEY, STRING, SCALAR = range(7)
# Parser states: what may come next.
_VALUE, _VALUE_OR_END, _KEY, _KEY_OR_END, _COLON, _COMMA_OR_END, _DONE = range(7)


class JsonReader:
    """A pull parser over a binary stream of UTF-8 JSON.

    `next()` returns the next event: (START_MAP,), (END_MAP,), (START_ARRAY,),
    (END_ARRAY,), (KEY, first KEY_CHARS characters of the key), (SCALAR,
    literal text) or (STRING,): the reader then stands inside the string, and
    the caller reads it with `pieces()`, `text(limit)` or `skip_string()`
    before the next `next()`."""

    def __init__(self, handle: BinaryIO, name: str) -> None:
        self.handle = handle
        self.name = name
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")("strict")
        self._buf = ""
        self._pos = 0
        self._eof = False
        self._stack: list[str] = []
        self._state = _VALUE
        self._in_string = False

    # -- input --------------------------------------------------------------

    def error(self, what: str) -> InputError:
        return InputError(f"{self.name}: not a valid notebook (JSON): {what}")

    def _fill(self) -> bool:
        """Append the next chunk to what is left of the buffer; False at the end of the input."""
        if self._eof:
            return False
        data = self.handle.read(CHUNK_SIZE)
        try:
            text = self._decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            raise self.error(f"not UTF-8 ({exc.reason})") from exc
        if not data:
            self._eof = True
        self._buf = self._buf[self._pos:] + text
        self._pos = 0
        return bool(text) or not self._eof

    def _peek(self) -> str:
        """The next character that is not white space ('' at the end of the input), not consumed."""
        while True:
            self._pos = _WS.match(self._buf, self._pos).end()
            if self._pos < len(self._buf):
                return self._buf[self._pos]
            if not self._fill():
                return ""

    # -- events -------------------------------------------------------------

    def next(self) -> tuple:
        if self._in_string:
            self.skip_string()
        while True:
            char = self._peek()
            state = self._state
            if state == _COMMA_OR_END:
                top = self._stack[-1]
                if char == ",":
                    self._pos += 1
                    self._state = _KEY if top == "{" else _VALUE
                    continue
                if char == ("}" if top == "{" else "]"):
                    return self._close()
                raise self.error(f"expected ',' or '{'}' if top == '{' else ']'}', found {_shown(char)}")
            if state == _COLON:
                if char != ":":
                    raise self.error(f"expected ':', found {_shown(char)}")
                self._pos += 1
                self._state = _VALUE
                continue
            if state in (_KEY, _KEY_OR_END):
                if char == "}" and state == _KEY_OR_END:
                    return self._close()
                if char != '"':
                    raise self.error(f"expected a key, found {_shown(char)}")
                self._pos += 1
                self._in_string = True
                key = self.text(KEY_CHARS)
                self._state = _COLON
                return (KEY, key)
            if state == _DONE:
                if char:
                    raise self.error(f"data after the end of the document: {_shown(char)}")
                return ("",)
            # a value
            if char == "]" and state == _VALUE_OR_END:
                return self._close()
            if char and char in "{[":
                if len(self._stack) >= MAX_DEPTH:
                    raise InputError(f"{self.name}: not a notebook: nested deeper than {MAX_DEPTH} levels")
                self._pos += 1
                self._stack.append(char)
                self._state = _KEY_OR_END if char == "{" else _VALUE_OR_END
                return (START_MAP,) if char == "{" else (START_ARRAY,)
            if char == '"':
                self._pos += 1
                self._in_string = True
                self._after_value()
                return (STRING,)
            if char and char in "-0123456789tfn":
                literal = self._literal()
                self._after_value()
                return (SCALAR, literal)
            raise self.error("unexpected end of file" if not char else f"unexpected {_shown(char)}")

    def _close(self) -> tuple:
        self._pos += 1
        opened = self._stack.pop()
        self._after_value()
        return (END_MAP,) if opened == "{" else (END_ARRAY,)

    def _after_value(self) -> None:
        self._state = _COMMA_OR_END if self._stack else _DONE

    def _literal(self) -> str:
        # A literal may go on in the next chunk: have MAX_LITERAL + 1 characters at hand, or all there is.
        while len(self._buf) - self._pos <= MAX_LITERAL and self._fill():
            pass
        match = _LITERAL.match(self._buf, self._pos)
        if match is None:
            raise self.error(f"unexpected {_shown(self._buf[self._pos])}")
        if match.end() - self._pos > MAX_LITERAL:
            raise self.error(f"a number longer than {MAX_LITERAL} characters")
        self._pos = match.end()
        return match.group(0)

    # -- strings ------------------------------------------------------------

    def pieces(self) -> Iterator[str]:
        """The current string, decoded, in pieces of at most about CHUNK_SIZE characters."""
        while True:
            end = _BODY.match(self._buf, self._pos).end()
            closed = end < len(self._buf) and self._buf[end] == '"'
            if not closed and end < len(self._buf):
                # A backslash the pattern did not take: an escape cut by the buffer's end, or invalid.
                if self._eof or len(self._buf) - end >= 6:
                    raise self.error(f"invalid escape {self._buf[end:end + 6]!r}")
            elif not closed:
                # Keep a high surrogate with the low one that may follow in the next chunk.
                cut = _HIGH_SURROGATE_END.search(self._buf, self._pos, end)
                if cut is not None:
                    before = cut.start()
                    while before > self._pos and self._buf[before - 1] == "\\":
                        before -= 1
                    if (cut.start() - before) % 2 == 0:  # its backslash is not itself escaped
                        end = cut.start()
            if end > self._pos:
                raw = self._buf[self._pos:end]
                self._pos = end
                yield json.decoder.scanstring(f'"{raw}"', 1, False)[0] if "\\" in raw else raw
            if closed:
                self._pos = end + 1
                self._in_string = False
                return
            if not self._fill():
                raise self.error("unexpected end of file inside a string")

    def skip_string(self) -> None:
        while True:
            end = _BODY.match(self._buf, self._pos).end()
            if end < len(self._buf) and self._buf[end] == '"':
                self._pos = end + 1
                self._in_string = False
                return
            if end < len(self._buf) and (self._eof or len(self._buf) - end >= 6):
                raise self.error(f"invalid escape {self._buf[end:end + 6]!r}")
            self._pos = end
            if not self._fill():
                raise self.error("unexpected end of file inside a string")

    def text(self, limit: int) -> str:
        """The current string's first `limit` characters (the rest is read and dropped)."""
        kept: list[str] = []
        size = 0
        for piece in self.pieces():
            if size < limit:
                kept.append(piece[:limit - size])
                size += len(kept[-1])
        return "".join(kept)

    def skip(self, event: tuple) -> None:
        """Skip the rest of the value that `event` began."""
        if event[0] == STRING:
            self.skip_string()
        elif event[0] in (START_MAP, START_ARRAY):
            depth = 1
            while depth:
                if self._stack[-1] == "[" and self._state in (_VALUE, _VALUE_OR_END):
                    end = _SCALAR_RUN.match(self._buf, self._pos).end()
                    if end > self._pos:
                        self._pos = end
                        self._state = _VALUE  # after a comma a value must follow: `[1,]` stays an error
                kind = self.next()[0]
                if kind in (START_MAP, START_ARRAY):
                    depth += 1
                elif kind in (END_MAP, END_ARRAY):
                    depth -= 1

    def skip_value(self) -> None:
        self.skip(self.next())


def _shown(char: str) -> str:
    return "end of file" if not char else repr(char)


def output_texts(handle: BinaryIO, name: str) -> Iterator[tuple[int, str | None]]:
    """(cell number, piece of output text) for every output text of the notebook, None ending each text."""
    reader = JsonReader(handle, name)
    if reader.next()[0] != START_MAP:
        raise InputError(f"{name}: not a notebook: no 'cells' list")
    found = False
    while True:
        event = reader.next()
        if event[0] == END_MAP:
            break
        if event[1] != "cells":
            reader.skip_value()
            continue
        value = reader.next()
        if value[0] != START_ARRAY:
            raise InputError(f"{name}: not a notebook: no 'cells' list")
        found = True
        yield from _cells(reader)
    if not found:
        raise InputError(f"{name}: not a notebook: no 'cells' list")
    reader.next()  # the end of the document: refuses trailing data


def _members(reader: JsonReader) -> Iterator[str]:
    """The keys of the object just opened; the caller reads or skips each value."""
    while True:
        event = reader.next()
        if event[0] == END_MAP:
            return
        yield event[1]


def _cells(reader: JsonReader) -> Iterator[tuple[int, str | None]]:
    number = 0
    while True:
        event = reader.next()
        if event[0] == END_ARRAY:
            return
        number += 1
        if event[0] != START_MAP:
            reader.skip(event)
            continue
        for key in _members(reader):
            value = reader.next()
            if key == "outputs" and value[0] == START_ARRAY:
                for piece in _outputs(reader):
                    yield number, piece
            else:
                reader.skip(value)


_TEXT_KEYS = {"text": ("stream",), "data": ("execute_result", "display_data"), "traceback": ("error",)}


def _outputs(reader: JsonReader) -> Iterator[str | None]:
    """Pieces of each output's text. Key order is free in JSON (nbformat writes `data` before
    `output_type`): a text key is read unless the output_type already seen says it has no such text."""
    while True:
        event = reader.next()
        if event[0] == END_ARRAY:
            return
        if event[0] != START_MAP:
            reader.skip(event)
            continue
        kind = None
        seen = set()
        for key in _members(reader):
            value = reader.next()
            if key == "output_type" and value[0] == STRING:
                kind = reader.text(KEY_CHARS)
                continue
            wanted = _TEXT_KEYS.get(key)
            if wanted is None or (kind is not None and kind not in wanted):
                reader.skip(value)
                continue
            if key == "data":
                if value[0] != START_MAP:
                    reader.skip(value)
                    continue
                for data_key in _members(reader):
                    inner = reader.next()
                    if data_key == "text/plain":
                        seen.add(key)
                        yield from _joined(reader, inner)
                        yield None
                    else:
                        reader.skip(inner)
                continue
            seen.add(key)
            if key == "traceback":
                yield from _traceback(reader, value)
            else:
                yield from _joined(reader, value)
            yield None
        # A stream without text, an error without traceback: one empty line, as before.
        if kind == "stream" and "text" not in seen or kind == "error" and "traceback" not in seen:
            yield None


def _joined(reader: JsonReader, event: tuple) -> Iterator[str]:
    """A text value: a string, or a list of strings joined; other scalars as their literal."""
    if event[0] == STRING:
        yield from reader.pieces()
    elif event[0] == SCALAR:
        yield event[1]
    elif event[0] == START_ARRAY:
        while True:
            item = reader.next()
            if item[0] == END_ARRAY:
                return
            if item[0] == STRING:
                yield from reader.pieces()
            elif item[0] == SCALAR:
                yield item[1]
            else:
                reader.skip(item)
    else:
        reader.skip(event)


def _traceback(reader: JsonReader, event: tuple) -> Iterator[str]:
    """An error's traceback: its entries joined by newlines."""
    if event[0] != START_ARRAY:
        yield from _joined(reader, event)
        return
    first = True
    while True:
        item = reader.next()
        if item[0] == END_ARRAY:
            return
        if not first:
            yield "\n"
        first = False
        yield from _joined(reader, item)
