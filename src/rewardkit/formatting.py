"""Numbers as people read them in terminal lines, tables and reports."""

from __future__ import annotations

import math
import numbers


def percent(value, digits: int = 1, *, missing: str = "–") -> str:
    """``0.6123`` → ``"61.2%"``; ``missing`` for None, NaN or anything that is not a number."""
    if not _is_number(value):
        return missing
    return f"{100 * float(value):.{digits}f}%"


def number(value, digits: int = 3, *, missing: str = "–") -> str:
    """``digits`` significant digits (scientific notation from 10,000 up); ``missing`` for
    None, NaN or anything that is not a number."""
    if not _is_number(value):
        return missing
    value = float(value)
    return f"{value:.{digits}g}" if abs(value) < 1e4 else f"{value:.3e}"


def _is_number(value) -> bool:
    return (
        not isinstance(value, bool)
        and isinstance(value, numbers.Real)
        and not math.isnan(float(value))
    )


def percent_interval(interval, *, missing: str = "–") -> str:
    """``[0.61, 0.67]`` → ``"61.0%–67.0%"``; ``missing`` when absent or incomplete."""
    if not interval or any(not _is_number(v) for v in interval):
        return missing
    return f"{percent(interval[0])}–{percent(interval[1])}"
