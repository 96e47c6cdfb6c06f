import gzip

import pytest

from percediag.errors import InputError
from percediag.normalize import clean_line, looks_binary
from percediag.sources import LogSource


def lines_of(data: bytes) -> list[tuple[int, str]]:
    import io

    return list(LogSource.from_stream(io.BytesIO(data), "t").lines())


def test_crlf_and_bom_are_removed_and_line_numbers_kept():
    source = LogSource.from_stream(__import__("io").BytesIO(b"\xef\xbb\xbfa\r\nb\r\n"), "t")
    assert list(source.lines()) == [(1, "a"), (2, "b")]
    assert source.stats.bom and source.stats.crlf_lines == 2


def test_carriage_return_redraws_keep_the_last_frame_and_the_line_after_it():
    raw = "\rEpoch 0:  20%|##  | 1/5\rEpoch 0: 100%|####| 5/5  [Fold 1] Epoch   0 | val_r2: +0.1000"
    assert clean_line(raw) == "Epoch 0: 100%|####| 5/5  [Fold 1] Epoch   0 | val_r2: +0.1000"


def test_trailing_carriage_return_does_not_blank_the_line():
    assert clean_line("abc\r\r") == "abc"


def test_ansi_sequences_are_stripped():
    assert clean_line("\x1b[32m[OK]\x1b[0m Logits std=0.6 \x1b[A") == "[OK] Logits std=0.6 "


def test_tabs_become_spaces():
    assert clean_line("\tR2:\t+0.1") == "    R2: +0.1"


def test_invalid_utf8_is_replaced_and_counted():
    source = LogSource.from_stream(__import__("io").BytesIO(b"ok\nbad \xff\xfe byte\n"), "t")
    out = list(source.lines())
    assert out[1][1] == "bad \ufffd\ufffd byte"
    assert source.stats.bad_bytes == 2
    assert any("not valid utf-8" in note for note in source.stats.notes)


def test_utf16_with_bom_is_decoded():
    data = "\ufeffline one\nline two\n".encode("utf-16-le")
    data = b"\xff\xfe" + "line one\nline two\n".encode("utf-16-le")
    assert [t for _, t in lines_of(data)] == ["line one", "line two"]


@pytest.mark.parametrize("data", [b"\x00\x01\x02binary", bytes(range(256)) * 4, b"\x7fELF\x02\x01\x01\x00\x00"])
def test_binary_input_is_refused(data):
    with pytest.raises(InputError, match="binary"):
        lines_of(data)


def test_text_with_a_few_control_bytes_is_not_binary():
    assert not looks_binary(b"Epoch 1 \x1b[0m done\x0c\n" * 20)


def test_gzip_source(tmp_path):
    path = tmp_path / "train.log.gz"
    with gzip.open(path, "wb") as handle:
        handle.write(b"one\ntwo\n")
    assert [t for _, t in LogSource.from_path(path).lines()] == ["one", "two"]


def test_truncated_gzip_is_an_input_error(tmp_path):
    path = tmp_path / "train.log.gz"
    body = "".join(f"line {i} {i * 7919 % 104729}\n" for i in range(5000)).encode()
    path.write_bytes(gzip.compress(body)[:-20])
    with pytest.raises(InputError):
        list(LogSource.from_path(path).lines())


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        LogSource.from_path(tmp_path / "nope.log")
    with pytest.raises(InputError, match="directory"):
        LogSource.from_path(tmp_path)


def test_last_line_without_newline_is_kept():
    assert lines_of(b"a\nb") == [(1, "a"), (2, "b")]


def test_lines_split_across_read_chunks(monkeypatch):
    import percediag.sources as sources

    monkeypatch.setattr(sources, "CHUNK_SIZE", 7)
    text = "".join(f"line {i} \u00e9\u00e8\n" for i in range(50)).encode()
    assert [t for _, t in lines_of(text)] == [f"line {i} \u00e9\u00e8" for i in range(50)]


def test_utf16_big_endian_with_bom_is_decoded():
    data = b"\xfe\xff" + "line one\r\nline two\n".encode("utf-16-be")
    source = LogSource.from_stream(__import__("io").BytesIO(data), "t")
    assert [t for _, t in source.lines()] == ["line one", "line two"]
    assert source.stats.encoding == "utf-16" and source.stats.crlf_lines == 1
    assert source.stats.notes == ["decoded as UTF-16 (byte order mark)"]


def test_the_plan_sends_only_plain_utf8_to_the_bytes_fast_path():
    """`reading().plan` is what the parse layer asks before reading bytes without the line reader."""
    import io

    def plain(data: bytes) -> bool:
        with LogSource.from_stream(io.BytesIO(data), "t").reading() as reading:
            return reading.plan.plain

    text = "".join(f"  [Fold 0] Epoch {n:3d} | train_loss: 0.0141 | val_r2: +0.0170\n" for n in range(30))
    assert plain(text.encode()) and plain(b"\xef\xbb\xbf" + text.encode())
    assert not plain(text.encode("utf-16"))
    assert not plain("".join(f"[stdout] {line}\n" for line in text.splitlines()).encode())
