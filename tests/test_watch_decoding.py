"""`watch` decodes its input exactly as `check` does (issue 14): UTF-16, CRLF, gzip and binary
input give the same verdict, or the same refusal, whichever command reads them.

Before, a UTF-16 copy of an example log gave 4 folds to `check` and none to `watch`. Both now
share `sources`' decoding; watch's LineStream adds only the waiting for enough bytes.
"""

from __future__ import annotations

import gzip
import json

import pytest

from percediag.errors import InputError
from percediag.live.lines import LineStream
from tests.helpers import EXAMPLES, run_cli

LOGS = sorted(EXAMPLES.glob("*.log"))
FORMS = {
    "plain": lambda text: text.encode("utf-8"),
    "utf-16": lambda text: text.encode("utf-16"),  # with its byte order mark, as Windows tools write it
    "crlf": lambda text: text.replace("\n", "\r\n").encode("utf-8"),
}


pytestmark = pytest.mark.usefixtures("deadline")


def check_verdict(path) -> tuple:
    code, out, err = run_cli(["check", str(path), "-f", "json", "--isolated"])
    assert code in (0, 1), err
    report = json.loads(out)
    bad = {(f["rule"], f["fold"], f["status"]) for f in report["findings"] if f["status"] in ("warn", "fail")}
    top = next((fix["id"] for fix in report["fixes"] if fix["rank"] == 1), None)
    return code, report["status"], report["counts"], top, bad


def watch_verdict(path) -> tuple:
    code, out, err = run_cli(["watch", str(path), "-f", "jsonl", "--idle-exit", "0", "--interval", "0.01", "--isolated"])
    assert code in (0, 1), err
    events = [json.loads(line) for line in out.splitlines()]
    final: dict[tuple, str] = {}
    for event in events:
        if event["event"] == "finding":
            final[(event["rule"], event["fold"])] = event["status"]
    end = events[-1]
    assert end["event"] == "end"
    bad = {(rule, fold, status) for (rule, fold), status in final.items() if status in ("warn", "fail")}
    return code, end["status"], end["counts"], end["top_fix"], bad


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("log", LOGS, ids=lambda path: path.stem)
def test_watch_and_check_agree_on_every_example(tmp_path, log, form):
    path = tmp_path / log.name
    path.write_bytes(FORMS[form](log.read_text(encoding="utf-8")))
    expected = check_verdict(path)
    assert expected[2]["pass"] > 0  # decoded: the log's records were read
    assert watch_verdict(path) == expected


def test_gzip_input_gives_the_same_verdict(tmp_path):
    log = EXAMPLES / "round5-plateau.log"
    path = tmp_path / "train.log.gz"  # compressed: known by its first bytes, not its name
    path.write_bytes(gzip.compress(log.read_bytes()))
    assert watch_verdict(path) == check_verdict(path) == check_verdict(log)


@pytest.mark.parametrize("data", [
    b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 40,  # an executable
    b"  [Fold 0] Epoch   0 | val_r2: 0.1\n" + b"\x00\x01\x02\x03" * 3000,  # a NUL early on
    gzip.compress(b"  [Fold 0] Epoch   0 | val_r2: 0.1\n")[:-12],  # a truncated gzip
])
def test_binary_or_damaged_input_is_refused_alike(tmp_path, data):
    path = tmp_path / "train.log"
    path.write_bytes(data)
    check_code, _, check_err = run_cli(["check", str(path), "--isolated"])
    watch_code, _, watch_err = run_cli(["watch", str(path), "--idle-exit", "0", "--isolated"])
    assert check_code == watch_code == 2
    assert watch_err.count("\n") == 1 and watch_err.startswith("percediag: error: ")
    assert watch_err.split(": ")[:3] == check_err.split(": ")[:3]  # the same reason


def test_the_format_is_decided_from_pieces_as_a_pipe_delivers_them():
    """A UTF-16 log and a gzip log arriving a few bytes at a time give the lines of the plain log."""
    text = (EXAMPLES / "healthy-sota.log").read_text(encoding="utf-8")

    def lines(data: bytes, piece: int) -> list[tuple[int, str]]:
        stream = LineStream("<pipe>")
        out = []
        for start in range(0, len(data), piece):
            out += stream.feed(data[start:start + piece])
        return out + stream.close()

    plain = lines(text.encode(), 4096)
    assert len(plain) > 1000
    assert lines(text.encode("utf-16"), 3) == plain
    assert lines(gzip.compress(text.encode()) + gzip.compress(b""), 5) == plain
    with pytest.raises(InputError, match="binary data, not a text log"):
        lines(b"a\x00" * 5000, 1)
