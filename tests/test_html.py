"""`--format html`, the notebook view, diff/history in HTML, and the read progress bar (no browser here:
tests/test_html_browser.py renders the same documents in headless Chromium)."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from html.parser import HTMLParser

import pytest

from percediag.report.html import band_of, render
from percediag.report.progress import SHOW_AFTER, SHOW_SIZE, ReadProgress, wanted
from tests.helpers import EXAMPLES, REAL, ROOT, run_cli

# Every tag percediag's HTML may contain: anything else came from the log (it must have been escaped).
OWN_TAGS = {"html", "head", "meta", "title", "style", "body", "main", "section", "h1", "h2", "h3", "p", "span", "strong",
            "code", "div", "dl", "dt", "dd", "details", "summary", "ol", "ul", "li", "br", "table", "thead", "tbody",
            "tr", "th", "td", "a", "figure", "figcaption", "hr", "svg", "desc", "defs", "clippath", "rect", "g", "line",
            "polyline", "polygon", "circle", "text"}


class Page(HTMLParser):
    """The tags, ids, local links and SVG shapes of a document."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.ids: list[str] = []
        self.hrefs: list[str] = []
        self.shapes: list[tuple[str, str, str]] = []  # (svg id, tag, class)
        self.svg: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.add(tag)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if "href" in attrs:
            self.hrefs.append(attrs["href"])
        if tag == "svg" and "pdg-plot" in (attrs.get("class") or ""):
            self.svg.append(attrs["id"])
        elif self.svg and attrs.get("class"):
            self.shapes.append((self.svg[-1], tag, attrs["class"]))

    def count(self, svg_id: str, css: str) -> int:
        return sum(1 for sid, _, cls in self.shapes if sid == svg_id and cls == css)


def _check_r2_plot(page: Page, data: dict, prefix: str = "pdg1") -> None:
    """One curve per fold with epochs; a marker per reached milestone, per best epoch and per forecast."""
    run = data["records"]
    folds = [f for f in run["folds"] if f["epochs"]]
    assert page.count(f"{prefix}-r2", "pdg-curve") == len(folds)
    milestones = [int(f["rule"].rsplit("_", 1)[1]) for f in data["findings"] if f["rule"].startswith("progression.epoch_")]
    reached = sum(1 for f in folds for m in set(milestones) if any(e["epoch"] == m - 1 for e in f["epochs"]))
    best = sum(1 for f in data["findings"] if f["rule"] == "progression.convergence" and f["fold"] is not None
               and any(g["fold"] == f["fold"] for g in folds))
    forecasts = sum(1 for fc in data["forecast"] if fc["projected"] is not None)
    assert page.count(f"{prefix}-r2", "pdg-marker") == reached + best + forecasts
    assert page.count(f"{prefix}-r2", "pdg-forecast") == forecasts


def test_round5_html_report_reads_without_the_text_report(tmp_path):
    out = tmp_path / "r.html"
    code, stdout, err = run_cli(["check", str(REAL / "round5.log"), "--format", "html", "-o", str(out)])
    assert code == 1 and err == "" and stdout == ""
    text = out.read_text(encoding="utf-8")
    page = Page(text)
    assert text.startswith("<!DOCTYPE html>") and page.tags <= OWN_TAGS
    # Self-contained: nothing fetched (no script, stylesheet link, image, font or remote URL).
    assert not re.search(r"<script|<link|<img|<iframe|@import|url\(\s*['\"]?(?!#)|https?://|src=", text, re.I)
    code, js, _ = run_cli(["check", str(REAL / "round5.log"), "-f", "json"])
    data = json.loads(js)
    # First the verdict, the profile, the configuration and the fixes with their evidence.
    order = [text.index(s) for s in ("pdg-verdict", "Configuration used", "Next fixes", "R2 per epoch")]
    assert order == sorted(order)
    top = [f for f in data["fixes"] if f["rank"] == 1][0]
    assert f'<code>{top["id"]}</code>' in text and top["change"].split(";")[0][:40] in text
    for section in ("Activation health", "Gradient balance", "Loss", "R2 per dimension", "Findings"):
        assert f"<h2>{section}</h2>" in text
    _check_r2_plot(page, data)
    # The baselines ladder and the SOTA range as references, the milestone thresholds at their epochs.
    for label in ("mean prediction 0", "Bi-LSTM 0.185", "MidiBERT 0.313", "HAN SOTA 0.397", "SOTA range 0.3-0.4"):
        assert label in text
    assert page.count("pdg1-r2", "pdg-threshold") == len({f["rule"] for f in data["findings"] if f["rule"].startswith("progression.epoch_")})
    # Activation checks: one marker per fold per check; gradient plots: the kept steps and the per-fold statistics.
    for rule in ("activation.logit_std", "activation.pred_std", "activation.std_ratio", "activation.collapsed_dims"):
        assert page.count(f"pdg1-{rule.replace('.', '-')}", "pdg-marker") == len(data["records"]["folds"])
    for rule, attr in (("gradient-total_norm", "total"), ("gradient-balance_ratio", "balance")):
        kept = sum(1 for f in data["records"]["folds"] for s in f["gradients"]["sample"] if s[attr] is not None)
        assert page.count(f"pdg1-{rule}-steps", "pdg-step") == kept
        assert page.count(f"pdg1-{rule}", "pdg-errbar") == len(data["records"]["folds"])
    # Every finding is a row with its log lines, and every link points at something in the page.
    rows = [i for i in page.ids if "-f-" in i]
    assert len(rows) == len(data["findings"]) == len(set(rows))
    assert "line 153" in text  # fold 1's logits std, the first finding's evidence
    local = [h for h in page.hrefs if h.startswith("#")]
    assert local and set(h[1:] for h in local) <= set(page.ids) and len(local) == len(page.hrefs)
    # A marker links to its finding, and the finding links back to the plot.
    assert 'href="#pdg1-f-activation-logit_std-1"' in text
    row = re.search(r'<tr id="pdg1-f-activation-logit_std-1">.*?</tr>', text).group(0)
    assert 'href="#pdg1-activation-logit_std"' in row and "FAIL" in row and "line 153" in row


def test_html_is_a_repeatable_format_and_other_outputs_stay_the_same(tmp_path):
    log = str(EXAMPLES / "healthy-sota.log")
    _, alone, _ = run_cli(["check", log, "-f", "json"])
    code, stdout, err = run_cli(["check", log, "-f", "json", "-f", "html", "-o", "-", "-o", str(tmp_path / "r.html")])
    assert code == 0 and err == "" and stdout == alone
    page = Page((tmp_path / "r.html").read_text(encoding="utf-8"))
    _check_r2_plot(page, json.loads(alone))
    # To stdout, the same document.
    code, html_out, _ = run_cli(["check", log, "-f", "html"])
    assert html_out == (tmp_path / "r.html").read_text(encoding="utf-8")


def test_several_logs_are_one_document_with_distinct_anchors(tmp_path):
    logs = [str(EXAMPLES / "round5-plateau.log"), str(EXAMPLES / "crashed-oom.log")]
    code, text, err = run_cli(["check", *logs, "-f", "html"])
    assert code == 1 and err == ""
    page = Page(text)
    assert len(page.ids) == len(set(page.ids))
    assert {"pdg1-r2", "pdg2-r2"} <= set(page.svg)
    assert text.count("<html") == 1 and 'href="#pdg2"' in text


def test_missing_data_is_said_not_drawn_empty():
    """A log that holds no training data: the sections say so; no empty plot pretends otherwise."""
    code, text, _ = run_cli(["check", "-", "-f", "html"], stdin=b"Epoch 1: 100%|##########| 89/89 [00:03<00:00]\nsome notes\n")
    assert code == 1
    page = Page(text)
    assert "The log holds no epoch line with a validation R2." in text and "The log holds no gradient step." in text
    assert not page.svg and "log.no_data" in text


def test_the_notebook_view_is_scoped_and_draws_the_same_plots():
    import percediag

    report = percediag.check(str(REAL / "round5.log"))
    view = report._repr_html_()
    assert view.startswith('<div class="pdg">') and "<html" not in view and "<body" not in view
    css = re.search(r"<style>(.*?)</style>", view, re.S).group(1)
    # Every rule of the stylesheet applies only inside the output's own element.
    for selectors in re.findall(r"(?:^|})\s*([^{}@]+?)\s*{", css):
        for selector in selectors.split(","):
            assert selector.strip().startswith(".pdg"), selector
    page = Page(view)
    prefix = next(i for i in page.ids if i.endswith("-r2")).removesuffix("-r2")
    _check_r2_plot(page, json.loads(report.model_dump_json()), prefix)
    assert set(h[1:] for h in page.hrefs) <= set(page.ids)


def test_quoted_text_is_escaped(tmp_path):
    text = (REAL / "round5.log").read_text(encoding="utf-8")
    evil = '<script>alert(1)</script><img src=x onerror=alert(2)> "quoted" & \x1b[31m\u202e'
    text = text.replace("SOTA + ROUND 5 FIXES", f"SOTA + ROUND 5 FIXES {evil}", 1)
    path = tmp_path / "run <b>&.log"
    path.write_text(text, encoding="utf-8")
    code, out, err = run_cli(["check", str(path), "-f", "html"])
    assert code == 1 and err == ""
    assert Page(out).tags <= OWN_TAGS
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out and "run &lt;b&gt;&amp;.log" in out
    assert "\x1b" not in out and "\u202e" not in out


def test_band_of_reads_the_expected_ranges_rules_print():
    assert band_of("0.5-1.5") == (0.5, 1.5)
    assert band_of("0.5-2, spikes <= 10x median") == (0.5, 2.0)
    assert band_of("-0.1-0.2") == (-0.1, 0.2)
    assert band_of("> 0.15") == (0.15, None)
    assert band_of(">= 0.3 (SOTA range 0.3-0.4)") == (0.3, None)
    assert band_of("at most 0") == (None, 0.0)
    assert band_of("present") is None and band_of(None) is None


def test_diff_and_history_in_html():
    old, new = str(REAL / "round4.log"), str(REAL / "round5.log")
    code, text, err = run_cli(["diff", old, new, "-f", "html"])
    assert code == 1 and err == "" and text.startswith("<!DOCTYPE html>")
    page = Page(text)
    folds = [len([f for f in json.loads(run_cli(["check", p, "-f", "json"])[1])["records"]["folds"] if f["epochs"]])
             for p in (old, new)]
    assert page.count("pdgdiff-r2", "pdg-curve") == sum(folds)
    assert "MIXED" in text and page.tags <= OWN_TAGS
    logs = [str(REAL / name) for name in ("round4.log", "round5.log", "round6.log")]
    code, text, err = run_cli(["history", *logs, "-f", "html"])
    assert code == 0 and err == ""
    page = Page(text)
    assert page.count("pdghist-r2", "pdg-marker") == 2 * len(logs)  # best R2 and CV mean per run
    assert {f"pdghist-row-{i}" for i in range(len(logs))} <= set(page.ids)
    assert set(h[1:] for h in page.hrefs) <= set(page.ids)


# --- progress -----------------------------------------------------------------------------------

class _Terminal:
    """A stand-in for a terminal stream (what ReadProgress is given), recording what is drawn."""

    def __init__(self) -> None:
        self.text = ""

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def flush(self) -> None:
        pass


def test_progress_shows_for_large_or_slow_reads_only(monkeypatch):
    monkeypatch.setenv("TERM", "xterm")
    now = [0.0]
    small = ReadProgress("small.log", 4 << 20, _Terminal(), clock=lambda: now[0])
    small(4 << 20)
    assert not small.shown  # small and quick: nothing
    slow = ReadProgress("<stdin>", None, _Terminal(), clock=lambda: now[0])
    slow(1 << 20)
    now[0] += SHOW_AFTER + 0.1
    slow(2 << 20)
    assert slow.shown
    slow.close()
    large = ReadProgress("big.log", SHOW_SIZE + 1, _Terminal(), clock=lambda: now[0])
    large(1 << 20)
    assert large.shown
    large.close()
    assert not wanted(_Terminal(), quiet=True)
    with open(os.devnull, "w") as sink:
        assert not wanted(sink, quiet=False)
    monkeypatch.setenv("TERM", "dumb")
    assert not wanted(_Terminal(), quiet=False)


def _pty_run(args: list[str], stderr_tty: bool = True) -> tuple[int, str, str]:
    """Run percediag with stderr (and stdout) on a pseudo-terminal, or stderr on a pipe."""
    exe = [sys.executable, "-m", "percediag", *args]
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "100"}
    env.pop("NO_COLOR", None)
    if not stderr_tty:
        done = subprocess.run(exe, capture_output=True, text=True, env=env, timeout=300)
        return done.returncode, done.stdout, done.stderr
    master, slave = pty.openpty()
    proc = subprocess.Popen(exe, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    chunks = []
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1.0)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    os.close(master)
    return proc.wait(timeout=60), b"".join(chunks).decode("utf-8", "replace"), ""


@pytest.fixture(scope="module")
def big_log(tmp_path_factory):
    sys.path.insert(0, str(ROOT / "bench"))
    import make_log

    path = tmp_path_factory.mktemp("big") / "big.log"
    make_log.write(SHOW_SIZE + (4 << 20), path, seed=21)
    return path


def test_a_large_log_shows_a_progress_bar_on_a_terminal_only(big_log, tmp_path):
    code, screen, _ = _pty_run(["check", str(big_log), "-f", "json", "-o", str(tmp_path / "r.json")])
    assert code == 1
    assert "reading" in screen and "big.log" in screen and "MB/s" in screen and "ETA" in screen
    # Quiet: the one summary line, no bar.
    code, screen, _ = _pty_run(["check", str(big_log), "-q"])
    plain = re.sub(r"\x1b\[[0-9;]*m", "", screen)
    assert code == 1 and "\x1b" not in plain and plain.strip().startswith("FAIL") and len(plain.strip().splitlines()) == 1
    # A pipe: nothing on stderr, and the JSON on stdout is the same as without a terminal anywhere.
    code, out, err = _pty_run(["check", str(big_log), "-f", "json"], stderr_tty=False)
    assert code == 1 and err == "" and json.loads(out)["status"] == "fail"
    assert json.loads(out) == json.loads((tmp_path / "r.json").read_text())


def test_the_documented_commands_and_screenshot(tmp_path, monkeypatch):
    """docs/html-report.md's commands run as written; the README shows the screenshot, kept small."""
    import shlex
    import shutil

    doc = (ROOT / "docs" / "html-report.md").read_text(encoding="utf-8")
    block = re.search(r"```sh\n(.*?)```", doc, re.S).group(1)
    for name in ("round4.log", "round5.log", "round6.log"):
        shutil.copy(REAL / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    for line in block.strip().splitlines():
        args = shlex.split(line)
        target = args[args.index(">") + 1] if ">" in args else None
        args = args[:args.index(">")] if target else args
        assert args[0] == "percediag"
        code, out, err = run_cli(args[1:])
        assert code in (0, 1) and err == "", (line, err)
        if target:
            (tmp_path / target).write_text(out, encoding="utf-8")
        written = tmp_path / (target or next(a for a in args if a.endswith(".html")))
        assert written.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
        if "-o -" in line:
            assert "Next fixes" in out and not out.startswith("<")
    image = ROOT / "docs" / "img" / "html-report.png"
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and image.stat().st_size < 150_000
    assert "](docs/img/html-report.png)" in (ROOT / "README.md").read_text(encoding="utf-8")
    assert "](img/html-report.png)" in doc
