"""diagnostics.stage_std: no stage of the forward pass, the recurrent ones above all, has collapsed.

What it checks: in each fold's last `DIAGNOSTIC SUMMARY - Epoch N` after
the sanity check (else the post-training `ACTIVATION VARIANCE ANALYSIS`),
every stage's std lies in the profile's range for it (`stages`). A
recurrent stage (`recurrent`: the note, voice, beat and measure LSTM
outputs) below its minimum is signal collapse in the recurrent stages
(direction `below`); other stages outside their range are reported too.
For a model the trainer's DiagnosticCallback does not know (the Bi-LSTM
baseline and the incremental builds), its summary prints 0 for every
stage: that block is not applicable, and the model's own diagnose lines in
the activation check (`lstm_out: mean=..., std=...`) are judged instead.

Why: Round 9's summary shows every LSTM output near 0.03 while the input
and the embedding are healthy (0.45, 0.27): the signal dies inside the
recurrent stages, so every later stage and the predictions collapse with
it. Round 13's orthogonal recurrent init lifts note_out to 0.22 on the
same data.

The trainer's `[OK]`/`[LOW - ISSUE]`/`[HIGH]` tags are compared with the
numbers; a disagreement is said in the finding. So is the post-training
issue list (`[N ISSUES DETECTED]`) beside the post-training table: an
item whose std is not the table's or not below its band, a stage below
its band the list leaves out, or a count that is not the items listed
(said on the last fold's finding, whichever summary it judges).

A std that is nan, infinite (`1e309`, or more digits than a float holds)
or negative is impossible: always `fail` (corrupt evidence is no
judgement call), and a stage the rule cannot read is never left out of
the verdict. A summary cut short before its stage table (a run
killed while printing it) does not hide the complete one before it; a
fold with no stage row at all is `missing`.

Example (round9.log, line 246):

    note_out (LSTM)               0.0295 [LOW - ISSUE]

fails: recurrent stages below their range: note_out 0.0295 < 0.1, ...
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field

from percediag.metrics import model_name
from percediag.model import IssueList, Run, StageStd
from percediag.rules.base import judged_summaries, summary_blind
from percediag.rules.options import RuleOptions
from percediag.rules.spec import SEVERITY, RuleSpec, Verdict
from percediag.settings import Settings


class Band(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min: float
    max: float


class Options(RuleOptions):
    stages: dict[str, Band] = Field(description="canonical stage -> std range (the trainer's own bands)")
    recurrent: list[str] = Field(description="stages whose collapse is recurrent-stage collapse")
    own_diagnose: dict[str, str] = Field(
        default_factory=dict, description="model's own diagnose key (lstm_out_std) -> the stage it measures")
    required: bool = Field(default=False, description="a run without any diagnostic block is a `missing` finding")


def _impossible(rows: list[StageStd]) -> list[StageStd]:
    """Rows whose std no forward pass can give: nan, infinite (1e309 and longer overflow to inf) or negative."""
    return [row for row in rows if not math.isfinite(row.std) or row.std < 0]


def _judge(rows: list[StageStd], options: Options) -> tuple[list[str], list[str], list[int], list[str]]:
    recurrent, other, lines, disagree = [], [], [], []
    for row in rows:
        band = options.stages.get(row.stage)
        if band is None or not math.isfinite(row.std) or row.std < 0:
            continue  # impossible values are a finding of their own
        bad = row.std < band.min or row.std > band.max
        side = "<" if row.std < band.min else ">"
        bound = band.min if row.std < band.min else band.max
        if bad:
            text = f"{row.stage} {row.std:.4f} {side} {bound:g}"
            (recurrent if row.stage in options.recurrent and side == "<" else other).append(text)
            lines.append(row.line)
        if row.tag is not None and (row.tag == "OK") == bad:
            disagree.append(f"{row.stage} [{row.tag}]")
    return recurrent, other, lines, disagree


def _issue_disagreements(rows: list[StageStd], issues: IssueList, options: Options) -> list[str]:
    """The trainer's post-training issue list against the table it was drawn from."""
    said, table = [], {r.stage: r for r in rows}
    listed = {i.stage for i in issues.issues if i.stage is not None}
    for issue in issues.issues:
        row, band = table.get(issue.stage), options.stages.get(issue.stage or "")
        if issue.std is None or row is None or band is None:
            continue
        if abs(issue.std - row.std) > 5e-5:
            said.append(f"issue list: {issue.stage} std {issue.std:.4f}, the table {row.std:.4f} (line {issue.line})")
        elif issue.std >= band.min:
            said.append(f"issue list: {issue.stage} {issue.std:.4f} is not below its band's {band.min:g} (line {issue.line})")
    for stage, row in table.items():
        band = options.stages.get(stage)
        if band is not None and row.std < band.min and stage not in listed:
            said.append(f"{stage} {row.std:.4f} < {band.min:g} is not in the issue list (line {issues.line})")
    if issues.count is not None and issues.count != len(issues.issues):
        said.append(f"the issue list counts {issues.count} and lists {len(issues.issues)} (line {issues.line})")
    return said


def _own_rows(run: Run, fold, options: Options) -> list[StageStd]:
    check = fold.activation
    if check is None:
        return []
    return [StageStd(stage=stage, label=key, std=check.diagnose[key], line=check.lines.get(f"diagnose.{key}", check.line))
            for key, stage in options.own_diagnose.items() if key in check.diagnose]


def check(run: Run, options: Options, settings: Settings) -> list[Verdict]:
    model = model_name(run)
    findings: list[Verdict] = []
    any_block = run.post_diagnostics is not None or any(f.diagnostics for f in run.folds)
    if not any_block and not options.required:
        return []  # trainers before Round 9 print no diagnostic summary
    for fold in run.folds or [None]:
        summary = judged_summaries(fold, run, "stages")[0] if fold is not None else None
        if summary is None and (fold is None or fold is run.folds[-1]):
            summary = run.post_diagnostics  # the post-training analysis of the last fold trained
        fold_id = fold.fold if fold is not None else None
        expected = "recurrent stages >= their minimum; every stage in its band"
        if summary is None:
            findings.append(Verdict(status="missing", fold=fold_id, expected=expected,
                                    message="no diagnostic summary in this fold"))
            continue
        blind = summary_blind(summary, model)
        rows, where, lines_of_block = summary.stages, f"diagnostic summary (line {summary.line})", [summary.line]
        if blind is not None:
            rows = _own_rows(run, fold, options) if fold is not None else []
            if not rows:
                findings.append(Verdict(status="missing", fold=fold_id, expected=expected,
                                        lines=lines_of_block, message=f"not applicable: {blind}; its zeros are not a collapse, "
                                        "and the model printed no stage std of its own"))
                continue
            where = f"the model's own diagnose lines ({blind}; the summary's zeros at line {summary.line} are not applicable)"
        if not rows:
            findings.append(Verdict(status="missing", fold=fold_id, expected=expected,
                                    lines=lines_of_block, message=f"the {where} printed no stage std (cut short?)"))
            continue
        if impossible := _impossible(rows):
            shown = ", ".join(f"{r.stage} {r.std:g} (line {r.line})" for r in impossible[:6])
            findings.append(Verdict(status="fail", fold=fold_id, expected=expected,
                                    value=len(impossible), lines=sorted({r.line for r in impossible})[:6],
                                    message=f"impossible stage std in {where}: {shown}: a std is a finite number "
                                            ">= 0; the forward pass overflowed or the log is corrupt"))
        recurrent, other, lines, disagree = _judge(rows, options)
        if impossible and not recurrent and not other:
            continue  # the readable stages pass, which does not make the fold pass
        post = run.post_diagnostics
        if run.post_issues is not None and post is not None and (fold is None or fold is run.folds[-1]) and summary_blind(post, model) is None:
            disagree += _issue_disagreements(post.stages, run.post_issues, options)
        said = f"; the trainer's tags disagree: {', '.join(disagree)}" if disagree else ""
        if recurrent:
            findings.append(Verdict(status=SEVERITY, fold=fold_id,
                                    value=min(r.std for r in rows if r.stage in options.recurrent and math.isfinite(r.std)), expected=expected,
                                    lines=sorted(set(lines))[:6], direction="below", trainer_tag=said[2:] or None,
                                    message=f"recurrent stages below their range in {where}: {', '.join(recurrent)}"
                                            + (f"; also {', '.join(other)}" if other else "") + f": {options.reason}{said}"))
        elif other:
            findings.append(Verdict(status="warn", fold=fold_id, expected=expected,
                                    value=len(other), lines=sorted(set(lines))[:6], direction="outside",
                                    trainer_tag=said[2:] or None,
                                    message=f"recurrent stages healthy in {where}; outside their band: {', '.join(other)}{said}"))
        else:
            shown = ", ".join(f"{r.stage} {r.std:.4f}" for r in rows if r.stage in options.recurrent)
            findings.append(Verdict(status="pass", fold=fold_id, expected=expected,
                                    lines=[rows[0].line], trainer_tag=said[2:] or None,
                                    message=f"every stage in its band in {where} ({shown}){said}"))
    return findings


SPEC = RuleSpec(id="diagnostics.stage_std", category="diagnostics", order=1, options=Options, check=check)
