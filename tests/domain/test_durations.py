import pytest

from streams.domain.durations import Duration, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("10m", 600), ("1.5h", 5400), ("1h30m", 5400), ("3d", 259200), ("2 hours", 7200), (45, 45)],
)
def test_parses_operator_durations(text, seconds):
    assert parse_duration(text) == Duration(seconds=seconds)


@pytest.mark.parametrize("text", ["3 working days", "3 business days", "3  Working Days"])
def test_working_days_are_counted_in_calendar_days(text):
    duration = parse_duration(text)
    assert duration == Duration(working_days=3) and duration.needs_calendar
    assert duration.resolve(day_seconds=7.5 * 3600) == 3 * 7.5 * 3600


def test_working_days_and_hours_combine():
    assert parse_duration("1 working day 4h").resolve(day_seconds=8 * 3600) == 12 * 3600


@pytest.mark.parametrize("text", ["", "soon", "10 parsecs", "1h banana", "-5m", "0s", True])
def test_rejects_what_is_not_a_positive_duration(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_formats_whole_units():
    assert [format_duration(s) for s in (90, 600, 7200, 86400)] == ["90s", "10m", "2h", "1d"]
