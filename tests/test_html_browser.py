"""The HTML report in a real browser: headless Chromium loads it without console errors, draws
its plots (SVG shapes in the rendered DOM), and a screenshot shows the folds' curves.

Chromium is Debian's `chromium` package (`.ci/run` installs it when missing). Outside CI
a machine without it skips these tests, saying why; in CI (CI=true) a missing browser fails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from percediag.report.svg import FOLD_COLOURS
from tests.helpers import REAL, run_cli
from tests.test_html import Page, _check_r2_plot


@pytest.fixture(scope="module")
def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI") == "true":
        pytest.fail("chromium is not installed: .ci/run installs Debian's chromium package; the HTML report "
                    "must be tested in a real browser in CI")
    pytest.skip("chromium is not installed (apt-get install chromium); the HTML report's browser test needs it")


def _browser(chromium: str, tmp: Path, *args: str) -> subprocess.CompletedProcess:
    """Run headless Chromium with its own profile folder; console messages go to stderr."""
    command = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
               "--no-first-run", "--disable-extensions", "--enable-logging=stderr", "--v=0",
               f"--user-data-dir={tmp / 'profile'}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def _console(stderr: str) -> list[str]:
    """The page's console messages and uncaught errors (Chromium logs them as CONSOLE lines)."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


def _pixels(png: bytes) -> tuple[int, int, int, bytes]:
    """(width, height, bytes per pixel, raw pixel rows) of an 8-bit, non-interlaced RGB or RGBA PNG."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, [], None
    while pos < len(png):
        (size,), kind = struct.unpack(">I", png[pos:pos + 4]), png[pos + 4:pos + 8]
        chunk = png[pos + 8:pos + 8 + size]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat.append(chunk)
        pos += 12 + size
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, header
    bpp = 3 if colour == 2 else 4
    data = zlib.decompress(b"".join(idat))
    stride = width * bpp
    out = bytearray(stride * height)
    previous = bytearray(stride)
    for y in range(height):
        kind = data[y * (stride + 1)]
        row = bytearray(data[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if kind == 1:
            for i in range(bpp, stride):
                row[i] = (row[i] + row[i - bpp]) & 0xFF
        elif kind == 2:
            row = bytearray((a + b) & 0xFF for a, b in zip(row, previous))
        elif kind == 3:
            for i in range(stride):
                left = row[i - bpp] if i >= bpp else 0
                row[i] = (row[i] + ((left + previous[i]) >> 1)) & 0xFF
        elif kind == 4:
            for i in range(stride):
                a = row[i - bpp] if i >= bpp else 0
                b = previous[i]
                c = previous[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                row[i] = (row[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        out[y * stride:(y + 1) * stride] = row
        previous = row
    return width, height, bpp, bytes(out)


def _colour_counts(png: bytes, colours: list[str]) -> tuple[dict[str, int], float]:
    """Pixels of exactly each colour, and the share of pixels that are not white."""
    width, height, bpp, raw = _pixels(png)
    wanted = {bytes.fromhex(c.lstrip("#")): c for c in colours}
    counts = dict.fromkeys(colours, 0)
    blank = 0
    for i in range(0, len(raw), bpp):
        pixel = raw[i:i + 3]
        if pixel == b"\xff\xff\xff":
            blank += 1
        elif pixel in wanted:
            counts[wanted[pixel]] += 1
    return counts, 1 - blank / (width * height)


@pytest.fixture(scope="module")
def round5(tmp_path_factory):
    folder = tmp_path_factory.mktemp("html")
    page = folder / "r.html"
    code, _, err = run_cli(["check", str(REAL / "round5.log"), "--format", "html", "-o", str(page)])
    assert code == 1 and err == ""
    data = json.loads(run_cli(["check", str(REAL / "round5.log"), "-f", "json"])[1])
    return folder, page, data


def test_the_console_check_catches_a_broken_page(chromium, tmp_path):
    """The control: a page with a script error is seen as one, so a clean report is not a blind pass."""
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><html><body><p>x</p><script>missingFunction();</script></body></html>")
    done = _browser(chromium, tmp_path, "--dump-dom", page.as_uri())
    assert any("missingFunction" in line for line in _console(done.stderr)), done.stderr[-2000:]


def test_the_report_loads_cleanly_and_its_plots_are_in_the_rendered_dom(chromium, round5):
    folder, page, data = round5
    done = _browser(chromium, folder, "--dump-dom", page.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    assert _console(done.stderr) == []
    # What the browser built, not what the file says: the curves and markers are elements of the DOM.
    dom = Page(done.stdout)
    _check_r2_plot(dom, data)
    folds = len(data["records"]["folds"])
    for rule in ("activation-logit_std", "activation-pred_std", "activation-std_ratio", "activation-collapsed_dims"):
        assert dom.count(f"pdg1-{rule}", "pdg-marker") == folds
    assert dom.count("pdg1-loss", "pdg-curve") == 2 * folds  # train and validation loss per fold
    assert dom.count("pdg1-dims", "pdg-bar") == len(data["records"]["dimensions"]["rows"])
    assert len([i for i in dom.ids if "-f-" in i]) == len(data["findings"])


def test_a_screenshot_shows_every_folds_curve(chromium, round5):
    folder, page, data = round5
    shot = folder / "r.png"
    done = _browser(chromium, folder, f"--screenshot={shot}", "--window-size=1100,2600", page.as_uri())
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    assert _console(done.stderr) == []
    folds = len(data["records"]["folds"])
    colours = list(FOLD_COLOURS[:folds])
    counts, inked = _colour_counts(shot.read_bytes(), colours)
    # Not blank, not a wall of colour; each fold's colour drawn (its curves: R2, gradients, loss).
    assert 0.03 < inked < 0.6, inked
    assert all(count >= 150 for count in counts.values()), counts


def test_diff_and_history_pages_load_cleanly(chromium, tmp_path):
    logs = [str(REAL / name) for name in ("round4.log", "round5.log")]
    _, diff_page, _ = run_cli(["diff", *logs, "-f", "html"])
    _, history_page, _ = run_cli(["history", *logs, str(REAL / "round6.log"), "-f", "html"])
    for name, text, svg, css, count in (("diff.html", diff_page, "pdgdiff-r2", "pdg-curve", 8),
                                        ("history.html", history_page, "pdghist-r2", "pdg-marker", 6)):
        page = tmp_path / name
        page.write_text(text, encoding="utf-8")
        done = _browser(chromium, tmp_path, "--dump-dom", page.as_uri())
        assert done.returncode == 0 and _console(done.stderr) == [], done.stderr[-2000:]
        assert Page(done.stdout).count(svg, css) == count
        assert re.search(r"<svg[^>]+pdg-plot", done.stdout)
