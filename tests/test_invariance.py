"""The same run in any shape it arrives in gives the same verdicts (rule, fold, status)."""

from __future__ import annotations

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from percediag.pipeline import check_log, parse_source
from percediag.settings import build_settings
from percediag.sources import LogSource, NotebookSource
from tests import synth, transforms
from tests.helpers import REAL

SETTINGS = build_settings("round5")
REAL_LOGS = ["round4.log", "round5.log", "round6.log", "round5-interrupted.log", "round6-startup-crash.log"]


def verdicts_of_source(source: LogSource) -> list[tuple[str, int | None, str]]:
    report = check_log(parse_source(source), SETTINGS)
    return [(f.rule, f.fold, f.status) for f in report.findings]


def verdicts(data: bytes, kind: str = "log") -> list[tuple[str, int | None, str]]:
    if kind == "ipynb":
        return verdicts_of_source(NotebookSource("run.ipynb", lambda: io.BytesIO(data)))
    if kind == "gz":
        import gzip

        return verdicts_of_source(LogSource("run.log.gz", lambda: gzip.GzipFile(fileobj=io.BytesIO(data))))
    return verdicts_of_source(LogSource.from_stream(io.BytesIO(data), "run.log"))


@pytest.fixture(scope="module", params=REAL_LOGS)
def real(request):
    text = (REAL / request.param).read_text(encoding="utf-8")
    return text, verdicts(text.encode())


@pytest.mark.parametrize("name", sorted(transforms.TEXT_TRANSFORMS))
def test_each_shape_of_a_real_log(real, name):
    text, expected = real
    assert verdicts(transforms.TEXT_TRANSFORMS[name](text).encode()) == expected


def test_notebook_and_gzip(real):
    text, expected = real
    assert verdicts(transforms.notebook(text), "ipynb") == expected
    assert verdicts(transforms.gzipped(text.encode()), "gz") == expected


def test_all_shapes_at_once(real):
    text, expected = real
    shaped = text
    for name in ("progress_bars", "ansi", "timestamps", "crlf", "bom"):
        shaped = transforms.TEXT_TRANSFORMS[name](shaped)
    assert verdicts(shaped.encode()) == expected


def test_notebook_lines_point_into_cells(tmp_path):
    from percediag.pipeline import check

    text = (REAL / "round6-startup-crash.log").read_text()
    path = tmp_path / "run.ipynb"
    path.write_bytes(transforms.notebook(text, seed=3))
    report = check(str(path))
    crash = next(f for f in report.findings if f.rule == "run.crash")
    assert all(report.locations[line].startswith("cell ") for line in crash.lines)


def test_prefix_lines_keep_their_original_numbers():
    text = transforms.timestamps((REAL / "round5.log").read_text())
    source = LogSource.from_text(text)
    report = check_log(parse_source(source), SETTINGS)
    plain = check_log(parse_source(LogSource.from_path(REAL / "round5.log")), SETTINGS)
    assert [f.lines for f in report.findings] == [f.lines for f in plain.findings]
    assert any("timestamp prefix" in note for note in report.notes)


# -- properties over generated logs ------------------------------------------

SMALL = {
    name: dict(max_epochs=14, patience=6, steps_per_epoch=40)
    for name in ("round5-plateau", "healthy-sota", "slow-climb", "overshoot", "crashed-oom", "nan-gradients")
}


def small_log(name: str, seed: int) -> str:
    base = synth.SCENARIOS[name]
    import dataclasses

    folds = base.folds[:2] if name != "nan-gradients" else base.folds
    scenario = dataclasses.replace(base, seed=seed, folds=folds, **SMALL[name])
    if name == "crashed-oom":
        scenario = dataclasses.replace(scenario, crash_at_epoch=3)
    if name == "nan-gradients":
        scenario = dataclasses.replace(scenario, gradients=dataclasses.replace(base.gradients, nan_from_step=120))
    return synth.render(scenario)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(sorted(SMALL)),
    seed=st.integers(0, 10_000),
    chosen=st.lists(st.sampled_from(sorted(transforms.TEXT_TRANSFORMS)), unique=True, max_size=4),
    container=st.sampled_from(["log", "gz", "ipynb"]),
)
def test_verdicts_do_not_depend_on_the_shape(name, seed, chosen, container):
    text = small_log(name, seed)
    expected = verdicts(text.encode())
    # Line prefixes are detected per log: apply at most one of them.
    prefixes = {"timestamps", "stdout_tag", "kaggle"}
    chosen = [c for c in chosen if c not in prefixes] + [c for c in chosen if c in prefixes][:1]
    # A prefix is added to lines as they are written, before any paste or encoding.
    order = sorted(chosen, key=lambda c: (c != "progress_bars", c not in prefixes, c == "bom"))
    shaped = text
    for name_ in order:
        shaped = transforms.TEXT_TRANSFORMS[name_](shaped)
    if container == "ipynb":
        shaped = shaped.removeprefix("\ufeff")
        assert verdicts(transforms.notebook(shaped, seed), "ipynb") == expected
    elif container == "gz":
        assert verdicts(transforms.gzipped(shaped.encode()), "gz") == expected
    else:
        assert verdicts(shaped.encode()) == expected
