"""The range a timestamp from outside may fall in (docs/operations.md, "Limits").

A channel's own time (`submitted_at`, a call event's `at`, a sheet's 提交时间, a WeChat Work
`CreateTime`) starts an SLA clock, so one that is absurd — year 2, year 9999 with a -23:59
offset — would overflow date arithmetic or make business-time calculations walk millennia.
Every such value is checked here at the edge and refused with the field named. The range is
`earliest` .. now + `ahead`; operators set it with TICKETFLOW_EARLIEST_TIMESTAMP and
TICKETFLOW_TIMESTAMP_AHEAD_SECONDS (`configure` is called once at start-up).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True)
class TimestampRange:
    earliest: datetime = datetime(2000, 1, 1, tzinfo=UTC)
    ahead: timedelta = timedelta(days=1)

    def latest(self, now: datetime | None = None) -> datetime:
        return (now or datetime.now(UTC)) + self.ahead

    def problem(self, moment: datetime, now: datetime | None = None) -> str | None:
        """Why `moment` (aware) is out of range, or None when it is fine."""
        if moment < self.earliest:
            return f"is before {self.earliest.date().isoformat()} (TICKETFLOW_EARLIEST_TIMESTAMP)"
        if moment > self.latest(now):
            return f"is more than {self.ahead} in the future (TICKETFLOW_TIMESTAMP_AHEAD_SECONDS)"
        return None


_range = TimestampRange()


def configure(earliest: datetime, ahead: timedelta) -> None:
    global _range
    _range = TimestampRange(earliest if earliest.tzinfo else earliest.replace(tzinfo=UTC), ahead)


def current() -> TimestampRange:
    return _range


def to_utc(value: datetime) -> datetime:
    """A timestamp in UTC (naive = UTC), or ValueError when it is outside the accepted range
    (including values whose conversion to UTC overflows)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        utc = value.astimezone(UTC)
    except OverflowError:  # within a day of year 1 or 9999: out of range either way
        early = value.replace(tzinfo=None) < _range.earliest.replace(tzinfo=None)
        problem = _range.problem(_range.earliest - timedelta(days=1) if early else _range.latest() + timedelta(days=1))
        raise ValueError(f"{value.isoformat()} {problem}") from None
    value = utc
    problem = _range.problem(value)
    if problem is not None:
        raise ValueError(f"{value.isoformat()} {problem}")
    return value


def from_unix(seconds: int) -> datetime:
    """Unix seconds → an aware UTC datetime in range, or ValueError."""
    try:
        value = datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"{seconds} is not a unix time in the representable range") from None
    return to_utc(value)
