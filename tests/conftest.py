import os

import pytest

# Reports must not depend on the terminal the tests run in.
os.environ.setdefault("COLUMNS", "120")


@pytest.fixture(autouse=True)
def _no_color(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
