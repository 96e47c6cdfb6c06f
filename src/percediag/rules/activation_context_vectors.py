"""activation.context_vectors: the final attention has context vectors.

What it checks: the activation check reports `Context vectors present`
(pass) and not `No context vectors found` (the rule's severity).

Why: the seed's table: without context vectors the final attention is the
wrong type (Round 3's fix was to use ContextAttention there). This is the
one activation item the log gives only as the trainer's statement, so the
statement is the evidence.

Example (every real log):

    [OK] Context vectors present (Round 3 fix active)

passes.
"""

from __future__ import annotations

from percediag.model import Run
from percediag.rules.base import per_fold
from percediag.rules.options import RuleOptions
from percediag.rules.spec import SEVERITY, RuleSpec, Verdict
from percediag.settings import Settings

Options = RuleOptions


def check(run: Run, options: RuleOptions, settings: Settings) -> list[Verdict]:
    findings = []
    for fold_id, act in per_fold(run, "activation"):
        if act is None or act.context_vectors is None:
            findings.append(Verdict(status="missing", fold=fold_id, expected="present",
                                    lines=[act.line] if act else [],
                                    message="context vector line not reported" if act else "no activation check in this fold"))
            continue
        line = act.lines["context_vectors"]
        if act.context_vectors:
            findings.append(Verdict(status="pass", fold=fold_id, value="present",
                                    expected="present", lines=[line], message="context vectors present"))
        else:
            findings.append(Verdict(status=SEVERITY, fold=fold_id, value="absent",
                                    expected="present", lines=[line], message=f"no context vectors found: {options.reason}"))
    return findings


SPEC = RuleSpec(id="activation.context_vectors", category="activation", order=5, options=Options, check=check)
