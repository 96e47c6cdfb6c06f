"""run.crash: the run did not end in a crash.

What it checks: a Python traceback that ends the run (no training record
after it) is the rule's severity (default fail), quoting the exception
line. A KeyboardInterrupt, as a traceback or as Lightning's `Detected
KeyboardInterrupt, attempting graceful shutdown`, is an interruption: warn.
Output with no traceback and no training record either (the wrong file)
is missing, not a pass: nothing in it says the run did not crash.

Why: a crashed run's numbers stop where it stopped; everything after it in
the criteria is unknown. The exception line is usually the fix (the
Round 6 notebook crashed on `unexpected keyword argument 'final_hidden'`).

A traceback after every fold so far finished training (Round 13: the
best checkpoint reloaded into the wrong class once training ended) is
reported as a crash after training: what the run printed before it is
judged as usual, and its evidence (`run.crash:crashed_after_training`)
points at the post-training step, not at the training: fixing it does
not come before what the training numbers say.

Example (round6-startup-crash.log):

    TypeError: PercePianoVNetModule.__init__() got an unexpected keyword argument 'final_hidden'

fails.
"""

from __future__ import annotations

from percediag.model import Run
from percediag.rules.options import RuleOptions
from percediag.rules.spec import SEVERITY, RuleSpec, Verdict
from percediag.settings import Settings

Options = RuleOptions


def check(run: Run, options: RuleOptions, settings: Settings) -> list[Verdict]:
    crash = run.crash
    interrupts = [s for s in [*run.stops, *(s for f in run.folds for s in f.stops)] if s.kind == "interrupted"]
    if crash is not None and crash.terminal:
        line = crash.exception_line or crash.line
        if crash.exception_type == "KeyboardInterrupt":
            return [Verdict(status="warn", value=crash.exception, lines=[crash.line, line],
                            expected="no crash", message="interrupted by the user (KeyboardInterrupt), not a crash",
                            direction="interrupted")]
        what = crash.exception or "traceback without exception line"
        direction = "crashed"
        if crash.after_training:
            # Its own evidence: the fix is the post-training step, not the training (causes.yaml).
            direction = "crashed_after_training"
            # Training finished first: every number before the crash was printed by a complete run and is judged.
            done = sum(1 for f in run.folds if f.finished)
            what = (f"crashed after training ({done} fold(s) trained to the end; the results printed before it are "
                    f"judged, the steps after it did not run): {what}")
        else:
            what = f"crashed: {what}"
        return [Verdict(status=SEVERITY, value=crash.exception, expected="no crash",
                        lines=[crash.line, line], message=what, direction=direction)]
    if interrupts:
        return [Verdict(status="warn", value="interrupted", expected="no crash",
                        lines=[interrupts[-1].line], message=f"interrupted by the user: {interrupts[-1].text}",
                        direction="interrupted")]
    if crash is not None:
        return [Verdict(status="pass", value=crash.exception, expected="no crash",
                        lines=[crash.line], message=f"a traceback ({crash.exception}) was followed by more training")]
    if not run.has_training_data():
        # No traceback in output that holds no training either (the wrong file, pip's output): nothing to vouch for.
        return [Verdict(status="missing", expected="no crash",
                        message="no traceback, but no training output either: whether the run crashed is unknown")]
    return [Verdict(status="pass", expected="no crash", message="no traceback")]


SPEC = RuleSpec(id="run.crash", category="run", order=1, options=Options, check=check)
