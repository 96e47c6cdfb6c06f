from tests.helpers import REAL, curve_lines, fold_header


def test_crash_quotes_the_exception(judge):
    [finding] = judge((REAL / "round6-startup-crash.log").read_text(), "run.crash")
    assert finding.status == "fail" and "unexpected keyword argument 'final_hidden'" in finding.message
    assert 134 in finding.lines


def test_keyboard_interrupt_is_an_interruption(judge):
    [finding] = judge((REAL / "round5-interrupted.log").read_text(), "run.crash")
    assert finding.status == "warn" and "interrupted" in finding.message
    text = curve_lines(0, [0.1]) + "\nTraceback (most recent call last):\n  File \"t.py\", line 3, in <module>\nKeyboardInterrupt\n"
    [finding] = judge(text, "run.crash")
    assert finding.status == "warn"


def test_cuda_oom(judge):
    from tests.helpers import EXAMPLES

    [finding] = judge((EXAMPLES / "crashed-oom.log").read_text(), "run.crash")
    assert finding.status == "fail" and "CUDA out of memory" in finding.message


def test_no_crash(judge):
    assert judge((REAL / "round5.log").read_text(), "run.crash")[0].status == "pass"


def test_complete_names_the_last_epoch(judge):
    [finding] = judge((REAL / "round5-interrupted.log").read_text(), "run.complete")
    assert finding.status == "warn" and "fold 2, after Epoch 4" in finding.message


def test_complete_counts_folds(judge):
    text = fold_header(1) + "\n" + curve_lines(1, [0.1]) + "\n`Trainer.fit` stopped: `max_epochs=1` reached.\n"
    [finding] = judge(text, "run.complete")
    assert finding.status == "warn" and "1 of 4 folds" in finding.message
    assert judge((REAL / "round5.log").read_text(), "run.complete")[0].status == "pass"


def test_no_data(judge):
    assert judge("", "log.no_data")[0].status == "fail"
    [finding] = judge((REAL / "round6-startup-crash.log").read_text(), "log.no_data")
    assert finding.status == "fail" and "a traceback" in finding.message
    assert judge(curve_lines(0, [0.1]), "log.no_data")[0].status == "pass"


def test_complete_says_when_epochs_past_the_cap_were_not_kept(judge, monkeypatch):
    import percediag.parsers.builder as builder

    monkeypatch.setattr(builder, "MAX_EPOCHS", 3)
    [finding] = judge(curve_lines(1, [0.1, 0.12, 0.14, 0.15, 0.16]), "run.complete")
    assert finding.status == "warn"
    assert "after Epoch 2, the last epoch kept" in finding.message and len(finding.lines) == 2
