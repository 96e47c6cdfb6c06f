"""The command line: exit codes, output contracts, errors as one line."""

import gzip
import json
import os
import sys

import pytest

from tests.helpers import EXAMPLES, REAL, ROOT, run_cli


def test_check_text_report_sections_and_exit_1_on_fail():
    code, out, err = run_cli(["check", str(REAL / "round5.log"), "--verbose"])
    assert code == 1 and err == ""
    for section in ("Round assessment", "Architecture verification", "Activation health", "Gradient balance",
                    "R2 progression", "R2 trajectory by fold", "Baselines", "Next fixes"):
        assert section in out
    assert "pytorch-default-init" in out
    assert "\x1b[" not in out  # no colour outside a terminal / with NO_COLOR


def test_check_exit_0_on_a_healthy_run():
    code, out, _ = run_cli(["check", str(EXAMPLES / "healthy-sota.log"), "--profile", "round6"])
    assert code == 0 and out.startswith("percediag")


def test_warn_only_run_exits_0_and_fail_on_warn_exits_1():
    log = str(EXAMPLES / "seed-dialect.log")
    assert run_cli(["check", log])[0] == 0
    assert run_cli(["check", log, "--fail-on", "warn"])[0] == 1
    assert run_cli(["check", str(REAL / "round6.log"), "--fail-on", "never"])[0] == 0


def test_json_contract():
    code, out, err = run_cli(["check", str(REAL / "round5.log"), "--format", "json"])
    assert code == 1 and err == ""
    report = json.loads(out)
    assert report["schema_version"] == 1 and report["status"] == "fail"
    finding = report["findings"][0]
    assert set(finding) >= {"rule", "category", "status", "fold", "value", "expected", "message", "lines"}
    assert {f["status"] for f in report["findings"]} <= {"pass", "warn", "fail", "missing"}
    fix = report["fixes"][0]
    assert set(fix) >= {"id", "rank", "title", "score", "evidence", "reason", "tried"} and fix["rank"] == 1
    assert report["records"]["folds"][0]["epochs"][0]["line"] == 188
    categories = [f["category"] for f in report["findings"]]
    order = ["architecture", "activation", "gradient", "progression", "baseline", "run", "log"]
    assert categories == sorted(categories, key=order.index)
    assert {"forecast", "causes", "assessment", "dimensions"} <= set(report)


def test_parse_json_shape():
    code, out, _ = run_cli(["parse", str(REAL / "round5.log"), "--format", "json"])
    data = json.loads(out)
    assert code == 0 and data["schema_version"] == 1
    fold = data["runs"][0]["folds"][0]
    assert fold["fold"] == 1 and fold["epochs"][0] == {
        "line": 188, "fold": 1, "epoch": 0, "train_loss": 0.0129, "val_loss": 0.0157, "val_r2": -0.1334,
        "lr": 5e-05, "time_s": 8.5, "best": True,
        # Filled only from event files (check --events): a text log's epochs come from its lines.
        "pred_mean": None, "pred_std": None, "dim_r2": {}, "source": "log", "event_line": None,
        "event_val_r2": None, "event_val_loss": None}
    assert {"activation", "gradients", "summary"} <= set(fold)
    assert {"config", "aggregate", "test"} <= set(data["runs"][0])


def test_stdin_dash_and_implicit(tmp_path):
    data = (REAL / "round5.log").read_bytes()
    code, out, _ = run_cli(["check", "-", "--format", "json"], stdin=data)
    assert code == 1 and json.loads(out)["source"] == "<stdin>"
    code, out, _ = run_cli(["check", "--format", "json"], stdin=data)
    assert json.loads(out)["status"] == "fail"


def test_gzip_gives_the_same_findings(tmp_path):
    path = tmp_path / "round5.log.gz"
    path.write_bytes(gzip.compress((REAL / "round5.log").read_bytes()))
    plain = json.loads(run_cli(["check", str(REAL / "round5.log"), "-f", "json"])[1])
    zipped = json.loads(run_cli(["check", str(path), "-f", "json"])[1])
    assert [(f["rule"], f["fold"], f["status"]) for f in plain["findings"]] == [(f["rule"], f["fold"], f["status"]) for f in zipped["findings"]]


def test_several_paths_exit_with_the_worst():
    code, out, _ = run_cli(["check", str(EXAMPLES / "healthy-sota.log"), str(REAL / "round5.log"), "-p", "round6", "-q"])
    assert code == 1 and out.count("\n") >= 2
    code, out, _ = run_cli(["check", str(EXAMPLES / "healthy-sota.log"), str(REAL / "round5.log"), "-p", "round6", "-f", "json"])
    data = json.loads(out)
    assert data["status"] == "fail" and len(data["reports"]) == 2


def test_quiet_prints_one_summary_line():
    code, out, _ = run_cli(["check", str(REAL / "round6.log"), "-q"])
    assert code == 1 and len(out.strip().splitlines()) <= 2 and out.startswith("FAIL")


def test_run_selection(tmp_path):
    path = tmp_path / "two.log"
    path.write_text((REAL / "round4.log").read_text() + (REAL / "round5.log").read_text())
    last = json.loads(run_cli(["check", str(path), "-f", "json"])[1])
    assert last["run"] == 1 and any("2 runs" in note for note in last["notes"])
    both = json.loads(run_cli(["check", str(path), "-f", "json", "--run", "all"])[1])
    assert [r["run"] for r in both["reports"]] == [0, 1]
    first = json.loads(run_cli(["check", str(path), "-f", "json", "--run", "1"])[1])
    assert first["records"]["config"]["round"] == 4
    code, _, err = run_cli(["check", str(path), "--run", "3"])
    assert code == 2 and err.count("\n") == 1


@pytest.mark.parametrize("content", [b"", b"\n\n   \n", b" \t\r\n"])
def test_empty_or_blank_input_is_bad_input(tmp_path, content):
    path = tmp_path / "empty.log"
    path.write_bytes(content)
    code, out, err = run_cli(["check", str(path), "-f", "json"])
    assert code == 2 and out == "" and err.count("\n") == 1 and "empty input" in err
    code, out, err = run_cli(["check"], stdin=content)
    assert code == 2 and err.count("\n") == 1 and "<stdin>: empty input" in err


@pytest.mark.parametrize("content", [b"just some text\nnothing else\n", b"\n# a comment\n"])
def test_no_data_is_a_failure_not_a_pass(tmp_path, content):
    path = tmp_path / "empty.log"
    path.write_bytes(content)
    code, out, _ = run_cli(["check", str(path), "-f", "json"])
    report = json.loads(out)
    assert code == 1 and report["status"] == "fail"
    assert any(f["rule"] == "log.no_data" and f["status"] == "fail" for f in report["findings"])


@pytest.mark.parametrize(("args", "needle"), [
    (["check", "/no/such/file.log"], "no such file"),
    (["check", "--profile", "round55", "x"], "did you mean 'round5'"),
    (["check", "--set", "activation.logit_std.min=2", "-"], "min (2.0) is above max"),
    (["check", "--format", "yaml", "x"], "yaml"),
    (["explain", "activation.logit"], "did you mean 'activation.logit_std'"),
    (["check", "--tried", "no-such-fix", "-"], "unknown fix"),
])
def test_usage_and_input_errors_are_one_line_exit_2(args, needle):
    code, out, err = run_cli(args, stdin=(REAL / "round5.log").read_bytes())
    assert code == 2, (out, err)
    assert err.startswith("percediag: error:") and err.count("\n") == 1 and needle in err
    assert "Traceback" not in err and out == ""


def test_binary_input_is_refused(tmp_path):
    path = tmp_path / "model.pt"
    path.write_bytes(b"PK\x03\x04\x00\x00\x08\x00" + bytes(range(256)) * 10)
    code, _, err = run_cli(["check", str(path)])
    assert code == 2 and "binary" in err and err.count("\n") == 1


def test_rules_lists_every_rule_with_thresholds():
    code, out, _ = run_cli(["rules"])
    assert code == 0
    for rule in ("activation.logit_std", "progression.epoch_20", "baseline.han_sota", "log.no_data"):
        assert rule in out
    assert "min=0.5" in out


def test_explain_prints_the_module_doc():
    code, out, _ = run_cli(["explain", "progression.epoch_10"])
    assert code == 0 and "Epoch N-1" in out


def test_profiles_and_fixes_and_config():
    code, out, _ = run_cli(["profiles"])
    assert code == 0 and {"round4", "round5", "round6", "generic"} <= set(out.split())
    code, out, _ = run_cli(["fixes"])
    assert code == 0 and "more-epochs" in out and "pytorch-default-init" in out
    code, out, _ = run_cli(["config", "--profile", "round6", "--set", "activation.logit_std.min=0.4"])
    assert code == 0
    assert "rules.activation.logit_std.min" in out and "--set activation.logit_std.min" in out
    assert "profile round6" in out and "profile generic" in out


def test_python_api_renders_itself():
    import percediag

    report = percediag.check(str(REAL / "round5.log"))
    assert report.status == "fail" and report.fixes[0].id == "compare-original"
    assert next(f for f in report.fixes if f.id == "pytorch-default-init").status == "applied"
    assert "<" in report._repr_html_() and "Round assessment" in str(report)
    assert percediag.check((REAL / "round5.log").read_text()).counts == report.counts
    assert len(percediag.parse(str(REAL / "round4.log")).runs[0].folds) == 4


def test_notebook_path(tmp_path):
    from tests import transforms

    path = tmp_path / "train.ipynb"
    path.write_bytes(transforms.notebook((REAL / "round5.log").read_text()))
    code, out, _ = run_cli(["check", str(path), "-f", "json"])
    report = json.loads(out)
    assert code == 1 and report["fixes"][0]["id"] == "compare-original" and report["profile"] == "round5"
    assert all(v.startswith("cell ") for v in report["locations"].values())
    code, out, _ = run_cli(["check", str(path)])
    assert "cell " in out


def test_a_notebook_is_known_by_its_content_on_stdin_compressed_or_renamed(tmp_path):
    """`cat run.ipynb | percediag check -`, a notebook gzipped, or saved under another name is
    read as a notebook, as its .ipynb path is: the same verdicts, lines labelled by cell."""
    import gzip

    from tests import transforms

    notebook = transforms.notebook((REAL / "round5.log").read_text())
    path = tmp_path / "train.ipynb"
    path.write_bytes(notebook)
    expected = json.loads(run_cli(["check", str(path), "-f", "json"])[1])
    renamed, packed = tmp_path / "train.json", tmp_path / "train.ipynb.gz"
    renamed.write_bytes(notebook)
    packed.write_bytes(gzip.compress(notebook))
    for args, stdin in (([], notebook), ([], gzip.compress(notebook)), ([str(renamed)], None), ([str(packed)], None)):
        code, out, err = run_cli(["check", *(args or ["-"]), "-f", "json"], stdin=stdin)
        report = json.loads(out)
        assert code == 1 and report["counts"] == expected["counts"], (args, err)
        assert report["locations"] and all(v.startswith("cell ") for v in report["locations"].values())


@pytest.mark.parametrize("head", [b'{"step": 1, "loss": 0.21}\n', b"[Fold 0] Epoch   0 | val_r2: -0.05\n", b"{\n", b"",
                                  b'{"cells": 12, "epoch": 1}\n[Fold 0] Epoch   0 | val_r2: -0.05\n'])
def test_a_log_is_not_taken_for_a_notebook(head):
    from percediag.sources import is_notebook

    assert not is_notebook(head)
    assert is_notebook(b'{\n "metadata": {"kernelspec": {}},\n "cells": [') and is_notebook(b'\xef\xbb\xbf{"nbformat": 4')
    assert is_notebook(b'{"metadata": {"kernelspec": {"name": "python3"}}, "nbformat": 4, "nbformat_minor": 5, "cells": [')


def _metadata_first(notebook: bytes, indent: int | None) -> bytes:
    document = json.loads(notebook)
    return json.dumps({"metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
                       "nbformat": document["nbformat"], "nbformat_minor": document["nbformat_minor"],
                       "cells": document["cells"]}, indent=indent).encode()


def test_a_notebook_is_known_however_it_is_written_or_delivered(tmp_path):
    """Written with its metadata first (pretty or on one line), through a pipe given by path, or
    on a pipe that delivers its first bytes late: read as a notebook, never as text by chance."""
    import subprocess
    import threading

    from tests import transforms

    notebook = transforms.notebook((REAL / "round5.log").read_text())
    path = tmp_path / "train.ipynb"
    path.write_bytes(notebook)
    expected = json.loads(run_cli(["check", str(path), "-f", "json"])[1])["counts"]
    for indent in (1, None):
        other = tmp_path / f"meta{indent}.json"
        other.write_bytes(_metadata_first(notebook, indent))
        assert json.loads(run_cli(["check", str(other), "-f", "json"])[1])["counts"] == expected
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    writer = threading.Thread(target=fifo.write_bytes, args=(notebook,))
    writer.start()
    assert json.loads(run_cli(["check", str(fifo), "-f", "json"])[1])["counts"] == expected
    writer.join()
    slow = subprocess.Popen(["sh", "-c", 'head -c 5 "$1"; sleep 0.5; tail -c +6 "$1"', "sh", str(path)], stdout=subprocess.PIPE)
    result = subprocess.run([sys.executable, "-m", "percediag", "check", "-", "-f", "json"], stdin=slow.stdout,
                            capture_output=True, cwd=ROOT, timeout=120)
    slow.wait()
    assert json.loads(result.stdout)["counts"] == expected


def test_a_json_record_with_a_cells_count_stays_a_log(tmp_path):
    log = tmp_path / "train.log"
    log.write_text('{"cells": 12, "epoch": 1}\n' + (REAL / "round5.log").read_text())
    code, out, err = run_cli(["check", str(log), "-q"])
    assert code == 1 and "24 fail" in out, err


@pytest.mark.parametrize("name", ["train.json", "train.json.gz"])
def test_watch_refuses_a_notebook_in_one_line(tmp_path, name):
    import gzip

    from tests import transforms

    path = tmp_path / name
    notebook = transforms.notebook((REAL / "round5.log").read_text())
    path.write_bytes(gzip.compress(notebook) if name.endswith(".gz") else notebook)
    code, _, err = run_cli(["watch", str(path)])
    assert code == 2 and err.count("\n") == 1 and "a notebook is saved whole" in err and f"percediag check {path}" in err


def test_invalid_notebook_is_one_line(tmp_path):
    path = tmp_path / "broken.ipynb"
    path.write_text("{not json")
    code, _, err = run_cli(["check", str(path)])
    assert code == 2 and "not a valid notebook" in err and err.count("\n") == 1


def test_bare_command_prints_the_help():
    code, out, err = run_cli([])
    assert code == 2 and err.startswith("Usage: percediag") and "check" in err and "\n" in err.strip()


@pytest.mark.parametrize("args, code", [
    ([str(EXAMPLES / "round5-plateau.log")], 1),
    ([str(EXAMPLES / "round5-plateau.log"), "--fail-on", "never"], 0),
    ([str(EXAMPLES / "healthy-sota.log"), "--profile", "round6"], 0),
    ([str(EXAMPLES / "round5-plateau.log"), "--format", "json"], 1),
])
def test_a_reader_that_leaves_early_keeps_the_verdict(args, code):
    """`percediag check log | head`: no traceback, no message, and the exit code is still the verdict."""
    import os
    import subprocess
    import sys

    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first byte is written
    process = subprocess.run([sys.executable, "-m", "percediag", "check", *args], stdout=write_end,
                             stderr=subprocess.PIPE, text=True, timeout=120)
    os.close(write_end)
    assert process.returncode == code
    assert process.stderr == ""
