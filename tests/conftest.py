import os
import signal

import pytest

# Reports must not depend on the terminal the tests run in.
os.environ.setdefault("COLUMNS", "120")


@pytest.fixture(autouse=True)
def _no_color(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)


@pytest.fixture
def deadline(request):
    """Fail a test that still runs after its module's DEADLINE seconds (default 120) instead of hanging
    the suite: tests that run a child (watch -- COMMAND) use it, as pytest-timeout is not a dependency."""
    seconds = getattr(request.module, "DEADLINE", 120)

    def expired(signum, frame):
        raise TimeoutError(f"test still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)
