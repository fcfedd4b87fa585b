import pytest

from streams.domain.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("10m", 600), ("1.5h", 5400), ("1h30m", 5400), ("3d", 259200), ("2 hours", 7200), (45, 45)],
)
def test_parses_operator_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "10 parsecs", "1h banana", "-5m", "0s", True])
def test_rejects_what_is_not_a_positive_duration(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_business_time_is_refused_with_an_explanation():
    with pytest.raises(ValueError, match="calendar"):
        parse_duration("3 working days")


def test_formats_whole_units():
    assert [format_duration(s) for s in (90, 600, 7200, 86400)] == ["90s", "10m", "2h", "1d"]
