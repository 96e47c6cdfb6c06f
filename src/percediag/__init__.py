"""percediag: read a PercePiano replica training log, judge it, and say what to fix next.

    >>> import percediag
    >>> report = percediag.check("train.log", profile="round5")
    >>> report.status, report.fixes[0].id

`check` and `parse` are the same pipeline the CLI runs.
"""

from __future__ import annotations

from percediag.version import __version__

__all__ = ["__version__", "check", "parse"]


def check(path_or_text, profile=None, *, run="last", config=None, set=None, tried=None,  # noqa: A002, ANN001, ANN201 - see pipeline.check
          history=None, baseline=None, events=None, isolated=False):
    """Check a log and return its Report (renders itself in a notebook cell), as `percediag check` would:
    the same configuration discovery and the same `config`, `set`, `tried`, `history`, `baseline`,
    `events` and `isolated` arguments as the command's options (see pipeline.check)."""
    from percediag.pipeline import check as _check

    return _check(path_or_text, profile, run=run, config=config, set=set, tried=tried, history=history,
                  baseline=baseline, events=events, isolated=isolated)


def parse(path_or_text):  # noqa: ANN001, ANN201 - see pipeline.parse
    """Parse a log into its records (a `Log` model)."""
    from percediag.pipeline import parse as _parse

    return _parse(path_or_text)
