"""TensorBoard event files: the TFRecord framing and the few protobuf fields percediag uses.

An event file is a sequence of records, each

    uint64 length (little-endian) | uint32 masked CRC32C of those 8 bytes | payload | uint32 masked CRC32C of payload

and each payload a serialized `Event` message. Of it only these fields are read
(protobuf wire format, decoded here by hand: the `tensorboard` package and
its protobuf runtime cost about a second to import, see bench/events.py):

    Event   { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5 }
    Summary { repeated Value value = 1 }
    Value   { string tag = 1; float simple_value = 2; TensorProto tensor = 8; SummaryMetadata metadata = 9 }
    TensorProto { DataType dtype = 1; TensorShapeProto tensor_shape = 2; bytes tensor_content = 4;
                  repeated float float_val = 5; repeated double double_val = 6 }
    SummaryMetadata { PluginData plugin_data = 1 } PluginData { string plugin_name = 1 }

Lightning and tensorboardX write scalars as `simple_value`; TensorFlow 2's
`tf.summary.scalar` writes a one-element float tensor under the `scalars`
plugin: both are read. Every other field (graphs, histograms, images, the
hparams plugin's metadata) is skipped by its length, never decoded.

Integrity: the CRC of each record's length is always checked, as a wrong
length would misread every record after it; the payload's CRC is checked
for the records that hold a scalar (small), not for the images or graphs
that are skipped. Decoding never trusts the payload: every field's wire
type is checked before its value is used, and a payload that does not
decode is checked against its CRC to say whether it is damaged or merely
not an event. A record longer than the bytes left in the file is cut short;
one claiming more than MAX_RECORD bytes (64 MiB) is a corrupt length. A
record cut short or failing a check ends the reading there, with a note: a
file from a training killed mid-write is read up to its last good record.
A file whose first record is not an event file's `file_version` is not an
event file (InputError). Only a regular file is opened (`regular`): a FIFO
would block the read forever.

`EventFileReader` reads a file that is still being written (`watch`): each
call decodes the records completed since the last one, and a record cut
short at the end is waited for, not taken for damage, until `finish()`.
`read_event_file` is one call and `finish()`, so both read the same way.
"""

from __future__ import annotations

import math
import os
import struct
from collections.abc import Iterator
from typing import Any, BinaryIO

from percediag.errors import InputError
from percediag.events.crc32c import masked
from percediag.events.regular import open_regular
from percediag.events.scalars import EPOCH_TAG, MAX_EPOCH, ScalarFile, epoch_number

_HEADER = struct.Struct("<QI")
_CRC = struct.Struct("<I")
_DOUBLE = struct.Struct("<d")
_FLOAT = struct.Struct("<f")
# A scalar event is tens of bytes; a record longer than this is an image or a graph, skipped by seek
# (never decoded).
MAX_DECODED_RECORD = 16 * 1024 * 1024
# No summary a training writes comes near this; a longer record is a corrupt length that happened to
# pass its CRC (1 in 4 billion, or a crafted file): the file is read up to the record before it.
MAX_RECORD = 64 * 1024 * 1024
_DT_FLOAT, _DT_DOUBLE = 1, 2
# Lightning's TensorBoardLogger writes `_hparams_/session_end_info` when training ends (logger finalize).
MARKER_PREFIX = "_hparams_/"


class _Malformed(Exception):
    """A payload that is not a valid protobuf message of the expected shape."""


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise _Malformed("varint runs past the message")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


# The wire types of the fields read, per message (every other field is skipped by its length): a
# field read with another wire type is a damaged or foreign payload, never a value of the wrong kind.
_EVENT = {1: (1,), 2: (0,), 3: (2,), 5: (2,)}
_SUMMARY = {1: (2,)}
_VALUE = {1: (2,), 2: (5,), 8: (2,), 9: (2,)}
_TENSOR = {1: (0,), 2: (2,), 4: (2,), 5: (5, 2), 6: (1, 2)}
_SHAPE = {2: (2,)}
_DIM = {1: (0,)}
_METADATA = {1: (2,)}
_PLUGIN = {1: (2,)}


def _fields(buf: bytes, wires: dict[int, tuple[int, ...]]) -> Iterator[tuple[int, int, Any]]:
    """(field number, wire type, value) of the fields numbered in `wires`: ints for varints, bytes for
    the rest. Raises _Malformed for a message that does not parse or a field of an unexpected wire type."""
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 2:
            size, pos = _varint(buf, pos)
            value, pos = buf[pos:pos + size], pos + size
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:  # groups (3, 4) are not used by these messages
            raise _Malformed(f"wire type {wire}")
        if pos > end:
            raise _Malformed("field runs past the message")
        expected = wires.get(number)
        if expected is None:
            continue
        if wire not in expected:
            raise _Malformed(f"field {number} of wire type {wire}")
        yield number, wire, value


def _text(value: bytes) -> str:
    return value.decode("utf-8", errors="replace")


def _plugin(metadata: bytes) -> str | None:
    for _, _, value in _fields(metadata, _METADATA):
        for _, _, name in _fields(value, _PLUGIN):
            return _text(name)
    return None


def _packed(value: bytes, wire: int, single: int, kind: struct.Struct) -> tuple[float, ...]:
    """A repeated float or double field: one value (wire type `single`) or packed (wire type 2)."""
    if wire != single and len(value) % kind.size:
        raise _Malformed("a packed tensor value of a partial length")
    return tuple(v for (v,) in kind.iter_unpack(value))


def _tensor_scalar(tensor: bytes) -> float | None:
    """The value of a one-element float or double tensor, else None."""
    dtype = 0
    values: list[float] = []
    content = b""
    for number, wire, value in _fields(tensor, _TENSOR):
        if number == 1:
            dtype = value
        elif number == 2:
            # A scalar has no dimensions; a shape with a dimension other than 1 is not one value.
            for _, _, dim in _fields(value, _SHAPE):
                size = next((v for _, _, v in _fields(dim, _DIM)), 0)
                if size != 1:
                    return None
        elif number == 4:
            content = value
        elif number == 5:
            values.extend(_packed(value, wire, 5, _FLOAT))
        elif number == 6:
            values.extend(_packed(value, wire, 1, _DOUBLE))
    if dtype == _DT_FLOAT and len(content) == 4:
        return _FLOAT.unpack(content)[0]
    if dtype == _DT_DOUBLE and len(content) == 8:
        return _DOUBLE.unpack(content)[0]
    return values[0] if len(values) == 1 else None


def _scalars(summary: bytes) -> list[tuple[str, float | None]]:
    """(tag, value) of each scalar; (tag, None) for the hparams plugin's markers (session start and end)."""
    found = []
    for _, _, value in _fields(summary, _SUMMARY):
        tag, scalar, tensor, plugin = None, None, None, None
        for field, _, item in _fields(value, _VALUE):
            if field == 1:
                tag = _text(item)
            elif field == 2:
                scalar = _FLOAT.unpack(item)[0]
            elif field == 8:
                tensor = item
            elif field == 9:
                plugin = _plugin(item)
        if scalar is None and tensor is not None and plugin in ("scalars", None):
            scalar = _tensor_scalar(tensor)
        if tag is not None and (scalar is not None or tag.startswith(MARKER_PREFIX)):
            found.append((tag, scalar))
    return found


def decode_event(payload: bytes) -> tuple[float, int, str | None, list[tuple[str, float]]]:
    """(wall_time, step, file_version, [(tag, value)]) of one serialized Event.
    Raises _Malformed for a payload that is not one."""
    wall, step, version, values = math.nan, 0, None, []
    for number, _, value in _fields(payload, _EVENT):
        if number == 1:
            wall = _DOUBLE.unpack(value)[0]
        elif number == 2:
            value &= (1 << 64) - 1  # int64 as a varint of up to 10 bytes
            step = value - (1 << 64) if value >= 1 << 63 else value
        elif number == 3:
            version = _text(value)
        elif number == 5:
            values = _scalars(value)
    return wall, step, version, values


class _Cut(Exception):
    """The bytes from `offset` on are not a whole record yet (the end of a file being written)."""

    def __init__(self, offset: int, why: str) -> None:
        super().__init__(why)
        self.offset, self.why = offset, why


def _records(handle: BinaryIO, into: ScalarFile, end: int | None = None) -> Iterator[tuple[int, bytes | None]]:
    """(offset, payload) per record; payload None for a record too large to decode (skipped by seek).
    Stops at the end of the file (or at the first record boundary past `end`), raises _Cut at a
    record cut short, and stops at a record failing its length check (noted in `into`)."""
    size = os.fstat(handle.fileno()).st_size  # a record ending past it is cut short (or not written yet)
    while True:
        offset = handle.tell()
        if end is not None and offset >= end:
            return
        header = handle.read(12)
        if not header:
            return
        if len(header) < 12:
            raise _Cut(offset, "a record header cut short (the writer was stopped mid-write)")
        length, length_crc = _HEADER.unpack(header)
        if masked(header[:8]) != length_crc:
            into.stop(f"byte {offset}", "a record whose length fails its CRC (corrupt data)")
            return
        if length > MAX_RECORD:
            into.stop(f"byte {offset}", f"a record claiming {length:,} bytes, more than the {MAX_RECORD // 2**20} MiB "
                                        "any summary takes (a corrupt length)")
            return
        if length + 4 > size - handle.tell():
            raise _Cut(offset, "a record cut short (the writer was stopped mid-write)")
        if length > MAX_DECODED_RECORD:
            handle.seek(length, 1)
            handle.read(4)
            yield offset, None
            continue
        payload = handle.read(length)
        trailer = handle.read(4)
        if len(payload) < length or len(trailer) < 4:
            raise _Cut(offset, "a record cut short (the writer was stopped mid-write)")
        into.crc_pending = _CRC.unpack(trailer)[0]
        yield offset, payload


class EventFileReader:
    """One event file read incrementally: each `read()` decodes the records written since the last
    one, from the end of the last whole record. A record cut short at the end of the file is not
    an error while the file may still grow (`watch`): it is read again, whole, at the next call.
    `finish()` is the end of reading: a record still cut short is where the file stops (a writer
    killed mid-write), and a file without a first event is refused, as `read_event_file` does."""

    def __init__(self, path: str, display: str | None = None) -> None:
        self.path = path
        self.name = display or path
        self.result = ScalarFile(path=self.name, kind="tfevents")
        self.offset = 0  # the end of the last whole record
        self.cut: str | None = None  # why the bytes after `offset` are not a record (yet)
        self._first = True

    def read(self, budget: int | None = None) -> int:
        """Decode the whole records after `offset` (about `budget` bytes at most); returns how many.
        Raises InputError when the file is not an event file, or cannot be read."""
        if self.result.stopped is not None:
            return 0  # corrupt data: nothing after it is read
        handle = open_regular(self.path, self.name)
        before = self.result.records
        with handle:
            try:
                handle.seek(self.offset)
                self.cut = None
                self._decode(handle, None if budget is None else self.offset + budget)
            except _Cut as cut:
                self.offset, self.cut = cut.offset, cut.why
            except OSError as exc:
                raise InputError(f"{self.name}: cannot read: {exc.strerror or exc}") from exc
        if self._first and self.result.stopped is not None:
            raise InputError(f"{self.name}: not a TensorBoard event file ({self.result.stopped})")
        return self.result.records - before

    def _decode(self, handle: BinaryIO, end: int | None) -> None:
        name, result = self.name, self.result
        for offset, payload in _records(handle, result, end):
            if payload is None:
                if self._first:
                    raise InputError(f"{name}: not a TensorBoard event file (its first record is not one)")
                result.records += 1
                self.offset = handle.tell()
                continue
            try:
                wall, step, version, values = decode_event(payload)
            except _Malformed as exc:
                # Damaged data decodes to anything: the CRC says which it is.
                damaged = masked(payload) != result.crc_pending
                if self._first:
                    why = "its first record fails its CRC" if damaged else "its first record is not an event"
                    raise InputError(f"{name}: not a TensorBoard event file ({why})") from exc
                result.stop(f"byte {offset}", "a record whose data fails its CRC (corrupt data)" if damaged
                            else f"a record that is not a valid event ({exc})")
                return
            if self._first:
                if version is None or not version.startswith("brain.Event:"):
                    raise InputError(f"{name}: not a TensorBoard event file (no file_version record first)")
                self._first = False
                result.first_wall = wall if math.isfinite(wall) else None
            if values and masked(payload) != result.crc_pending:
                result.stop(f"byte {offset}", "a record whose data fails its CRC (corrupt data)")
                return
            bad = next((v for t, v in values if t == EPOCH_TAG and v is not None and epoch_number(v) is None), None)
            if bad is not None:
                result.stop(f"byte {offset}", f"an `epoch` of {bad:g}, not a whole number from 0 to {MAX_EPOCH:,}")
                return
            result.records += 1
            self.offset = handle.tell()
            for tag, value in values:
                if value is None:
                    result.markers.add(tag)
                else:
                    result.add(tag, step, value, wall)

    def finish(self) -> ScalarFile:
        if self.cut is not None and self.result.stopped is None:
            self.result.stop(f"byte {self.offset}", self.cut)
        if self._first and self.result.stopped is None:
            raise InputError(f"{self.name}: not a TensorBoard event file (empty)")
        if self._first:
            raise InputError(f"{self.name}: not a TensorBoard event file ({self.result.stopped})")
        return self.result


def read_event_file(path: str, display: str | None = None) -> ScalarFile:
    """Every scalar of one event file, bounded in memory (see ScalarFile)."""
    reader = EventFileReader(path, display)
    reader.read()
    return reader.finish()
