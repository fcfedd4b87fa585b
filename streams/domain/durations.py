"""Durations as operators write them in policy files.

"90s", "10m", "1.5h", "1h30m", "3d" are time; "3 working days" (or "business days") is a
number of the policy calendar's working days. Under a policy with a calendar, time is business
time: "4h" means four working hours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_UNITS = {
    "s": 1.0,
    "sec": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "m": 60.0,
    "min": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "h": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
    "days": 86400.0,
    "w": 604800.0,
    "week": 604800.0,
    "weeks": 604800.0,
}
_WORKING_DAYS = ("working day", "working days", "business day", "business days", "workday", "workdays")
_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(working days?|business days?|workdays?|[a-z]+)\s*")


@dataclass(frozen=True)
class Duration:
    seconds: float = 0.0
    working_days: float = 0.0

    @property
    def needs_calendar(self) -> bool:
        return self.working_days > 0

    def resolve(self, day_seconds: float) -> float:
        """Seconds (of business time under a calendar), given the calendar's working seconds per day."""
        return self.seconds + self.working_days * day_seconds

    def __str__(self) -> str:
        parts = []
        if self.working_days:
            parts.append(f"{self.working_days:g} working day{'s' if self.working_days != 1 else ''}")
        if self.seconds:
            parts.append(format_duration(self.seconds))
        return " ".join(parts)


def parse_duration(text: str | int | float) -> Duration:
    """Parse an operator duration; raises ValueError saying what is wrong."""
    if isinstance(text, Duration):
        return text
    if isinstance(text, bool):
        raise ValueError(f"duration must be text like '2h' or a number of seconds, got {text!r}")
    if isinstance(text, (int, float)):
        duration = Duration(seconds=float(text))
    else:
        source = " ".join(text.strip().lower().split())
        position, seconds, working_days = 0, 0.0, 0.0
        for match in _PART.finditer(source):
            if match.start() != position:
                break
            amount, unit = float(match.group(1)), match.group(2)
            if unit in _WORKING_DAYS:
                working_days += amount
            elif unit in _UNITS:
                seconds += amount * _UNITS[unit]
            else:
                raise ValueError(f"{text!r}: unknown unit {unit!r}; use s, m, h, d, w or 'working days'")
            position = match.end()
        if position != len(source) or not source:
            raise ValueError(
                f"{text!r} is not a duration; write e.g. '90s', '10m', '1.5h', '1h30m', '3d', '3 working days'"
            )
        duration = Duration(seconds=seconds, working_days=working_days)
    if duration.seconds < 0 or duration.working_days < 0 or (duration.seconds == 0 and duration.working_days == 0):
        raise ValueError(f"duration {text!r} must be positive")
    return duration


def format_duration(seconds: float) -> str:
    seconds = float(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
