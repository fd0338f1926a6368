"""Parse the duration strings used in specs ("90s", "1h30m", "30d")."""

from __future__ import annotations

import re

__all__ = ["parse_duration"]

_PART = re.compile(r"([0-9]+)(s|m|h|d)")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> int:
    """Return the number of seconds in a duration such as "1h30m".

    Raises:
        ValueError: when the text is not a duration.
    """
    if not text or _PART.sub("", text):
        raise ValueError(f"not a duration: {text!r} (use forms like 90s, 15m, 1h30m, 30d)")
    return sum(int(amount) * _UNIT_SECONDS[unit] for amount, unit in _PART.findall(text))
