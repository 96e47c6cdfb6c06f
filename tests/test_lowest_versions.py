"""The declared minimum version of every direct dependency really works (issue 15, point 6).

uv resolves the project with `--resolution lowest-direct` (each direct dependency at the lowest
version pyproject.toml allows) into a fresh environment, and a slice of the suite that touches
every dependency (typer's CLI, pydantic's models and schema, rich's rendering, numpy's forecast,
PyYAML's profiles) runs there with warnings as errors: a floor that is too low fails here, not
on a user's machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.helpers import ROOT

SLICE = ["tests/test_examples.py", "tests/test_formats.py", "tests/test_settings.py", "tests/test_api.py",
         "tests/test_trajectory.py"]


def _uv() -> list[str] | None:
    """uv as the README's set-up runs it (`uv run` exports UV), else on PATH, else as a module."""
    if os.environ.get("UV") and Path(os.environ["UV"]).is_file():
        return [os.environ["UV"]]
    if shutil.which("uv"):
        return ["uv"]
    probe = subprocess.run([sys.executable, "-m", "uv", "--version"], capture_output=True)
    return [sys.executable, "-m", "uv"] if probe.returncode == 0 else None


def _dev_requirements() -> list[str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return list(data["dependency-groups"]["dev"])


def test_the_suite_passes_with_every_direct_dependency_at_its_declared_minimum(tmp_path: Path) -> None:
    uv = _uv()
    if uv is None:
        if os.environ.get("CI"):
            pytest.fail("uv is not available in CI: the lowest-version check cannot run")
        pytest.skip("uv is not installed here (the README's set-up installs it)")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("VIRTUAL_ENV", "UV_PROJECT"))}
    venv = tmp_path / "lowest"
    subprocess.run([*uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True, env=env, timeout=300)
    python = venv / "bin" / "python"
    install = subprocess.run(
        [*uv, "pip", "install", "-q", "--python", str(python), "--resolution", "lowest-direct",
         str(ROOT), *_dev_requirements()],
        capture_output=True, text=True, env=env, timeout=600)
    assert install.returncode == 0, install.stderr[-2000:]
    versions = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(' '.join(f'{n}=={m.version(n)}' for n in "
         "('typer', 'rich', 'pydantic', 'numpy', 'PyYAML')))"], capture_output=True, text=True, check=True)
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    floors = {spec.split(">=")[0].strip().lower(): spec.split(">=")[1].split(",")[0].strip() for spec in declared}
    installed = dict(item.lower().split("==") for item in versions.stdout.split())
    for name, floor in floors.items():
        # A floor below what another dependency requires would be a floor nobody can install.
        assert installed[name].split(".")[:2] == floor.split(".")[:2], (name, installed[name], floor)
    done = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error::UserWarning",
         "-W", "error::DeprecationWarning:percediag", *SLICE],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=900)
    assert done.returncode == 0, versions.stdout + "\n" + done.stdout[-4000:] + done.stderr[-2000:]
