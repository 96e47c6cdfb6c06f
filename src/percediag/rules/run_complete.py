"""run.complete: the log does not end inside a fold.

What it checks: the run's last fold finished (a fold summary, or
Lightning's max-epochs or early-stopping line), and when the
cross-validation size is known, every fold finished or the aggregate block
was printed. Otherwise the rule's severity (default warn), naming the last
epoch seen.

Why: a partial log is judged on partial evidence: milestones not reached
are `missing`, and a pasted log cut short looks like a stalled run.

Example (round5-interrupted.log): ends in fold 2 after `Epoch 4`: warns,
"the log ends inside fold 2, after Epoch 4".
"""

from __future__ import annotations

from percediag.model import Run
from percediag.rules.options import RuleOptions
from percediag.rules.spec import SEVERITY, RuleSpec, Verdict
from percediag.settings import Settings

Options = RuleOptions


def expected_folds(run: Run) -> int | None:
    if run.cv_folds:
        return run.cv_folds
    if run.aggregate is not None and run.aggregate.n_folds:
        return run.aggregate.n_folds
    for fold in run.folds:
        if fold.header is not None and fold.header.last_fold is not None:
            return fold.header.last_fold + 1
    return None


def check(run: Run, options: RuleOptions, settings: Settings) -> list[Verdict]:
    if not run.folds:
        if run.aggregate is not None:
            return [Verdict(status="pass", expected="complete",
                            message="aggregate results printed", lines=[run.aggregate.line])]
        return [Verdict(status="missing", expected="complete", message="no fold in the log")]
    last = run.folds[-1]
    if not last.finished and run.aggregate is None:
        where = f"fold {last.fold}" if last.fold is not None else "a fold"
        if last.epochs:
            detail = f"after Epoch {last.epochs[-1].epoch}"
            lines = [last.epochs[-1].line]
            capped = [stop for stop in last.stops if stop.kind == "capped"]
            if capped:
                # Later epoch lines exist but were not kept: say so, not that the log stops here.
                detail += f", the last epoch kept (the lines past the cap, from line {capped[0].line}, were not)"
                lines.append(capped[0].line)
        else:
            detail = "before its first epoch line"
            lines = [last.line]
        return [Verdict(status=SEVERITY, value=False, expected="complete", lines=lines,
                        message=f"the log ends inside {where}, {detail}")]
    total = expected_folds(run)
    done = sum(1 for f in run.folds if f.finished)
    if run.aggregate is None and total is not None and done < total:
        return [Verdict(status=SEVERITY, value=False, expected="complete",
                        lines=[last.end_line or last.line],
                        message=f"{done} of {total} folds finished and no aggregate results")]
    suffix = " with aggregate results" if run.aggregate is not None else ""
    return [Verdict(status="pass", value=True, expected="complete",
                    message=f"{done} fold(s) finished{suffix}")]


SPEC = RuleSpec(id="run.complete", category="run", order=2, options=Options, check=check, final_only="always")
