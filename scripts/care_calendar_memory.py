"""Memory of the care calendar (streams/domain/followups/care.py) per customer, and the time to
find one day's customers: `python scripts/care_calendar_memory.py [customers ...]`.

Every customer has a birthday and a first purchase (two yearly marks); one in twenty is new (a
one-off mark). Memory is what tracemalloc sees allocated by building the calendar, customer ids
included (the profiles themselves live in the worker's table, not here).
"""

from __future__ import annotations

import random
import sys
import time
import tracemalloc
from datetime import date, timedelta

from streams.domain.followups.care import CareCalendar, CareMarks


def measure(customers: int) -> None:
    rng = random.Random(7)
    today = date(2026, 11, 18)
    tracemalloc.start()
    calendar = CareCalendar()
    for index in range(customers):
        birthday = date(1970, 1, 1) + timedelta(days=rng.randrange(365 * 40))
        purchase = date(2010, 1, 1) + timedelta(days=rng.randrange(365 * 16))
        dated = ((today + timedelta(days=rng.randrange(3))).toordinal(),) if index % 20 == 0 else ()
        yearly = tuple(sorted({birthday.month * 100 + birthday.day, purchase.month * 100 + purchase.day}))
        calendar.place(f"CUST-{index:09d}", CareMarks(yearly, dated))
    current, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    started = time.perf_counter()
    found = calendar.on_day(today)
    lookup_ms = (time.perf_counter() - started) * 1000
    print(
        f"{customers:>9} customers: {len(calendar):>9} marks, {current / 2**20:7.1f} MiB, "
        f"{current / customers:6.1f} bytes per customer; one day: {len(found)} customers in {lookup_ms:.1f} ms"
    )


if __name__ == "__main__":
    for count in [int(arg) for arg in sys.argv[1:]] or [100_000, 1_000_000]:
        measure(count)
