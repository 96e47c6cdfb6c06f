"""An R2 above 1 (or non-finite) is a broken metric: no milestone, convergence, baseline or trajectory
verdict passes on it; log.impossible_values names it (the hostile review's val_r2: 5.0000)."""

from __future__ import annotations

import json
import re

import pytest

from tests.helpers import EXAMPLES, run_cli


@pytest.mark.parametrize("value", ["5.0000", "1.0000001", "1e30", "inf"])
def test_impossible_epoch_r2_passes_no_progression_verdict(tmp_path, value):
    text = re.sub(r"val_r2: [+-]?[0-9.]+", f"val_r2: {value}", (EXAMPLES / "round5-plateau.log").read_text())
    log = tmp_path / "round5.log"
    log.write_text(text)
    code, out, err = run_cli(["check", str(log), "-f", "json"])
    assert code == 1 and "Traceback" not in err
    findings = json.loads(out)["findings"]
    passing = {f["rule"] for f in findings if f["status"] == "pass"}
    for rule in ("progression.epoch_5", "progression.epoch_10", "progression.epoch_20", "progression.convergence",
                 "progression.trajectory", "baseline.bilstm", "baseline.midibert", "baseline.han_sota"):
        assert rule not in passing, rule
    assert {f["status"] for f in findings if f["rule"] == "log.impossible_values"} == {"fail"} or value == "inf"
