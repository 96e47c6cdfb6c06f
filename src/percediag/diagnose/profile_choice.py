"""Which profile judges a log: the one the user chose, else the round the log names.

The round comes from the training configuration's title (`TRAINING
CONFIGURATION (SOTA + ROUND 5 FIXES)`), else from the trainer's own
`[OK] Prediction head architecture correct (Round 6)` tags (the highest
round named; `(Round 3 fix active)` names an earlier round's fix, not the
run's round), else from the file name (`round13.log`, as `history` reads
it). A round with a bundled profile gets it; a later round gets
the latest bundled round before it; no round named: the default profile.

Round labels go stale (a notebook title not updated), so the log's own
architecture (head, learning rate, parameter count) is compared with the
recorded facts of the named round (configs/rounds.yaml); a contradiction
is reported, with the rounds the architecture does match. Blocks outrank
labels: a log printing what a later round's trainer was the first to print
(rounds.yaml `prints`: Round 9's DIAGNOSTIC SUMMARY, Round 13's model types
table) is at least that round, and the stale label is reported.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, Field

from percediag.metrics import HAN_TYPES, learning_rate, model_name, param_count, printed_heads
from percediag.model import Run
from percediag.roundtable import round_table
from percediag.settings import DEFAULT_PROFILE, profile_names

# A tag that names the run's own round ends in "(Round N)"; "(Round 3 fix
# active)" names where a fix came from and says nothing of the run's round.
_ROUND_TAG = re.compile(r"\(Round\s+(\d{1,3})\)\s*$", re.IGNORECASE)
_ROUND_NAME = re.compile(r"round[-_ ]?(\d{1,3})(?!\d)", re.IGNORECASE)


class NamedRound(BaseModel):
    round: int
    line: int
    where: str = Field(description="what in the log names it")


class ProfileChoice(BaseModel):
    profile: str
    explicit: bool = Field(description="chosen by option or configuration, not from the log")
    reason: str = Field(description="one line: which profile and why")
    named_round: int | None = None
    contradictions: list[str] = Field(default_factory=list, description="the log's architecture against its named round")


def named_round(run: Run, source: str | None = None) -> NamedRound | None:
    """The round the log says it is, and where it says so (`source`: the log's path, for its file name)."""
    if run.config is not None and run.config.round:  # Round 0 names no round
        return NamedRound(round=run.config.round, line=run.config.line,
                          where="training configuration title")
    tagged = [(int(m.group(1)), tag.line) for fold in run.folds if fold.activation is not None
              for tag in fold.activation.tags if (m := _ROUND_TAG.search(tag.text)) and int(m.group(1)) > 0]
    if tagged:
        number, line = max(tagged)
        return NamedRound(round=number, line=line, where="trainer tag")
    match = _ROUND_NAME.search(Path(source).name) if source else None
    if match and int(match.group(1)) > 0:
        return NamedRound(round=int(match.group(1)), line=run.line, where="file name")
    return None


# What each block kind of rounds.yaml's `prints:` is, in the records.
_PRINTED = {
    "diagnostic_summary": ("DIAGNOSTIC SUMMARY blocks", lambda run: any(f.diagnostics for f in run.folds)
                           or run.post_diagnostics is not None),
    "ablation": ("[ABLATION] results", lambda run: any(f.ablations for f in run.folds) or run.post_ablation is not None),
    "model_types": ("the PHASE 2 MODEL TYPES table", lambda run: run.model_type is not None and bool(run.model_type.expected)),
}


def printed_round(run: Run) -> NamedRound | None:
    """The latest recorded round whose trainer is the first to print a block this log holds: the log is
    at least that round, whatever a title or tag not updated since says (rounds.yaml, `prints`)."""
    for number, facts in sorted(round_table().rounds.items(), reverse=True):
        seen = [_PRINTED[kind][0] for kind in facts.prints if _PRINTED[kind][1](run)]
        if seen:
            return NamedRound(round=number, line=run.line, where=f"it prints {seen[0]}, first printed in Round {number}")
    return None


def bundled_rounds() -> dict[int, str]:
    """Round number -> profile name, for the bundled profiles `roundN`."""
    found = {}
    for name in profile_names():
        match = re.fullmatch(r"round(\d+)", name)
        if match:
            found[int(match.group(1))] = name
    return found


def choose(run: Run, explicit: str | None, explicit_origin: str = "--profile", source: str | None = None) -> ProfileChoice:
    named = named_round(run, source)
    stale = None
    printed = printed_round(run)
    if printed is not None and (named is None or named.round < printed.round):
        # The blocks outrank a label: Round 9's notebook still titles itself ROUND 8, and the Round 13
        # trainer keeps Round 6's [OK] tags.
        if named is not None:
            said = f"{named.where}, line {named.line}" if named.where != "file name" else "its file name"
            stale = f"the log names Round {named.round} ({said}) but {printed.where}: the label is stale"
        named = printed
    number = named.round if named else None
    if explicit is not None:
        reason = f"profile {explicit}: chosen by {explicit_origin}"
        if named is not None and f"round{named.round}" != explicit and f"round{named.round}" in profile_names():
            reason += f" (the log names Round {named.round}, line {named.line})"
        return ProfileChoice(profile=explicit, explicit=True, reason=reason, named_round=number,
                             contradictions=contradictions(run, named))
    if named is None:
        return ProfileChoice(profile=DEFAULT_PROFILE, explicit=False,
                             reason=f"profile {DEFAULT_PROFILE}: the default; the log names no round (pass --profile to choose)")
    rounds = bundled_rounds()
    said = (named.where if named.where.startswith("it prints") else
            f"{named.where}, line {named.line}" if named.where != "file name" else "its file name")
    if named.round in rounds:
        profile = rounds[named.round]
        reason = (f"profile {profile}: {said}" if named.where.startswith("it prints") else
                  f"profile {profile}: the log names Round {named.round} ({said})")
    else:
        earlier = [r for r in rounds if r < named.round]
        if not earlier:
            return ProfileChoice(profile=DEFAULT_PROFILE, explicit=False, named_round=number,
                                 reason=f"profile {DEFAULT_PROFILE}: the default; no bundled profile for Round {named.round} ({said})")
        profile = rounds[max(earlier)]
        reason = (f"profile {profile}: the log names Round {named.round} ({said}), later than every bundled round; "
                  f"{profile} is the latest before it")
    found = contradictions(run, named)
    return ProfileChoice(profile=profile, explicit=False, reason=reason, named_round=number,
                         contradictions=([stale] if stale else []) + found)


def _observed(run: Run) -> dict[str, object]:
    """The log's architecture facts, as rounds.yaml records them."""
    facts: dict[str, object] = {}
    heads = {head for head, _ in printed_heads(run)}
    if len(heads) == 1:
        facts["head"] = heads.pop()
    lr = learning_rate(run)
    if lr is not None:
        facts["learning_rate"] = lr.value
    count = param_count(run)
    model = model_name(run)
    # The recorded counts are the full HAN's: another model's count says nothing of the round.
    if count is not None and (model is None or model in HAN_TYPES):
        facts["params"] = count[0]
    return facts


def _same(name: str, seen: object, recorded: object) -> bool:
    if name == "learning_rate":
        return abs(float(seen) - float(recorded)) <= 0.01 * abs(float(recorded))
    return seen == recorded


def _shown(name: str, value: object) -> str:
    if name == "learning_rate":
        return f"learning rate {float(value):.2e}"
    if name == "params":
        return f"{int(value):,} parameters"
    return f"head {value}"


def contradictions(run: Run, named: NamedRound | None) -> list[str]:
    """Where the log's architecture disagrees with what its named round recorded."""
    table = round_table().rounds
    if named is None or named.round not in table:
        return []
    facts = _observed(run)
    recorded = table[named.round]
    differing = [name for name, seen in facts.items()
                 if getattr(recorded, name) is not None and not _same(name, seen, getattr(recorded, name))]
    if not differing:
        return []
    # Rounds the log's facts do not contradict, keeping those that confirm the most of them.
    confirmed = {number: sum(getattr(r, name) is not None for name in facts) for number, r in table.items()
                 if all(getattr(r, name) is None or _same(name, seen, getattr(r, name)) for name, seen in facts.items())}
    most = max(confirmed.values(), default=0)
    matching = sorted(number for number, count in confirmed.items() if count == most and count > 0)
    shown = ", ".join(_shown(name, facts[name]) for name in differing)
    wanted = ", ".join(_shown(name, getattr(recorded, name)) for name in differing)
    text = f"the log names Round {named.round} (line {named.line}) but shows {shown}; Round {named.round} had {wanted}"
    if matching:
        rounds = f"Round {matching[0]}" if len(matching) == 1 else f"Rounds {', '.join(str(m) for m in matching)}"
        text += f"; the architecture matches {rounds}: is the round label stale?"
    return [text]
