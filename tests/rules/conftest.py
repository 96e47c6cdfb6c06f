import pytest

from percediag.pipeline import evaluate
from percediag.settings import build_settings, parse_override
from tests.helpers import parse_text


@pytest.fixture
def judge():
    """judge(text, rule_prefix, profile=..., sets=[...]) -> findings of that rule."""

    def run(text, rule, profile="round5", sets=()):
        settings = build_settings(profile, overrides=[parse_override(s) for s in sets])
        return [f for f in evaluate(parse_text(text), settings) if f.rule.startswith(rule)]

    return run
