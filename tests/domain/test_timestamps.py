from datetime import UTC, datetime, timedelta, timezone

import pytest

from streams.domain import timestamps


@pytest.fixture
def restore_range():
    saved = timestamps.current()
    yield
    timestamps.configure(saved.earliest, saved.ahead)


def test_a_moment_in_range_is_returned_in_utc():
    moment = datetime(2026, 5, 1, 9, 30, tzinfo=timezone(timedelta(hours=8)))
    assert timestamps.to_utc(moment) == datetime(2026, 5, 1, 1, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "moment",
    [
        datetime(1, 1, 1),
        datetime(9999, 12, 31, 23, 59, tzinfo=timezone(-timedelta(hours=23, minutes=59))),
        datetime(1999, 12, 31, 23, 59, tzinfo=UTC),
    ],
)
def test_moments_out_of_range_or_overflowing_are_refused_naming_the_setting(moment):
    with pytest.raises(ValueError, match="TICKETFLOW_"):
        timestamps.to_utc(moment)


def test_unix_seconds_beyond_the_calendar_are_refused():
    with pytest.raises(ValueError):
        timestamps.from_unix(999_999_999_999)
    assert timestamps.from_unix(1_764_800_000).year == 2025


def test_the_range_is_configurable(restore_range):
    timestamps.configure(datetime(1990, 1, 1), timedelta(days=30))
    assert timestamps.to_utc(datetime(1995, 6, 1)).year == 1995
    assert timestamps.to_utc(datetime.now(UTC) + timedelta(days=20)) is not None
