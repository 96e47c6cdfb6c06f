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
trusted. Then the rule's severity (default warn), naming the lines.

What percediag does read correctly is said in the report's notes instead:
labelled ranks (`[rank1]:`, `[default1]:`, `[1,0]<stdout>:`) are judged on
the lowest rank's lines, and lines written twice in a row by unlabelled
processes are read once; those logs keep the verdicts they would have alone.

Why: a verdict computed from two runs' lines mixed together is neither
run's verdict; saying "cannot tell" beats a confident wrong answer.

Example: `round5.log` and `round4.log` written into one file at once, each
next line from either at random: the epoch numbers of their folds keep going
back; warn: "27 restart(s) without a banner (lines 377, 398, 410, 418, 427,
...): the log looks written by several processes at once, ...".
"""

from __future__ import annotations

from pydantic import Field

from percediag.findings import Finding
from percediag.model import Run
from percediag.settings import RuleOptions, Settings

ID = "log.interleaved"
CATEGORY = "log"
ORDER = 3

_SHOWN = 5


class Options(RuleOptions):
    max_restarts: int = Field(ge=0, le=1_000_000, description="restarts without a banner a log may hold before it is "
                                                              "taken as written by several processes at once")


def check(run: Run, options: Options, settings: Settings) -> list[Finding]:
    restarts = run.unannounced_restarts
    count = len(restarts)
    shown = ", ".join(map(str, restarts[:_SHOWN])) + (", ..." if count > _SHOWN else "")
    if count <= options.max_restarts:
        message = "one writer: no restart without a banner" if not count else (
            f"{count} restart(s) without a banner (line {shown}): read as a new run")
        return [Finding(rule=ID, category=CATEGORY, status="pass", value=count, expected=f"<= {options.max_restarts}",
                        message=message, lines=restarts[:_SHOWN])]
    return [Finding(rule=ID, category=CATEGORY, status=options.severity, value=count,
                    expected=f"<= {options.max_restarts}", lines=restarts[:_SHOWN],
                    message=f"{count} restart(s) without a banner (lines {shown}): the log looks written by several "
                            f"processes at once, its runs mixing their lines, so these verdicts cannot be trusted; "
                            f"{options.reason}")]
