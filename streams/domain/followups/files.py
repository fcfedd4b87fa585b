"""The follow-up file and the care file, as operators write them (docs/followups.md).

Both are YAML validated with pydantic; a mistake stops start-up with a message naming the key
(streams/domain/config_files.py). Quiet hours and the contact budget are shared by both.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from streams.domain.calendars import ALWAYS_OPEN, BusinessCalendar, Calendar, CalendarSpec, checked_timezone
from streams.domain.config_files import bundled_file, load_yaml_model
from streams.domain.durations import Duration, parse_duration
from streams.domain.matching import Filter
from streams.models import CHANNELS, CUSTOMER_TIERS

_CLOCK = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")
# How a follow-up reaches the customer: an agent phones, the profile's preferred channel, or a channel.
VIA: tuple[str, ...] = ("callback", "preferred", *CHANNELS)
# Care occasions, in the order they go out when several fall on one day (caps keep the first).
OCCASIONS: tuple[str, ...] = ("new_customer_callback", "win_back", "birthday", "anniversary")
Occasion = Literal["new_customer_callback", "win_back", "birthday", "anniversary"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


def _duration(value: Any) -> Any:
    return None if value is None else parse_duration(value)


def _minutes_of_day(text: str, key: str) -> int:
    match = _CLOCK.match(str(text))
    if not match or int(match.group(1)) > 24 or int(match.group(2)) > 59:
        raise ValueError(f"{key} {text!r} must be a time of day like '21:00'")
    minutes = int(match.group(1)) * 60 + int(match.group(2))
    if minutes > 24 * 60:
        raise ValueError(f"{key} {text!r} is past midnight")
    return minutes


def _via(value: str) -> str:
    if value not in VIA:
        raise ValueError(f"unknown via {value!r}; use callback, preferred or a channel {list(CHANNELS)}")
    return value


class QuietHours(_Strict):
    """No contact between `start` and `end` in the customer's local time (may span midnight)."""

    start: str = "21:00"
    end: str = "09:00"

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str, info: Any) -> str:
        _minutes_of_day(value, info.field_name)
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHours:
        if _minutes_of_day(self.start, "start") == _minutes_of_day(self.end, "end"):
            raise ValueError(f"quiet hours {self.start}-{self.end} are empty; leave quiet_hours out instead")
        return self

    def release(self, moment: float, zone: ZoneInfo) -> float:
        """`moment`, or the end of the quiet hours it falls in (in `zone`)."""
        local = datetime.fromtimestamp(moment, zone)
        start, end = _minutes_of_day(self.start, "start"), _minutes_of_day(self.end, "end")
        minute = local.hour * 60 + local.minute + (local.second + local.microsecond / 1e6) / 60
        if start < end:
            quiet, end_day = start <= minute < end, local.date()
        else:  # spans midnight
            quiet = minute >= start or minute < end
            end_day = local.date() + timedelta(days=1) if minute >= start else local.date()
        if not quiet:
            return moment
        return _local_moment(end_day, end, zone)

    def is_quiet(self, moment: float, zone: ZoneInfo) -> bool:
        return self.release(moment, zone) != moment


def _local_moment(day: date, minutes: int, zone: ZoneInfo) -> float:
    return (datetime.combine(day, time(0), tzinfo=zone) + timedelta(minutes=minutes)).timestamp()


class ContactBudget(_Strict):
    """One budget for every contact to a customer: surveys, callbacks and care messages."""

    min_gap: Duration = Field(default_factory=lambda: Duration(seconds=4 * 3600))

    @field_validator("min_gap", mode="before")
    @classmethod
    def _gap(cls, value: Any) -> Any:
        return _duration(value)


class Survey(_Strict):
    name: str = Field(min_length=1, max_length=64)
    match: Filter = Field(default_factory=Filter)
    after_resolution: Duration
    calendar: str | None = None
    via: str = "preferred"

    @field_validator("after_resolution", mode="before")
    @classmethod
    def _after(cls, value: Any) -> Any:
        return _duration(value)

    @field_validator("via")
    @classmethod
    def _channel(cls, value: str) -> str:
        return _via(value)


class Dissatisfied(_Strict):
    """What counts as a dissatisfied answer, and the recovery that follows it."""

    csat_at_most: int = Field(default=2, ge=1, le=4)
    nps_at_most: int | None = Field(default=None, ge=0, le=9)  # e.g. 6: NPS detractors count too
    explicit_flag: bool = True  # an answer with `satisfied: false` counts
    comment_unresolved: bool = True  # a comment the classifier judges unresolved or negative counts
    second_followup_after: Duration = Field(default_factory=lambda: Duration(seconds=48 * 3600))
    second_followup_via: str = "callback"
    reopen: bool = True
    escalate: bool = True

    @field_validator("second_followup_after", mode="before")
    @classmethod
    def _after(cls, value: Any) -> Any:
        return _duration(value)

    @field_validator("second_followup_via")
    @classmethod
    def _channel(cls, value: str) -> str:
        return _via(value)


class NeverSurvey(_Strict):
    duplicates: bool = True  # tickets that repeat an earlier one (repeat_of)
    promoted_reply_parents: bool = True  # threads whose replies became tickets of their own
    closed_without_reply: bool = True  # no human ever answered (spam, merged, withdrawn)


class FollowupFile(_Strict):
    """`TICKETFLOW_FOLLOWUP_FILE` (default streams/config/followups.yaml)."""

    business_timezone: str = "Asia/Shanghai"
    calendars: dict[str, CalendarSpec] = Field(default_factory=dict)
    quiet_hours: QuietHours | None = Field(default_factory=QuietHours)
    suppression: Duration = Field(default_factory=lambda: Duration(seconds=7 * 86400))
    give_up_after: Duration = Field(default_factory=lambda: Duration(seconds=3 * 86400))
    rating_change_window: Duration = Field(default_factory=lambda: Duration(seconds=30 * 60))
    never_survey: NeverSurvey = Field(default_factory=NeverSurvey)
    surveys: list[Survey] = Field(min_length=1)
    dissatisfied: Dissatisfied = Field(default_factory=Dissatisfied)

    @field_validator("business_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return checked_timezone(value)

    @field_validator("suppression", "give_up_after", "rating_change_window", mode="before")
    @classmethod
    def _durations(cls, value: Any) -> Any:
        return _duration(value)

    @model_validator(mode="after")
    def _consistent(self) -> FollowupFile:
        names = [survey.name for survey in self.surveys]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"survey names must be unique; repeated: {duplicates}")
        if self.surveys[-1].match != Filter():
            raise ValueError(
                f"the last survey ({self.surveys[-1].name!r}) must match every ticket (match: {{}}), "
                "so that every resolved ticket is followed up"
            )
        for survey in self.surveys:
            if survey.calendar is not None and survey.calendar not in self.calendars:
                raise ValueError(
                    f"survey {survey.name!r} names calendar {survey.calendar!r}, which is not under calendars "
                    f"({sorted(self.calendars)})"
                )
            if survey.calendar is None and survey.after_resolution.needs_calendar:
                raise ValueError(f"survey {survey.name!r}: a delay in working days needs a calendar")
        return self

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.business_timezone)

    @cached_property
    def _calendars(self) -> dict[str, BusinessCalendar]:
        return {name: BusinessCalendar(name, spec) for name, spec in self.calendars.items()}

    def select(self, facts: Mapping[str, Any]) -> Survey:
        """The first survey whose `match` fits the ticket (the same filters as the SLA policies)."""
        for survey in self.surveys:
            if survey.match.matches(facts):
                return survey
        return self.surveys[-1]

    def by_name(self, name: str) -> Survey | None:
        return next((survey for survey in self.surveys if survey.name == name), None)

    def calendar(self, survey: Survey) -> Calendar:
        return ALWAYS_OPEN if survey.calendar is None else self._calendars[survey.calendar]


class CareOccasion(_Strict):
    enabled: bool = True
    via: str = "preferred"
    on_holiday: Literal["next_working_day", "skip", "send"] = "send"

    @field_validator("via")
    @classmethod
    def _channel(cls, value: str) -> str:
        return _via(value)


class NewCustomerCallback(CareOccasion):
    after_customer_since: int = Field(default=3, ge=0, le=365)  # calendar days
    via: str = "callback"
    on_holiday: Literal["next_working_day", "skip", "send"] = "next_working_day"


class WinBack(CareOccasion):
    tiers: tuple[str, ...] = ("churn_risk",)
    period: Literal["month", "quarter", "year"] = "quarter"  # at most one win-back per customer per period
    via: str = "callback"
    on_holiday: Literal["next_working_day", "skip", "send"] = "next_working_day"

    @field_validator("tiers")
    @classmethod
    def _tiers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [tier for tier in value if tier not in CUSTOMER_TIERS]
        if unknown:
            raise ValueError(f"unknown tier(s) {unknown}; expected one of {list(CUSTOMER_TIERS)}")
        return value


class CareOccasions(_Strict):
    new_customer_callback: NewCustomerCallback = Field(default_factory=NewCustomerCallback)
    birthday: CareOccasion = Field(default_factory=CareOccasion)
    win_back: WinBack = Field(default_factory=WinBack)
    anniversary: CareOccasion = Field(default_factory=CareOccasion)


class CareFile(_Strict):
    """`TICKETFLOW_CARE_FILE` (default streams/config/care.yaml)."""

    calendar: CalendarSpec = Field(
        default_factory=lambda: CalendarSpec(hours=("09:00-12:00", "13:30-18:00"), holidays="CN")
    )
    send_at: str = "10:00"  # local time of the day the day's care messages are due
    quiet_hours: QuietHours | None = Field(default_factory=QuietHours)
    late_within: Duration = Field(default_factory=lambda: Duration(seconds=86400))
    new_customer_days: int = Field(default=30, ge=0, le=3650)
    caps: dict[str, int] = Field(default_factory=lambda: {"vip": 2, "new": 1, "default": 2})
    contact_budget: ContactBudget = Field(default_factory=ContactBudget)
    occasions: CareOccasions = Field(default_factory=CareOccasions)

    @field_validator("send_at")
    @classmethod
    def _send_at(cls, value: str) -> str:
        _minutes_of_day(value, "send_at")
        return value

    @field_validator("late_within", mode="before")
    @classmethod
    def _late(cls, value: Any) -> Any:
        return _duration(value)

    @field_validator("caps")
    @classmethod
    def _caps(cls, value: dict[str, int]) -> dict[str, int]:
        unknown = [tier for tier in value if tier not in (*CUSTOMER_TIERS, "default")]
        if unknown:
            raise ValueError(f"unknown tier(s) {unknown}; use {list(CUSTOMER_TIERS)} or default")
        negative = [tier for tier, cap in value.items() if cap < 0]
        if negative:
            raise ValueError(f"caps must be 0 or more; negative for {negative}")
        if "default" not in value:
            raise ValueError("caps need a default (the cap of tiers not listed)")
        return value

    @cached_property
    def business_calendar(self) -> BusinessCalendar:
        return BusinessCalendar("care", self.calendar)

    @property
    def zone(self) -> ZoneInfo:
        return self.business_calendar.zone

    def cap(self, tier: str) -> int:
        return self.caps.get(tier, self.caps["default"])

    def send_moment(self, day: date) -> float:
        return _local_moment(day, _minutes_of_day(self.send_at, "send_at"), self.zone)

    def occasion(self, kind: Occasion) -> CareOccasion:
        return getattr(self.occasions, kind)


def load_followup_file(path: str | Path | None = None) -> FollowupFile:
    return load_yaml_model(path or bundled_file("followups.yaml"), FollowupFile)


def load_care_file(path: str | Path | None = None) -> CareFile:
    return load_yaml_model(path or bundled_file("care.yaml"), CareFile)
