"""How a finding's value is written: one implementation for every renderer.

Numbers in the usual range keep four significant digits in text (`.4g`: 0.45, 0.2584) and four
decimals in HTML (`.4f`: the table's numbers line up); counts and large values get thousands
separators, tiny ones scientific notation, non-finite ones their name.
"""

from __future__ import annotations

import math


def number(value: float, style: str) -> str:
    """A float: `style` (a format spec such as `.4g`) inside [1e-3, 100), else as described above."""
    if not math.isfinite(value):
        return str(value)
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if value != 0 and abs(value) < 1e-3:
        return f"{value:.1e}"
    return format(value, style)


def finding_value(value: object, style: str) -> str:
    """A finding's value as shown: empty when absent; yes/no; numbers (see `number`); lists joined."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return number(value, style)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)
