"""The one decoding core: bytes (or text) in pieces -> numbered, normalised lines.

`check`'s file reader (`sources.LogSource`, `sources.NotebookSource`), the
bytes fast path (`parsers.fast`, `prescan`) and `watch` (`live.lines`) all
take their decoding decisions here, so no block parser has to know how the
text reached us and no two readers can disagree about it:

- encoding: UTF-8 with or without a BOM; UTF-16 (little or big endian) when
  a byte order mark says so; binary data (an early NUL, mostly control
  bytes in the first SNIFF_SIZE bytes) refused; bytes that do not decode
  replaced and counted;
- CRLF line ends;
- carriage-return redraws: a piped progress bar writes many `\\r`-separated
  frames on one physical line; the last non-empty frame is kept, which is
  what a reader sees and where a log line printed after the bar lands;
- ANSI escape sequences (colour, cursor moves, terminal titles);
- tabs become spaces;
- a physical line longer than MAX_LINE_CHARS keeps its last redraw frame,
  cut to that length, with a note;
- what the first lines say about the log's writers (`LineFilter`): a
  per-line prefix that repeats (a timestamp with its log level,
  `[stdout] `, a constant `[tag] ` or `name | `, Kaggle's time and line
  counter) is stripped; with torchrun-style rank prefixes only the lowest
  rank's lines are kept; lines written twice in a row are read once.

The first lines are "the head": the whole lines within the first
PREFIX_SNIFF_CHARS characters of decoded text, at most PREFIX_SNIFF_LINES
of them (`head_count`). Every reader decides on the same head; lines that
no decision could change go out before it (`Lines`), and only `watch`, which
must not hold early lines back while a run is quiet, may decide sooner
(`Lines.decide`).

Standard library only (and `percediag.errors`): it sits below every other
layer, and the fast path's helper process imports it on start.
"""

from __future__ import annotations

import codecs
import re
from collections import Counter
from dataclasses import dataclass, field

from percediag.errors import InputError

# How much of the start of the input is inspected to refuse binary data.
SNIFF_SIZE = 8192
# Share of control bytes (other than tab, CR, LF, ESC, FF) above which a
# sample is taken to be binary rather than a text log with a few bad bytes.
BINARY_CONTROL_SHARE = 0.10
# Bytes that decide the encoding (the longest byte order mark read).
ENCODING_BYTES = 4

# The head (see the module docstring), and the share of its non-empty lines that must carry a prefix.
PREFIX_SNIFF_LINES = 400
PREFIX_SNIFF_CHARS = 256 << 10
PREFIX_SHARE = 0.6

# A log written by several processes at once without labels repeats lines:
# when at least REPEAT_SHARE of the first non-empty lines repeat the line
# before them (a normal log: almost none), and they are not a few lines
# repeated many times (a warning printed in a loop) but many lines repeated
# (at least REPEAT_DISTINCT of the non-empty lines are different repeated
# texts: up to six copies of each line), each run of one line is read once.
REPEAT_SHARE = 0.35
REPEAT_DISTINCT = 0.15
REPEAT_MIN_LINES = 10

# A physical line is kept up to this many characters: a longer one holds its
# last redraw frame, cut to this length. A block parser sees at most
# parsers.MAX_BLOCK_LINE of a line; no real log line comes near either.
MAX_LINE_CHARS = 1 << 20

# ANSI escape sequences: CSI (colour, cursor moves), OSC (a terminal title, a
# hyperlink; never across a line end, so the bytes fast path, which strips
# them from whole buffers, removes exactly what the line reader removes), and
# two-byte escapes.
ANSI_PATTERN = r"\x1b(?:\[[0-9;?<=>]*[ -/]*[@-~]|\][^\x07\x1b\n]*(?:\x07|\x1b\\)|[@-Z\\-_])"
ANSI = re.compile(ANSI_PATTERN)
ANSI_BYTES = re.compile(ANSI_PATTERN.encode())

# Each prefix pattern consumes the prefix and exactly one separating space,
# so the log line's own indentation survives.
_TIMESTAMP = (
    r"\[?\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:[.,]\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})?\]?"
    r"(?: ?[-|]? ?\[?(?:DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL)\]?)?(?: [-|:])? ?"
)
_PREFIX_PATTERNS: dict[str, re.Pattern[str]] = {
    # Distributed launchers label each process's lines: torchrun (`[rank1]:`,
    # `[default1]:`), Open MPI's --tag-output (`[1,0]<stdout>:`). Group 1 is the rank.
    "rank": re.compile(r"\[(?:rank|default|\d{1,9},)(\d{1,6})\](?:<std(?:out|err)>)?: ?"),
    "timestamp": re.compile(_TIMESTAMP),
    "time of day": re.compile(r"\[?\d{2}:\d{2}:\d{2}(?:[.,]\d{1,6})?\]? ?"),
    "stream tag": re.compile(r"\[(?:stdout|stderr)\] ?"),
    "kaggle": re.compile(r" {0,8}\d{1,7}(?:\.\d{1,3})?s {1,8}\d{1,9} "),
    "tag": re.compile(r"\[[^\]\s]{1,40}\] "),
    "name": re.compile(r"[\w.-]{1,40} \| "),
}
# Patterns whose matched text must also be the same on the lines that carry it.
_CONSTANT_PREFIXES = {"tag", "name"}

_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13, 27))


@dataclass
class SourceStats:
    """What normalisation did, for the report."""

    name: str
    physical_lines: int = 0
    bad_bytes: int = 0
    bom: bool = False
    crlf_lines: int = 0
    redraw_lines: int = 0
    ansi_lines: int = 0
    encoding: str = "utf-8"
    notes: list[str] = field(default_factory=list)
    # Lines longer than MAX_LINE_CHARS with a frame cut to that length.
    cut_lines: int = 0
    # Nothing but whitespace (or nothing at all) in the input: `check` refuses it as bad input.
    blank: bool = False

    def note_bad_bytes(self) -> None:
        """Called by each decoding path when it is done."""
        if self.bad_bytes:
            self.notes.append(f"{self.bad_bytes} byte(s) were not valid {self.encoding} and were replaced")


# -- encoding ----------------------------------------------------------------


class _ReplacementCounter:
    """A codecs error handler that counts the bytes it replaces."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, error: UnicodeDecodeError) -> tuple[str, int]:
        self.count += error.end - error.start
        return "\ufffd", error.end


_COUNTER = _ReplacementCounter()
codecs.register_error("percediag-count", _COUNTER)

# UTF-32 LE first: its mark begins with UTF-16 LE's (FF FE), then two NULs.
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
         (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


def sniff_encoding(first: bytes) -> tuple[str, int]:
    """(encoding, length of its byte order mark) that the first bytes of an input announce:
    a UTF-8, UTF-16 or UTF-32 byte order mark, else UTF-8 without one."""
    for bom, encoding in _BOMS:
        if first.startswith(bom):
            return encoding, len(bom)
    return "utf-8", 0


def note_encoding(stats: SourceStats, encoding: str, bom: int) -> None:
    stats.bom = bool(bom)
    stats.encoding = encoding[:6] if encoding.startswith(("utf-16", "utf-32")) else encoding
    if stats.encoding != "utf-8":
        stats.notes.append(f"decoded as {stats.encoding.upper()} (byte order mark)")


def looks_binary(sample: bytes) -> bool:
    """True for data that is not a text log (an early NUL, or mostly control bytes)."""
    if not sample:
        return False
    if b"\x00" in sample:
        return True
    controls = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    return controls / len(sample) > BINARY_CONTROL_SHARE


def refuse_binary(sample: bytes, name: str) -> None:
    """Raise InputError when `sample` (the first SNIFF_SIZE bytes of a UTF-8 input) is binary data."""
    if looks_binary(sample):
        raise InputError(f"{name}: binary data, not a text log")


def count_bad(stats: SourceStats, decode, *args) -> str:
    """`decode(*args)` with the counting error handler; the bytes it replaced are added to `stats`.
    Counted per call: decoding is synchronous, so interleaved inputs never mix their counts."""
    before = _COUNTER.count
    text = decode(*args)
    stats.bad_bytes += _COUNTER.count - before
    return text


def decode_line(raw: bytes, stats: SourceStats) -> str:
    """One physical UTF-8 line (bytes, without its newline) as the line reader gives it: decoded
    (bad bytes replaced and counted), then cleaned (`clean_line`, `reduce_long`)."""
    text = count_bad(stats, raw.decode, "utf-8", "percediag-count")
    if len(text) > MAX_LINE_CHARS:
        text, cut = reduce_long(text)
        stats.cut_lines += cut
    return clean_line(text, stats)


_CRLF = re.compile(rb"\r\n")


def normalize_bytes(buf: bytes) -> tuple[bytes, int]:
    """Whole UTF-8 lines (the bytes fast path's buffer) without ANSI escapes and with their line
    ends made LF, and the number of lines that ended in CR LF: as `clean_line` counts and strips
    them (every carriage return before a line's newline goes, `\\r\\r\\n` too)."""
    if b"\x1b" in buf:
        buf = ANSI_BYTES.sub(b"", buf)
    crlf = 0
    if _CRLF.search(buf) is not None:
        crlf = buf.count(b"\r\n")
        buf = buf.replace(b"\r\n", b"\n")
        while _CRLF.search(buf) is not None:  # a line that ended in several carriage returns
            buf = buf.replace(b"\r\n", b"\n")
    return buf, crlf


class TextDecoder:
    """Bytes in pieces -> text: the encoding decided on the first ENCODING_BYTES (a byte order
    mark), binary data refused on the first SNIFF_SIZE bytes of UTF-8, bad bytes counted."""

    def __init__(self, name: str, stats: SourceStats) -> None:
        self.name = name
        self.stats = stats
        self._head = b""  # bytes until the encoding is known
        self._decoder = None
        self._sample: bytearray | None = bytearray()  # the first SNIFF_SIZE bytes, for the binary test

    def decode(self, data: bytes, settle: bool = False, final: bool = False) -> str:
        """The text of `data`; '' while the encoding waits for more bytes (unless `settle` or `final`)."""
        if self._decoder is None:
            self._head += data
            if not self._head or (len(self._head) < ENCODING_BYTES and not (settle or final)):
                return ""
            encoding, bom = sniff_encoding(self._head)
            note_encoding(self.stats, encoding, bom)
            data, self._head = self._head[bom:], b""
            self._decoder = codecs.getincrementaldecoder(encoding)(errors="percediag-count")
            if encoding != "utf-8":
                self._sample = None
        if self._sample is not None:
            self._sample += data[:SNIFF_SIZE - len(self._sample)]
            if len(self._sample) >= SNIFF_SIZE or final:
                sample, self._sample = bytes(self._sample), None
                refuse_binary(sample, self.name)
        return count_bad(self.stats, self._decoder.decode, data, final)


# -- one line --------------------------------------------------------------


def clean_line(raw: str, stats: SourceStats | None = None) -> str:
    """Normalise one physical line (without its newline)."""
    if raw.endswith("\r"):
        raw = raw.rstrip("\r")
        if stats is not None:
            stats.crlf_lines += 1
    if "\x1b" in raw:
        raw = ANSI.sub("", raw)
        if stats is not None:
            stats.ansi_lines += 1
    if "\r" in raw:
        frames = [frame for frame in raw.split("\r") if frame.strip()]
        raw = frames[-1] if frames else ""
        if stats is not None:
            stats.redraw_lines += 1
    if "\t" in raw:
        raw = raw.expandtabs(4)
    return raw


def _visible(frame: str) -> bool:
    return bool((ANSI.sub("", frame) if "\x1b" in frame else frame).strip())


def reduce_long(raw: str) -> tuple[str, bool]:
    """What the line splitter keeps of a whole line longer than MAX_LINE_CHARS (its last frame,
    or the last visible one when that is blank, each frame cut to MAX_LINE_CHARS), and whether a
    frame was cut. Equal to what `LineSplitter` gives however the line arrives."""
    frames = raw.split("\r")
    cut = any(len(frame) > MAX_LINE_CHARS for frame in frames)
    last = frames[-1][:MAX_LINE_CHARS]
    if len(frames) == 1:
        return last, cut
    if not _visible(last):
        for frame in reversed(frames[:-1]):
            if _visible(frame[:MAX_LINE_CHARS]):
                last = frame[:MAX_LINE_CHARS]
                break
    # The carriage return keeps the line counted as a redraw by clean_line.
    return "\r" + last, cut


class LineSplitter:
    """Text in pieces -> physical lines (without their newline), in time linear in the text
    whatever the length of its lines, holding at most about MAX_LINE_CHARS of a line.

    A line longer than that is reduced as it arrives to what `reduce_long` keeps of it;
    `cut` counts the lines with a frame cut."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._size = 0
        self._long: _LongLine | None = None
        self.cut = 0

    def feed(self, text: str) -> list[str]:
        if "\n" not in text:
            self._add(text)
            return []
        lines = text.split("\n")
        self._add(lines[0])
        out = [self._take()]
        for line in lines[1:-1]:
            if len(line) > MAX_LINE_CHARS:
                self._add(line)
                line = self._take()
            out.append(line)
        self._add(lines[-1])
        return out

    def pending(self) -> bool:
        """True when part of a line waits for its newline."""
        return bool(self._size or self._long is not None)

    def finish(self) -> str:
        """The partial last line, as a line."""
        return self._take()

    def _add(self, text: str) -> None:
        if not text:
            return
        if self._long is None:
            if self._size + len(text) <= MAX_LINE_CHARS:
                self._parts.append(text)
                self._size += len(text)
                return
            self._long = _LongLine()
            self._long.add("".join(self._parts))
            self._parts, self._size = [], 0
        self._long.add(text)

    def _take(self) -> str:
        if self._long is not None:
            line, cut = self._long.line()
            self.cut += cut
            self._long = None
            return line
        line = "".join(self._parts) if len(self._parts) != 1 else self._parts[0]
        self._parts, self._size = [], 0
        return line


class _LongLine:
    """A line past MAX_LINE_CHARS: the frame being written and the last visible one, each bounded."""

    def __init__(self) -> None:
        self.frame: list[str] = []
        self.size = 0
        self.visible: str | None = None
        self.redrawn = False
        self.cut = False

    def add(self, text: str) -> None:
        if "\r" not in text:
            self._extend(text)
            return
        pieces = text.split("\r")
        self._extend(pieces[0])
        self.redrawn = True
        middle = pieces[1:-1]
        self.cut = self.cut or any(len(piece) > MAX_LINE_CHARS for piece in middle)
        # The frames this text completes: only the last visible one can matter.
        for piece in reversed(middle):
            if _visible(piece[:MAX_LINE_CHARS]):
                self.visible = piece[:MAX_LINE_CHARS]
                break
        else:
            frame = "".join(self.frame)
            if _visible(frame):
                self.visible = frame
        self.frame, self.size = [], 0
        self._extend(pieces[-1])

    def _extend(self, piece: str) -> None:
        room = MAX_LINE_CHARS - self.size
        if len(piece) > room:
            piece = piece[:room]
            self.cut = True
        if piece:
            self.frame.append(piece)
            self.size += len(piece)

    def line(self) -> tuple[str, bool]:
        frame = "".join(self.frame)
        if self.redrawn and not _visible(frame) and self.visible is not None:
            frame = self.visible
        return ("\r" + frame if self.redrawn else frame), self.cut


def note_cut_lines(stats: SourceStats) -> None:
    """Called by each decoding path when it is done, after `note_bad_bytes`."""
    if stats.cut_lines:
        stats.notes.append(f"{stats.cut_lines} line(s) longer than {MAX_LINE_CHARS:,} characters were cut to that length")


# -- what the first lines say -------------------------------------------------


def head_count(text: str, final: bool) -> int | None:
    """How many lines of `text` (the decoded start of an input; all of it when `final`) form the
    head, or None when `text` is too short to tell."""
    if len(text) >= PREFIX_SNIFF_CHARS:
        count = text.count("\n", 0, PREFIX_SNIFF_CHARS)
    elif final:
        count = text.count("\n") + (not text.endswith("\n") if text else 0)
    else:
        return None
    return min(count, PREFIX_SNIFF_LINES)


def detect_prefix(sample: list[str]) -> tuple[str, re.Pattern[str]] | None:
    """The prefix pattern carried by most non-empty lines of `sample`, if any."""
    lines = [line for line in sample if line.strip()]
    if len(lines) < 3:
        return None
    for name, pattern in _PREFIX_PATTERNS.items():
        matches = [m.group(0) for m in map(pattern.match, lines) if m is not None]
        if len(matches) < PREFIX_SHARE * len(lines):
            continue
        if name in _CONSTANT_PREFIXES:
            text, count = Counter(matches).most_common(1)[0]
            if count < PREFIX_SHARE * len(lines):
                continue
            return name, re.compile(re.escape(text))
        return name, pattern
    return None


class LineFilter:
    """What the head says about the writers of a log, applied to every line.

    - a repeated prefix (timestamps, tags: `detect_prefix`) is stripped;
    - with rank prefixes of several processes (`[rank0]:`, `[rank1]:`), only
      the lowest rank's lines are kept (each rank logs the same run; mixed,
      they would read as restarts), and lines without a prefix;
    - lines written twice in a row by unlabelled processes (REPEAT_SHARE of
      the first lines repeat the one before) are read once.

    `__call__` returns the text to parse, or None for a line left out.
    """

    def __init__(self, head: list[str]) -> None:
        found = detect_prefix(head)
        self.name, self.pattern = found if found else (None, None)
        self.rank: str | None = None
        self.ranks: set[str] = set()
        if self.name == "rank":
            self.ranks = {m.group(1) for m in map(self.pattern.match, head) if m is not None}
            self.rank = min(self.ranks, key=int)
        stripped = [self._strip(text) for text in head] if self.pattern is not None else head
        kept = [text for text in stripped if text is not None]
        visible = [text for text in kept if text.strip()]
        repeated = [text for before, text in zip(kept, kept[1:]) if text.strip() and text == before]
        self.dedupe = (len(visible) >= REPEAT_MIN_LINES and len(repeated) >= REPEAT_SHARE * len(visible)
                       and len(set(repeated)) >= REPEAT_DISTINCT * len(visible))
        self.stripped = self.other_ranks = self.repeats = 0
        self._last: str | None = None

    @property
    def active(self) -> bool:
        return self.pattern is not None or self.dedupe

    def prime(self, last: str | None) -> None:
        """The lines before the next one were neutral and went out unfiltered; `last` is the last."""
        self._last = last

    def _strip(self, text: str) -> str | None:
        match = self.pattern.match(text)
        if match is None:
            return text
        if self.rank is not None:
            rank = match.group(1)
            if rank != self.rank:
                if len(self.ranks) < 1000:
                    self.ranks.add(rank)
                return None
        return text[match.end():]

    def __call__(self, text: str) -> str | None:
        if self.pattern is not None:
            stripped = self._strip(text)
            if stripped is None:
                self.other_ranks += 1
                return None
            if stripped is not text:
                self.stripped += 1
            text = stripped
        if self.dedupe:
            if text == self._last:
                self.repeats += 1
                return None
            self._last = text
        return text

    def intent(self) -> list[str]:
        """What will be done, said before the counts are known (watch)."""
        notes = []
        if len(self.ranks) > 1:
            notes.append(f"lines of {len(self.ranks)} processes ({_ranks(self.ranks)}): judging rank {self.rank}'s lines only")
        elif self.name is not None:
            notes.append(f"stripping a repeated {self.name} prefix")
        if self.dedupe:
            notes.append("lines are written twice in a row (several processes writing one log?): each repeat is read once")
        return notes

    def notes(self) -> list[str]:
        """What was done, with counts (check)."""
        notes = []
        if len(self.ranks) > 1:
            notes.append(f"lines of {len(self.ranks)} processes ({_ranks(self.ranks)}): judged on rank {self.rank}'s lines; "
                         f"{self.other_ranks} line(s) of other ranks left out")
        elif self.name is not None:
            notes.append(f"stripped a repeated {self.name} prefix from {self.stripped} line(s)")
        if self.dedupe:
            notes.append(f"lines are written twice in a row (several processes writing one log?): "
                         f"{self.repeats} repeated line(s) read once")
        return notes


def _neutral(text: str, before: str | None) -> bool:
    """A line no `LineFilter` would change or leave out: it starts with no prefix any pattern
    could strip, and it does not repeat the line before it."""
    return text != before and not any(pattern.match(text) for pattern in _PREFIX_PATTERNS.values())


def _ranks(ranks: set[str]) -> str:
    shown = sorted(ranks, key=int)
    return ", ".join(shown[:8]) + (f" and {len(shown) - 8} more" if len(shown) > 8 else "")


# -- the decoder the readers drive ---------------------------------------------


@dataclass
class Plan:
    """What the start of a byte input says before any line is read (`plan`)."""

    encoding: str
    bom: int
    # UTF-8 whose head asks for no line filter: the bytes fast path may read it.
    plain: bool

    def note(self, stats: SourceStats) -> None:
        note_encoding(stats, self.encoding, self.bom)


def plan(first: bytes, final: bool, name: str) -> Plan:
    """The decisions `Normalizer` would take on an input starting with `first` (all of it when
    `final`), taken at once: its encoding, binary data refused, and whether its head asks for a
    line filter. `first` must hold PREFIX_SNIFF_CHARS characters of text unless `final`."""
    encoding, bom = sniff_encoding(first)
    if encoding != "utf-8":
        return Plan(encoding, bom, plain=False)
    body = first[bom:]
    refuse_binary(body[:SNIFF_SIZE], name)
    text = body.decode("utf-8", "replace")
    count = head_count(text, final)
    if count is None:
        return Plan(encoding, bom, plain=False)
    head = [clean_line(raw) for raw in text.split("\n", count)[:count]]
    return Plan(encoding, bom, plain=not LineFilter(head).active)


class Lines:
    """Text in pieces -> (line number, normalised text): split, cleaned, and filtered by what the
    head says. From the first line that a decision could change on, lines are held until the
    head is complete (or `decide` is called); the neutral lines before it go out at once.

    `live` (watch) notes the filter's intent when it is decided; otherwise its counts are noted
    at `close`, after the decoder's own notes.
    """

    def __init__(self, stats: SourceStats, live: bool = False) -> None:
        self.stats = stats
        self.live = live
        self.splitter = LineSplitter()
        self.count = 0  # physical lines so far
        self.filter: LineFilter | None = None
        self.decided = False
        self.held: list[tuple[int, str]] = []
        self._chars = 0
        self._head_end: int | None = None
        self._head: list[str] = []  # the text of every line until the decision
        self._neutral = True  # every line so far neutral (`_neutral`), and released
        self._last: str | None = None  # the last line released before the decision

    def feed(self, text: str) -> list[tuple[int, str]]:
        if not self.decided and self._head_end is None:
            room = PREFIX_SNIFF_CHARS - self._chars
            if len(text) >= room:
                self._head_end = self.count + text.count("\n", 0, room)
            self._chars += len(text)
        return self._out([self._line(raw) for raw in self.splitter.feed(text)])

    def end_line(self) -> list[tuple[int, str]]:
        """The text ends its line here (a notebook output without a final newline)."""
        if not self.decided and self._head_end is None:
            self._chars += 1
            if self._chars >= PREFIX_SNIFF_CHARS:
                self._head_end = self.count + 1
        return self._out([self._line(self.splitter.finish())])

    def decide(self) -> list[tuple[int, str]]:
        """Decide on the lines held so far (watch: the input is quiet) and release them."""
        return self._release(self._head_end)

    def close(self) -> list[tuple[int, str]]:
        """End of text: the partial last line becomes a line; the held lines are released."""
        out = [self._line(self.splitter.finish())] if self.splitter.pending() else []
        out = self._out(out, final=True)
        self.stats.physical_lines = self.count
        self.stats.note_bad_bytes()
        self.stats.cut_lines += self.splitter.cut
        note_cut_lines(self.stats)
        if self.filter is not None and not self.live:
            self.stats.notes.extend(self.filter.notes())
        return out

    def _line(self, raw: str) -> tuple[int, str]:
        self.count += 1
        return self.count, clean_line(raw, self.stats)

    def _out(self, lines: list[tuple[int, str]], final: bool = False) -> list[tuple[int, str]]:
        if self.decided:
            return self._filtered(lines)
        out = []
        for lineno, text in lines:
            self._head.append(text)
            # While every line so far is neutral, a line goes out at once: no decision the head
            # can take would change it (so watch alerts on an early block without waiting).
            if self._neutral and not self.held and _neutral(text, self._last):
                self._last = text
                out.append((lineno, text))
            else:
                self._neutral = False
                self.held.append((lineno, text))
        end = self._head_end
        if final or len(self._head) >= PREFIX_SNIFF_LINES or (end is not None and self.count >= end):
            return out + self._release(end)
        return out

    def _release(self, end: int | None) -> list[tuple[int, str]]:
        if self.decided:
            return []
        limit = PREFIX_SNIFF_LINES if end is None else min(end, PREFIX_SNIFF_LINES)
        keep = LineFilter(self._head[:limit])
        keep.prime(self._last)
        self.filter = keep if keep.active else None
        if self.live:
            self.stats.notes.extend(keep.intent())
        self.decided = True
        self._head = []
        held, self.held = self.held, []
        return self._filtered(held)

    def _filtered(self, lines: list[tuple[int, str]]) -> list[tuple[int, str]]:
        keep = self.filter
        if keep is None:
            return lines
        out = []
        for lineno, text in lines:
            text = keep(text)
            if text is not None:
                out.append((lineno, text))
        return out


class Normalizer:
    """Bytes in pieces -> (line number, normalised text): `TextDecoder` then `Lines`."""

    def __init__(self, name: str, stats: SourceStats | None = None, live: bool = False) -> None:
        self.stats = stats if stats is not None else SourceStats(name=name)
        self.text = TextDecoder(name, self.stats)
        self.lines = Lines(self.stats, live=live)

    @property
    def held(self) -> int:
        """Lines waiting for the head's decision."""
        return len(self.lines.held)

    def feed(self, data: bytes) -> list[tuple[int, str]]:
        return self.lines.feed(self.text.decode(data))

    def settle(self) -> list[tuple[int, str]]:
        """Decide the encoding on the bytes that have arrived, however few."""
        return self.lines.feed(self.text.decode(b"", settle=True))

    def decide(self) -> list[tuple[int, str]]:
        return self.settle() + self.lines.decide()

    def close(self) -> list[tuple[int, str]]:
        out = self.lines.feed(self.text.decode(b"", final=True))
        return out + self.lines.close()
