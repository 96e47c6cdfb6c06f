"""architecture.param_delta: the parameter count moved as the two compared rounds say it must.

What it checks: only with a baseline (`percediag check NEW --baseline OLD`,
or `percediag diff OLD NEW`): the new run's parameter count minus the
baseline's, against the change the pair of rounds implies. Both logs must
print an exact count (`Model parameters: 13,758,227`); otherwise the rule
is `missing`.

Which rounds are compared: each log's round is the one its training
configuration title names (`TRAINING CONFIGURATION (SOTA + ROUND 5 FIXES)`
is Round 5). The expected delta is decided in this order:

1. Both logs name the same round: they are two runs of one architecture,
   expected `+0 +/- table_tolerance`.
2. Both rounds are named and the round table (`configs/rounds.yaml`) has a
   parameter count for each: expected their difference, within
   `table_tolerance` (Round 4 -> Round 5: -204,288; Round 5 -> Round 6:
   +199,168). A user's `expected_delta` does not override the table here:
   the titles say which code ran, and the table's counts are exact.
3. The pair is unknown (a log names no round, or the table has no count
   for its round): an `expected_delta` the user set explicitly, in a
   configuration file or with `--set`, is judged, within `tolerance`.
   Bundled profiles set none.
4. Otherwise the delta is reported, not judged: status `missing`, and the
   message says which round is unknown and how to judge it anyway.

Every message names the rounds compared, e.g. `Round 4 -> Round 5:
-204,288 (13,962,515 -> 13,758,227), expected -204,288 +/- 0`.

Why: the seed's first criterion compares rounds: "Model parameters: should
be ~200k less than Round 4". Against the actual previous log this catches a
fix that did not take (delta 0) or took twice; taking the expectation from
the pair (not from one profile) keeps it right for Round 5 -> 6, for two
runs of one round, and for rounds the table does not know.

Example: the Round 4 log (13,962,515) as baseline of the Round 5 log
(13,758,227): "Round 4 -> Round 5: -204,288 (13,962,515 -> 13,758,227),
expected -204,288 +/- 0": passes. A Round 5 log whose head change did not
take (13,962,515 again) against the same baseline: +0, expected -204,288:
fails. Two Round 5 logs: expected +0.
"""

from __future__ import annotations

from typing import NamedTuple

from pydantic import Field

from percediag.metrics import param_count
from percediag.model import Run
from percediag.roundtable import round_table
from percediag.rules.options import RuleOptions
from percediag.rules.spec import SEVERITY, RuleSpec, Verdict
from percediag.settings import Settings


class Options(RuleOptions):
    expected_delta: int | None = Field(
        default=None, description="judged only when the pair of rounds is unknown, and only when set by the user"
    )
    tolerance: int = Field(default=0, ge=0, description="around a user's expected_delta")
    table_tolerance: int = Field(default=0, ge=0, description="around the round table's delta (and 0 for one round)")
    reasons: dict[str, str] = Field(default_factory=dict, description="why each threshold has its value")


def _round(run: Run) -> int | None:
    return run.config.round if run.config is not None else None


def _name(number: int | None) -> str:
    return f"Round {number}" if number is not None else "an unnamed round"


def user_origin(settings: Settings, key: str) -> str | None:
    """Where the user set this option (config file or --set); None when unset or from a bundled profile."""
    origin = settings.origins.get(f"rules.{SPEC.id}.{key}")
    if origin is None or origin.startswith("profile "):
        return None
    return origin


def _why_unknown(before: int | None, after: int | None) -> str:
    if before is None and after is None:
        return "neither log's training configuration names its round"
    if before is None:
        return "the baseline's training configuration names no round"
    if after is None:
        return "this log's training configuration names no round"
    table = round_table().rounds
    missing = [n for n in (before, after) if n not in table or table[n].params is None]
    return " and ".join(f"Round {n}" for n in dict.fromkeys(missing)) + " has no recorded parameter count in configs/rounds.yaml"


class Expectation(NamedTuple):
    delta: int | None  # None: not judged
    tolerance: int
    label: str  # short, for the finding's `expected`
    source: str  # where the delta comes from, or why it is not judged


def expectation(run: Run, baseline: Run, options: Options, settings: Settings) -> Expectation:
    """The expected delta for this pair of logs, decided in the order the module docstring gives."""
    before, after = _round(baseline), _round(run)
    if before is not None and before == after:
        return Expectation(0, options.table_tolerance, f"both logs are Round {after}",
                           f"both logs are Round {after}: the same architecture")
    pair = f"{_name(before)} -> {_name(after)}"
    table_delta = round_table().expected_delta(before, after)
    if table_delta is not None:
        return Expectation(table_delta, options.table_tolerance, pair, "the rounds' recorded counts in configs/rounds.yaml")
    why = _why_unknown(before, after)
    origin = user_origin(settings, "expected_delta")
    if options.expected_delta is not None and origin is not None:
        return Expectation(options.expected_delta, options.tolerance, f"{pair}, expected_delta from {origin}",
                           f"expected_delta from {origin}, since {why}")
    return Expectation(None, 0, f"{pair}: not judged", why)


def check(run: Run, options: Options, settings: Settings, baseline: Run) -> list[Verdict]:
    pair = f"{_name(_round(baseline))} -> {_name(_round(run))}"
    wanted = expectation(run, baseline, options, settings)
    if wanted.delta is None:
        expected = f"reported ({wanted.label})"
    else:
        expected = f"{wanted.delta:+,} +/- {wanted.tolerance:,} ({wanted.label})"
    new, old = param_count(run), param_count(baseline)
    if new is None or old is None:
        which = "this log" if new is None else "the baseline"
        return [Verdict(status="missing", expected=expected,
                        message=f"{pair}: {which} prints no single exact parameter count")]
    delta = new[0] - old[0]
    text = f"{pair}: {delta:+,} ({old[0]:,} -> {new[0]:,})"
    if wanted.delta is None:
        return [Verdict(status="missing", value=delta, expected=expected, lines=new[1],
                        message=f"{text}, not judged: {wanted.source}; set rules.{SPEC.id}.expected_delta to judge it")]
    ignored = ""
    if options.expected_delta is not None and user_origin(settings, "expected_delta") and "expected_delta" not in wanted.source:
        ignored = f"; your expected_delta {options.expected_delta:+,} applies only to a pair of rounds the table does not know"
    judged = f"{text}, expected {wanted.delta:+,} +/- {wanted.tolerance:,} ({wanted.source}){ignored}"
    if abs(delta - wanted.delta) <= wanted.tolerance:
        return [Verdict(status="pass", value=delta, expected=expected, lines=new[1],
                        message=judged)]
    return [Verdict(status=SEVERITY, value=delta, expected=expected, lines=new[1],
                    message=f"{judged}: {options.reason}", direction="below" if delta < wanted.delta else "above")]


SPEC = RuleSpec(id="architecture.param_delta", category="architecture", order=4, options=Options, check=check,
                needs_baseline=True, round_specific=True)
