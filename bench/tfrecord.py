"""A minimal hand encoder of TensorBoard event files: protobuf fields and TFRecord framing.

Shared by bench/events.py (which writes a large event file) and the hostile event tests (which
write damaged ones). It is written from the formats, not from percediag's reader, so neither
reads back its own assumptions; only the CRC32C comes from percediag.
"""

from __future__ import annotations

import struct

from percediag.events.crc32c import masked


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field(number: int, wire: int, value: bytes | int) -> bytes:
    key = varint(number << 3 | wire)
    if wire == 0:
        return key + varint(value)
    if wire == 2:
        return key + varint(len(value)) + value
    return key + value  # fixed64 (1) and fixed32 (5): the bytes as given


def frame(payload: bytes, length: int | None = None, good_crc: bool = True) -> bytes:
    """One TFRecord: `length` (default the payload's) with a valid length CRC, the payload, its CRC."""
    header = struct.pack("<Q", len(payload) if length is None else length)
    crc = masked(payload) if good_crc else masked(payload) ^ 0x5A5A
    return header + struct.pack("<I", masked(header)) + payload + struct.pack("<I", crc)
