"""Business time on China's official calendar, including moved working days (调休)."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from streams.domain.calendars import ALWAYS_OPEN, BusinessCalendar, CalendarSpec

SHANGHAI = ZoneInfo("Asia/Shanghai")
OFFICE = BusinessCalendar("cn-office", CalendarSpec(hours=("09:00-12:00", "13:30-18:00"), holidays="CN"))
DAY = OFFICE.day_seconds  # 7.5 working hours


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI).timestamp()


def local(moment: float) -> str:
    return datetime.fromtimestamp(moment, SHANGHAI).strftime("%Y-%m-%d %H:%M")


def test_a_working_day_has_the_configured_hours():
    assert DAY == 7.5 * 3600


def test_time_inside_the_day_skips_the_lunch_break():
    assert local(OFFICE.add(at("2026-11-18 11:00"), 2 * 3600)) == "2026-11-18 14:30"


def test_request_after_hours_starts_counting_next_working_morning():
    assert local(OFFICE.add(at("2026-11-18 20:00"), 3600)) == "2026-11-19 10:00"


def test_friday_evening_request_is_due_monday():
    assert local(OFFICE.add(at("2026-11-20 17:00"), 4 * 3600)) == "2026-11-23 12:00"


def test_three_working_days_across_national_day_count_the_moved_saturday():
    # 2026: 1-7 October off; Saturday 10 October is worked in lieu (调休).
    due = OFFICE.add(at("2026-09-30 17:00"), 3 * DAY)
    assert local(due) == "2026-10-10 17:00"


def test_moved_sunday_before_national_day_is_a_working_day():
    assert OFFICE.is_working_day(datetime(2026, 9, 20).date())  # Sunday, worked in lieu


def test_spring_festival_week_is_skipped():
    # 2026 Spring Festival: 15-23 February off; Saturdays 14 and 28 February are worked.
    assert not OFFICE.is_working_day(datetime(2026, 2, 16).date())
    assert OFFICE.is_working_day(datetime(2026, 2, 14).date())
    assert local(OFFICE.add(at("2026-02-13 17:00"), 2 * 3600)) == "2026-02-14 10:00"
    assert local(OFFICE.add(at("2026-02-14 17:00"), 2 * 3600)) == "2026-02-24 10:00"


def test_between_counts_only_working_time():
    assert OFFICE.between(at("2026-11-20 17:00"), at("2026-11-23 10:00")) == 2 * 3600


def test_between_and_add_agree():
    start = at("2026-09-29 15:17")
    for seconds in (60, 3600, DAY, 5 * DAY + 1234):
        assert OFFICE.between(start, OFFICE.add(start, seconds)) == pytest.approx(seconds)


def test_weekdays_without_holiday_data():
    six_days = BusinessCalendar(
        "six", CalendarSpec(hours=("10:00-20:00",), weekdays=("mon", "tue", "wed", "thu", "fri", "sat"))
    )
    assert six_days.is_working_day(datetime(2026, 10, 3).date())  # a Saturday, holidays not applied
    assert not six_days.is_working_day(datetime(2026, 10, 4).date())


def test_always_open_is_wall_clock_time():
    assert ALWAYS_OPEN.add(100.0, 50.0) == 150.0 and ALWAYS_OPEN.between(100.0, 150.0) == 50.0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("timezone", "Mars/Olympus", "unknown time zone"),
        ("hours", ("18:00-09:00",), "end must be after"),
        ("hours", ("9-12",), "must look like"),
        ("holidays", "XX", "no holiday data"),
        ("weekdays", ("funday",), "unknown weekday"),
    ],
)
def test_bad_calendar_settings_are_explained(field, value, message):
    document = {"hours": ("09:00-18:00",), field: value}
    with pytest.raises(ValueError, match=message):
        CalendarSpec.model_validate(document)
