"""Slice sampling lines (from Round 8 on): how many training slices each sample gives.

    KFold Dataset: fold=1, mode=train, samples=22, slices=22 (1.0/sample)
    [Slice] Epoch 0: regenerated 22 slices

The dataset builds `(sample, start, end)` slices by measure; the callback
regenerates them at the start of training. One slice per sample means
slicing did nothing (every sample shorter than `slice_len`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from percediag.model import SliceStat
from percediag.parsers.grammar import Kind
from percediag.parsers.numbers import NUM, to_float

if TYPE_CHECKING:
    from percediag.parsers.builder import Builder

MARKER = r"KFold Dataset:|\[Slice\] Epoch"

_DATASET = re.compile(r"KFold Dataset:\s*fold=(\d{1,4}),\s*mode=(\w{1,20}),\s*samples=(\d{1,9}),\s*slices=(\d{1,9})"
                      r"(?:\s*\((" + NUM + r")/sample\))?")
_REGEN = re.compile(r"\[Slice\] Epoch\s{0,4}(\d{1,7}):\s*regenerated\s{0,4}(\d{1,9}) slices")


def parse(lineno: int, text: str) -> SliceStat | None:
    if match := _DATASET.search(text):
        return SliceStat(line=lineno, fold=int(match.group(1)), mode=match.group(2), samples=int(match.group(3)),
                         slices=int(match.group(4)), per_sample=to_float(match.group(5)))
    if match := _REGEN.search(text):
        return SliceStat(line=lineno, mode="regenerated", epoch=int(match.group(1)), slices=int(match.group(2)))
    return None


def handle(lineno: int, text: str, builder: Builder) -> None:
    record = parse(lineno, text)
    if record is None:
        return  # trainers before Round 8 print `KFold Dataset: fold=1, mode=train, samples=712`, no slices
    builder.add_slices(record)


KIND = Kind(name="slices", marker=MARKER, scan=(rb"Fold Dataset:", rb"\[Slice\] Epoch"), handle=handle)
