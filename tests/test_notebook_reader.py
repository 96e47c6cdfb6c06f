"""The notebook's streaming JSON reader accepts exactly what strict JSON accepts, at any chunk size,
including in the parts it skips at C speed (runs of numbers in arrays)."""

from __future__ import annotations

import io
import json
import re
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from percediag import notebook
from percediag.errors import InputError
from percediag.notebook import JsonReader

SCALARS = (st.none() | st.booleans() | st.integers(-10**12, 10**12)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
                      max_leaves=40)


def _strict(text: str) -> bool:
    def refuse(constant: str) -> None:
        raise ValueError(constant)

    try:
        json.loads(text, parse_constant=refuse)
    except ValueError:
        return False
    return True


def _reader_accepts(text: str, chunk: int) -> bool:
    reader = JsonReader(io.BytesIO(text.encode("utf-8")), "nb")
    with mock.patch.object(notebook, "CHUNK_SIZE", chunk):
        try:
            reader.skip(reader.next())
            return reader.next() == ("",)
        except InputError:
            return False


CHUNKS = pytest.mark.parametrize("chunk", [3, 7, 1 << 20], ids=["chunk3", "chunk7", "chunk1M"])


@CHUNKS
@settings(max_examples=150, deadline=None)
@given(value=VALUES, spaced=st.booleans())
def test_every_json_document_is_skipped_whole(chunk, value, spaced):
    text = json.dumps(value, indent=1 if spaced else None)
    assert _reader_accepts(text, chunk)


@CHUNKS
@settings(max_examples=300, deadline=None)
@given(value=st.lists(st.lists(st.floats(allow_nan=False, allow_infinity=False) | st.integers(-999, 999), max_size=12), max_size=4),
       where=st.integers(0, 10_000), edit=st.sampled_from(["delete", ",", "]", "[", "-", ".", "e", "0", " ", "x", "tru"]))
def test_a_damaged_document_is_refused_exactly_when_strict_json_refuses_it(chunk, value, where, edit):
    text = json.dumps(value)
    at = where % (len(text) + 1)
    damaged = text[:at] + text[at + 1:] if edit == "delete" else text[:at] + edit + text[at:]
    assert _reader_accepts(damaged, chunk) == _strict(damaged), damaged


EDGE_CASES = ["[1,]", "[1, ]", "[[1,2,],3]", "[1 2]", "[01]", "[1.]", "[-]", "[1,,2]", "[tru]", "[true1,2]", "[1e]",
              "[1,2", "[1,2,]", "[ 1 , 2 ]", "[[],[1],[1,[2,]]]", "[-0.0,1e+5,2E-3]", "[" + "9" * 2000 + "]",
              "[1,2,3" + ",4" * 5000 + "]", '[1,"a",2,]', "[null,false,true]", "[nul]"]


@CHUNKS
@pytest.mark.parametrize("text", EDGE_CASES, ids=lambda t: t[:20])
def test_edge_cases_match_strict_json(chunk, text):
    longest = max((len(run) for run in re.findall(r"[-0-9.eE+]+", text)), default=0)
    expected = _strict(text) and longest <= notebook.MAX_LITERAL  # a longer number is refused
    assert _reader_accepts(text, chunk) == expected
