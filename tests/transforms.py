"""The shapes a real log arrives in, as functions of its text.

Each returns bytes (what a file or pipe would hold). They compose: every
text transform can be followed by another, and by `notebook` or `gzipped`.
"""

from __future__ import annotations

import gzip
import json
import random
import re

_EPOCH = re.compile(r"^(\s*)\[Fold (\d+)\] Epoch\s+(\d+)")


def ansi(text: str) -> str:
    """Colour the trainer's tags and numbers, as a terminal logger would."""
    text = re.sub(r"\[(OK|WARN|FAIL)\]", lambda m: f"\x1b[1;{ {'OK': 32, 'WARN': 33, 'FAIL': 31}[m.group(1)] }m[{m.group(1)}]\x1b[0m", text)
    return re.sub(r"(val_r2: )([+-]\d\.\d+)", "\\1\x1b[36m\\2\x1b[0m", text)


def crlf(text: str) -> str:
    return text.replace("\n", "\r\n")


def bom(text: str) -> str:
    return "\ufeff" + text


def timestamps(text: str) -> str:
    out = []
    for i, line in enumerate(text.split("\n")[:-1]):
        seconds = 11 + i // 40
        out.append(f"2025-12-25 14:{(3 + seconds // 60) % 60:02d}:{seconds % 60:02d},{(i * 37) % 1000:03d} INFO {line}")
    return "\n".join(out) + "\n"


def stdout_tag(text: str) -> str:
    return "".join(f"[stdout] {line}\n" for line in text.split("\n")[:-1])


def kaggle(text: str) -> str:
    return "".join(f"{12.5 + i * 0.3:8.1f}s {i + 1:6d} {line}\n" for i, line in enumerate(text.split("\n")[:-1]))


def progress_bars(text: str) -> str:
    """Lightning's piped progress bar: redraw frames, cursor-up codes, and the epoch line after the last frame."""
    out = []
    for line in text.split("\n")[:-1]:
        match = _EPOCH.match(line)
        if match:
            epoch = match.group(3)
            frames = "".join(f"\rEpoch {epoch}: {p:3d}%|{'#' * (p // 10):<10}| {p // 20}/5 [00:0{p // 20}<00:05, 0.7it/s, v_num=0]"
                             for p in (20, 40, 60, 80, 100))
            out.append("\rValidation: |          | 0/? [00:00<?, ?it/s]\x1b[A")
            out.append(frames + "\r" + " " * 70 + "\x1b[A" + f"\rEpoch {epoch}: 100%|##########| 5/5 [00:06<00:00]  " + line.lstrip())
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def lossy_paste(text: str) -> str:
    """A paste that lost every line's indentation and gained a blank line after each."""
    return "".join(f"{line.lstrip()}\n\n" for line in text.split("\n")[:-1])


TEXT_TRANSFORMS = {
    "ansi": ansi,
    "crlf": crlf,
    "bom": bom,
    "timestamps": timestamps,
    "stdout_tag": stdout_tag,
    "kaggle": kaggle,
    "progress_bars": progress_bars,
    "lossy_paste": lossy_paste,
}


def notebook(text: str, seed: int = 0) -> bytes:
    """The log as a notebook: output spread over several cells and stream outputs (stdout and stderr)."""
    rng = random.Random(seed)
    lines = text.split("\n")[:-1]
    cells = [{"cell_type": "markdown", "metadata": {}, "source": ["# PercePiano replica training"]}]
    index = 0
    while index < len(lines):
        size = rng.randint(40, 400)
        chunk = lines[index:index + size]
        index += size
        outputs = []
        part = 0
        while part < len(chunk):
            step = rng.randint(5, 60)
            piece = chunk[part:part + step]
            part += step
            outputs.append({"output_type": "stream", "name": rng.choice(["stdout", "stderr"]),
                            "text": [line + "\n" for line in piece]})
        cells.append({"cell_type": "code", "execution_count": len(cells), "metadata": {},
                      "source": ["trainer.train_all_folds()"], "outputs": outputs})
    cells.append({"cell_type": "code", "execution_count": None, "metadata": {}, "source": ["results"],
                  "outputs": [{"output_type": "execute_result", "execution_count": 99, "metadata": {},
                               "data": {"text/plain": ["{'status': 'done'}"]}}]})
    document = {"cells": cells, "metadata": {"kernelspec": {"name": "python3"}}, "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(document).encode("utf-8")


def gzipped(data: bytes) -> bytes:
    return gzip.compress(data)
