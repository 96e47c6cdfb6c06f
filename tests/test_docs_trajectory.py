"""docs/trajectory.md quotes the configuration and real output: keep it true."""

import re

from percediag.settings import Trajectory, build_settings
from tests.helpers import EXAMPLES, ROOT, run_cli

DOC = (ROOT / "docs" / "trajectory.md").read_text()


def squash(text: str) -> str:
    return " ".join(text.split())


def test_every_trajectory_knob_is_documented_with_its_value_and_has_a_reason():
    cfg = build_settings("generic").trajectory
    rows = dict(re.findall(r"^\| `(\w+)` \| ([^|]+) \|", DOC, re.M))
    knobs = [name for name in Trajectory.model_fields if name != "reasons"]
    assert set(knobs) <= set(rows)
    for name in knobs:
        assert float(rows[name]) == float(getattr(cfg, name)), name
        assert cfg.reasons.get(name, "").strip(), f"trajectory.reasons.{name} is missing"


def test_the_example_output_in_the_doc_is_the_real_output():
    log = EXAMPLES / "early-peak-decline.log"
    code, out, _ = run_cli(["check", str(log), "--color", "never", "--verbose"])
    assert code == 1
    printed = squash(out.replace(str(log), "examples/logs/early-peak-decline.log"))
    block = re.search(r"\$ percediag check examples/logs/early-peak-decline.log --verbose\n(.*?)\$ echo", DOC, re.S).group(1)
    # Each excerpt between "..." lines is printed as it is (wrapping aside: whitespace is squashed).
    for excerpt in re.split(r"^\.\.\.$", block, flags=re.M):
        assert squash(excerpt) in printed, excerpt[:80]
