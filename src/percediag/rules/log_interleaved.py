"""log.interleaved: the log was written by one process at a time.

What it checks: how many runs of the log began without a banner (no
training configuration or cross-validation header before them): epoch
numbers going back within a fold, a fold's header coming again after its
epochs, an activation check again after training started. One such restart
is a run restarted into the same file, read as a new run. More than
`max_restarts` (default 1) means the log is very likely written by several
processes at once (two runs started into one file, distributed ranks
printing without labels): its "runs" are pieces of different processes
cut wherever their lines alternate, so no verdict of the report can be
trusted. Then the rule's severity (default warn), naming the lines. A log
with no training output at all has no writer to count: missing.

What percediag does read correctly is said in the report's notes instead:
labelled ranks (`[rank1]:`, `[default1]:`, `[1,0]<stdout>:`) are judged on
the lowest rank's lines, and lines written twice in a row by unlabelled
processes are read once; those logs keep the verdicts they would have alone.

Why: a verdict computed from two runs' lines mixed together is neither
run's verdict; saying "cannot tell" beats a confident wrong answer.

Example: two processes started into one file, each printing the fold 1
header and then its epoch lines, one line from each in turn: the epoch
numbers keep going back; warns: "6 restart(s) without a banner (lines 15,
17, 19, 21, 23, ...): the log looks written by several processes at once,
...". Two real logs mixed at random (`round5.log` and `round4.log`) give 27.
"""

from __future__ import annotations

from pydantic import Field

from percediag.model import Run
from percediag.rules.options import RuleOptions
from percediag.rules.spec import SEVERITY, RuleSpec, Verdict
from percediag.settings import Settings


_SHOWN = 5


class Options(RuleOptions):
    max_restarts: int = Field(ge=0, le=1_000_000, description="restarts without a banner a log may hold before it is "
                                                              "taken as written by several processes at once")


def check(run: Run, options: Options, settings: Settings) -> list[Verdict]:
    restarts = run.unannounced_restarts
    count = len(restarts)
    shown = ", ".join(map(str, restarts[:_SHOWN])) + (", ..." if count > _SHOWN else "")
    if not count and not run.has_training_data():
        # No restart among no training lines says nothing about how many processes wrote them.
        return [Verdict(status="missing", expected=f"<= {options.max_restarts}",
                        message="no training output, so no writer to count")]
    if count <= options.max_restarts:
        message = "one writer: no restart without a banner" if not count else (
            f"{count} restart(s) without a banner (line {shown}): read as a new run")
        return [Verdict(status="pass", value=count, expected=f"<= {options.max_restarts}",
                        message=message, lines=restarts[:_SHOWN])]
    return [Verdict(status=SEVERITY, value=count,
                    expected=f"<= {options.max_restarts}", lines=restarts[:_SHOWN],
                    message=f"{count} restart(s) without a banner (lines {shown}): the log looks written by several "
                            f"processes at once, its runs mixing their lines, so these verdicts cannot be trusted; "
                            f"{options.reason}")]


SPEC = RuleSpec(id="log.interleaved", category="log", order=3, options=Options, check=check)
