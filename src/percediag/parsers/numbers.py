"""Number syntax shared by every block parser.

Logs print floats as `0.0129`, `+0.2562`, `5.00e-05`, `nan`, `+nan`, `inf`,
`-inf`; counts as `13,758,227`. The seed dialect writes placeholders such as
`~X,XXX,XXX`, which mean "not reported", never a number.
"""

from __future__ import annotations

import math

# A float as the trainer prints it, including non-finite values. Bounded
# repetition keeps every use linear.
NUM = r"[+-]?(?:(?i:nan|inf(?:inity)?)|\d{1,40}(?:\.\d{0,40})?(?:[eE][+-]?\d{1,4})?|\.\d{1,40}(?:[eE][+-]?\d{1,4})?)"
INT = r"\d{1,3}(?:,\d{3}){1,6}|\d{1,20}"


def to_float(text: str | None) -> float | None:
    """Parse a float as printed; `1e309` overflows to inf, which is what it means."""
    if text is None:
        return None
    return float(text)


def to_int(text: str | None) -> int | None:
    """Parse a count with optional thousands separators; None for placeholders."""
    if text is None:
        return None
    cleaned = text.replace(",", "")
    if not cleaned.isdigit():
        return None
    return int(cleaned)


def is_finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)
