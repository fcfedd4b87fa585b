"""Durations as operators write them in policy files: "90s", "10m", "1.5h", "1h30m", "3d"."""

from __future__ import annotations

import re

_UNITS = {
    "s": 1.0, "sec": 1.0, "second": 1.0, "seconds": 1.0,
    "m": 60.0, "min": 60.0, "minute": 60.0, "minutes": 60.0,
    "h": 3600.0, "hour": 3600.0, "hours": 3600.0,
    "d": 86400.0, "day": 86400.0, "days": 86400.0,
    "w": 604800.0, "week": 604800.0, "weeks": 604800.0,
}  # fmt: skip
_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*")


def parse_duration(text: str | int | float) -> float:
    """Seconds in a duration; a bare number is seconds. Raises ValueError with the reason."""
    if isinstance(text, bool):
        raise ValueError(f"duration must be text like '2h' or a number of seconds, got {text!r}")
    if isinstance(text, (int, float)):
        seconds = float(text)
    else:
        source = text.strip().lower()
        if "working" in source or "business" in source:
            raise ValueError(
                f"{text!r}: business-time durations need a calendar, which this version does not "
                "support yet; write calendar time (e.g. '72h') instead"
            )
        position, seconds = 0, 0.0
        for match in _PART.finditer(source):
            if match.start() != position:
                break
            unit = _UNITS.get(match.group(2))
            if unit is None:
                raise ValueError(f"{text!r}: unknown unit {match.group(2)!r}; use s, m, h, d or w")
            seconds += float(match.group(1)) * unit
            position = match.end()
        if position != len(source) or not source:
            raise ValueError(f"{text!r} is not a duration; write e.g. '90s', '10m', '1.5h', '1h30m', '3d'")
    if seconds <= 0:
        raise ValueError(f"duration {text!r} must be positive")
    return seconds


def format_duration(seconds: float) -> str:
    seconds = float(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
