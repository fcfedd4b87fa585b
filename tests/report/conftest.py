"""The report's tests: a generated period folded in memory, and (integration) on the real
embedded broker of tests/conftest.py."""

from __future__ import annotations

from datetime import date

import pytest

from bench.week import Week
from streams.report.facts import Folder
from streams.report.review import Period

FIRST = date(2026, 10, 5)  # a Monday, long past: every generated record is in the past
DAYS = 3
ZONE = "Asia/Shanghai"


def period() -> Period:
    return Period(FIRST, date.fromordinal(FIRST.toordinal() + DAYS - 1), ZONE)


def fold(records, current: Period | None = None) -> Folder:  # noqa: ANN001
    """Fold generated records as the reader would, in its order (requests.classified first)."""
    current = current or period()
    folder = Folder(current.bounds(), current.previous().bounds())
    handlers = {
        "requests.classified": folder.classified,
        "sla.events": folder.sla_event,
        "sla.windows": folder.window,
        "feedback": folder.feedback,
        "followups": folder.followup,
    }
    records = list(records)
    for record in records:
        if record.topic == "requests.classified":
            folder.counts.add(record.topic, folder.classified(record.key, record.value))
    for record in records:
        if record.topic == "requests.classified":
            continue
        handle = folder.routed if record.topic.startswith("dept.") else handlers[record.topic]
        folder.counts.add(record.topic, handle(record.key, record.value))
    return folder


@pytest.fixture(scope="session")
def week_records() -> list:
    return list(Week(FIRST, DAYS, 120, seed=3).records())
