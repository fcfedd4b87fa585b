"""Reading the period's records from the broker.

Every partition of every topic the report reads is read from the first record at or after
`since` (Kafka's offsets-for-times) up to the end offset it had when reading began (or the
first record after `until`, when that comes earlier), so a report over a live topic ends.
`requests.classified` is read first: it decides which tickets belong to the periods; the other
topics only update those tickets' facts (streams/report/facts.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition

from streams.catalog import TopicCatalog
from streams.report.facts import Folder

Progress = Callable[[int], None]


@dataclass
class ReadPlan:
    """Per topic: the partitions' (start, stop) offsets."""

    ranges: dict[str, dict[int, tuple[int, int]]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(stop - start for parts in self.ranges.values() for start, stop in parts.values())

    def records(self, topic: str) -> int:
        return sum(stop - start for start, stop in self.ranges.get(topic, {}).values())


def report_topics(catalog: TopicCatalog, existing: set[str]) -> list[tuple[str, str]]:
    """(topic, kind) in reading order; department topics are found by name on the broker."""
    prefix = catalog.department("")
    departments = sorted(name for name in existing if name.startswith(prefix))
    return [
        (catalog.requests_classified, "classified"),
        *[(name, "routed") for name in departments],
        (catalog.sla_events, "sla_event"),
        (catalog.sla_windows, "window"),
        (catalog.name("feedback"), "feedback"),
        (catalog.name("followups"), "followup"),
    ]


async def _plan(consumer: AIOKafkaConsumer, topics: list[str], since_ms: int, until_ms: int | None) -> ReadPlan:
    plan = ReadPlan()
    existing = await consumer.topics()
    partitions = []
    for topic in topics:
        if topic not in existing:
            plan.missing.append(topic)
            continue
        found = consumer.partitions_for_topic(topic) or set()
        partitions.extend(TopicPartition(topic, p) for p in sorted(found))
    if not partitions:
        return plan
    ends = await consumer.end_offsets(partitions)
    starts = await consumer.offsets_for_times({tp: since_ms for tp in partitions})
    stops = await consumer.offsets_for_times({tp: until_ms for tp in partitions}) if until_ms is not None else {}
    for tp in partitions:
        end = ends[tp]
        start = starts[tp].offset if starts.get(tp) is not None else end
        stop = stops[tp].offset if stops.get(tp) is not None else end
        plan.ranges.setdefault(tp.topic, {})[tp.partition] = (start, min(stop, end))
    return plan


async def _read_topic(consumer: AIOKafkaConsumer, topic: str, ranges: dict[int, tuple[int, int]],
                      handle: Callable[[bytes], bool], folder: Folder, progress: Progress | None) -> None:  # fmt: skip
    todo = {TopicPartition(topic, p): bounds for p, bounds in ranges.items() if bounds[1] > bounds[0]}
    if not todo:
        return
    consumer.assign(list(todo))
    for tp, (start, _) in todo.items():
        consumer.seek(tp, start)
    counts = folder.counts
    while todo:
        batches = await consumer.getmany(*todo, timeout_ms=1000, max_records=20_000)
        for tp, records in batches.items():
            bounds = todo.get(tp)
            if bounds is None:
                continue
            stop = bounds[1]
            seen = 0
            for record in records:
                if record.offset >= stop:
                    break
                seen += 1
                value = record.value
                if value is None:
                    continue
                try:
                    used = handle(value)
                except (ValueError, KeyError, TypeError, AttributeError):
                    counts.unreadable += 1
                    used = False
                counts.add(topic, used)
            if progress is not None and seen:
                progress(seen)
            if (records and records[-1].offset >= stop - 1) or await consumer.position(tp) >= stop:
                del todo[tp]
                consumer.pause(tp)


async def read_into(bootstrap: str, catalog: TopicCatalog, folder: Folder, *, since: float,
                    until: float | None = None, on_plan: Callable[[ReadPlan], None] | None = None,
                    progress: Progress | None = None) -> ReadPlan:  # fmt: skip
    """Fold every record of the report's topics from `since` (epoch seconds) into `folder`."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None, auto_offset_reset="earliest",
        fetch_max_bytes=64 * 1024 * 1024, max_partition_fetch_bytes=16 * 1024 * 1024, fetch_max_wait_ms=100,
        request_timeout_ms=60_000,
    )  # fmt: skip
    await consumer.start()
    try:
        existing = await consumer.topics()
        order = report_topics(catalog, existing)
        plan = await _plan(consumer, [topic for topic, _ in order], int(since * 1000),
                           int(until * 1000) if until is not None else None)  # fmt: skip
        if on_plan is not None:
            on_plan(plan)
        handlers = {"classified": folder.classified, "routed": folder.routed, "sla_event": folder.sla_event,
                    "window": folder.window, "feedback": folder.feedback, "followup": folder.followup}  # fmt: skip
        for topic, kind in order:
            if topic in plan.ranges:
                await _read_topic(consumer, topic, plan.ranges[topic], handlers[kind], folder, progress)
        return plan
    finally:
        await consumer.stop()


def read(bootstrap: str, catalog: TopicCatalog, folder: Folder, **options) -> ReadPlan:  # noqa: ANN003
    return asyncio.run(read_into(bootstrap, catalog, folder, **options))
