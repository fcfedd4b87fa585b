"""The care calendar at scale (`make bench`, section "care"): for 100,000 and 1,000,000
customers (BENCH_CARE_CUSTOMERS), each in its own process:

- resident memory: RSS after the customer-care table (profiles as the worker keeps them: JSON
  bytes by customer id) and the rebuilt day-bucketed calendar, minus RSS before; per customer;
- lateness: the care stage's timer, run as the worker runs it: the day's occasions decided
  ahead of `send_at` chunk by chunk (the worker: a minute ahead; here BENCH_CARE_PREPARE_AHEAD,
  8 s), then sent at `send_at`; the clock is placed just before that. Each message's lateness is
  the moment it is handed to the producer minus its due moment (p50 / p99 / max), the broker
  excluded; `prepare s` is how long deciding the day took.

Customers have a birthday and a first purchase spread over the year, one in twenty is new
(joined within 30 days: callback on day 3), one in 200 churn-risk (win-back).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta

from streams.catalog import TopicCatalog
from streams.domain.followups import load_care_file, load_followup_file
from streams.domain.followups.files import bundled_file
from streams.models import CustomerProfile
from streams.stages.care import CareStage
from streams.stages.followup_records import CareRecord
from streams.tables import record_store

PARTITIONS = 4
# Shorter than the worker's minute (streams/stages/care.py) so a run does not wait; a day of a
# million customers is decided in well under it.
PREPARE_AHEAD = float(os.environ.get("BENCH_CARE_PREPARE_AHEAD", "8"))


class _Table:
    """The in-memory faust table as the store sees it: bytes by bytes key; no changelog here."""

    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}

    def send_changelog(self, partition: int, key: bytes, value: bytes | None) -> None:
        pass


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _profiles(count: int, day: date):  # noqa: ANN202 - an iterator of profiles
    rng = random.Random(7)
    for number in range(count):
        tier = "churn_risk" if number % 200 == 0 else "vip" if number % 10 == 0 else "regular"
        recent = number % 20 == 0  # joined within the last 30 days
        since = day - timedelta(days=rng.randrange(30)) if recent else date(2015, 1, 1) + timedelta(rng.randrange(3000))
        yield CustomerProfile(
            customer_id=f"CUST-{number:09d}",
            tier=tier,
            customer_since=since,
            birthday=date(1960, 1, 1) + timedelta(days=rng.randrange(365 * 40)),
            first_purchase=date(2012, 1, 1) + timedelta(days=rng.randrange(365 * 12)),
        )


async def measure(count: int) -> dict:
    care = load_care_file(bundled_file("care.yaml"))
    day = date(2027, 3, 10)  # a working Wednesday
    due_at = care.send_moment(day)
    offset = {"value": 0.0}
    store = record_store(_Table(), CareRecord)
    stage = CareStage(
        TopicCatalog(),
        followup_file=load_followup_file(),
        care_file=care,
        store=store,
        returns_topic="contact-returns",
        key_partition=lambda key: hash(key) % PARTITIONS,
        prepare_ahead=PREPARE_AHEAD,
        clock=lambda: time.time() + offset["value"],
    )
    before = _rss_bytes()
    for profile in _profiles(count, day):
        store.put_value(stage.key_partition(profile.customer_id), profile.customer_id, CareRecord(profile=profile))
    started = time.perf_counter()
    stage.rebuild(set(range(PARTITIONS)), stage.clock())
    rebuild_seconds = time.perf_counter() - started
    for partition in range(PARTITIONS):
        stage.days_done[partition] = day - timedelta(days=1)
    resident = _rss_bytes() - before
    offset["value"] = due_at - PREPARE_AHEAD - 1.0 - time.time()  # a second before the day is decided
    lateness: list[float] = []
    prepare_seconds = 0.0
    while not lateness:  # the worker's timer loop (streams/agents/care.py)
        prepared = []
        started = time.perf_counter()
        for outputs, _written, release in stage.steps(stage.clock):
            prepared.append((outputs, release))
            await asyncio.sleep(0)
        prepare_seconds = max(prepare_seconds, time.perf_counter() - started if prepared[0][0] else 0.0)
        for outputs, release in prepared:
            await asyncio.sleep(max(0.0, release - stage.clock()))
            sent = stage.clock()
            lateness.extend(sent - due_at for output in outputs if b'"care.suppressed"' not in output.value)
        now = stage.clock()
        await asyncio.sleep(max(0.0, min(0.1, (stage.next_due(now) or now + 0.1) - now)))
    lateness.sort()
    return {
        "customers": count,
        "calendar_marks": sum(len(calendar) for calendar in stage.calendars.values()),
        "rebuild_seconds": round(rebuild_seconds, 2),
        "resident_bytes_per_customer": round(resident / count),
        "resident_mb": round(resident / 2**20, 1),
        "messages": len(lateness),
        "prepare_seconds": round(prepare_seconds, 2),
        "lateness_p50_ms": round(statistics.median(lateness) * 1000, 1),
        "lateness_p99_ms": round(lateness[int(len(lateness) * 0.99) - 1] * 1000, 1),
        "lateness_max_ms": round(lateness[-1] * 1000, 1),
    }


def main() -> list[dict]:
    sizes = [int(size) for size in os.environ.get("BENCH_CARE_CUSTOMERS", "100000,1000000").split(",") if size]
    results = []
    for count in sizes:
        print(f"care calendar with {count:,} customers …", flush=True)
        child = subprocess.run(
            [sys.executable, "-m", "bench.care", str(count)], capture_output=True, text=True, check=True
        )
        results.append(json.loads(child.stdout.strip().splitlines()[-1]))
    header = (
        f"{'customers':>11}{'marks':>11}{'rebuild s':>11}{'RSS MiB':>9}{'B/customer':>12}{'messages':>10}"
        f"{'prepare s':>11}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r['customers']:>11,}{r['calendar_marks']:>11,}{r['rebuild_seconds']:>11}{r['resident_mb']:>9}"
            f"{r['resident_bytes_per_customer']:>12,}{r['messages']:>10,}{r['prepare_seconds']:>11}"
            f"{r['lateness_p50_ms']:>9}"
            f"{r['lateness_p99_ms']:>9}{r['lateness_max_ms']:>9}"
        )
    print(
        "resident: RSS of the customer-care table (JSON profiles) and the calendar; "
        "lateness: handed to the producer − send_at."
    )
    return results


if __name__ == "__main__":
    print(json.dumps(asyncio.run(measure(int(sys.argv[1])))))
