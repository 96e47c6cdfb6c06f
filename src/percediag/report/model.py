"""The Report: everything `percediag check` concludes about one run of one log.

Data only: the renderers import this model, so it renders nothing itself. The Report that shows
itself in a notebook and as text (`percediag.check` returns it) is `report.shown.ShownReport`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, Field, PrivateAttr

from percediag.diagnose.assessment import Answer
from percediag.diagnose.causes import CauseScore
from percediag.diagnose.dimensions import DimensionView
from percediag.diagnose.fixes import RankedFix
from percediag.diagnose.history import Escalation
from percediag.findings import Finding
from percediag.model import SCHEMA_VERSION, EventRef, ParseWarning, Run
from percediag.settings import HistoryRound
from percediag.trajectory import Forecast

if TYPE_CHECKING:
    from percediag.rules.registry import Catalogue


class RunRef(BaseModel):
    index: int
    line: int
    end_line: int | None = None
    title: str | None = None


class Report(BaseModel):
    schema_version: int = SCHEMA_VERSION
    tool: str = "percediag"
    version: str
    source: str
    profile: str
    profile_reason: str = Field(default="", description="which profile judged the log and why (option, configuration, or the round the log names)")
    config_files: list[str] = Field(default_factory=list, description="the user's configuration files (and rounds files) that shaped this report, besides the bundled profile")
    profile_notes: list[str] = Field(default_factory=list, description="where the log's architecture contradicts the round it names (a stale label?)")
    run: int = Field(description="index of the reported run among `runs`")
    runs: list[RunRef]
    status: str = Field(description="pass | warn | fail (missing data counts as warn)")
    counts: dict[str, int]
    assessment: list[Answer]
    findings: list[Finding]
    forecast: list[Forecast]
    causes: list[CauseScore]
    fixes: list[RankedFix]
    tried: list[str] = Field(description="ID or ID=OUTCOME, as given")
    history: list[HistoryRound] = Field(default_factory=list, description="the earlier rounds the ranking used")
    escalation: Escalation | None = Field(default=None, description="whether targeted fixes stopped paying, and why")
    dimensions: DimensionView
    parse_warnings: list[ParseWarning]
    notes: list[str]
    locations: dict[int, str] = Field(
        default_factory=dict,
        description="for notebooks: line number -> 'cell N, line M'; for event files: virtual line -> 'FILE:step N'; "
                    "for every such line the report cites",
    )
    event_refs: dict[int, EventRef] = Field(
        default_factory=dict,
        description="for values read from TensorBoard event files or a metrics.csv: virtual (negative) line number "
                    "-> the file and step, for every such line the report cites (`locations` shows it as 'FILE:step N')",
    )
    records: Run
    # The rules of the settings that judged the run (their ids, severities, documentation): not data of
    # the report, but what a renderer describing the rules (SARIF) needs. The pipeline attaches it.
    _rules: Catalogue | None = PrivateAttr(default=None)

    @property
    def rules(self) -> Catalogue:
        if self._rules is None:
            raise ValueError("a report not made by the pipeline carries no rule catalogue")
        return self._rules

    def attach_rules(self, catalogue: Catalogue) -> None:
        self._rules = catalogue

    def failed(self, level: str = "fail") -> bool:
        """Does this report fail a gate at `level` (fail, warn, never)?"""
        if level == "never":
            return False
        if level == "warn":
            return self.status in ("warn", "fail")
        return self.status == "fail"


class ReportSet(BaseModel):
    """Several reports at once: several logs, or `--run all`."""

    schema_version: int = SCHEMA_VERSION
    status: str = Field(description="the worst status of the reports")
    reports: list[Report]
