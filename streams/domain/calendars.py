"""Business calendars: working hours in a time zone, official holidays and moved working days.

"3 working days" across China's National Day week must skip the holiday *and* count the
Saturday that is worked in lieu (调休). Holidays and moved working days come from the
maintained `holidays` package (python-holidays), never from a hand-made list: `CN` gives
China's statutory holidays and its official weekend working days. For a year whose official
schedule is not yet published the package applies the statutory rules without moved working
days; upgrading the package picks the official schedule up.

All arithmetic is in business seconds on UTC epoch floats:
- `add(start, seconds)`: the moment when `seconds` of working time have passed after `start`;
- `between(start, end)`: working seconds in [start, end).
A calendar of None means 24/7: both are plain arithmetic.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holiday_data
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_MAX_DAYS_SCANNED = 3660  # ten years without a working minute means the calendar is wrong


def checked_timezone(value: str) -> str:
    """An IANA time zone name, or a ValueError that says what is expected."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Asia/Shanghai)") from None
    return value


class CalendarSpec(BaseModel):
    """As written in the policy file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str = "Asia/Shanghai"
    hours: tuple[str, ...] = Field(min_length=1)
    holidays: str | None = Field(default=None, description="ISO country code (e.g. CN), or none")
    weekdays: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return checked_timezone(value)

    @field_validator("holidays", mode="before")
    @classmethod
    def _country(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none")):
            return None
        code = str(value).strip().upper()
        try:
            holiday_data.country_holidays(code, years=2026)
        except NotImplementedError:
            raise ValueError(f"no holiday data for country {code!r}") from None
        return code

    @field_validator("weekdays")
    @classmethod
    def _weekdays(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [day for day in value if day.lower() not in WEEKDAYS]
        if unknown:
            raise ValueError(f"unknown weekday(s) {unknown}; use {list(WEEKDAYS)}")
        return tuple(day.lower() for day in value)

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        previous_end = -1
        for span in value:
            match = _SPAN.match(span)
            if not match:
                raise ValueError(f"working hours {span!r} must look like '09:00-12:00'")
            start = int(match.group(1)) * 60 + int(match.group(2))
            end = int(match.group(3)) * 60 + int(match.group(4))
            if not 0 <= start < end <= 24 * 60:
                raise ValueError(f"working hours {span!r}: the end must be after the start, within one day")
            if start < previous_end:
                raise ValueError(f"working hours {span!r} overlap or are out of order")
            previous_end = end
        return value

    @model_validator(mode="after")
    def _some_working_day(self) -> CalendarSpec:
        if not self.weekdays:
            raise ValueError("a calendar needs at least one working weekday")
        return self


class BusinessCalendar:
    """Working time of one calendar; pure and cached per local date."""

    def __init__(self, name: str, spec: CalendarSpec) -> None:
        self.name = name
        self.spec = spec
        self.zone = ZoneInfo(spec.timezone)
        self._weekdays = frozenset(WEEKDAYS.index(day) for day in spec.weekdays)
        self._minutes = []
        for span in spec.hours:
            match = _SPAN.match(span)
            assert match is not None
            self._minutes.append(
                (int(match.group(1)) * 60 + int(match.group(2)), int(match.group(3)) * 60 + int(match.group(4)))
            )
        self._holidays = holiday_data.country_holidays(spec.holidays) if spec.holidays else None
        self.day_seconds = float(sum(end - start for start, end in self._minutes) * 60)
        self._intervals = lru_cache(maxsize=4096)(self._intervals_uncached)

    def is_working_day(self, day: date) -> bool:
        if self._holidays is not None:
            is_holiday = day in self._holidays  # also loads the year, with its moved working days
            if day in self._holidays.weekend_workdays:
                return True  # 调休: a weekend day worked in lieu of a holiday
            if is_holiday:
                return False
        return day.weekday() in self._weekdays

    def _intervals_uncached(self, day: date) -> tuple[tuple[float, float], ...]:
        """Working intervals of a local date, as UTC epoch seconds."""
        if not self.is_working_day(day):
            return ()
        midnight = datetime.combine(day, time(0), tzinfo=self.zone)
        spans = []
        for start, end in self._minutes:
            begin = (midnight + timedelta(minutes=start)).timestamp()
            finish = (midnight + timedelta(minutes=end)).timestamp()
            spans.append((begin, finish))
        return tuple(spans)

    def _local_date(self, moment: float) -> date:
        return datetime.fromtimestamp(moment, self.zone).date()

    def add(self, start: float, seconds: float) -> float:
        """The moment when `seconds` of working time have passed after `start`."""
        if seconds <= 0:
            return self.next_working_moment(start) if seconds == 0 else start
        remaining = seconds
        day = self._local_date(start)
        for _ in range(_MAX_DAYS_SCANNED):
            for begin, finish in self._intervals(day):
                if finish <= start:
                    continue
                begin = max(begin, start)
                available = finish - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
            day += timedelta(days=1)
        raise ValueError(f"calendar {self.name!r} has no working time for ten years after {start}")

    def next_working_moment(self, moment: float) -> float:
        day = self._local_date(moment)
        for _ in range(_MAX_DAYS_SCANNED):
            for begin, finish in self._intervals(day):
                if finish > moment:
                    return max(begin, moment)
            day += timedelta(days=1)
        raise ValueError(f"calendar {self.name!r} has no working time for ten years after {moment}")

    def between(self, start: float, end: float) -> float:
        """Working seconds in [start, end)."""
        if end <= start:
            return 0.0
        total = 0.0
        day = self._local_date(start)
        last = self._local_date(end)
        while day <= last:
            for begin, finish in self._intervals(day):
                overlap = min(finish, end) - max(begin, start)
                if overlap > 0:
                    total += overlap
            day += timedelta(days=1)
        return total


class AlwaysOpen:
    """24/7: business time is wall-clock time."""

    name = "24/7"
    day_seconds = 86400.0

    @staticmethod
    def add(start: float, seconds: float) -> float:
        return start + seconds

    @staticmethod
    def between(start: float, end: float) -> float:
        return max(0.0, end - start)


ALWAYS_OPEN = AlwaysOpen()
Calendar = BusinessCalendar | AlwaysOpen
