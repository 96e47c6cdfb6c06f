"""Untrusted text stays text (issue 14, point 3): one sanitiser, every output.

Text from the log, its file name, the configuration's file name and the
user's option values reach no output with a control character (C0, DEL, C1;
tab excepted, and LF only where the format itself breaks lines), a bidi
override, HTML a Markdown reader would render, or an `@mention` a
pull-request comment would notify; XML and JSON always parse.
"""

from __future__ import annotations

import html
import io
import json
import re
import xml.etree.ElementTree as ET
from functools import lru_cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from percediag.model import ParseWarning
from percediag.report import FORMATS, renderer
from percediag.report.sanitize import (
    clean,
    clean_data,
    clean_model,
    markdown_code,
    markdown_text,
    model_json,
    workflow_data,
    workflow_property,
)
from tests.helpers import EXAMPLES, run_cli

# What no output may carry from its input (LF and tab are checked per format).
FORBIDDEN = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]")
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"

# Everything at once: SGR and OSC 8 hyperlink escapes, a C1 CSI, BEL, NUL, CR, VT, a bidi override,
# HTML, an @mention (and a team), rich markup, Markdown and table syntax, a lone surrogate.
EVIL = ("\x1b[31mRED\x1b[0m \x1b]8;;http://evil.example\x07link\x1b]8;;\x07 \x9b2J \x07BEL \x00NUL \rCR\r\nLF\x0b"
        " \u202eevil\u202c <b>&amp;</b> <img src=x onerror=alert(1)> @octocat @org/team [link=http://x]y[/link] [/bad]"
        " | `tick` *em* \ud800 \ufffe \x85NEL \u2028LS \ttab")
# What survives any input normalisation, so a test can see the text did reach the output.
MARKER = "pwned"


def forbidden(text: str, allow: str = "") -> list[str]:
    return [char for char in FORBIDDEN.findall(text) if char not in allow]


# --- clean and the format escapers ------------------------------------------------------------

def test_clean_removes_controls_keeps_tab_and_text():
    assert clean(EVIL).count("\t") == 1
    assert forbidden(clean(EVIL)) == []
    assert clean("a\x1b[2Jb\x9bc\x07d\x00e\x7ff") == "a[2Jbcdef"
    assert clean("\u202eabc\u2066d\u2069") == "abcd"
    assert clean("rtl \u200f mark") == "rtl \u200f mark"  # RLM reorders nothing: kept
    assert clean("one\r\ntwo\rthree\nfour") == "one two three four"
    assert clean("one\r\ntwo\rthree\nfour", multiline=True) == "one\ntwo\nthree\nfour"
    assert clean("bad \udcff name \ufffe") == "bad \ufffd name \ufffd"
    text = "plain ASCII, äöü, 日本語, emoji \U0001f600, tab\tok"
    assert clean(text) is text


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(exclude_categories=())))
def test_clean_property(text):
    once = clean(text)
    assert forbidden(once) == []
    assert clean(once) == once
    assert once.count("\t") == text.count("\t")
    multi = clean(text, multiline=True)
    assert forbidden(multi, "\n") == []
    if FORBIDDEN.search(text) is None:
        assert once == text


def test_clean_data_and_models():
    data = clean_data({"a\x1b": [EVIL, 1.5, float("nan"), float("inf"), None, True], "tb": "x\ny"}, frozenset({"tb"}))
    json.dumps(data, allow_nan=False)
    assert data["tb"] == "x\ny" and data["a"][2:4] == [None, None]
    assert forbidden(json.dumps(data, ensure_ascii=False), "\n") == []
    warning = ParseWarning(line=3, message=EVIL)
    cleaned = clean_model(warning)
    assert cleaned.message == clean(EVIL) and warning.message == EVIL
    plain = ParseWarning(line=3, message="fine")
    assert clean_model(plain) is plain


def test_markdown_text_and_code():
    assert markdown_text("<b>&</b>") == "&lt;b&gt;&amp;&lt;/b&gt;"
    assert markdown_text("hi @octocat and @org/team.") == "hi `@octocat` and `@org/team.`"
    assert markdown_text("a|b *c* [d](e) `f` ~g~ _h_ \\") == "a\\|b \\*c\\* \\[d\\](e) \\`f\\` \\~g\\~ \\_h\\_ \\\\"
    assert markdown_text("# heading") == "\\# heading" and markdown_text("-0.5") == "-0.5"
    assert markdown_text("\t    code?") == "code?"
    assert markdown_code("a`b|c", table=True) == "``a`b\\|c``"
    assert markdown_code("<b>@x") == "`<b>@x`"


def _markdown_renderer():
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def _shown(rendered: str) -> str:
    """What a reader of rendered Markdown sees: the text, without tags."""
    return html.unescape(re.sub(r"</?(?:p|code|br /)>", "", rendered)).strip()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["@octocat", "<b>", "&amp;", "`", "|", "*", "_", "[", "](x)", "\\", "# ", "- ", "1. ",
                                 "~~", "<!--", "!", "==="]) | st.text(max_size=6), max_size=12).map("".join))
def test_markdown_text_shows_exactly_the_text(text):
    """Rendered as Markdown (HTML allowed), the escaped text is the text: no tag, no emphasis, no link."""
    md = _markdown_renderer()
    escaped = markdown_text(text)
    rendered = md.render(escaped)
    tags = set(re.findall(r"</?([a-z0-9]+)", rendered))
    assert tags <= {"p", "code"}, rendered
    # Mentions are only ever inside code, where GitHub notifies nobody.
    outside = re.sub(r"<code>.*?</code>", "", rendered)
    assert not re.search(r"@[A-Za-z0-9]", outside), rendered
    expected = clean(text).strip(" \t")
    if expected:
        assert " ".join(_shown(rendered).split()) == " ".join(expected.split())


def test_workflow_command_escaping():
    assert workflow_data("50% done\nnext\x1b[2J") == "50%25 done%0Anext[2J"
    assert workflow_property("a,b:c\nd%") == "a%2Cb%3Ac d%25"


# --- every format, from a log ------------------------------------------------------------------

def _hostile_log(tmp_path):
    """crashed-oom.log with hostile text in its run title, a trainer tag, its traceback and its name."""
    text = (EXAMPLES / "crashed-oom.log").read_text()
    one_line = EVIL.replace("\r", "").replace("\n", "") + " " + MARKER
    early = one_line.replace("\x00", "")  # a NUL in the first 8 KiB reads as binary data
    text = text.replace("TRAINING CONFIGURATION (SOTA + ROUND 5 FIXES)",
                        f"TRAINING CONFIGURATION (SOTA + ROUND 5 FIXES {early})", 1)
    text = text.replace("[OK] Logits std=0.682 in good range", f"[OK] Logits std=0.682 in good range {early}", 1)
    text = text.replace("torch.OutOfMemoryError: CUDA out of memory.",
                        f"torch.OutOfMemoryError: CUDA out of memory {one_line}.", 1)
    path = tmp_path / "run\x1b[2J\x9b\u202e<b>@octocat.log"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    config = tmp_path / "cfg\x1b]0;title\x07\u202e<i>@octocat.yaml"
    config.write_text("profile: round5\n")
    return path, config


MARKDOWN_TAGS = {"p", "h3", "h4", "table", "thead", "tbody", "tr", "th", "td", "strong", "em", "code", "ol", "ul", "li",
                 "details", "summary", "hr", "br"}


def _check_markdown(out: str) -> None:
    """Rendered (raw HTML allowed, as GitHub allows some), only our own structure: no tag, link or
    image from the text, and every @mention inside code, where GitHub notifies nobody."""
    rendered = _markdown_renderer().render(out)
    assert set(re.findall(r"<([a-z][a-z0-9]*)", rendered)) <= MARKDOWN_TAGS, rendered
    outside = re.sub(r"<code>.*?</code>", "", rendered, flags=re.S)
    assert not re.search(r"(?<![A-Za-z0-9_])@[A-Za-z0-9]", outside), outside


def _check_output(fmt: str, out: str) -> None:
    assert forbidden(out, "\n") == [], (fmt, forbidden(out, "\n"))
    if fmt in ("json", "sarif"):
        document = json.loads(out)
        for value in _strings(document):
            assert forbidden(value, "\n") == [], value
    elif fmt == "junit":
        root = ET.fromstring(out)
        for element in root.iter():
            for value in [*element.attrib.values(), element.text or ""]:
                assert forbidden(value, "\n") == []
    elif fmt == "github":
        command = re.compile(r"^::(?:group::.*|endgroup::|(?:error|warning|notice) [a-z]+=[^,:]*(?:,[a-z]+=[^,:]*)*::.*)$")
        for line in out.splitlines():
            assert command.match(line), line
    elif fmt == "markdown":
        _check_markdown(out)
    elif fmt == "html":
        # Only percediag's own tags (tests/test_html.py checks the full list): no markup from the log.
        assert not re.search(r"<(?:b|i|script)\b", out, re.I), out


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_format_of_a_hostile_log_is_clean(tmp_path, fmt):
    path, config = _hostile_log(tmp_path)
    code, out, err = run_cli(["check", str(path), "-c", str(config), "-f", fmt])
    assert code == 1 and err == "", err
    _check_output(fmt, out)
    # The text and the configuration file got there, cleaned (not dropped), escaped as the format needs.
    assert MARKER in out and "octocat" in out and "cfg]0;title" in out
    shown = {"markdown": "&lt;b&gt;&amp;amp;&lt;/b&gt;", "junit": "&lt;b&gt;&amp;amp;&lt;/b&gt;",
             "html": "&lt;b&gt;&amp;amp;&lt;/b&gt;"}.get(fmt, "<b>&amp;</b>")
    assert shown in out
    if fmt == "markdown":
        assert "`@octocat`" in out


def test_quiet_colour_and_html_of_a_hostile_log(tmp_path):
    path, config = _hostile_log(tmp_path)
    code, out, _ = run_cli(["check", str(path), "-q"])
    assert forbidden(out, "\n") == [] and out.startswith("FAIL ") and "octocat" in out
    code, out, _ = run_cli(["check", str(path), "--color", "always"])
    # Colour is ours (SGR); nothing else escapes, and rich read no markup from the log ([link=...] stays text).
    assert forbidden(re.sub(r"\x1b\[[0-9;]*m", "", out), "\n") == []
    assert "\x1b]8;" not in out and "[/bad]" in out
    import percediag

    report = percediag.check(str(path))
    page = report._repr_html_()
    assert forbidden(page, "\n") == [] and "&lt;b&gt;" in page and "<b>&amp;" not in page
    assert forbidden(str(report), "\n") == []


def test_diff_history_and_parse_of_a_hostile_log(tmp_path):
    path, _ = _hostile_log(tmp_path)
    other = str(EXAMPLES / "round5-plateau.log")
    for args in (["diff", other, str(path)], ["history", other, str(path)]):
        for fmt in ("text", "json", "markdown"):
            code, out, err = run_cli([*args, "-f", fmt])
            assert code in (0, 1) and err == "", err
            assert forbidden(out, "\n") == [], (args, fmt)
            if fmt == "json":
                assert all(forbidden(s) == [] for s in _strings(json.loads(out)))
            if fmt == "markdown":
                _check_markdown(out)
    code, out, _ = run_cli(["parse", str(path)])
    assert code == 0 and MARKER in out and all(forbidden(s) == [] for s in _strings(json.loads(out)))


def test_error_lines_quote_user_values_cleaned(tmp_path):
    log = str(EXAMPLES / "crashed-oom.log")
    for args in (["check", "missing\x1b[2J\x9b\u202e.log"], ["check", "-p", "x\x1b]0;pwn\x07"],
                 ["check", log, "--run", "\x1b[2J"], ["check", log, "--fail-on", "\x07\x1b[31m"]):
        code, out, err = run_cli(args, stdin=b"x\n")
        assert code == 2 and err.startswith("percediag: error: ") and err.count("\n") == 1, err
        assert forbidden(err, "\n") == [], err


def test_watch_sinks_are_clean():
    from percediag.live.sinks import JsonSink, PlainSink, describe

    event = {"event": "finding", "change": "alert", "status": "fail", "rule": "run.crash" + EVIL, "fold": None,
             "message": EVIL, "lines": [3], "value": float("nan"), "time": float("inf")}
    plain, lines = io.StringIO(), io.StringIO()
    PlainSink(plain)(event)
    JsonSink(lines)(event)
    assert forbidden(plain.getvalue(), "\n") == [] and plain.getvalue().count("\n") == 1
    assert forbidden(describe({"event": "restart", "reason": EVIL})) == []
    record = lines.getvalue()
    assert record.count("\n") == 1 and "NaN" not in record and "Infinity" not in record
    parsed = json.loads(record)
    assert parsed["value"] is None and parsed["time"] is None and parsed["message"] == clean(EVIL)


def test_watch_of_a_hostile_log(tmp_path):
    path, _ = _hostile_log(tmp_path)
    for fmt in ("text", "jsonl"):
        code, out, err = run_cli(["watch", str(path), "--idle-exit", "0.2", "--interval", "0.05", "-f", fmt])
        assert code == 1 and forbidden(out, "\n") == [] and "octocat" in out, (fmt, err)
        if fmt == "jsonl":
            for line in out.splitlines():
                json.loads(line)


# --- every format, from any text: a property over arbitrary code points -------------------------

@lru_cache(maxsize=1)
def _base_report():
    import percediag

    return percediag.check(str(EXAMPLES / "crashed-oom.log"))


def _poison(text: str):
    """The base report with `text` in every field a log, a path or an option can fill."""
    report = _base_report()
    records = report.records
    findings = [f.model_copy(update={"message": f"{f.message} {text}", "expected": text, "trainer_tag": text,
                                     "value": text if i % 2 else f.value}) for i, f in enumerate(report.findings)]
    fixes = [f.model_copy(update={"id": f"{f.id}{text}", "title": text, "change": text, "reason": text,
                                  "placement": text}) for f in report.fixes]
    assessment = [a.model_copy(update={"question": text, "answer": text}) for a in report.assessment]
    lines = {line for f in report.findings for line in f.lines}
    return report.model_copy(update={
        "source": f"logs/{text}.log", "profile_reason": text, "profile_notes": [text], "config_files": [text, "ok.yaml"],
        "findings": findings, "fixes": fixes, "assessment": assessment, "tried": [text], "notes": [text],
        "parse_warnings": [ParseWarning(line=1, message=text)], "locations": {line: text for line in lines},
        "runs": [r.model_copy(update={"title": text}) for r in report.runs],
        "records": records.model_copy(update={"config": records.config.model_copy(update={"title": text})}),
    })


HOSTILE_CHARS = st.characters(exclude_categories=())
HOSTILE_TEXT = st.lists(st.sampled_from(["\x1b[2J", "\x9b", "\x07", "\x00", "\r\n", "\u202e", "<b>", "&", "@octocat",
                                         "|", "`", "::", "%0A", ",", "]]>", "\ud800", "\ufffe", "[bold]", "[/x]"])
                        | st.text(HOSTILE_CHARS, max_size=4), max_size=10).map("".join)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(HOSTILE_TEXT)
def test_every_format_is_clean_for_any_text(text):
    report = _poison(text)
    for fmt in sorted(FORMATS):
        _check_output(fmt, renderer(fmt)([report]))
    from percediag.report.text import render, render_html

    assert forbidden(render([report], quiet=True), "\n") == []
    assert forbidden(render_html(report), "\n") == []
    assert forbidden(model_json(report), "\n") == []
