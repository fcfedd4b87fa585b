from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from streams.domain import windows

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI).timestamp()


def fact(kind="received", when="2026-11-20 10:15", **extra):
    return windows.fact(kind, at=at(when), department="product", channel="app", priority="high", **extra)


def test_a_fact_counts_in_its_hour_and_its_local_day():
    hour, day = windows.window_keys(fact(when="2026-11-20 00:30"), SHANGHAI)
    assert (hour.size, hour.start) == ("hour", at("2026-11-20 00:00"))
    assert (day.size, day.start, day.end(SHANGHAI)) == ("day", at("2026-11-20 00:00"), at("2026-11-21 00:00"))


def test_window_key_round_trips():
    key = windows.window_keys(fact(), SHANGHAI)[0]
    assert windows.WindowKey.decode(key.encode()) == key


def test_counts_received_responded_resolved_and_breaches_by_metric():
    aggregate = windows.empty()
    for document in (
        fact(),
        fact(),
        fact("responded", within_target=True, elapsed=120.0),
        fact("responded", within_target=False, elapsed=9000.0),
        fact("resolved", within_target=True),
        fact("breached", metric="first_response"),
    ):
        windows.add(aggregate, document)
    key = windows.window_keys(fact(), SHANGHAI)[0]
    summary = windows.summary(key, aggregate, SHANGHAI)
    assert (summary["received"], summary["responded"], summary["responded_in_time"]) == (2, 2, 1)
    assert (summary["resolved"], summary["resolved_in_time"], summary["breached"]) == (1, 1, {"first_response": 1})
    assert summary["first_response_compliance"] == 0.5


@pytest.mark.parametrize("seconds", [3.0, 45.0, 600.0, 7200.0, 86400.0])
def test_median_of_response_times_is_within_one_bucket(seconds):
    aggregate = windows.empty()
    for _ in range(9):
        windows.add(aggregate, fact("responded", within_target=True, elapsed=seconds))
    median = windows.quantile(aggregate["response_histogram"], 0.5)
    assert seconds / windows.RATIO <= median <= seconds * windows.RATIO


def test_p90_sits_above_the_median_for_a_spread():
    aggregate = windows.empty()
    for seconds in range(60, 6060, 60):
        windows.add(aggregate, fact("responded", within_target=True, elapsed=float(seconds)))
    p50, p90 = (windows.quantile(aggregate["response_histogram"], q) for q in (0.5, 0.9))
    assert 2400 < p50 < 3700 and 4400 < p90 < 6800


def test_empty_histogram_has_no_quantile():
    assert windows.quantile({}, 0.5) is None
